"""Page quality flags: what makes a page worth rescanning, measured, with thresholds.

Every measurement is taken on the *normalised* page image, at a working scale where
the page's long side is :data:`WORK_LONG_SIDE` pixels, so values do not depend on the
scan resolution. A flag is ``(name, measured value)``; a clean page gets none.

=================  ==================================================  ===============
flag               measured value                                      flagged when
=================  ==================================================  ===============
``blur``           sharpness: variance of the Laplacian in the inked   < 300
                   tiles (90th percentile), scaled to a 200-level
                   ink/paper contrast
``low_contrast``   paper level (90th pct grey) minus ink level         < 70
                   (0.5th pct grey)
``too_dark``       paper level (90th percentile grey, 0-255)           < 110
``too_bright``     ink level (0.5th percentile grey, 0-255)            > 165
``low_resolution`` dots per inch: the scan's DPI tag when plausible,   < 120
                   else the long side over an A5 page's 8.27 in
``skew``           residual text-line angle in degrees, absolute       > 3
``cut_off``        number of text-sized ink blobs touching an edge     >= 3
=================  ==================================================  ===============

Why 120 dpi and not 200: handwriting is large (5-8 mm a character, 30-47 px at
150 dpi, at or above the 48 px line height PP-OCR recognises at), and the bundled
sample notebooks are 150 dpi A5 scans that OCR well. Below ~120 dpi strokes merge.
Contrast flags need ink on the page: a nearly blank page is not flagged.
"""

from __future__ import annotations

import cv2
import numpy as np

#: long side of the working image on which everything is measured
WORK_LONG_SIDE = 1400

#: name -> (comparison, threshold); documented in the module docstring
THRESHOLDS: dict[str, tuple[str, float]] = {
    "blur": ("<", 300.0),
    "low_contrast": ("<", 70.0),
    "too_dark": ("<", 110.0),
    "too_bright": (">", 165.0),
    "low_resolution": ("<", 120.0),
    "skew": (">", 3.0),
    "cut_off": (">=", 3.0),
}

#: flags that mean the page should be scanned again (all of them, today)
RESCAN_FLAGS = frozenset(THRESHOLDS)

A5_LONG_INCHES = 210 / 25.4
_MIN_INK_FRACTION = 0.004  # below this a page counts as (nearly) blank


def needs_rescan(flags: tuple[tuple[str, float], ...] | dict[str, float]) -> bool:
    """True when any flag calls for a rescan."""
    names = flags.keys() if isinstance(flags, dict) else (name for name, _ in flags)
    return any(name in RESCAN_FLAGS for name in names)


def _flagged(name: str, value: float) -> bool:
    op, limit = THRESHOLDS[name]
    return {"<": value < limit, ">": value > limit, ">=": value >= limit}[op]


