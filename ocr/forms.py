"""Pre-printed forms: find the ruled cells, read each cell as a unit, labels as labels.

A form notebook is a table of ruled cells: printed labels (走访时间, 记录人; some written
vertically, one character per row: 反/映/问/题) and cells of handwriting. Read as a plain
page, the characters of a vertical label are detected as boxes of their own, each at the
height of a handwritten line in the next cell, and the line-by-line reading order
interleaves them with the handwriting (issue 14: 15.5% CER on such a notebook).

Here the grid is found from the page itself, never from a known layout:

1. :func:`find_cells`: ruling lines by morphology (openings with long horizontal and
   vertical kernels on the binarised page), then the cells are the connected regions
   that the ruling encloses (not connected to the page border, nearly rectangular).
   :func:`cells_hold_text` then checks that the text lies inside the cells (not so on
   grid paper, whose lines cross many squares, nor where part of the grid went unfound).
2. :func:`order_by_cells`: every detected line goes to the cell holding its centre; cells
   are read row by row (a cell starts a row when its top is below the previous row's),
   left to right; lines inside a cell in their own reading order; lines outside the table
   (a page title, a page number) before or after it by position.
3. A vertical label cell (narrow, tall, its boxes stacked in one column) becomes ONE line:
   its characters re-read as one horizontal strip (cut at the ink gaps, laid side by side),
   or the boxes' texts joined top to bottom, whichever the recogniser is surer of.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: a table needs at least this many cells (a ruled notebook has none: its rules are open)
MIN_CELLS = 4


@dataclass(frozen=True)
class Cell:
    """One ruled cell, axis-aligned, in image pixels."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    def holds(self, x: float, y: float) -> bool:
        return self.x0 <= x < self.x1 and self.y0 <= y < self.y1


