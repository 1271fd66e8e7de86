"""Render handwriting-like 民情日记 notebook pages, with exact ground truth, from a plain spec.

Used by ``python -m samples.make_samples`` (the two bundled sample notebooks) and meant to be reused
for larger labelled corpora.  Generation needs Pillow, ``handright`` (dev extra) and Debian's
``fonts-lxgw-wenkai`` / ``fonts-arphic-ukai`` (and, for the printed page header,
``fonts-noto-cjk`` when present); the images it writes need none of them afterwards.

The spec is plain data (dicts, lists, strings: JSON-able), so the text that is drawn and the
ground truth written next to it come from one structure and are never typed twice::

    book_spec = {
        "book_id": "shiqiao-zhangwei",   # ASCII, lowercase; also the output folder's name
        "meta": {"cadre": "张伟", "township": "石桥镇", "village": "杨树沟村"},  # optional,
                                         # copied into the truth file's "books" record
        "entries": [{
            "entry_id": "zw-01",         # unique across a corpus
            "date": "2024-03-05",        # ISO date of the entry (truth "date")
            "date_format": "ymd_week",   # how the date line is written, see DATE_FORMATS;
            "weather": "晴",             #   optional, appended to the date line
            "date_suffix": "下午",        #   optional, appended after the date
            "date_line": None,           # or: the exact written date line (overrides the above)
            "date_inferred": None,       # default: True only for "same_day" / "none"
            "category_code": 5,          # 1..8 (DESIGN.md §2)
            "status": "已上报",           # 已记录 | 办理中 | 已上报 | 已解决 | 已解释
            "follow_up_of": None,        # entry_id of the entry whose matter this reports on
            "paragraphs": ["…", "…"],    # narrative; each paragraph starts on a new ruled line
                                         #   and is wrapped at the hand's chars_per_line
            "indent": True,              # indent each paragraph's first line (False for
                                         #   labelled fields such as "时间：…", "地点：…")
            "lines": None,               # or: explicit pre-wrapped lines (no wrapping at all)
            "new_page": False,           # start the entry at the top of a fresh page
            "fields": None,              # optional {"地点": "…", …}: copied into the truth
        }, ...],
    }

Public API:

* ``DATE_FORMATS``: the written date-line styles (``ymd_week`` → ``2024年3月5日 星期二``,
  ``ymd`` → ``2024年3月5日``, ``md`` → ``3月12日``, ``dot`` → ``2024.3.19``,
  ``dash`` → ``2024-3-26``, ``same_day`` → ``同日``, ``none`` → no date line).
* ``HandStyle``: one writer's hand (font, size, ink, handright jitter, line length; with
  ``running`` > 0 a simulated running hand, 行书, drawn character by character).
* ``PageStyle``: the notebook paper (size, ruling or ``grid=True`` for 稿纸 with one
  character per square cell, margin line, header, page number, tilt, noise, file format)
  and whether pages are scanned as two-page spreads (``spread=True``:
  ``scan-01.jpg`` holds pages 1 and 2; each ``lines.json`` record then names its scan and
  ``"side": "left" | "right"``, with boxes in scan pixels).
* ``wrap_text(text, width) -> list[str]``: greedy wrap that never starts a line with
  closing punctuation (such a mark is kept at the end of the previous line).
* ``layout_book(book_spec, hand, page) -> BookLayout``: decides, without drawing, which
  text goes on which ruled line of which page, and derives the truth (no fonts needed).
* ``render_book(book_spec, out_dir, seed, hand, page=PageStyle()) -> list[dict]``: lays out
  and draws the book into ``out_dir`` (``page-01.jpg`` …, ``lines.json``, ``truth.json``) and
  returns the truth entries (format of ``/work/shared/tools/score_export.py``).
* ``truth_document(books, entries) -> dict`` and ``write_json(path, obj)``.

Truth conventions (the whole project relies on them): an entry's ``text`` is its written
lines, date line included, joined with no separator and with all whitespace removed: exactly
the characters drawn.  The printed header and page number are not part of any entry.
``lines.json`` is ``[{"page": 1, "image": "page-01.jpg", "size": [w, h], "tilt_deg": 0.8,
"header": "民情日记", "footer": "1", "lines": ["…", …], "entry_ids": [...],
"boxes": [[x0, y0, x1, y1], …]}]``: body lines in reading order as drawn (spaces kept),
one entry id and one axis-aligned ink box (final image pixels) per line; header and footer
are kept in their own keys.  ``layout_book`` refuses a hand whose widest line would not fit
the page, and ``PageStyle`` refuses a header that overlaps the ruling.

Not built yet (extension points): pre-printed form pages (print labels such as ``时间：``
in ``_draw_clean`` and decide whether they belong to the truth text) and per-page hands.

Determinism: every random choice comes from ``random.Random`` / ``numpy`` generators seeded
from ``seed`` (integers only: handright hashes its seed, and ``hash(str)`` varies per process).
The same fonts, Pillow and libjpeg give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import math
import random
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

WENKAI = "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf"
UKAI = "/usr/share/fonts/truetype/arphic/ukai.ttc"
#: Printed header font candidates: (path, index); the first that exists is used.
PRINT_FONTS = (
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc", 2),  # Noto Serif CJK SC Bold
    ("/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Bold.ttf", 0),
)

STATUSES = ("已记录", "办理中", "已上报", "已解决", "已解释")
WEEKDAYS = "一二三四五六日"
DATE_FORMATS = ("ymd_week", "ymd", "md", "dot", "dash", "same_day", "none")
#: Marks that must not start a line (kept at the end of the previous one).
NO_LINE_START = "，。、：；！？）》」』”’%"


# ---------------------------------------------------------------------------------------------
# styles
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HandStyle:
    """One writer's hand.

    Attributes:
        font_path, font_index: a Kai-style TrueType/TTC font and its face index.
        font_px: nominal character size in final-image pixels.
        chars_per_line: wrap width in characters (≤ ~18 on an A5 ruled line).
        indent_chars: indentation of a paragraph's first line, in character widths.
        char_gap: extra gap between characters, as a fraction of ``font_px``.
        ink: RGB ink colour; ``ink_opacity`` scales how dark strokes are (0..1].
        size_sigma, spacing_sigma, baseline_sigma: handright's per-character font-size,
            spacing and vertical jitter, as fractions of ``font_px``.
        stroke_xy_sigma: per-stroke displacement, fraction of ``font_px``.
        stroke_theta_sigma: per-stroke rotation in radians.
        line_slope_sigma_deg: each written line is rotated by N(0, sigma) degrees.
        line_dx_sigma: horizontal start jitter of each line, fraction of ``font_px``.
        supersample: render at this multiple and downsample (anti-aliased ink).
        running: 0 for a regular (楷书-like) hand; up to 1 for a simulated running hand
            (行书): characters drawn one by one, slanted and scaled per character, elastically
            distorted, strokes closed up and varied in weight, pen pressure fading across a
            character and along the line, packed closer, and joined by light connecting
            strokes (no 行书 font ships in Debian; see :func:`_cursive`).
        weight: strokes grown by this many pixels (a heavier pen; 0: the font's own).
        slant: degrees the characters lean (right > 0).
        grain: a pencil's grain, 0..1: the ink broken up by the paper's tooth.
        (The last three are 0 in every hand drawn before issue 14's mixed hands, whose
        images they leave unchanged; see ``minqing.ocr.testing.hand_styles``.)
    """

    font_path: str = WENKAI
    font_index: int = 0
    font_px: int = 46
    chars_per_line: int = 17
    indent_chars: float = 2.0
    char_gap: float = 0.10
    ink: tuple[int, int, int] = (28, 36, 84)
    ink_opacity: float = 0.92
    size_sigma: float = 0.04
    spacing_sigma: float = 0.05
    baseline_sigma: float = 0.035
    stroke_xy_sigma: float = 0.025
    stroke_theta_sigma: float = 0.05
    line_slope_sigma_deg: float = 0.35
    line_dx_sigma: float = 0.15
    supersample: int = 2
    running: float = 0.0
    weight: int = 0
    slant: float = 0.0
    grain: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.running <= 1:
            raise ValueError(f"HandStyle.running must be in [0, 1], got {self.running}")
        if not 4 <= self.chars_per_line <= 40:
            raise ValueError(f"HandStyle.chars_per_line must be 4..40, got {self.chars_per_line}")
        if not 0 < self.ink_opacity <= 1:
            raise ValueError(f"HandStyle.ink_opacity must be in (0, 1], got {self.ink_opacity}")
        if self.font_px < 8 or self.supersample < 1:
            raise ValueError("HandStyle.font_px must be >= 8 and supersample >= 1")


@dataclass(frozen=True)
class PageStyle:
    """The notebook paper and the scan.

    Attributes:
        size: page image (width, height) in pixels (~150 dpi A5 by default).
        rule_top: y of the first ruled line; ``rule_pitch``: distance between rules;
            ``n_rules``: ruled lines per page (each carries one written line).
        margin_x: x of the red vertical margin line; ``text_left``: where writing starts.
        paper, rule_color, margin_color: RGB colours.
        header: printed text at the top of every page ("" for none); ``header_color``;
            ``header_y``: its top; ``header_rule_y``: the printed double rule under it.
        footer: printed page number format (``"{n}"``; "" for none).
        tilt_prob, tilt_max_deg: a page is rotated with this probability by up to this
            many degrees (sign and size drawn from the seed); ``tilts`` overrides per page
            (a tuple of degrees, page 1 first).
        noise_sigma: grey noise added to every pixel; ``blur``: Gaussian blur radius.
        shading: amplitude of low-frequency paper brightness variation (0..1).
        image_format: ``"jpg"`` or ``"png"``; ``jpeg_quality`` for JPEG.
        spread: write two-page spreads (pages 1+2, 3+4, … side by side, a shaded gutter of
            ``gutter_px`` between them) as ``scan-01.jpg`` …, one tilt per scan; an odd last
            page gets a blank facing page.  Truth page numbers stay per facing page.
        grid: 稿纸 (manuscript paper) instead of lined paper: each ruled line becomes a row
            of square cells of side ``grid_cell`` px (0: ``rule_pitch`` less a band of
            ~1/6 between rows), from ``text_left`` across the page, ruled in ``grid_color``
            inside a frame; every character (punctuation and each digit too) is written in
            its own cell, a space leaves a cell empty; no margin line.  A row's cells sit on
            the ruled line's y (cell bottom at ``rule_top + k * rule_pitch``).
    """

    size: tuple[int, int] = (1200, 1700)
    rule_top: int = 250
    rule_pitch: int = 78
    n_rules: int = 18
    margin_x: int = 130
    text_left: int = 158
    paper: tuple[int, int, int] = (247, 241, 222)
    rule_color: tuple[int, int, int] = (150, 172, 205)
    margin_color: tuple[int, int, int] = (205, 70, 70)
    header: str = "民情日记"
    header_color: tuple[int, int, int] = (170, 40, 40)
    header_y: int = 95
    header_rule_y: int = 170
    footer: str = "{n}"
    tilt_prob: float = 0.6
    tilt_max_deg: float = 1.5
    tilts: tuple[float, ...] | None = None
    noise_sigma: float = 3.0
    blur: float = 0.5
    shading: float = 0.03
    image_format: str = "jpg"
    jpeg_quality: int = 80
    spread: bool = False
    gutter_px: int = 36
    grid: bool = False
    grid_cell: int = 0
    grid_color: tuple[int, int, int] = (70, 150, 95)

    @property
    def cell(self) -> int:
        """Side of a grid cell in pixels (grid paper only)."""
        return self.grid_cell or round(self.rule_pitch * 5 / 6)

    @property
    def grid_cols(self) -> int:
        """Cells per row of the grid (grid paper only)."""
        return max(0, (self.size[0] - 40 - self.text_left) // self.cell)

    def __post_init__(self) -> None:
        if self.grid and not 16 <= self.cell <= self.rule_pitch:
            raise ValueError(
                f"PageStyle: grid cells of {self.cell} px need 16 px..rule_pitch "
                f"({self.rule_pitch} px)"
            )
        if self.image_format not in ("jpg", "png"):
            raise ValueError(
                f"PageStyle.image_format must be 'jpg' or 'png', got {self.image_format!r}"
            )
        if abs(self.tilt_max_deg) > 5 or (self.tilts and any(abs(t) > 5 for t in self.tilts)):
            raise ValueError("PageStyle tilts above 5 degrees are not realistic scans")
        if self.header and not self.header_y + 40 < self.header_rule_y < self.rule_top - 40:
            raise ValueError(
                f"PageStyle: header at y={self.header_y}, its rule at y={self.header_rule_y} and "
                f"the first ruled line at y={self.rule_top} overlap; move header_y/header_rule_y"
            )
        bottom = self.rule_top + (self.n_rules - 1) * self.rule_pitch
        if bottom >= self.size[1] - 40:
            raise ValueError(
                f"PageStyle: last rule at y={bottom} does not fit a page {self.size[1]} px high"
            )


# ---------------------------------------------------------------------------------------------
# layout (no fonts needed)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlacedLine:
    """One written line: where it goes and what it says (``text`` as drawn, spaces kept)."""

    page: int
    rule: int
    text: str
    entry_id: str
    indent: float = 0.0
    kind: str = "body"  # "date", "body" or "cover"
    #: RGB ink of this line when it differs from the hand's (a later note in another pen)
    ink: tuple[int, int, int] | None = None


@dataclass
class BookLayout:
    """The result of :func:`layout_book`: placed lines, page count and truth entries."""

    book_id: str
    meta: dict[str, Any]
    lines: list[PlacedLine]
    n_pages: int
    entries: list[dict[str, Any]] = field(default_factory=list)

    def book_record(self) -> dict[str, Any]:
        """The truth file's ``books`` record for this book."""
        return {"book_id": self.book_id, **self.meta, "pages": self.n_pages}


def wrap_text(text: str, width: int) -> list[str]:
    """Wrap ``text`` greedily into lines of at most ``width`` characters.

    A closing punctuation mark never starts a line: it stays at the end of the previous
    line, which may then hold ``width + 1`` characters (as people write).
    """
    text = re.sub(r"\s+", "", text)
    lines: list[str] = []
    i = 0
    while i < len(text):
        j = min(i + width, len(text))
        while j < len(text) and text[j] in NO_LINE_START:
            j += 1
        lines.append(text[i:j])
        i = j
    return lines


def date_line(entry: dict[str, Any]) -> str | None:
    """The written date line of ``entry`` (see :data:`DATE_FORMATS`), or None."""
    if entry.get("date_line") is not None:
        return entry["date_line"]
    fmt = entry.get("date_format", "ymd")
    if fmt not in DATE_FORMATS:
        raise ValueError(f"entry {entry.get('entry_id')}: unknown date_format {fmt!r}")
    if fmt == "none":
        return None
    d = dt.date.fromisoformat(entry["date"])
    base = {
        "ymd_week": f"{d.year}年{d.month}月{d.day}日 星期{WEEKDAYS[d.weekday()]}",
        "ymd": f"{d.year}年{d.month}月{d.day}日",
        "md": f"{d.month}月{d.day}日",
        "dot": f"{d.year}.{d.month}.{d.day}",
        "dash": f"{d.year}-{d.month}-{d.day}",
        "same_day": "同日",
    }[fmt]
    if entry.get("date_suffix"):
        base += entry["date_suffix"] if fmt == "same_day" else " " + entry["date_suffix"]
    if entry.get("weather"):
        base += " " + entry["weather"]
    return base


def _check_entry(entry: dict[str, Any], ids: set[str]) -> None:
    eid = entry.get("entry_id")
    if not eid or eid in ids:
        raise ValueError(f"entry id missing or duplicated: {eid!r}")
    dt.date.fromisoformat(entry["date"])
    if entry.get("category_code") not in range(1, 9):
        raise ValueError(f"entry {eid}: category_code must be 1..8")
    if entry.get("status") not in STATUSES:
        raise ValueError(
            f"entry {eid}: status must be one of {STATUSES}, got {entry.get('status')!r}"
        )
    if entry.get("follow_up_of") is not None and entry["follow_up_of"] not in ids:
        raise ValueError(
            f"entry {eid}: follow_up_of {entry['follow_up_of']!r} is not an earlier entry"
        )
    if not entry.get("paragraphs") and not entry.get("lines"):
        raise ValueError(f"entry {eid}: needs 'paragraphs' or 'lines'")


def layout_book(book_spec: dict[str, Any], hand: HandStyle, page: PageStyle) -> BookLayout:
    """Place every written line of a book on a ruled line of a page, and derive the truth.

    Entries flow one after another with one empty ruled line between them; an entry that
    does not fit continues on the next page (a date line is never left alone on a page's
    last rule).  Raises ValueError on an inconsistent spec.
    """
    book_id = book_spec["book_id"]
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", book_id):
        raise ValueError(f"book_id must be ASCII lowercase (folder name), got {book_id!r}")
    # widest line: chars_per_line + 1 (a trailing punctuation mark), with spacing jitter
    need = page.text_left + (hand.chars_per_line + 1) * hand.font_px * (1 + hand.char_gap) * 1.05
    if page.grid:
        cols = hand.chars_per_line + 1 + math.ceil(hand.indent_chars)
        if cols > page.grid_cols or hand.font_px > page.cell:
            raise ValueError(
                f"{book_id}: {hand.chars_per_line} characters (+1 mark, +indent) need {cols} "
                f"cells of at least {hand.font_px} px; the grid has {page.grid_cols} of "
                f"{page.cell} px"
            )
    elif need > page.size[0] - 20:
        raise ValueError(
            f"{book_id}: {hand.chars_per_line} characters of {hand.font_px} px from x="
            f"{page.text_left} need {need:.0f} px, the page is {page.size[0]} px wide; "
            "lower chars_per_line or font_px"
        )
    placed: list[PlacedLine] = []
    truth: list[dict[str, Any]] = []
    ids: set[str] = set()
    pg, rule = 1, 0

    def advance() -> None:
        nonlocal pg, rule
        rule += 1
        if rule >= page.n_rules:
            pg, rule = pg + 1, 0

    cover = book_spec.get("cover")
    if cover:  # a cover page: its text alone on page 1 (not part of any entry)
        for k, text in enumerate(wrap_text(cover, hand.chars_per_line)):
            placed.append(PlacedLine(1, 2 + k, text, "", 2.0, "cover"))
        pg, rule = 2, 0
    for entry in book_spec["entries"]:
        _check_entry(entry, ids)
        if entry.get("new_page") and rule > 0:
            pg, rule = pg + 1, 0
        elif placed and rule > 0 and entry.get("gap_before", True):
            advance()  # one empty ruled line between entries
        lines: list[tuple[str, float, str, Any]] = []
        dl = date_line(entry)
        if dl and page.grid and len(dl) > page.grid_cols:  # 稿纸: a long heading takes two rows
            w = page.grid_cols
            lines += [(dl[i : i + w].strip(), 0.0, "date", None) for i in range(0, len(dl), w)]
        elif dl:
            lines.append((dl, 0.0, "date", None))
        if entry.get("lines"):
            lines += [(ln, 0.0, "body", None) for ln in entry["lines"]]
        else:
            paras = [p if isinstance(p, dict) else {"text": p} for p in entry["paragraphs"]]
            for para in paras:
                # a paragraph may be {"text": …, "indent": False, "ink": [r, g, b]}
                ind = para.get("indent", entry.get("indent", True))
                indent = hand.indent_chars if ind else 0.0
                ink = tuple(para["ink"]) if para.get("ink") else None
                # the indent eats room on the first line of a paragraph
                first_w = hand.chars_per_line - math.ceil(indent)
                head = wrap_text(para["text"], max(first_w, 4))[0]
                rest = wrap_text(re.sub(r"\s+", "", para["text"])[len(head) :], hand.chars_per_line)
                lines.append((head, indent, "body", ink))
                lines += [(ln, 0.0, "body", ink) for ln in rest]
        if dl and len(lines) > 1 and rule == page.n_rules - 1:
            pg, rule = pg + 1, 0  # never leave a date line alone at the foot of a page
        start_page = pg
        for text, indent, kind, ink in lines:
            placed.append(PlacedLine(pg, rule, text, entry["entry_id"], indent, kind, ink))
            end_page = pg
            advance()
        inferred = entry.get("date_inferred")
        if inferred is None:
            inferred = entry.get("date_format") in ("same_day", "none") and not entry.get(
                "date_line"
            )
        truth.append(
            {
                "entry_id": entry["entry_id"],
                "book_id": book_id,
                "date": entry["date"],
                "date_inferred": bool(inferred),
                "category_code": entry["category_code"],
                "follow_up_of": entry.get("follow_up_of"),
                "status": entry["status"],
                "text": "".join(re.sub(r"\s+", "", t) for t, _, _, _ in lines),
                "page_start": start_page,
                "page_end": end_page,
            }
        )
        if entry.get("fields"):  # labelled fields ({"地点": "…"}), copied into the truth
            truth[-1]["fields"] = dict(entry["fields"])
        ids.add(entry["entry_id"])
    n_pages = max(p.page for p in placed) if placed else 0
    return BookLayout(book_id, dict(book_spec.get("meta", {})), placed, n_pages, truth)


# ---------------------------------------------------------------------------------------------
# drawing
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=32)
def _font(path: str, size: int, index: int = 0) -> ImageFont.FreeTypeFont:
    if not Path(path).exists():
        raise FileNotFoundError(
            f"{path}: font not found; install Debian fonts-lxgw-wenkai / fonts-arphic-ukai "
            "(needed only to generate sample images)"
        )
    return ImageFont.truetype(path, size, index=index)