def work_grey(image: np.ndarray) -> tuple[np.ndarray, float]:
    """Greyscale copy scaled so its long side is WORK_LONG_SIDE; returns (grey, scale)."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    scale = WORK_LONG_SIDE / max(grey.shape[:2])
    if abs(scale - 1) > 0.02:
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=interp)
    return grey, scale


def ink_mask(grey: np.ndarray) -> np.ndarray:
    """Pixels clearly darker than their local background (handwriting, rules, stains)."""
    k = max(15, (min(grey.shape[:2]) // 25) | 1)
    background = cv2.morphologyEx(
        grey, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    )
    diff = background.astype(np.int16) - grey.astype(np.int16)
    return (diff > 25).astype(np.uint8)


def _text_only(mask: np.ndarray) -> np.ndarray:
    """Remove long straight rules (notebook ruling, margins, page edges) from an ink mask."""
    h, w = mask.shape
    horiz = cv2.morphologyEx(
        mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(w // 8, 20), 1))
    )
    vert = cv2.morphologyEx(
        mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(h // 8, 20)))
    )
    return mask & ~np.bitwise_or(horiz, vert) & 1


def measure(
    image: np.ndarray, dpi: float | None = None, skew: float | None = None
) -> dict[str, float]:
    """Every quality measurement of a page image (see the module docstring)."""
    grey, _ = work_grey(image)
    mask = ink_mask(grey)
    text = _text_only(mask)
    ink_fraction = float(text.mean())
    paper, ink = _percentiles_u8(grey, (90.0, 0.5))
    out: dict[str, float] = {"ink_fraction": round(ink_fraction, 4), "paper": paper, "ink": ink}
    out["too_dark"] = paper
    h, w = image.shape[:2]
    if dpi and dpi >= 50 and 4.0 <= max(h, w) / dpi <= 20.0:
        out["low_resolution"] = round(float(dpi), 1)
    else:
        out["low_resolution"] = round(max(h, w) / A5_LONG_INCHES, 1)
    if skew is not None:
        out["skew"] = round(abs(float(skew)), 2)
    if ink_fraction >= _MIN_INK_FRACTION:
        out["low_contrast"] = paper - ink
        out["too_bright"] = ink
        out["blur"] = round(_sharpness(grey, text, max(paper - ink, 1.0)), 1)
        out["cut_off"] = float(_edge_blobs(text))
    return out


def _percentiles_u8(grey: np.ndarray, qs: tuple[float, ...]) -> tuple[float, ...]:
    """``np.percentile(grey, q)`` (linear interpolation) for each q, exactly, from a
    256-bin histogram instead of a partition of every pixel."""
    counts = np.bincount(grey.ravel(), minlength=256)
    cum = np.cumsum(counts)
    n = int(cum[-1])
    out = []
    for q in qs:
        pos = q / 100.0 * (n - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, n - 1)
        a = int(np.searchsorted(cum, lo, side="right"))  # value of the lo-th sorted pixel
        b = int(np.searchsorted(cum, hi, side="right"))
        out.append(float(a + (b - a) * (pos - lo)))
    return tuple(out)


def _sharpness(grey: np.ndarray, text: np.ndarray, contrast: float) -> float:
    """90th percentile of the Laplacian's variance over 48-px tiles holding text."""
    lap = cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F, ksize=3)
    t = 48
    h, w = grey.shape
    nh, nw = h // t, w // t
    if not nh or not nw:
        return 0.0
    tiles = lap[: nh * t, : nw * t].reshape(nh, t, nw, t).astype(np.float64)
    inked = text[: nh * t, : nw * t].reshape(nh, t, nw, t).mean(axis=(1, 3)) > 0.03
    if not inked.any():
        return 0.0
    values = tiles.var(axis=(1, 3))[inked]
    return float(np.percentile(values, 90)) * (200.0 / contrast) ** 2


def _edge_blobs(text: np.ndarray) -> int:
    """Text-sized connected ink blobs that touch the image border."""
    h, w = text.shape
    n, _, stats, _ = cv2.connectedComponentsWithStats(text, connectivity=8)
    count = 0
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        # text-sized: not a speck, not a fragment of a rule (thin and long), not a page edge
        if area < 20 or min(bw, bh) < 5 or max(bw, bh) > 8 * min(bw, bh):
            continue
        if bw > w * 0.25 or bh > h * 0.25:
            continue
        if x <= 1 or y <= 1 or x + bw >= w - 1 or y + bh >= h - 1:
            count += 1
    return count


def quality_flags(
    image: np.ndarray, dpi: float | None = None, skew: float | None = None
) -> tuple[tuple[str, float], ...]:
    """The flags a page earns: ``((name, measured value), ...)``, empty for a clean page.

    Args:
        image: the normalised page, BGR.
        dpi: the scan's resolution when known (DPI tag, PDF image size).
        skew: residual skew in degrees that normalisation did not correct, if any.
    """
    values = measure(image, dpi, skew)
    flags = []
    for name in THRESHOLDS:
        if name in values and _flagged(name, values[name]):
            flags.append((name, round(float(values[name]), 2)))
    return tuple(flags)
