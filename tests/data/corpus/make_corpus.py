"""Render the labelled development corpus of the classify stage (issue 5).

Run from the repository root (needs the dev extra and Debian's handwriting fonts; the
committed images need neither)::

    .venv/bin/python -m tests.data.corpus.make_corpus               # images + truth
    .venv/bin/python -m tests.data.corpus.make_corpus --truth-only
    .venv/bin/python -m tests.data.corpus.make_corpus --heldout     # held-out books only

Writes, under ``tests/data/corpus/``: one folder per notebook (``page-NN.jpg``,
``lines.json`` = per-line ground truth with boxes, ``truth.json``), ``truth.json`` (all
books, in ``/work/shared/tools/score_export.py``'s format, plus ``fields`` for labelled and
form entries) and ``books.csv`` (the ingest manifest: village, township, cadre, post).
Content lives in ``corpus_spec.py``; narrative and labelled books are drawn by
``tools/render_notebook.py``, form books by ``form_pages.py`` on top of it.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from tests.data.corpus import corpus_spec as spec
from tests.data.corpus import form_pages
from tools import render_notebook as rn

HERE = Path(__file__).resolve().parent

LABEL_KEYS = {
    "地点": "place", "走访地点": "place", "走访对象": "people", "反映问题": "problem",
    "原因分析": "analysis", "解决措施": "measures", "办理结果": "result",
}  # fmt: skip

HANDS = {
    "qingshan-wangjg": rn.HandStyle(font_px=40, chars_per_line=17),
    "qingshan-liuxm": rn.HandStyle(font_px=38, chars_per_line=18, ink=(20, 20, 20), indent_chars=0),
    "qingshan-zhaoli": rn.HandStyle(
        font_path=rn.UKAI, font_px=40, chars_per_line=16, ink=(30, 40, 110), size_sigma=0.06
    ),
    "hexi-sunhp": rn.HandStyle(font_px=36, chars_per_line=16, ink=(25, 25, 60)),
    "hexi-zhoum": rn.HandStyle(font_path=rn.UKAI, font_px=40, chars_per_line=17, ink=(40, 40, 40)),
    "hexi-chenyf": rn.HandStyle(
        font_px=42, chars_per_line=16, ink=(35, 50, 120), baseline_sigma=0.05
    ),
}
PAGE = rn.PageStyle(size=(1000, 1420), rule_top=250, rule_pitch=66, n_rules=17, margin_x=100,
                    text_left=120, jpeg_quality=75, tilt_max_deg=1.0)  # fmt: skip
HANDS.update({
    "shimen-gaoyl": rn.HandStyle(font_px=39, chars_per_line=17, ink=(30, 30, 70)),
    "qingshan-fengxh": rn.HandStyle(font_path=rn.UKAI, font_px=40, chars_per_line=16,
                                    ink=(45, 45, 45)),
})  # fmt: skip
SEEDS = {b: 5101 + 17 * i for i, b in enumerate([*spec.BOOK_ENTRIES, *spec.HELDOUT_ENTRIES])}


def _meta(book_id: str) -> dict:
    return {**spec.BOOKS_META, **spec.HELDOUT_META}[book_id]


def _entry(book_id: str, row: tuple) -> dict:
    eid, date, fmt, cat, st, fu, body = row
    e: dict = {"entry_id": eid, "date": date, "category_code": cat, "status": spec.S[st],
               "follow_up_of": fu}  # fmt: skip
    base, _, extra = fmt.partition("+")
    if base in rn.DATE_FORMATS:
        e["date_format"] = base
        if extra and base == "same_day":
            e["date_suffix"] = extra
        elif extra:
            e["weather"] = extra
        if base == "none":
            e["date_inferred"] = True
    else:  # an exact written date line
        e["date_line"] = fmt
        e["date_format"] = "ymd"
    if isinstance(body, dict):
        e["fields"] = body
        e["truth_fields"] = {LABEL_KEYS[k]: v for k, v in body.items()}
        if _meta(book_id)["layout"] == "labelled":
            hand = HANDS[book_id]
            e["lines"] = [
                ln for k, v in body.items() for ln in rn.wrap_text(f"{k}：{v}", hand.chars_per_line)
            ]
    else:
        e["paragraphs"] = body
    return e


def build(render: bool, heldout: bool = False) -> dict:
    books, truth = [], []
    source = spec.HELDOUT_ENTRIES if heldout else spec.BOOK_ENTRIES
    for book_id, rows in source.items():
        meta = {k: v for k, v in _meta(book_id).items() if k != "layout"}
        entries = [_entry(book_id, r) for r in rows]
        # the renderer checks follow-ups within one book; cross-book ones are restored below
        own = {e["entry_id"] for e in entries}
        cross = {e["entry_id"]: e.pop("follow_up_of") for e in entries
                 if e["follow_up_of"] and e["follow_up_of"] not in own}  # fmt: skip
        for e in entries:
            e.setdefault("follow_up_of", None)
        fields = {e["entry_id"]: e.get("truth_fields") for e in entries}
        out = HERE / book_id
        hand = HANDS[book_id]
        if _meta(book_id)["layout"] == "form":
            if render:
                t = form_pages.render_form_book(
                    book_id, meta, entries, out, SEEDS[book_id], hand, PAGE
                )
            else:
                raise SystemExit("--truth-only is not supported for form books; render them")
            n_pages = len(entries)
        else:
            book_spec = {"book_id": book_id, "meta": meta, "entries": entries}
            lay = rn.layout_book(book_spec, hand, PAGE)
            t = (
                rn.render_book(book_spec, out, SEEDS[book_id], hand, PAGE)
                if render
                else lay.entries
            )
            n_pages = lay.n_pages
        for e in t:
            if e["entry_id"] in cross:
                e["follow_up_of"] = cross[e["entry_id"]]
            if fields.get(e["entry_id"]):
                e["fields"] = fields[e["entry_id"]]
        books.append(
            {"book_id": book_id, **meta, "layout": _meta(book_id)["layout"], "pages": n_pages}
        )
        truth += t
        print(f"{book_id}: {n_pages} pages, {len(t)} entries", file=sys.stderr)
    doc = rn.truth_document(books, truth)
    suffix = "_heldout" if heldout else ""
    rn.write_json(HERE / f"truth{suffix}.json", doc)
    with (HERE / f"books{suffix}.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["book_id", "cadre", "post", "township", "village"])
        for b in books:
            w.writerow([b["book_id"], b["cadre"], b["post"], b["township"], b["village"]])
    return doc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth-only", action="store_true")
    ap.add_argument(
        "--heldout", action="store_true",
        help="the held-out books only: truth_heldout.json, books_heldout.csv",
    )  # fmt: skip
    a = ap.parse_args(argv)
    build(render=not a.truth_only, heldout=a.heldout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
