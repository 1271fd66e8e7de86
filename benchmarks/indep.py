"""The independent corpus (issues 13, 18) as notebooks to render and a truth to score.

``tests/data/indep/{train,dev,test}.json`` hold notebooks in the writers' format
(``tests/data/indep/BRIEF.md``). This module turns a split into

(a) render specs for ``tools/render_notebook.py``: the heading as ``date_line``, the
    paragraphs, later notes (补记) as extra paragraphs in their own ink, ``new_page``,
    matters that share a heading drawn without the blank line between entries when they
    start with a marker (①, (2), 二是, 3.), a cover page for a notebook that has one; each
    notebook gets a hand (five Kai-like fonts Debian packages), a paper and a capture type
    (flat scan, A5 on an A4 flatbed, phone photo, phone photo in dim light, PDF, two-page
    spreads), chosen from its book id, so every run draws the same pages;
(b) a truth document in ``../shared/tools/score_export.py``'s format (entry text = heading +
    paragraphs + later notes with whitespace removed, exactly what is drawn; pages from the
    layout; the writers' ``date``, ``date_kind``, ``traits``, ``status``, ``follow_up_of``)
    and the ``books.csv`` manifest (book_id, cadre, post, township, village).

``lines_of(split)`` gives the drawn lines as ``classify`` ``BookLine`` records with the
boxes the layout puts them in (no fonts, no images): what ``--bypass`` feeds the classifier.
``render(split, cache)`` draws the images into a cache folder outside the repository
(``$MINQING_INDEP_CACHE``, default ``~/.cache/minqing/indep``), once per content + style.

The test split is frozen: only ``benchmarks/entries.py --indep test`` loads it, to score it.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import re
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
INDEP = ROOT / "tests" / "data" / "indep"
SPLITS = ("train", "dev", "test", "test2", "train2", "train3", "train4", "test3")
#: bump when the drawing changes, so the cache redraws
RENDER_VERSION = "indep-1"


def _load_renderer():  # type: ignore[no-untyped-def]
    """``tools/render_notebook.py`` as a module (tools/ is not a package)."""
    name = "minqing_tools_render_notebook"
    import sys

    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / "render_notebook.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = mod
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


rn = _load_renderer()

#: handwriting-like CJK fonts Debian packages: (path, index, package)
FONTS = (
    (rn.WENKAI, 0, "fonts-lxgw-wenkai"),
    (rn.UKAI, 0, "fonts-arphic-ukai"),
    ("/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf", 0, "fonts-arphic-gkai00mp"),
    ("/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Light.ttf", 0, "fonts-lxgw-wenkai"),
    ("/usr/share/fonts/truetype/arphic/ukai.ttc", 1, "fonts-arphic-ukai"),
)
#: capture types, one per notebook in turn
CAPTURES = ("flat", "a5-on-a4", "phone", "pdf", "spread", "phone-dim")
#: inks of later notes
INKS = {"red": (170, 30, 30), "blue": (30, 50, 150), "black": (25, 25, 25), "pencil": (95, 95, 95)}
#: a matter under a shared heading that starts with its own marker
_MARKER = re.compile(
    r"^\s*(?:[①-⑳]|[（(]\s*\d{1,2}\s*[)）]|\d{1,2}\s*[.、．]|[一二三四五六七八九十]是)"
)
_LABEL = re.compile(r"^\s*[\u4e00-\u9fff]{1,6}\s*[:：]")


def load_split(split: str) -> dict[str, Any]:
    """The writers' document of a split (``{"split": …, "notebooks": [...]}``)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return json.loads((INDEP / f"{split}.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Style:
    """How one notebook is drawn and captured."""

    font: int
    capture: str
    font_px: int
    chars_per_line: int
    ink: tuple[int, int, int]
    indent_chars: float
    page: int  # index into PAGES


#: notebook papers: (size, rule_top, rule_pitch, n_rules, margin_x, text_left)
PAGES = (
    {
        "size": (1000, 1420),
        "rule_top": 250,
        "rule_pitch": 66,
        "n_rules": 17,
        "margin_x": 100,
        "text_left": 120,
    },
    {
        "size": (1100, 1560),
        "rule_top": 260,
        "rule_pitch": 72,
        "n_rules": 18,
        "margin_x": 110,
        "text_left": 132,
    },
    {
        "size": (1000, 1420),
        "rule_top": 240,
        "rule_pitch": 60,
        "n_rules": 19,
        "margin_x": 96,
        "text_left": 116,
    },
)


