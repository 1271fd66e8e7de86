"""Page normalisation: one raw scan image in, one or two upright page images out.

Every step returns a new image and records what it did in ``transforms``:

``page:WxH`` / ``perspective``  found the page against the background and warped it to an upright rectangle
``crop:x0,y0,x1,y1``            cropped to the page (coordinates in the image before the crop)
``rotate:90|180|270``           turned upright (clockwise degrees), decided from the text itself
``deskew:-2.3``                 rotated by that many degrees (counter-clockwise positive) to level the lines
``split:left`` / ``split:right`` one half of a two-page spread
``flatten_light``               evened out uneven lighting

Speed (issue 3 follow-up): every *decision* is taken on one small analysis copy of
the page (:data:`ANALYSIS_LONG_SIDE` pixels on the long side, see :class:`_View`),
built once per full-resolution image state and re-used by every test: page
outline, lighting, text-line direction, skew, gutter and the line bands for the
direction classifier. Full-resolution pixels are touched only to produce the output
(one warp per geometric step) and to cut the few line crops the classifier reads,
in one batched call. Nothing is cached across files. ``benchmarks/normalise.py``
measures it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from minqing.ingest.quality import _text_only, ink_mask

#: long side (pixels) of the analysis copy on which every normalisation decision is taken
ANALYSIS_LONG_SIDE = 600


@dataclass
class Normalised:
    """One normalised page image and how it was made."""

    image: np.ndarray
    transforms: list[str] = field(default_factory=list)
    residual_skew: float | None = None  # skew left uncorrected (degrees), when measured

    def map_lines(self, lines: Sequence) -> tuple:  # type: ignore[type-arg]
        """Text-layer pages are never moved, so their boxes need no mapping."""
        return tuple(lines)


# ------------------------------------------------------------ analysis ----


class _View:
    """A small analysis copy of one full-resolution image state.

    ``scale`` maps full-resolution pixels to analysis pixels. The ink mask, the
    text-only mask and the ink point cloud are computed on first use, once.
    """

    def __init__(self, image: np.ndarray, long_side: int = ANALYSIS_LONG_SIDE) -> None:
        h, w = image.shape[:2]
        self.full_shape = (h, w)
        self.scale = min(1.0, long_side / max(h, w))
        small = image
        # halve with 2x2 box averages while the image is twice the target or more
        # (OpenCV's fast path: ~10x cheaper than one non-integer area resize)
        while max(small.shape[:2]) >= 2 * long_side:
            sh, sw = small.shape[:2]
            small = cv2.resize(small[: sh - sh % 2, : sw - sw % 2], (sw // 2, sh // 2),
                               interpolation=cv2.INTER_AREA)
        if self.scale < 1.0:
            size = (max(1, round(w * self.scale)), max(1, round(h * self.scale)))
            if (small.shape[1], small.shape[0]) != size:
                small = cv2.resize(small, size, interpolation=cv2.INTER_AREA)
        self.bgr = small if small.ndim == 3 else cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
        self.grey = cv2.cvtColor(self.bgr, cv2.COLOR_BGR2GRAY)
        self._ink: np.ndarray | None = None
        self._text: np.ndarray | None = None
        self._points: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def ink(self) -> np.ndarray:
        """Ink mask (handwriting, rules, stains) of the analysis copy."""
        if self._ink is None:
            self._ink = ink_mask(self.grey)
        return self._ink

    @property
    def text(self) -> np.ndarray:
        """Ink mask without long straight rules."""
        if self._text is None:
            self._text = _text_only(self.ink)
        return self._text

    def points(self, text: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Ink (``text``: text-only) pixel coordinates centred on the image (x, y), at
        most :data:`_MAX_POINTS` of them, a fixed sample."""
        key = int(text)
        if key not in self._points:
            ys, xs = np.nonzero(self.text if text else self.ink)
            if len(xs) > _MAX_POINTS:
                pick = np.random.default_rng(0).choice(len(xs), _MAX_POINTS, replace=False)
                xs, ys = xs[pick], ys[pick]
            h, w = self.grey.shape
            self._points[key] = (xs.astype(np.float32) - w / 2, ys.astype(np.float32) - h / 2)
        return self._points[key]

    def columns(self, x0: int, x1: int) -> _View:
        """The analysis copy of the full-resolution columns ``x0:x1`` (a half of a spread)."""
        sub = object.__new__(_View)
        a, b = round(x0 * self.scale), round(x1 * self.scale)
        sub.full_shape = (self.full_shape[0], x1 - x0)
        sub.scale = self.scale
        sub.bgr = self.bgr[:, a:b]
        sub.grey = self.grey[:, a:b]
        sub._ink = None if self._ink is None else self._ink[:, a:b]
        sub._text = None if self._text is None else self._text[:, a:b]
        sub._points = {}
        return sub