def ruling_masks(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(horizontal, vertical) ruling-line masks (uint8 0/255) of a BGR page."""
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    h, w = grey.shape
    bw = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 12)
    lh = max(40, w // 18)  # longer than any handwritten stroke
    lv = max(30, h // 45)
    horiz = cv2.morphologyEx(bw, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (lh, 1)))
    vert = cv2.morphologyEx(bw, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, lv)))
    return horiz, vert


def find_cells(image: np.ndarray) -> list[Cell]:
    """The ruled cells of a form page, or [] when the page holds no table.

    A cell is a region that ruling lines enclose on all sides: a connected component of
    the page minus the (slightly thickened) ruling that does not reach the image border,
    fills at least 80% of its bounding box, and is at least 1.5% of the page wide and
    tall. Fewer than :data:`MIN_CELLS` such regions: no table.
    """
    import cv2

    horiz, vert = ruling_masks(image)
    h, w = horiz.shape
    # only long rulings count: handwriting may leave short pieces after the openings
    grid = np.zeros_like(horiz)
    for mask, axis in ((horiz, 0), (vert, 1)):
        n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for i in range(1, n):
            length = stats[i, cv2.CC_STAT_WIDTH] if axis == 0 else stats[i, cv2.CC_STAT_HEIGHT]
            if length >= (0.08 * w if axis == 0 else 0.025 * h):
                grid[lab == i] = 255
    if not grid.any():
        return []
    grid = cv2.dilate(grid, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    free = cv2.bitwise_not(grid)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(free, connectivity=4)
    cells = []
    for i in range(1, n):
        x, y, cw, ch, area = (int(v) for v in stats[i])
        if x == 0 or y == 0 or x + cw >= w or y + ch >= h:
            continue
        if cw < 0.015 * w or ch < 0.015 * h or area < 0.8 * cw * ch:
            continue
        cells.append(Cell(x, y, x + cw, y + ch))
    if len(cells) < MIN_CELLS:
        return []
    return cells


def cells_hold_text(cells: Sequence[Cell], boxes: Sequence[np.ndarray]) -> bool:
    """Whether the text boxes sit inside the cells, as on a form.

    Of the boxes whose centre lies level with the table (beside it too: text right of the
    found cells means part of the grid went unfound), at least 80% must lie in a cell that
    they fit (no wider or taller than it, give or take a little). Not so on
    grid paper (one character per square, each line crossing many), nor when part of the
    grid went unfound (text between the found cells): those are read as plain pages.
    """
    if not cells or not len(boxes):
        return False
    ty0, ty1 = min(c.y0 for c in cells), max(c.y1 for c in cells)
    inside = fit = 0
    for b in boxes:
        cx, cy = float(b[:, 0].mean()), float(b[:, 1].mean())
        if not ty0 <= cy <= ty1:  # above or below the table: a title, a page number
            continue
        inside += 1
        c = next((c for c in cells if c.holds(cx, cy)), None)
        bw = float(b[:, 0].max() - b[:, 0].min())
        bh = float(b[:, 1].max() - b[:, 1].min())
        if c is not None and bw <= 1.1 * c.w + 6 and bh <= 1.2 * c.h + 6:
            fit += 1
    return inside > 0 and fit >= 0.8 * inside


def cell_rows(cells: Sequence[Cell], skew_deg: float = 0.0) -> list[Cell]:
    """Cells in reading order: by rows (top edges), left to right within a row.

    ``skew_deg``: the page's text angle (:func:`minqing.ocr.order.estimate_skew`); the
    cells' top edges are compared after turning it away, so that on a tilted page the
    cells of one row stay one row.
    """
    if not cells:
        return []
    theta = math.radians(skew_deg)
    sin, cos = math.sin(theta), math.cos(theta)

    def top(c: Cell) -> float:
        cx = (c.x0 + c.x1) / 2
        # the middle of the (tilted) top edge, then rotated by -theta
        y = c.y0 + abs(sin) * c.w / 2
        return -cx * sin + y * cos

    tol = min(0.3 * float(np.median([c.h for c in cells])), 15.0)
    rest = sorted(cells, key=lambda c: (top(c), c.x0))
    out: list[Cell] = []
    while rest:
        t0 = top(rest[0])
        row = [c for c in rest if top(c) <= t0 + tol]
        out.extend(sorted(row, key=lambda c: c.x0))
        rest = [c for c in rest if top(c) > t0 + tol]
    return out


def is_vertical_label(cell: Cell, boxes: Sequence[np.ndarray], table_w: int) -> bool:
    """A narrow, tall cell whose text stands in one column (a label written vertically)."""
    if not boxes or cell.h < 1.8 * cell.w or cell.w > 0.2 * table_w:
        return False
    xs0 = [float(b[:, 0].min()) for b in boxes]
    xs1 = [float(b[:, 0].max()) for b in boxes]
    ys0 = [float(b[:, 1].min()) for b in boxes]
    ys1 = [float(b[:, 1].max()) for b in boxes]
    col_w = max(xs1) - min(xs0)
    return (max(ys1) - min(ys0)) >= 1.5 * col_w


@dataclass
class FormLine:
    """A line of a form page after cell grouping (a vertical label: several boxes merged)."""

    index: int | None  # the detected line it is, or None for a merged vertical label
    box: np.ndarray  # 4 points
    members: tuple[int, ...] = ()
    kind: str = "text"  # "text" | "label"


def order_by_cells(
    boxes: Sequence[np.ndarray],
    cells: Sequence[Cell],
    order_within: Callable[[list[np.ndarray]], list[int]],
    skew_deg: float = 0.0,
) -> list[FormLine]:
    """Detected ``boxes`` (4-point arrays) grouped and ordered by the form's cells.

    ``order_within(boxes) -> indices`` orders the boxes of one cell (and those outside the
    table). Vertical label cells come back as one :class:`FormLine` with ``members``.
    """
    cells = cell_rows(cells, skew_deg)
    tx0, tx1 = min(c.x0 for c in cells), max(c.x1 for c in cells)
    ty0, ty1 = min(c.y0 for c in cells), max(c.y1 for c in cells)
    inside: dict[int, list[int]] = {k: [] for k in range(len(cells))}
    above: list[int] = []
    below: list[int] = []
    for i, b in enumerate(boxes):
        cx, cy = float(b[:, 0].mean()), float(b[:, 1].mean())
        k = next((k for k, c in enumerate(cells) if c.holds(cx, cy)), None)
        if k is not None:
            inside[k].append(i)
        elif cy < (ty0 + ty1) / 2:
            above.append(i)
        else:
            below.append(i)

    def ordered(ids: list[int]) -> list[int]:
        return [ids[j] for j in order_within([boxes[i] for i in ids])] if ids else []

    out = [FormLine(i, boxes[i]) for i in ordered(above)]
    for k, c in enumerate(cells):
        ids = inside[k]
        if is_vertical_label(c, [boxes[i] for i in ids], tx1 - tx0):
            ids = sorted(ids, key=lambda i: float(boxes[i][:, 1].mean()))
            pts = np.concatenate([boxes[i] for i in ids])
            x0, y0 = pts.min(axis=0)
            x1, y1 = pts.max(axis=0)
            # the label's box spans its cell's height: the handwriting beside it lies
            # within the label's band (classify assigns lines to labels by position)
            y0, y1 = min(y0, c.y0 + 2), max(y1, c.y1 - 2)
            quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
            out.append(FormLine(None, quad, tuple(ids), "label"))
        else:
            out.extend(FormLine(i, boxes[i]) for i in ordered(ids))
    out.extend(FormLine(i, boxes[i]) for i in ordered(below))
    return out


def vertical_strip(image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """The characters of a vertical label laid side by side: one horizontal line image.

    The column inside ``box`` is cut at the rows without ink (characters split in parts,
    such as 二, are joined back while the piece is shorter than the column's ink width).
    """
    import cv2

    h, w = image.shape[:2]
    x0, y0 = (int(v) for v in np.floor(box.min(axis=0)))
    x1, y1 = (int(v) for v in np.ceil(box.max(axis=0)))
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 4 or y1 - y0 < 8:
        return None
    crop = image[y0:y1, x0:x1]
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    # drop the cell's rulings if the box touches them
    ink[:, : max(1, (x1 - x0) // 12)] = 0
    ink[:, -max(1, (x1 - x0) // 12) :] = 0
    cols = np.nonzero(ink.sum(axis=0))[0]
    rows_ink = ink.sum(axis=1) > 0
    if cols.size == 0 or not rows_ink.any():
        return None
    cw = int(cols[-1] - cols[0] + 1)
    runs: list[list[int]] = []
    t = 0
    n = len(rows_ink)
    while t < n:
        if not rows_ink[t]:
            t += 1
            continue
        s = t
        while t < n and rows_ink[t]:
            t += 1
        runs.append([s, t])
    merged: list[list[int]] = []
    for r in runs:
        # the piece and the previous one fit one character's height: one character
        if (
            merged
            and (r[1] - merged[-1][0]) <= 1.15 * cw
            and ((merged[-1][1] - merged[-1][0]) < 0.75 * cw or (r[1] - r[0]) < 0.5 * cw)
        ):
            merged[-1][1] = r[1]
            continue
        merged.append(list(r))
    if len(merged) < 2:
        return None
    size = max(cw, max(e - s for s, e in merged))
    gap = max(2, size // 5)
    paper = int(np.percentile(grey, 90))
    out = np.full((size + 2 * gap, len(merged) * (size + gap) + gap, 3), paper, np.uint8)
    xc = int(cols[0])
    for k, (s, e) in enumerate(merged):
        piece = crop[s:e, xc : xc + cw]
        oy = gap + (size - (e - s)) // 2
        ox = gap + k * (size + gap) + (size - cw) // 2
        out[oy : oy + (e - s), ox : ox + cw] = piece
    return out


# -- 稿纸 (manuscript grid paper, issue 18) ------------------------------------------------

#: a character grid has at least this many cells
MIN_GRID_CELLS = 40


def is_character_grid(cells: Sequence[Cell]) -> bool:
    """Whether ``cells`` are the squares of 稿纸: many, near-square, nearly all one size.

    A form's cells differ in size and shape; a grid's are one character each.
    """
    if len(cells) < MIN_GRID_CELLS:
        return False
    ws = np.array([c.w for c in cells], np.float64)
    hs = np.array([c.h for c in cells], np.float64)
    mw, mh = float(np.median(ws)), float(np.median(hs))
    if not 0.8 <= mw / max(mh, 1.0) <= 1.25:
        return False
    same = (np.abs(ws - mw) <= 0.15 * mw) & (np.abs(hs - mh) <= 0.15 * mh)
    return float(same.mean()) >= 0.8


def remove_grid(image: np.ndarray, cells: Sequence[Cell]) -> np.ndarray:
    """``image`` with the ruling of a character grid painted over in the paper's colour.

    Only ruling pixels (long thin strokes found by :func:`ruling_masks`) on the cells'
    edges (a few pixels either side) are painted, and the long rules of the frame: a
    character's own straight strokes inside its square are kept.
    """
    import cv2

    horiz, vert = ruling_masks(image)
    h, w = horiz.shape
    band = np.zeros((h, w), np.uint8)
    for c in cells:  # the cells lie ~2 px inside their rules
        cv2.rectangle(band, (c.x0 - 3, c.y0 - 3), (c.x1 + 2, c.y1 + 2), 255, 7)
    rules = cv2.bitwise_or(horiz, vert)
    mask = cv2.bitwise_and(rules, band)
    for m, axis in ((horiz, 0), (vert, 1)):  # the frame and any long rule, wholly
        n, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        for i in range(1, n):
            length = stats[i, cv2.CC_STAT_WIDTH] if axis == 0 else stats[i, cv2.CC_STAT_HEIGHT]
            if length >= 0.25 * (w if axis == 0 else h):
                mask[lab == i] = 255
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    paper = cv2.medianBlur(image, 21)
    out = image.copy()
    out[mask > 0] = paper[mask > 0]
    return out