def style_of(book_id: str, index: int) -> Style:
    """A notebook's hand, paper and capture: from its book id (CRC32) and place in the split."""
    h = zlib.crc32(book_id.encode("utf-8"))
    font = (h >> 3) % len(FONTS)
    if not Path(FONTS[font][0]).exists():
        font = 0
    page = (h >> 7) % len(PAGES)
    px = (38, 40, 42, 36)[(h >> 11) % 4]
    cpl = 17 if PAGES[page]["size"][0] == 1100 else (16 if px >= 40 else 17)
    inks = ((28, 36, 84), (20, 20, 20), (35, 50, 120), (40, 40, 40), (25, 25, 60))
    return Style(
        font=font,
        capture=CAPTURES[index % len(CAPTURES)],
        font_px=px,
        chars_per_line=cpl,
        ink=inks[(h >> 13) % len(inks)],
        indent_chars=(2.0, 2.0, 0.0)[(h >> 17) % 3],
        page=page,
    )


def hand_of(st: Style):  # type: ignore[no-untyped-def]
    path, index, _ = FONTS[st.font]
    return rn.HandStyle(
        font_path=path,
        font_index=index,
        font_px=st.font_px,
        chars_per_line=st.chars_per_line,
        ink=st.ink,
        indent_chars=st.indent_chars,
    )


def page_of(st: Style):  # type: ignore[no-untyped-def]
    return rn.PageStyle(
        **PAGES[st.page], jpeg_quality=75, tilt_max_deg=1.0, spread=st.capture == "spread"
    )


def _paragraph(text: str) -> dict[str, Any]:
    # labelled lines (走访时间：…, 反映人：…) and section heads (一、…) are not indented
    plain = not (_LABEL.match(text) or re.match(r"^\s*[一二三四五六七八九十]+、", text))
    return {"text": text, "indent": plain}


def book_spec(nb: dict[str, Any]) -> dict[str, Any]:
    """The render spec of one notebook (follow-ups to other books left out: the renderer
    checks follow-ups inside a book; the truth restores them)."""
    own: set[str] = set()
    entries = []
    for e in nb["entries"]:
        paras = [_paragraph(p) for p in e["paragraphs"]]
        for note in e.get("later_notes") or []:
            paras.append(
                {
                    "text": note["text"],
                    "indent": True,
                    "ink": INKS.get(note.get("ink"), (170, 30, 30)),
                }
            )
        first = e["paragraphs"][0] if e["paragraphs"] else ""
        spec = {
            "entry_id": e["entry_id"],
            "date": e["date"],
            "date_line": e["heading"],
            "date_format": "ymd" if e["heading"] else "none",
            "date_inferred": e["date_kind"] in ("relative", "continuation", "undated"),
            "category_code": e["category_code"],
            "status": e["status"],
            "follow_up_of": e["follow_up_of"] if e.get("follow_up_of") in own else None,
            "paragraphs": paras,
            "new_page": bool(e.get("new_page")),
            # ①②③ under one heading run on; a matter without a marker keeps the blank line
            "gap_before": not (e["date_kind"] == "shared_heading" and _MARKER.match(first)),
        }
        entries.append(spec)
        own.add(e["entry_id"])
    meta = {k: nb.get(k) for k in ("cadre", "post", "township", "village")}
    return {"book_id": nb["book_id"], "meta": meta, "entries": entries, "cover": nb.get("cover")}


def layouts(split: str) -> list[tuple[dict[str, Any], Style, Any]]:
    """(notebook, style, BookLayout) for every notebook of ``split``."""
    out = []
    for i, nb in enumerate(load_split(split)["notebooks"]):
        st = style_of(nb["book_id"], i)
        out.append((nb, st, rn.layout_book(book_spec(nb), hand_of(st), page_of(st))))
    return out