_MAX_POINTS = 30000
_COARSE_POINTS = 8000


# ------------------------------------------------------------------ skew ----


def _profile_search(
    xs: np.ndarray, ys: np.ndarray, max_angle: float, diag: int
) -> tuple[float, float, float]:
    """Projection-profile search for the text-line angle.

    Returns ``(angle, confidence, peakiness)``: the angle (degrees, counter-clockwise
    positive) at which the row histogram of the points is the most peaked, that
    peak's sharpness over the level one's, and the peak's sharpness per point².
    """
    n_bins = diag + 4
    offset = n_bins / 2

    def scores(angles: np.ndarray, step: int = 1) -> np.ndarray:
        t = np.deg2rad(angles).astype(np.float32)[:, None]
        proj = ys[None, ::step] * np.cos(t) - xs[None, ::step] * np.sin(t)
        idx = (proj + offset).astype(np.int64)
        idx += (np.arange(len(angles), dtype=np.int64) * n_bins)[:, None]
        hist = np.bincount(idx.ravel(), minlength=len(angles) * n_bins).astype(np.float64)
        return (hist.reshape(len(angles), n_bins) ** 2).sum(1)

    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.5)
    # the coarse search reads a subsample; the fine one every point
    step = max(1, len(xs) // _COARSE_POINTS)
    best = float(coarse[int(np.argmax(scores(coarse, step)))])
    fine = np.concatenate([np.arange(best - 0.5, best + 0.5 + 1e-9, 0.1), [0.0]])
    fine_scores = scores(fine)
    i = int(np.argmax(fine_scores[:-1]))
    peak, level = float(fine_scores[i]), float(fine_scores[-1])
    conf = peak / level if level else 0.0
    angle = float(fine[i])
    if 0 < i < len(fine) - 2:
        # the peak between the 0.1-degree steps: vertex of the parabola through three scores
        lo, mid, hi = fine_scores[i - 1 : i + 2]
        curve = lo - 2 * mid + hi
        if curve < 0:
            angle += 0.1 * float(np.clip(0.5 * (lo - hi) / curve, -0.5, 0.5))
    # image coordinates (y down): a line rising to the right has best < 0, and
    # rotating by ``best`` (clockwise for negative) levels it
    return angle, conf, peak / float(len(xs)) ** 2


def _skew(view: _View, max_angle: float = 15.0, turned: bool = False) -> tuple[float, float, float]:
    """Text-line angle of the view (``turned``: of the view turned 90 degrees clockwise)."""
    xs, ys = view.points()
    if len(xs) < 200:
        return 0.0, 0.0, 0.0
    if turned:
        # turning the image 90 degrees clockwise maps centred (x, y) to (-y, x)
        xs, ys = -ys, xs
    diag = int(np.hypot(*view.grey.shape)) + 2
    return _profile_search(xs, ys, max_angle, diag)


def estimate_skew(image: np.ndarray, max_angle: float = 15.0) -> tuple[float, float]:
    """Angle (degrees, counter-clockwise positive) that levels the text lines, and a
    confidence (ratio of the best projection-profile sharpness to the level one's).

    Projection profiles of ink pixels on the analysis copy: the angle at which the
    row histogram is the most peaked is the line direction. Works on ruled and
    unruled paper.
    """
    angle, conf, _ = _skew(_View(image), max_angle)
    return angle, conf


def _median_fill(image: np.ndarray) -> tuple[int, int, int]:
    """Paper-ish colour for canvas corners: the median of a sparse pixel sample."""
    step = max(1, int(max(image.shape[:2]) // 200))
    sample = image[::step, ::step].reshape(-1, image.shape[2] if image.ndim == 3 else 1)
    med = np.median(sample, axis=0)
    return tuple(int(v) for v in np.broadcast_to(med, (3,)))  # type: ignore[return-value]


def rotate_bound(image: np.ndarray, angle: float, fill: tuple[int, int, int] | None = None) -> np.ndarray:
    """Rotate counter-clockwise by ``angle`` degrees, growing the canvas to keep every pixel."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = round(h * sin + w * cos), round(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    if fill is None:
        fill = _median_fill(image)
    return cv2.warpAffine(image, m, (nw, nh), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


# ------------------------------------------------------------- page quad ----


def _order(pts: np.ndarray) -> np.ndarray:
    """Corners as TL, TR, BR, BL."""
    pts = np.asarray(pts, np.float32).reshape(4, 2)
    s = pts.sum(1)
    d = np.diff(pts, axis=1).ravel()
    return np.float32([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]])


def find_page(image: np.ndarray) -> np.ndarray | None:
    """The page's corners (TL, TR, BR, BL, in image pixels) when the page lies on a
    visibly different background (table, scanner lid); None when the page fills the image.

    See :func:`_find_page` (the work is done on the analysis copy).
    """
    view = _View(image)
    quad = _find_page(view)
    return None if quad is None else quad / view.scale


def _find_page(view: _View) -> np.ndarray | None:
    """Page corners in analysis pixels, or None.

    Edges of a median-blurred copy (handwriting and rules blur away, the page
    outline stays); the largest outer contour's hull approximated by 4 points, each
    side then re-fitted to the edge pixels along it (sub-pixel corners); kept only
    when the paper inside differs from what lies outside and edges run along most
    of the outline. Strong edges are tried first (a textured table, wood grain,
    does not then join the outline), weak ones next (a page on a background of
    nearly its own brightness).
    """
    small = view.bgr
    ksize = max(3, round(5 * max(small.shape[:2]) / 600) | 1)
    blur = cv2.medianBlur(small, ksize)
    channels = cv2.split(blur)
    for low, high in _CANNY:
        edges = np.zeros(blur.shape[:2], np.uint8)
        for channel in channels:
            edges |= cv2.Canny(channel, low, high)
        quad = _outline(edges, blur)
        if quad is not None:
            return quad
    return None


#: Canny thresholds tried in turn by :func:`_find_page`
_CANNY = ((40, 120), (20, 60))

#: share of the outline that must run along edges for a quad to count as the page
_MIN_SUPPORT = 0.75


def _outline(edges: np.ndarray, blur: np.ndarray) -> np.ndarray | None:
    """The page quad among the largest edge contours, or None (see :func:`_find_page`)."""
    thick = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(thick, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    area = blur.shape[0] * blur.shape[1]
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:3]:
        hull = cv2.convexHull(contour)
        if cv2.contourArea(hull) < 0.2 * area:
            return None
        perimeter = cv2.arcLength(hull, True)
        for eps in (0.01, 0.02, 0.03, 0.05):
            approx = cv2.approxPolyDP(hull, eps * perimeter, True)
            if len(approx) == 4:
                quad = _refine_quad(_order(approx), edges)
                if (_fills_image(quad, blur.shape) or _support(quad, thick) < _MIN_SUPPORT
                        or not _paper_differs(blur, quad)):
                    return None
                return quad
    return None


def _support(quad: np.ndarray, thick: np.ndarray) -> float:
    """Share of points along the quad's sides that lie on (dilated) edges or on the
    image's own border (a page running out of the frame is bounded by it)."""
    h, w = thick.shape
    hits = total = 0
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        n = max(2, int(np.hypot(*(b - a)) / 2))
        t = np.linspace(0.05, 0.95, n)[:, None]
        pts = np.round(a + t * (b - a)).astype(int)
        x, y = pts[:, 0], pts[:, 1]
        border = (x <= 2) | (y <= 2) | (x >= w - 3) | (y >= h - 3)
        inside = ~border & (x >= 0) & (x < w) & (y >= 0) & (y < h)
        total += n
        hits += int(np.count_nonzero(border)) + int(np.count_nonzero(thick[y[inside], x[inside]]))
    return hits / total if total else 0.0


def _refine_quad(quad: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Fit a straight line to the edge pixels along each side and intersect them.

    The 4-point approximation of the hull sits on the outer rim of dilated edges and
    its corners are whole analysis pixels, so a side can be off by a few pixels at
    one end; each side is fitted to the edge pixels within 6 px of it (a robust
    fit), then again to those within 2 px of that line. The fitted lines run
    through the edges themselves, to a fraction of a pixel, which keeps the deskew
    angle of a page lying skewed on a flatbed within a tenth of a degree.
    """
    ys, xs = np.nonzero(edges)
    if len(xs) < 40:
        return quad
    pts = np.stack([xs, ys], 1).astype(np.float32)
    lines = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        length = float(np.hypot(*(b - a)))
        if length < 10:
            return quad
        hull_line = (a, (b - a) / length)
        line = hull_line
        for band in (6.0, 2.0):
            origin, u = line
            rel = pts - origin
            t = rel @ u
            t0 = float((a - origin) @ u)
            dist = np.abs(rel[:, 0] * u[1] - rel[:, 1] * u[0])
            near = pts[(dist <= band) & (t > t0 + 0.1 * length) & (t < t0 + 0.9 * length)]
            if len(near) < 0.3 * length:
                # no edge along this side (it is the photo's own border, where the page
                # runs out of the frame): keep the hull's side
                line = hull_line
                break
            vx, vy, x0, y0 = cv2.fitLine(near, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
            direction = np.float32([vx, vy])
            if float(direction @ u) < 0:
                direction = -direction
            line = (np.float32([x0, y0]), direction)
        lines.append(line)
    out = []
    for i in range(4):
        (p, r), (q, s) = lines[i - 1], lines[i]  # corner i joins side i-1 and side i
        cross = r[0] * s[1] - r[1] * s[0]
        if abs(cross) < 1e-3:
            return quad
        t = ((q - p)[0] * s[1] - (q - p)[1] * s[0]) / cross
        out.append(p + t * r)
    refined = np.float32(out)
    if np.linalg.norm(refined - quad, axis=1).max() > 10:
        return quad  # the fit wandered off (a shadow, a second edge): keep the hull's corners
    return refined


def _fills_image(quad: np.ndarray, shape: tuple[int, ...]) -> bool:
    h, w = shape[:2]
    frame = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    return bool((np.linalg.norm(quad - frame, axis=1) < 0.02 * max(h, w)).all())


def _paper_differs(blur: np.ndarray, quad: np.ndarray) -> bool:
    """Inside the outline is paper, and it differs from outside (not a text block)."""
    h, w = blur.shape[:2]
    inner = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(inner, np.round(quad).astype(np.int32), 1)
    k = max(5, int(0.03 * max(h, w)))
    outside = cv2.dilate(inner, np.ones((k, k), np.uint8)) - inner
    inside = inner - cv2.erode(inner, np.ones((k, k), np.uint8))
    if outside.sum() < 50 or inside.sum() < 50:
        return False
    a = cv2.mean(blur, mask=inside)[:3]
    b = cv2.mean(blur, mask=outside)[:3]
    return float(np.linalg.norm(np.subtract(a, b))) > 18.0


def _angle_deg(v: np.ndarray) -> float:
    return float(np.degrees(np.arctan2(v[1], v[0])))


def crop_to_page(image: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Warp or rotate-and-crop the page out of the image; returns (page, transforms).

    The rotate-and-crop case warps only the pixels of the crop (one affine warp into
    a crop-sized canvas); the numbers in ``crop:`` are those of the crop in the whole
    rotated canvas, as if it had been rotated first.
    """
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
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        cos, sin = abs(m[0, 0]), abs(m[0, 1])
        nw, nh = round(h * sin + w * cos), round(h * cos + w * sin)
        m[0, 2] += nw / 2 - w / 2
        m[1, 2] += nh / 2 - h / 2
        pts = cv2.transform(np.float32(quad)[None], m)[0]
        # inset a little: the page's edge and the lid's shadow are not page
        inset = 0.004 * float(max(width, height))
        x0, y0 = np.floor(pts.min(0) + inset).astype(int)
        x1, y1 = np.ceil(pts.max(0) - inset).astype(int)
        x0, y0 = max(int(x0), 0), max(int(y0), 0)
        x1, y1 = min(int(x1), nw), min(int(y1), nh)
        m[0, 2] -= x0
        m[1, 2] -= y0
        page = cv2.warpAffine(image, m, (x1 - x0, y1 - y0), flags=cv2.INTER_CUBIC,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=_median_fill(image))
        steps = [f"deskew:{angle:.1f}"] if abs(angle) >= 0.1 else []
        return page, [*steps, f"crop:{x0},{y0},{x1},{y1}"]
    dst = np.float32([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    m = cv2.getPerspectiveTransform(np.float32(quad), dst)
    warped = cv2.warpPerspective(image, m, (round(width), round(height)),
                                 flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return warped, ["perspective"]


# ------------------------------------------------------------- lighting ----


def flatten_light(image: np.ndarray, min_ratio: float = 0.85) -> np.ndarray | None:
    """Even out uneven lighting (phone photos): divide by the paper's estimated
    brightness. Returns None when the lighting is even enough already."""
    return _flatten_light(image, _View(image), min_ratio)


def _flatten_light(image: np.ndarray, view: _View, min_ratio: float = 0.85) -> np.ndarray | None:
    """:func:`flatten_light` with the decision taken on ``view`` (the image's analysis copy).

    The paper's brightness is a closing (ink removed) then a blur of the analysis
    copy; the decision reads its grey levels; the correction is a gain map computed
    small and scaled up, one multiply at full resolution.
    """
    small = view.bgr
    # the decision: paper brightness on a quarter-size grey copy (lighting is smooth)
    sh, sw = view.grey.shape
    tiny = cv2.resize(view.grey, (max(1, sw // 4), max(1, sh // 4)), interpolation=cv2.INTER_AREA)
    k4 = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))
    grey_bg = cv2.GaussianBlur(cv2.morphologyEx(tiny, cv2.MORPH_CLOSE, k4), (0, 0), 2)
    lo, hi = np.percentile(grey_bg, [2, 98])
    if hi <= 0 or lo / hi >= min_ratio:
        return None
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (25, 25))
    background = cv2.GaussianBlur(cv2.morphologyEx(small, cv2.MORPH_CLOSE, k), (0, 0), 8)
    target = np.percentile(background.reshape(-1, 3), 95, axis=0).astype(np.float32)
    gain = target / np.maximum(background.astype(np.float32), 1.0)
    h, w = image.shape[:2]
    gain = cv2.resize(gain, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.multiply(image.astype(np.float32), gain, dtype=cv2.CV_32F).clip(0, 255).astype(np.uint8)


# ---------------------------------------------------------- orientation ----


def is_quarter_turned(image: np.ndarray) -> bool:
    """True when the text lines run vertically (page lying on its side)."""
    return _is_quarter_turned(_View(image))


#: the page is turned a quarter when its columns' line modulation is this many times
#: its rows' (measured: upright pages 0.2-0.5, pages on their side 1.7-4.8)
QUARTER_RATIO = 1.6


def _is_quarter_turned(view: _View) -> bool:
    """Lines of handwriting run along the axis whose ink profile is the most modulated.

    Along a horizontal line of text the column profile is nearly flat (character
    gaps differ from line to line and wash out), while the row profile alternates
    between lines and gaps. The modulation of a profile is its mean absolute
    difference from a moving average a tenth of the page long, over its mean, each
    axis taken at its own best angle within 5 degrees; the text-only mask (no
    rules, no margin line) is used.
    """
    xs, ys = view.points(text=True)
    if len(xs) < 200:
        return False
    diag = int(np.hypot(*view.grey.shape)) + 2
    win = max(3, max(view.grey.shape) // 10 | 1)
    rows = _modulation(xs, ys, diag, win)
    cols = _modulation(-ys, xs, diag, win)  # the view turned 90 degrees clockwise
    return cols > QUARTER_RATIO * rows


def _modulation(xs: np.ndarray, ys: np.ndarray, diag: int, win: int) -> float:
    angle = _profile_search(xs, ys, 5.0, diag)[0]
    t = np.deg2rad(angle)
    proj = ys * np.float32(np.cos(t)) - xs * np.float32(np.sin(t))
    hist = np.bincount((proj + (diag + 4) / 2).astype(np.int64), minlength=diag + 4).astype(np.float64)
    smooth = np.convolve(hist, np.ones(win) / win, "same")
    return float(np.abs(hist - smooth).sum() / max(hist.sum(), 1.0))


_CLS_SESSION: list = []  # one onnxruntime session per process, created on first use

CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"


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
            model = Path(next(iter(spec.submodule_search_locations))) / "models" / CLS_MODEL
            if not model.exists():
                _CLS_SESSION.append(None)
            else:
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = 1
                opts.inter_op_num_threads = 1
                opts.log_severity_level = 3
                _CLS_SESSION.append(ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"]))
    return _CLS_SESSION[0]


#: line crops the direction classifier reads per page (each also read turned round)
CLS_CROPS = 8


def _line_boxes(view: _View, max_crops: int = CLS_CROPS) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1, full-resolution pixels) of text-line pieces of about 4:1,
    found from the row profile of the text mask of the analysis copy."""
    text = view.text
    rows = np.convolve(text.sum(1).astype(np.float64), np.ones(3) / 3, "same")
    if not (rows > 0).any():
        return []
    on = rows > 0.15 * np.percentile(rows[rows > 0], 90)
    # a band of text is at least ~2% of a 600-pixel page tall (12 px at 1400 px)
    min_band = max(3, round(12 * max(text.shape) / 1400))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
    bands = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= min_band]
    boxes = []
    inv = 1.0 / view.scale
    fh, fw = view.full_shape
    for y0, y1 in bands:
        cols = np.flatnonzero(text[y0:y1].sum(0))
        if len(cols) < 5:
            continue
        x0, x1 = int(cols[0]), int(cols[-1])
        pad = (y1 - y0) // 6
        seg = 4 * (y1 - y0 + 2 * pad)
        for xs in range(x0, max(x0 + 1, x1 - seg // 2), seg):
            xe = min(xs + seg, text.shape[1])
            if xe - xs > 2 * (y1 - y0):
                boxes.append((int(xs * inv), int(max(0, y0 - pad) * inv),
                              min(fw, int(np.ceil(xe * inv))), min(fh, int(np.ceil((y1 + pad) * inv)))))
    step = max(1, len(boxes) // max_crops)
    return boxes[::step][:max_crops]


def _cls_input(crop: np.ndarray) -> np.ndarray:
    h, w = crop.shape
    nw = min(192, int(np.ceil(48 * w / h)))
    r = cv2.cvtColor(cv2.resize(crop, (nw, 48), interpolation=cv2.INTER_AREA), cv2.COLOR_GRAY2BGR)
    out = np.zeros((3, 48, 192), np.float32)
    out[:, :, :nw] = (r.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)
    return out


def _is_upside_down(image: np.ndarray, view: _View, margin: float = 0.15) -> bool:
    """True when the page is upside down, by PP-OCR's direction classifier on line crops.

    The classifier reads a few line crops as they are and turned round, in one
    batch; the page is turned only when the turned crops read clearly more upright
    (handwriting sometimes confuses it either way).
    """
    session = _cls_session()
    if session is None:
        return False
    boxes = _line_boxes(view)
    if len(boxes) < 3:
        return False
    grey = [cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY) for x0, y0, x1, y1 in boxes]
    batch = [_cls_input(c) for c in grey] + [_cls_input(cv2.rotate(c, cv2.ROTATE_180)) for c in grey]
    prob = session.run(None, {session.get_inputs()[0].name: np.stack(batch)})[0]
    n = len(grey)
    as_is, turned = float(prob[:n, 1].mean()), float(prob[n:, 1].mean())
    return as_is - turned > margin


def is_upside_down(image: np.ndarray, margin: float = 0.15) -> bool:
    """True when the page is upside down (see :func:`_is_upside_down`)."""
    return _is_upside_down(image, _View(image), margin)


# --------------------------------------------------------------- spreads ----


def find_gutter(image: np.ndarray) -> int | None:
    """x of the fold between two facing pages, or None when this is a single page.

    A landscape image whose middle fifth holds a column with (almost) no handwriting,
    while both halves carry text.
    """
    return _find_gutter(_View(image))


def _find_gutter(view: _View) -> int | None:
    h, w = view.full_shape
    if w < 1.15 * h:
        return None
    text, grey = view.text, view.grey
    cols = text.sum(0).astype(np.float64)
    wk = len(cols)
    win = max(3, round(9 * wk / 1400) | 1)
    cols = np.convolve(cols, np.ones(win) / win, "same")
    lo, hi = int(wk * 0.4), int(wk * 0.6)
    x = lo + int(np.argmin(cols[lo:hi]))
    left, right = cols[: int(wk * 0.35)], cols[int(wk * 0.65) :]
    typical = float(np.median(np.concatenate([left[left > 0], right[right > 0]]))) if (
        (left > 0).any() and (right > 0).any()) else 0.0
    if typical <= 0 or cols[x] > 0.1 * typical:
        return None
    if (left > 0.3 * typical).mean() < 0.2 or (right > 0.3 * typical).mean() < 0.2:
        return None
    # the (nearly) empty run around x; the fold's own shadow may leave a little
    # "ink" in the mask at analysis scale, so the run tolerates a quarter of typical
    a = x
    while a > lo and cols[a - 1] <= 0.25 * typical:
        a -= 1
    b = x
    while b < hi and cols[b + 1] <= 0.25 * typical:
        b += 1
    # darkest column (the fold's shadow) inside the run, else its middle
    band = grey[:, a : b + 1].mean(0)
    xm = a + int(np.argmin(band)) if band.max() - band.min() > 8 else (a + b) // 2
    return round((xm + 0.5) / view.scale)


# ------------------------------------------------------------- pipeline ----

#: smaller angles are left alone: handwriting drifts a degree or so on its own, and
#: PP-OCR reads lines tilted that little as well as level ones (MEASUREMENTS.md)
DESKEW_MIN_DEGREES = 1.5


def _deskew_angle(view: _View, turned: bool) -> tuple[float | None, float]:
    """(angle to rotate by or None, residual skew left uncorrected)."""
    angle, conf, _ = _skew(view, 15.0, turned=turned)
    if conf < 1.05 or abs(angle) < DESKEW_MIN_DEGREES:
        return None, 0.0
    if abs(angle) > 14.5:  # at the edge of the search: not trusted, left and flagged
        return None, angle
    return angle, 0.0


def normalise(image: np.ndarray, text_layer: bool = False) -> list[Normalised]:
    """Normalise one raw page image into one page (or two, left then right, for a spread).

    Steps: find the page against the background and warp/crop it; even out the
    light; turn a page lying on its side; level the lines; split a spread at the
    gutter; turn an upside-down page. Pages that carry a PDF text layer are
    returned untouched, so the text boxes stay valid. Every decision is taken on
    the analysis copy (:class:`_View`); a clean flat scan is never copied at full
    resolution.
    """
    if text_layer:
        return [Normalised(image)]
    transforms: list[str] = []
    img = image
    view = _View(img)
    quad = _find_page(view)
    if quad is not None:
        img, steps = crop_to_page(img, quad / view.scale)
        transforms += steps
        view = _View(img)
    flat = _flatten_light(img, view)
    if flat is not None:
        img = flat
        transforms.append("flatten_light")
        view = _View(img)
    turned = _is_quarter_turned(view)
    angle, residual = _deskew_angle(view, turned)
    if turned:
        img = cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)
        transforms.append("rotate:90")
    if angle is not None:
        transforms.append(f"deskew:{angle:.1f}")
        img = rotate_bound(img, angle)
    if turned or angle is not None:
        view = _View(img)
    gutter = _find_gutter(view)
    halves = [(img, view, transforms)]
    if gutter is not None:
        halves = [(img[:, :gutter], view.columns(0, gutter), [*transforms, "split:left"]),
                  (img[:, gutter:], view.columns(gutter, img.shape[1]), [*transforms, "split:right"])]
    out = []
    for half, half_view, steps in halves:
        steps = list(steps)
        if _is_upside_down(half, half_view):
            half = cv2.rotate(half, cv2.ROTATE_180)
            # a quarter turn plus a half turn is a turn the other way
            if "rotate:90" in steps:
                steps[steps.index("rotate:90")] = "rotate:270"
            else:
                steps.append("rotate:180")
        elif gutter is not None:
            half = np.ascontiguousarray(half)
        out.append(Normalised(half, steps, residual_skew=residual))
    return out