def _print_font(size: int) -> ImageFont.FreeTypeFont:
    for path, index in PRINT_FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size, index=index)
    return _font(WENKAI, size)


def _render_segment(text: str, hand: HandStyle, seed: int) -> Image.Image:
    """Handwrite one run of text (no spaces); returns an 'L' ink-alpha image (255 = ink)."""
    import handright  # dev extra; imported here so layout_book works without it

    s = hand.supersample
    px = hand.font_px * s
    font = _font(hand.font_path, px, hand.font_index)
    pad = px
    width = 2 * pad + int(len(text) * px * (1.6 + hand.char_gap))
    height = pad + px + pad
    bg = Image.new("L", (width, height), 255)
    tpl = handright.Template(
        background=bg,
        font=font,
        line_spacing=px,
        fill=0,
        left_margin=pad,
        top_margin=pad,
        right_margin=0,
        bottom_margin=0,
        word_spacing=int(hand.char_gap * px),
        line_spacing_sigma=hand.baseline_sigma * px,
        font_size_sigma=hand.size_sigma * px,
        word_spacing_sigma=hand.spacing_sigma * px,
        end_chars="",
        start_chars="",
        perturb_x_sigma=hand.stroke_xy_sigma * px,
        perturb_y_sigma=hand.stroke_xy_sigma * px,
        perturb_theta_sigma=hand.stroke_theta_sigma,
    )
    pages = list(handright.handwrite(text, tpl, seed=seed))
    if len(pages) != 1:  # handright wrapped: the strip was too narrow (a bug here)
        raise RuntimeError(f"handright split {text!r} over {len(pages)} strips")
    ink = ImageChops.invert(pages[0])
    if hand.weight or hand.slant:
        from minqing.ocr.testing import pen_mask

        ink = pen_mask(ink, hand.weight * s, hand.slant, 0.0, seed)
    box = ink.getbbox()
    if box is None:
        return Image.new("L", (1, 1), 0)
    # keep the full em height so that baselines of different runs line up
    ink = ink.crop((box[0], pad - px // 4, box[2], pad + px + px // 4))
    if s > 1:
        ink = ink.resize((max(1, ink.width // s), max(1, ink.height // s)), Image.LANCZOS)
    return ink


def render_line(text: str, hand: HandStyle, seed: int) -> Image.Image:
    """Handwrite one ruled line; returns an 'L' ink-alpha image whose height is ~1.5 em.

    Spaces separate runs (e.g. ``2024年3月5日 星期二 晴``) and become ~1 character gaps.
    """
    if hand.running:
        return _render_running_line(text, hand, seed)
    rng = random.Random(seed)
    runs = [r for r in text.split(" ") if r]
    imgs = [_render_segment(r, hand, seed * 7919 + k) for k, r in enumerate(runs)]
    gaps = [int(hand.font_px * rng.uniform(0.7, 1.1)) for _ in imgs[1:]]
    width = sum(i.width for i in imgs) + sum(gaps)
    height = max(i.height for i in imgs)
    out = Image.new("L", (max(width, 1), height), 0)
    x = 0
    for k, im in enumerate(imgs):
        out.paste(im, (x, 0))
        x += im.width + (gaps[k] if k < len(gaps) else 0)
    return out


#: marks written in the lower left of a 稿纸 cell (the rest are centred)
_LOW_MARKS = "，。、；：！？,.;:!?"


def _char_images(text: str, hand: HandStyle, seed: int) -> list[Image.Image | None]:
    """One 'L' ink-alpha image per character of ``text`` (None for a space).

    All images of one call have the same height and baseline (the em box, padded for the
    running hand's slant), so they line up when pasted at the same y.
    """
    out: list[Image.Image | None] = []
    for k, ch in enumerate(text):
        if ch.isspace():
            out.append(None)
            continue
        img = _render_segment(ch, hand, seed * 131 + k)
        out.append(_cursive(img, hand, seed * 131 + k) if hand.running else img)
    return out


def _cursive(ink: Image.Image, hand: HandStyle, seed: int) -> Image.Image:
    """A regular glyph made to look written fast (行书-like), by ``hand.running`` (0..1).

    Per character: a right slant and a small upward turn, scale and width jitter, an
    elastic distortion, strokes closed up where they nearly touch, heavier or lighter
    strokes, and pen pressure fading across the character.  The image is padded by a
    third of an em on every side so all characters of a hand keep one height.
    """
    import cv2
    import numpy as np

    r = hand.running
    rng = np.random.default_rng(seed)
    px = hand.font_px
    pad = px // 3
    a = np.asarray(ink, np.float32)
    a = cv2.copyMakeBorder(a, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    h, w = a.shape
    shear = math.tan(math.radians(rng.normal(14 * r, 4 * r)))
    rot = math.radians(rng.normal(3 * r, 2 * r))
    sy = 1 + rng.normal(0, 0.07 * r)
    sx = sy * (1 + rng.normal(-0.04 * r - 0.08 * r**3, 0.05 * r))
    lin = np.array([[math.cos(rot), math.sin(rot)], [-math.sin(rot), math.cos(rot)]])
    lin = lin @ np.array([[1, -shear], [0, 1]]) @ np.diag([sx, sy])
    c = np.array([w / 2, h / 2])
    m = np.hstack([lin, (c - lin @ c)[:, None]]).astype(np.float32)
    a = cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    # elastic distortion: a smooth random displacement field
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    amp = (0.04 * r + 0.08 * r**3) * px
    field = []
    for _ in range(2):
        f = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), px / 6)
        field.append(f / (np.abs(f).max() + 1e-6) * amp)
    a = cv2.remap(a, xx + field[0], yy + field[1], cv2.INTER_LINEAR, borderValue=0)
    # fast strokes run into each other
    if rng.random() < 0.6 * r:
        k = max(2, round(px * (0.03 + 0.04 * r**3)))
        a = cv2.morphologyEx(a, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    # stroke weight: a heavier or lighter pen
    weight = rng.normal(0, 0.25 * r)
    if weight > 0.25:
        a = np.maximum(a, 0.6 * cv2.dilate(a, np.ones((2, 2), np.uint8)))
    a = 255 * (a / 255) ** math.exp(-weight)
    # pen pressure fades across the character
    theta = rng.uniform(0, 2 * math.pi)
    g = ((xx - w / 2) * math.cos(theta) + (yy - h / 2) * math.sin(theta)) / (max(w, h) / 2)
    a *= 1 - 0.3 * r * np.clip((g + 1) / 2, 0, 1)
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L")
    box = out.getbbox()
    return out.crop((box[0], 0, box[2], h)) if box else out


def _ink_end(a, left: bool):  # type: ignore[no-untyped-def]
    """(x, y) of the stroke end a joining stroke leaves (right, low) or enters (left, high)."""
    import numpy as np

    ys, xs = np.nonzero(a > 110)
    if not len(xs):
        return None
    score = xs - 0.4 * ys if left else xs + 0.4 * ys
    i = int(np.argmin(score) if left else np.argmax(score))
    return float(xs[i]), float(ys[i])


def _render_running_line(text: str, hand: HandStyle, seed: int) -> Image.Image:
    """A line in the simulated running hand: characters packed closer on a wandering
    baseline, light joining strokes from one character's last stroke to the next one's
    first, and the pen's pressure fading and returning along the line."""
    import numpy as np

    r = hand.running
    rng = random.Random(seed)
    px = hand.font_px
    imgs = _char_images(text, hand, seed)
    height = max((im.height for im in imgs if im is not None), default=px)
    canvas_h = height + px // 2
    width = sum(im.width if im is not None else px for im in imgs) + px * (len(imgs) + 2)
    canvas = np.zeros((canvas_h, width), np.float32)
    x, dy = 2.0, 0.0
    placed: list[tuple[int, int, np.ndarray, str]] = []
    for ch, im in zip(text, imgs, strict=True):
        if im is None:
            x += px * rng.uniform(0.7, 1.0)
            placed.append((0, 0, np.zeros((0, 0)), " "))
            continue
        dy = max(-0.12 * px, min(0.12 * px, dy + rng.gauss(0, 0.035 * px * r)))
        a = np.asarray(im, np.float32)
        x0, y0 = round(x), round(px // 4 + dy)
        region = canvas[y0 : y0 + a.shape[0], x0 : x0 + a.shape[1]]
        np.maximum(region, a[: region.shape[0], : region.shape[1]], out=region)
        placed.append((x0, y0, a, ch))
        gap = hand.char_gap * px * (1 - 0.7 * r) + rng.gauss(0, 0.04 * px)
        x += a.shape[1] + max(gap, -0.06 * px)
    # joining strokes between neighbouring characters (not across spaces or marks)
    lig = Image.new("L", (width, canvas_h), 0)
    d = ImageDraw.Draw(lig)
    for (xa, ya, a, ca), (xb, yb, b, cb) in itertools.pairwise(placed):
        if " " in (ca, cb) or not (_cjk(ca) and _cjk(cb)) or rng.random() > 0.75 * r:
            continue
        p, q = _ink_end(a, left=False), _ink_end(b, left=True)
        if p is None or q is None:
            continue
        (x1, y1), (x2, y2) = (xa + p[0], ya + p[1]), (xb + q[0], yb + q[1])
        if x2 - x1 > 0.9 * px or x2 <= x1:
            continue
        cx, cy = (x1 + x2) / 2, max(y1, y2) + 0.12 * px
        pts = [
            ((1 - t) ** 2 * x1 + 2 * (1 - t) * t * cx + t * t * x2,
             (1 - t) ** 2 * y1 + 2 * (1 - t) * t * cy + t * t * y2)
            for t in (i / 12 for i in range(13))
        ]  # fmt: skip
        d.line(pts, fill=int(rng.uniform(90, 170)), width=max(1, round(px / 36)))
    canvas = np.maximum(canvas, np.asarray(lig, np.float32))
    # pen pressure along the line: a slow wave between ~0.65 and 1
    nrng = np.random.default_rng(seed)
    knots = nrng.uniform(1 - 0.35 * r, 1, max(2, width // (3 * px) + 2)).astype(np.float32)
    fade = np.interp(np.arange(width), np.linspace(0, width - 1, len(knots)), knots)
    canvas *= fade[None, :].astype(np.float32)
    out = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8), "L")
    box = out.getbbox()
    return out.crop((0, 0, box[2] + 1, canvas_h)) if box else out


def _cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


def _grid_line(
    text: str, indent: float, rule_y: int, hand: HandStyle, page: PageStyle, seed: int
) -> list[tuple[int, int, Image.Image]]:
    """(x, y, ink) of each character of a line on 稿纸: one character per cell, centred
    (a full stop or comma in the cell's lower left), a little jitter; never past a cell."""
    rng = random.Random(seed)
    cell = page.cell
    top = rule_y - cell
    out = []
    for k, (ch, im) in enumerate(zip(text, _char_images(text, hand, seed), strict=True)):
        if im is None:
            continue
        bb = im.getbbox()
        if bb is None:
            continue
        im = im.crop(bb)
        if max(im.size) > 0.9 * cell:  # a slanted running character may outgrow its cell
            f = 0.9 * cell / max(im.size)
            im = im.resize((max(1, round(im.width * f)), max(1, round(im.height * f))))
        cx0 = page.text_left + (round(indent) + k) * cell
        if ch in _LOW_MARKS:
            x, y = cx0 + 0.18 * cell, top + 0.62 * cell
        else:
            x = cx0 + (cell - im.width) / 2 + rng.gauss(0, 0.03 * cell)
            y = top + (cell - im.height) / 2 + rng.gauss(0, 0.03 * cell)
        x = min(max(x, cx0 + 3), cx0 + cell - im.width - 3)
        y = min(max(y, top + 3), top + cell - im.height - 3)
        out.append((round(x), round(y), im))
    return out


def _paper(page: PageStyle, rng: random.Random) -> Image.Image:
    import numpy as np

    w, h = page.size
    nrng = np.random.default_rng(rng.randrange(2**32))
    base = np.empty((h, w, 3), np.float32)
    base[:] = page.paper
    if page.shading:
        low = nrng.normal(0, 1, (9, 7)).astype(np.float32)
        low_img = Image.fromarray(((low - low.min()) / (np.ptp(low) + 1e-6) * 255).astype(np.uint8))
        shade = np.asarray(low_img.resize((w, h), Image.BICUBIC), np.float32) / 255 - 0.5
        base *= (1 + 2 * page.shading * shade)[..., None]
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    if page.grid:
        _draw_grid(d, page)
        return img
    for k in range(page.n_rules):
        y = page.rule_top + k * page.rule_pitch
        d.line([(40, y), (w - 40, y)], fill=page.rule_color, width=2)
    d.line([(page.margin_x, 40), (page.margin_x, h - 40)], fill=page.margin_color, width=2)
    return img


def _draw_grid(d: ImageDraw.ImageDraw, page: PageStyle) -> None:
    """稿纸: rows of square cells (a row's bottom on each rule's y) inside a heavier frame."""
    cell, cols = page.cell, page.grid_cols
    x0, x1 = page.text_left, page.text_left + cols * cell
    for k in range(page.n_rules):
        yb = page.rule_top + k * page.rule_pitch
        yt = yb - cell
        d.line([(x0, yt), (x1, yt)], fill=page.grid_color, width=2)
        d.line([(x0, yb), (x1, yb)], fill=page.grid_color, width=2)
        for c in range(cols + 1):
            x = x0 + c * cell
            d.line([(x, yt), (x, yb)], fill=page.grid_color, width=2)
    top = page.rule_top - cell - 6
    bottom = page.rule_top + (page.n_rules - 1) * page.rule_pitch + 6
    d.rectangle([x0 - 6, top, x1 + 6, bottom], outline=page.grid_color, width=3)


def _rotate_point(x: float, y: float, cx: float, cy: float, deg: float) -> tuple[float, float]:
    # PIL's rotate(angle) turns the image counter-clockwise by `angle` degrees
    a = math.radians(deg)
    dx, dy = x - cx, y - cy
    return cx + dx * math.cos(a) + dy * math.sin(a), cy - dx * math.sin(a) + dy * math.cos(a)


def _draw_page(
    lines: list[PlacedLine], page_no: int, hand: HandStyle, page: PageStyle, seed: int, tilt: float
) -> tuple[Image.Image, list[list[int]]]:
    rng = random.Random(seed)
    img, boxes = _draw_clean(lines, page_no, hand, page, seed, rng)
    return _scan(img, boxes, tilt, page, rng)


def _draw_clean(
    lines: list[PlacedLine],
    page_no: int,
    hand: HandStyle,
    page: PageStyle,
    seed: int,
    rng: random.Random,
) -> tuple[Image.Image, list[list[int]]]:
    """Paper, print and ink of one page, before the scan effects (tilt, blur, noise)."""
    import numpy as np

    w, h = page.size
    img = _paper(page, rng)
    d = ImageDraw.Draw(img)
    if page.header:
        f = _print_font(40)
        tw = d.textlength(page.header, font=f)
        d.text(((w - tw) / 2, page.header_y), page.header, font=f, fill=page.header_color)
        hy = page.header_rule_y
        d.line([(60, hy), (w - 60, hy)], fill=page.header_color, width=3)
        d.line([(60, hy + 7), (w - 60, hy + 7)], fill=page.header_color, width=1)
    if page.footer:
        f = _print_font(28)
        txt = page.footer.format(n=page_no)
        tw = d.textlength(txt, font=f)
        d.text(((w - tw) / 2, h - 75), txt, font=f, fill=(90, 90, 90))

    alphas: dict[tuple[int, int, int], Image.Image] = {}  # one ink layer per pen
    boxes = []
    for ln in lines:
        alpha = alphas.setdefault(ln.ink or hand.ink, Image.new("L", (w, h), 0))
        line_seed = seed * 1009 + ln.rule * 31 + 7
        lrng = random.Random(line_seed)
        rule_y = page.rule_top + ln.rule * page.rule_pitch
        if page.grid:  # one character per cell
            pieces = _grid_line(ln.text, ln.indent, rule_y, hand, page, line_seed)
            for x0, y0, im in pieces:
                region = alpha.crop((x0, y0, x0 + im.width, y0 + im.height))
                alpha.paste(ImageChops.lighter(region, im), (x0, y0))
            if pieces:
                boxes.append(
                    [
                        min(x for x, _, _ in pieces),
                        min(y for _, y, _ in pieces),
                        max(x + im.width for x, _, im in pieces),
                        max(y + im.height for _, y, im in pieces),
                    ]
                )
            else:
                boxes.append([page.text_left, rule_y - page.cell, page.text_left, rule_y])
            continue
        strip = render_line(ln.text, hand, line_seed)
        slope = lrng.gauss(0, hand.line_slope_sigma_deg)
        strip = strip.rotate(slope, resample=Image.BICUBIC, expand=True, fillcolor=0)
        x0 = page.text_left + ln.indent * hand.font_px * (1 + hand.char_gap)
        x0 += lrng.gauss(0, hand.line_dx_sigma * hand.font_px)
        bb = strip.getbbox() or (0, 0, strip.width, strip.height)
        # ink sits on the rule: bottom of the ink a few pixels above the ruled line
        y0 = rule_y - 5 - bb[3] + lrng.gauss(0, 1.5)
        x0, y0 = round(x0), round(y0)
        alpha.paste(
            ImageChops.lighter(alpha.crop((x0, y0, x0 + strip.width, y0 + strip.height)), strip),
            (x0, y0),
        )
        boxes.append([x0 + bb[0], y0 + bb[1], x0 + bb[2], y0 + bb[3]])

    out = np.asarray(img, np.float32)
    for colour, alpha in alphas.items():
        a = np.asarray(alpha, np.float32)[..., None] / 255.0 * hand.ink_opacity
        if hand.grain:  # a pencil: the paper's tooth breaks the stroke up
            tooth = np.random.default_rng(seed).uniform(0, 1, a.shape).astype(np.float32)
            a = a * (1 - hand.grain * tooth)
        out = out * (1 - a) + np.array(colour, np.float32) * a
    img = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB")
    return img, boxes


def _scan(
    img: Image.Image, boxes: list[list[int]], tilt: float, page: PageStyle, rng: random.Random
) -> tuple[Image.Image, list[list[int]]]:
    """Scan effects: rotate by ``tilt`` degrees (boxes follow), blur, grey noise."""
    import numpy as np

    w, h = img.size
    if tilt:
        img = img.rotate(tilt, resample=Image.BICUBIC, expand=False, fillcolor=page.paper)
        cx, cy = w / 2, h / 2
        new_boxes = []
        for x0, y0, x1, y1 in boxes:
            pts = [
                _rotate_point(x, y, cx, cy, tilt)
                for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))
            ]
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            new_boxes.append(
                [math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)), math.ceil(max(ys))]
            )
        boxes = new_boxes
    if page.blur:
        img = img.filter(ImageFilter.GaussianBlur(page.blur))
    if page.noise_sigma:
        nrng = np.random.default_rng(rng.randrange(2**32))
        noise = nrng.normal(0, page.noise_sigma, (h, w, 1)).astype(np.float32)
        img = Image.fromarray(
            np.clip(np.asarray(img, np.float32) + noise, 0, 255).astype(np.uint8), "RGB"
        )
    return img, boxes


def _page_tilts(n_pages: int, page: PageStyle, rng: random.Random) -> list[float]:
    if page.tilts is not None:
        return [page.tilts[i] if i < len(page.tilts) else 0.0 for i in range(n_pages)]
    out = []
    for _ in range(n_pages):
        if rng.random() < page.tilt_prob:
            out.append(round(rng.choice((-1, 1)) * rng.uniform(0.3, page.tilt_max_deg), 2))
        else:
            out.append(0.0)
    return out


def _save(img: Image.Image, path: Path, page: PageStyle) -> None:
    if page.image_format == "jpg":
        img.save(path, "JPEG", quality=page.jpeg_quality, optimize=True, subsampling=2)
    else:
        img.convert("P", palette=Image.ADAPTIVE, colors=64).save(path, optimize=True)


def _compose_spread(imgs: list[Image.Image], page: PageStyle) -> tuple[Image.Image, list[int]]:
    """Put two facing pages side by side with a shaded gutter; returns (image, x offsets)."""
    import numpy as np

    w, h = page.size
    g = page.gutter_px
    out = Image.new("RGB", (2 * w + g, h), page.paper)
    out.paste(imgs[0], (0, 0))
    out.paste(imgs[1], (w + g, 0))
    arr = np.asarray(out, np.float32).copy()
    # binding shadow: darkest in the gutter, fading over ~1.5 gutters into both pages
    xs = np.arange(2 * w + g, dtype=np.float32)
    dist = np.abs(xs - (w + g / 2)) / (1.5 * g + 1)
    shade = 1 - 0.35 * np.clip(1 - dist, 0, 1) ** 2
    arr *= shade[None, :, None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB"), [0, w + g]


def write_json(path: Path | str, obj: Any) -> None:
    """Write ``obj`` as pretty UTF-8 JSON (Chinese kept readable) with a final newline."""
    Path(path).write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def truth_document(books: list[dict[str, Any]], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The truth file object read by ``score_export.py``: ``{"books": [...], "entries": [...]}``."""
    return {"books": books, "entries": entries}


def render_book(
    book_spec: dict[str, Any],
    out_dir: Path | str,
    seed: int,
    hand: HandStyle,
    page: PageStyle = PageStyle(),
) -> list[dict[str, Any]]:
    """Lay out and draw a notebook into ``out_dir`` and return its truth entries.

    Writes ``page-01.<ext>`` … (``scan-01.<ext>`` … with ``page.spread``; old ``page-*`` and
    ``scan-*`` images in ``out_dir`` are removed first), ``lines.json`` and ``truth.json``
    (this book only).  ``seed`` must be an int.
    """
    if not isinstance(seed, int):
        raise TypeError("render_book: seed must be an int (handright hashes it)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lay = layout_book(book_spec, hand, page)
    rng = random.Random(seed)
    n_images = (lay.n_pages + 1) // 2 if page.spread else lay.n_pages
    tilts = _page_tilts(n_images, page, rng)
    for pattern in ("page-*.png", "page-*.jpg", "scan-*.png", "scan-*.jpg"):
        for old in out.glob(pattern):
            old.unlink()

    def record(p: int, name: str, size, tilt: float, boxes, side: str | None = None):
        plines = [ln for ln in lay.lines if ln.page == p]
        rec = {"page": p, "image": name, "size": list(size), "tilt_deg": tilt}
        if side:
            rec["side"] = side
        rec.update(
            header=page.header or None,
            footer=page.footer.format(n=p) if page.footer else None,
            lines=[ln.text for ln in plines],
            entry_ids=[ln.entry_id for ln in plines],
            boxes=boxes,
        )
        return rec

    pages_json = []
    if not page.spread:
        for p in range(1, lay.n_pages + 1):
            plines = [ln for ln in lay.lines if ln.page == p]
            img, boxes = _draw_page(plines, p, hand, page, seed * 101 + p, tilts[p - 1])
            name = f"page-{p:02d}.{page.image_format}"
            _save(img, out / name, page)
            pages_json.append(record(p, name, page.size, tilts[p - 1], boxes))
    else:
        for k, left in enumerate(range(1, lay.n_pages + 1, 2), start=1):
            rng_k = random.Random(seed * 101 + left)
            imgs, all_boxes = [], []
            for p in (left, left + 1):
                plines = [ln for ln in lay.lines if ln.page == p]
                img, boxes = _draw_clean(plines, p, hand, page, seed * 101 + p, rng_k)
                imgs.append(img)
                all_boxes.append(boxes)
            spread, offsets = _compose_spread(imgs, page)
            n_left = len(all_boxes[0])
            flat = all_boxes[0] + [
                [x0 + offsets[1], y0, x1 + offsets[1], y1] for x0, y0, x1, y1 in all_boxes[1]
            ]
            tilt = tilts[k - 1]
            spread, flat = _scan(spread, flat, tilt, page, rng_k)
            name = f"scan-{k:02d}.{page.image_format}"
            _save(spread, out / name, page)
            pages_json.append(record(left, name, spread.size, tilt, flat[:n_left], "left"))
            if left + 1 <= lay.n_pages:
                pages_json.append(record(left + 1, name, spread.size, tilt, flat[n_left:], "right"))
    write_json(out / "lines.json", pages_json)
    write_json(out / "truth.json", truth_document([lay.book_record()], lay.entries))
    return lay.entries


# ---------------------------------------------------------------------------------------------
# capture: how the drawn pages reach the archive (issue 13: every capture type ingest reads)
# ---------------------------------------------------------------------------------------------
#: ``flat`` (flatbed scan, as drawn), ``spread`` (use ``PageStyle(spread=True)``),
#: ``a5-on-a4`` (the page lying tilted on an A4 flatbed), ``phone`` (photographed on a
#: table: perspective, uneven light), ``phone-dim`` (the same in dim light), ``pdf`` (the
#: pages as one PDF named after the book), ``phone-dark`` (issue 18: an evening photo under
#: a weak warm lamp: darker and noisier than ``phone-dim``, a hand's shake, the phone's
#: denoising smear, stronger JPEG).
CAPTURES = ("flat", "spread", "a5-on-a4", "phone", "phone-dim", "pdf", "phone-dark")


def _a5_on_a4(img: Image.Image, rng: random.Random) -> Image.Image:
    import cv2
    import numpy as np

    page = np.asarray(img.convert("RGB"))[:, :, ::-1]
    h, w = page.shape[:2]
    cw, ch = round(w * 1.414), round(h * 1.414)  # A4 at the page's (A5) scale
    angle = rng.choice((-1, 1)) * rng.uniform(2.0, 6.0)
    ox, oy = rng.randint(30, cw - w - 30), rng.randint(30, max(31, ch // 3 - 30))
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    m[0, 2] += ox
    m[1, 2] += oy
    lid = rng.randint(195, 225)
    scan = np.full((ch, cw, 3), lid, np.uint8)
    warped = cv2.warpAffine(page, m, (cw, ch), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.full((h, w), 255, np.uint8), m, (cw, ch))
    shadow = cv2.GaussianBlur(cv2.dilate(mask, np.ones((9, 9), np.uint8)), (15, 15), 0)
    scan = (scan.astype(np.float32) * (1 - 0.25 * shadow[..., None] / 255.0)).astype(np.uint8)
    scan[mask > 0] = warped[mask > 0]
    return Image.fromarray(scan[:, :, ::-1].copy())


def _phone(img: Image.Image, rng: random.Random, dim: bool = False) -> Image.Image:
    import cv2
    import numpy as np

    page = np.asarray(img.convert("RGB"))[:, :, ::-1]
    h, w = page.shape[:2]
    ow, oh = round(w * 1.3), round(h * 1.25)
    nrng = np.random.default_rng(rng.randrange(2**32))
    yy, xx = np.mgrid[0:oh, 0:ow].astype(np.float32)
    grain = 12 * np.sin(xx / 9.0 + 3 * np.sin(yy / 60.0))
    table = np.stack([60 + grain, 95 + grain, 140 + grain], axis=-1)
    corners = np.float32([[ow * 0.1, oh * 0.07], [ow * 0.9, oh * 0.09],
                          [ow * 0.92, oh * 0.93], [ow * 0.08, oh * 0.91]])  # fmt: skip
    corners += nrng.uniform(-0.02 * ow, 0.02 * ow, corners.shape).astype(np.float32)
    src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    m = cv2.getPerspectiveTransform(src, corners)
    warped = cv2.warpPerspective(page, m, (ow, oh), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (ow, oh))
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    photo = warped.astype(np.float32) * alpha + table * (1 - alpha)
    gx, gy = rng.uniform(0.4, 0.8), rng.uniform(0.5, 0.9)
    light = 1.05 - 0.4 * ((xx / ow) * gx + (yy / oh) * gy) / (gx + gy)
    if dim:
        light *= 0.55
    photo *= light[..., None]
    photo += nrng.normal(0, 6 if dim else 3, photo.shape)
    out = np.clip(photo, 0, 255).astype(np.uint8)
    if dim:
        out = cv2.GaussianBlur(out, (3, 3), 0.8)
    return Image.fromarray(out[:, :, ::-1].copy())


def _phone_dark(img: Image.Image, rng: random.Random) -> Image.Image:
    """``phone-dark``: a dim photo (:func:`_phone`), then a weak warm lamp, a shake, more
    sensor noise and the phone's denoising smear."""
    import cv2
    import numpy as np

    photo = np.asarray(_phone(img, rng, dim=True), np.float32)
    nrng = np.random.default_rng(rng.randrange(2**32))
    photo *= np.array([0.78, 0.66, 0.5], np.float32) * rng.uniform(0.8, 0.95)  # RGB
    k = 5
    shake = np.zeros((k, k), np.float32)
    angle = rng.uniform(0, math.pi)
    for t in np.linspace(-1, 1, 9):
        x, y = round(2 + 2 * t * math.cos(angle)), round(2 + 2 * t * math.sin(angle))
        shake[y, x] = 1
    photo = cv2.filter2D(photo, -1, shake / shake.sum())
    photo += nrng.normal(0, 7, photo.shape)
    out = cv2.bilateralFilter(np.clip(photo, 0, 255).astype(np.uint8), 5, 30, 3)
    return Image.fromarray(out)


def capture(out_dir: Path | str, kind: str, seed: int, book_id: str | None = None) -> Path:
    """Turn the pages :func:`render_book` drew in ``out_dir`` into ``kind`` captures.

    Returns the path to ingest: ``out_dir`` itself, or for ``pdf`` the PDF
    ``out_dir/<book_id>.pdf`` (its stem is the book id).  ``lines.json`` keeps the drawn
    pages' boxes (before capture).  ``spread`` is drawn by ``PageStyle(spread=True)``;
    here it is the same as ``flat``.
    """
    if kind not in CAPTURES:
        raise ValueError(f"capture kind must be one of {CAPTURES}, got {kind!r}")
    out = Path(out_dir)
    pages = sorted([*out.glob("page-*.jpg"), *out.glob("page-*.png")])
    rng = random.Random(seed)
    if kind in ("flat", "spread"):
        return out
    if kind == "pdf":
        imgs = [Image.open(p).convert("RGB") for p in pages]
        pdf = out / f"{book_id or out.name}.pdf"
        imgs[0].save(pdf, "PDF", resolution=150.0, save_all=True, append_images=imgs[1:])
        for p in pages:
            p.unlink()
        return pdf
    for p in pages:
        img = Image.open(p).convert("RGB")
        if kind == "a5-on-a4":
            new = _a5_on_a4(img, rng)
        elif kind == "phone-dark":
            new = _phone_dark(img, rng)
        else:
            new = _phone(img, rng, kind == "phone-dim")
        new.save(p.with_suffix(".jpg"), "JPEG", quality=70 if kind == "phone-dark" else 85)
        if p.suffix != ".jpg":
            p.unlink()
    return out


def norm_for_cer(s: str) -> str:
    """NFKC and all whitespace removed: the text form CER is computed on."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


__all__ = [
    "CAPTURES",
    "DATE_FORMATS",
    "STATUSES",
    "BookLayout",
    "HandStyle",
    "PageStyle",
    "PlacedLine",
    "capture",
    "date_line",
    "layout_book",
    "norm_for_cer",
    "render_book",
    "render_line",
    "truth_document",
    "wrap_text",
    "write_json",
]
