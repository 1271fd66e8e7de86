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

from ingest.quality import _text_only, ink_mask, work_grey


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

_LAST_PEAK = [0.0]  # line-profile peakiness of the last estimate_skew call


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
    _LAST_PEAK[0] = max(fine_scores) / float(len(xs)) ** 2
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



# ------------------------------------------------------------- page quad ----

_WORK = 1000  # long side of the image on which the page outline is searched


def _order(pts: np.ndarray) -> np.ndarray:
    """Corners as TL, TR, BR, BL."""
    pts = np.asarray(pts, np.float32).reshape(4, 2)
    s = pts.sum(1)
    d = np.diff(pts, axis=1).ravel()
    return np.float32([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]])


def find_page(image: np.ndarray) -> np.ndarray | None:
    """The page's corners (TL, TR, BR, BL, in image pixels) when the page lies on a
    visibly different background (table, scanner lid); None when the page fills the image.

    Edges of a median-blurred copy (handwriting and rules blur away, the page
    outline stays); the largest outer contour's hull approximated by 4 points; kept
    only when the paper inside differs from what lies outside.
    """
    h, w = image.shape[:2]
    sc = _WORK / max(h, w)
    small = cv2.resize(image, None, fx=sc, fy=sc, interpolation=cv2.INTER_AREA)
    blur = cv2.medianBlur(small, 11)
    edges = np.zeros(blur.shape[:2], np.uint8)
    for channel in cv2.split(blur):
        edges |= cv2.Canny(channel, 20, 60)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    area = small.shape[0] * small.shape[1]
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:3]:
        hull = cv2.convexHull(contour)
        if cv2.contourArea(hull) < 0.2 * area:
            return None
        perimeter = cv2.arcLength(hull, True)
        for eps in (0.01, 0.02, 0.03, 0.05):
            approx = cv2.approxPolyDP(hull, eps * perimeter, True)
            if len(approx) == 4:
                quad = _order(approx)
                if _fills_image(quad, small.shape) or not _paper_differs(blur, quad):
                    return None
                return quad / sc
    return None


def _fills_image(quad: np.ndarray, shape: tuple[int, ...]) -> bool:
    h, w = shape[:2]
    frame = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    return bool((np.linalg.norm(quad - frame, axis=1) < 0.02 * max(h, w)).all())


def _paper_differs(blur: np.ndarray, quad: np.ndarray) -> bool:
    """Inside the outline is paper, and it differs from outside (not a text block)."""
    h, w = blur.shape[:2]
    inner = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(inner, quad.astype(np.int32), 1)
    k = max(5, int(0.03 * max(h, w)))
    outside = cv2.dilate(inner, np.ones((k, k), np.uint8)) - inner
    inside = inner - cv2.erode(inner, np.ones((k, k), np.uint8))
    if outside.sum() < 50 or inside.sum() < 50:
        return False
    a = blur[inside > 0].reshape(-1, 3).astype(np.float32).mean(0)
    b = blur[outside > 0].reshape(-1, 3).astype(np.float32).mean(0)
    return float(np.linalg.norm(a - b)) > 18.0


def _angle_deg(v: np.ndarray) -> float:
    return float(np.degrees(np.arctan2(v[1], v[0])))