def truth(split: str) -> dict[str, Any]:
    """The truth document of ``split`` in ``score_export.py``'s format (plus the writers' keys)."""
    books, entries = [], []
    for nb, st, lay in layouts(split):
        writer = {e["entry_id"]: e for e in nb["entries"]}
        for t in lay.entries:
            w = writer[t["entry_id"]]
            t = dict(t)
            t.update(
                date=w["date"],
                follow_up_of=w.get("follow_up_of"),
                status=w["status"],
                category_code=w["category_code"],
                date_kind=w["date_kind"],
                traits=list(w.get("traits") or []),
                cross_book=bool(w.get("cross_book")),
                body_dates=list(w.get("body_dates") or []),
            )
            entries.append(t)
        books.append({**lay.book_record(), "capture": st.capture, "font": FONTS[st.font][2]})
    return {"books": books, "entries": entries}


def manifest_rows(split: str) -> list[dict[str, str]]:
    return [
        {k: nb.get(k) or "" for k in ("book_id", "cadre", "post", "township", "village")}
        for nb in load_split(split)["notebooks"]
    ]


def write_manifest(split: str, path: Path) -> Path:
    """``books.csv`` of ``split`` (the ingest manifest)."""
    rows = manifest_rows(split)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["book_id", "cadre", "post", "township", "village"])
        w.writeheader()
        w.writerows(rows)
    return path


def lines_of(split: str) -> dict[str, list]:
    """book id → the drawn lines as ``BookLine`` records, boxes where the layout puts them."""
    return {b: [ln for ln, _, _ in rows] for b, rows in labelled_lines(split).items()}


def labelled_lines(split: str) -> dict[str, list]:
    """book id → ``(BookLine, entry_id, kind)`` of every drawn line (kind: date/body/cover)."""
    from minqing.classify.types import BookLine

    out: dict[str, list] = {}
    for nb, st, lay in layouts(split):
        hand, page = hand_of(st), page_of(st)
        cw = hand.font_px * (1 + hand.char_gap)
        rows = []
        per_page: dict[int, int] = {}
        for ln in lay.lines:
            k = per_page.get(ln.page, 0)
            per_page[ln.page] = k + 1
            x0 = page.text_left + ln.indent * cw
            y1 = page.rule_top + ln.rule * page.rule_pitch - 5
            box = (x0, y1 - hand.font_px * 1.1, x0 + len(ln.text.replace(" ", "")) * cw, y1)
            bl = BookLine(f"{nb['book_id']}/{ln.page}/{k}", ln.page, k, ln.text, box, page.size[1])
            rows.append((bl, ln.entry_id, ln.kind))
        out[nb["book_id"]] = rows
    return out


def cache_dir() -> Path:
    return Path(os.environ.get("MINQING_INDEP_CACHE", Path.home() / ".cache" / "minqing" / "indep"))


def render(split: str, cache: Path | None = None, log=print) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """Draw every notebook of ``split`` (once per content and style); book id → ingest path."""
    cache = (cache or cache_dir()) / split
    cache.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, nb in enumerate(load_split(split)["notebooks"]):
        st = style_of(nb["book_id"], i)
        spec = book_spec(nb)
        key = hashlib.sha256(
            json.dumps(
                [RENDER_VERSION, spec, asdict(st)], ensure_ascii=False, sort_keys=True
            ).encode()
        ).hexdigest()[:16]
        folder = cache / nb["book_id"]
        stamp = folder / ".rendered"
        target = folder / f"{nb['book_id']}.pdf" if st.capture == "pdf" else folder
        if not (stamp.exists() and stamp.read_text() == key):
            seed = 7001 + zlib.crc32(nb["book_id"].encode()) % 100000
            for old in folder.glob("*.pdf"):
                old.unlink()
            rn.render_book(spec, folder, seed, hand_of(st), page_of(st))
            target = rn.capture(folder, st.capture, seed, nb["book_id"])
            stamp.write_text(key)
            log(f"rendered {nb['book_id']} ({st.capture}, {FONTS[st.font][2]})")
        out[nb["book_id"]] = target
    return out


__all__ = [
    "CAPTURES",
    "FONTS",
    "book_spec",
    "cache_dir",
    "labelled_lines",
    "layouts",
    "lines_of",
    "load_split",
    "manifest_rows",
    "render",
    "style_of",
    "truth",
    "write_manifest",
]