def crop_to_page(image: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Warp or rotate-and-crop the page out of the image; returns (page, transforms)."""
    tl, tr, br, bl = quad
    sides = [tr - tl, br - tr, bl - br, tl - bl]
    angles = [_angle_deg(sides[0]), _angle_deg(sides[1]) - 90, _angle_deg(sides[2]) - 180,
              _angle_deg(sides[3]) + 90]
    angles = [(a + 180) % 360 - 180 for a in angles]
    width = float(max(np.linalg.norm(sides[0]), np.linalg.norm(sides[2])))
    height = float(max(np.linalg.norm(sides[1]), np.linalg.norm(sides[3])))
    if max(angles) - min(angles) < 1.5:
        # a rectangle lying rotated (a page skewed on a flatbed): rotate, then crop
        angle = float(np.mean(angles))
        h, w = image.shape[:2]
        rotated = rotate_bound(image, angle)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        m[0, 2] += rotated.shape[1] / 2 - w / 2
        m[1, 2] += rotated.shape[0] / 2 - h / 2
        pts = cv2.transform(quad[None], m)[0]
        # inset a little: the page's edge and the lid's shadow are not page
        inset = 0.004 * float(max(width, height))
        x0, y0 = np.floor(pts.min(0) + inset).astype(int)
        x1, y1 = np.ceil(pts.max(0) - inset).astype(int)
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, rotated.shape[1]), min(y1, rotated.shape[0])
        steps = [f"deskew:{angle:.1f}"] if abs(angle) >= 0.1 else []
        return rotated[y0:y1, x0:x1].copy(), [*steps, f"crop:{x0},{y0},{x1},{y1}"]
    dst = np.float32([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
    warped = cv2.warpPerspective(image, m, (int(round(width)), int(round(height))),
                                 flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return warped, ["perspective"]


# ------------------------------------------------------------- lighting ----

def flatten_light(image: np.ndarray, min_ratio: float = 0.85) -> np.ndarray | None:
    """Even out uneven lighting (phone photos): divide by the paper's estimated
    brightness. Returns None when the lighting is even enough already."""
    h, w = image.shape[:2]
    sc = 600 / max(h, w)
    small = cv2.resize(image, None, fx=sc, fy=sc, interpolation=cv2.INTER_AREA)
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (25, 25))
    background = cv2.GaussianBlur(cv2.morphologyEx(small, cv2.MORPH_CLOSE, k), (0, 0), 8)
    grey = cv2.cvtColor(background, cv2.COLOR_BGR2GRAY).astype(np.float32)
    lo, hi = np.percentile(grey, [2, 98])
    if hi <= 0 or lo / hi >= min_ratio:
        return None
    bg = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    target = np.percentile(background.reshape(-1, 3), 95, axis=0).astype(np.float32)
    out = image.astype(np.float32) / np.maximum(bg, 1.0) * target
    return np.clip(out, 0, 255).astype(np.uint8)


# ---------------------------------------------------------- orientation ----

def is_quarter_turned(image: np.ndarray) -> bool:
    """True when the text lines run vertically (page lying on its side)."""
    estimate_skew(image, max_angle=5.0)
    rows = _LAST_PEAK[0]
    estimate_skew(cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE), max_angle=5.0)
    cols = _LAST_PEAK[0]
    return cols > 1.25 * rows


_CLS_SESSION: list = []  # one onnxruntime session per process, created on first use


def _cls_session():  # type: ignore[no-untyped-def]
    """PP-OCR's text-direction classifier (0 vs 180 degrees), from the rapidocr wheel."""
    if not _CLS_SESSION:
        import importlib.util
        from pathlib import Path

        import onnxruntime as ort

        spec = importlib.util.find_spec("rapidocr")
        if spec is None or not spec.submodule_search_locations:
            _CLS_SESSION.append(None)
        else:
            model = Path(list(spec.submodule_search_locations)[0]) / "models" / CLS_MODEL
            if not model.exists():
                _CLS_SESSION.append(None)
            else:
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = 1
                opts.inter_op_num_threads = 1
                opts.log_severity_level = 3
                _CLS_SESSION.append(ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"]))
    return _CLS_SESSION[0]


CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"


def _line_crops(image: np.ndarray, max_crops: int = 12) -> list[np.ndarray]:
    """Grey crops of text-line pieces (about 4:1) from the row profile of the ink."""
    grey, _ = work_grey(image)
    text = _text_only(ink_mask(grey))
    rows = np.convolve(text.sum(1).astype(np.float64), np.ones(5) / 5, "same")
    if not (rows > 0).any():
        return []
    on = rows > 0.15 * np.percentile(rows[rows > 0], 90)
    bands, y, n = [], 0, len(on)
    while y < n:
        if on[y]:
            y0 = y
            while y < n and on[y]:
                y += 1
            if y - y0 >= 12:
                bands.append((y0, y))
        y += 1
    crops = []
    for y0, y1 in bands:
        cols = np.nonzero(text[y0:y1].sum(0))[0]
        if len(cols) < 10:
            continue
        x0, x1 = int(cols[0]), int(cols[-1])
        pad = (y1 - y0) // 6
        seg = 4 * (y1 - y0 + 2 * pad)
        for xs in range(x0, max(x0 + 1, x1 - seg // 2), seg):
            crop = grey[max(0, y0 - pad) : y1 + pad, xs : xs + seg]
            if crop.shape[1] > 2 * (y1 - y0):
                crops.append(crop)
    step = max(1, len(crops) // max_crops)
    return crops[::step][:max_crops]


def _p180(session, crops: list[np.ndarray]) -> float:  # type: ignore[no-untyped-def]
    batch = []
    for crop in crops:
        h, w = crop.shape
        nw = min(192, int(np.ceil(48 * w / h)))
        r = cv2.cvtColor(cv2.resize(crop, (nw, 48)), cv2.COLOR_GRAY2BGR).astype(np.float32)
        out = np.zeros((3, 48, 192), np.float32)
        out[:, :, :nw] = ((r / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
        batch.append(out)
    prob = session.run(None, {session.get_inputs()[0].name: np.stack(batch)})[0]
    return float(prob[:, 1].mean())


def is_upside_down(image: np.ndarray, margin: float = 0.15) -> bool:
    """True when the page is upside down, by PP-OCR's direction classifier on line crops.

    The classifier is asked about the page and about the page turned round; the page
    is turned only when the turned one reads clearly more upright (handwriting
    sometimes confuses it either way).
    """
    session = _cls_session()
    if session is None:
        return False
    crops = _line_crops(image)
    if len(crops) < 3:
        return False
    as_is = _p180(session, crops)
    turned = _p180(session, [cv2.rotate(c, cv2.ROTATE_180) for c in crops])
    return as_is - turned > margin


# --------------------------------------------------------------- spreads ----

def find_gutter(image: np.ndarray) -> int | None:
    """x of the fold between two facing pages, or None when this is a single page.

    A landscape image whose middle fifth holds a column with (almost) no handwriting,
    while both halves carry text.
    """
    h, w = image.shape[:2]
    if w < 1.15 * h:
        return None
    grey, sc = work_grey(image)
    text = _text_only(ink_mask(grey))
    cols = text.sum(0).astype(np.float64)
    wk = len(cols)
    cols = np.convolve(cols, np.ones(9) / 9, "same")
    lo, hi = int(wk * 0.4), int(wk * 0.6)
    x = lo + int(np.argmin(cols[lo:hi]))
    left, right = cols[: int(wk * 0.35)], cols[int(wk * 0.65) :]
    typical = float(np.median(np.concatenate([left[left > 0], right[right > 0]]))) if (
        (left > 0).any() and (right > 0).any()) else 0.0
    if typical <= 0 or cols[x] > 0.1 * typical:
        return None
    if (left > 0.3 * typical).mean() < 0.2 or (right > 0.3 * typical).mean() < 0.2:
        return None
    # centre of the empty run around x
    a = x
    while a > lo and cols[a - 1] <= 0.1 * typical:
        a -= 1
    b = x
    while b < hi and cols[b + 1] <= 0.1 * typical:
        b += 1
    # darkest column (the fold's shadow) inside the run, else its middle
    band = grey[:, a : b + 1].mean(0)
    xm = a + int(np.argmin(band)) if band.max() - band.min() > 8 else (a + b) // 2
    return int(round(xm / sc))


# ------------------------------------------------------------- pipeline ----

#: smaller angles are left alone: handwriting drifts a degree or so on its own, and
#: PP-OCR reads lines tilted that little as well as level ones (MEASUREMENTS.md)
DESKEW_MIN_DEGREES = 1.5


def _deskew(image: np.ndarray, transforms: list[str]) -> tuple[np.ndarray, float]:
    """Level the text lines; returns (image, residual skew left uncorrected)."""
    angle, conf = estimate_skew(image)
    if conf < 1.05 or abs(angle) < DESKEW_MIN_DEGREES:
        return image, 0.0
    if abs(angle) > 14.5:  # at the edge of the search: not trusted, left and flagged
        return image, angle
    transforms.append(f"deskew:{angle:.1f}")
    return rotate_bound(image, angle), 0.0


def normalise(image: np.ndarray, text_layer: bool = False) -> list[Normalised]:
    """Normalise one raw page image into one page (or two, left then right, for a spread).

    Steps: find the page against the background and warp/crop it; even out the
    light; turn a page lying on its side; level the lines; split a spread at the
    gutter; turn an upside-down page. Pages that carry a PDF text layer are
    returned untouched, so the text boxes stay valid.
    """
    if text_layer:
        return [Normalised(image)]
    transforms: list[str] = []
    img = image
    quad = find_page(img)
    if quad is not None:
        img, steps = crop_to_page(img, quad)
        transforms += steps
    flat = flatten_light(img)
    if flat is not None:
        img = flat
        transforms.append("flatten_light")
    if is_quarter_turned(img):
        img = cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)
        transforms.append("rotate:90")
    img, residual = _deskew(img, transforms)
    gutter = find_gutter(img)
    halves = [(img, transforms)]
    if gutter is not None:
        halves = [(img[:, :gutter].copy(), [*transforms, "split:left"]),
                  (img[:, gutter:].copy(), [*transforms, "split:right"])]
    out = []
    for half, steps in halves:
        steps = list(steps)
        if is_upside_down(half):
            half = cv2.rotate(half, cv2.ROTATE_180)
            # a quarter turn plus a half turn is a turn the other way
            if "rotate:90" in steps:
                steps[steps.index("rotate:90")] = "rotate:270"
            else:
                steps.append("rotate:180")
        out.append(Normalised(half, steps, residual_skew=residual))
    return out
