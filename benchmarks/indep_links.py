"""Benchmark (issue 13): follow-up links on the independent corpus, text level.

Each notebook's entries are built from the answer key (text = heading + paragraphs + later
notes, the key's date, category and status; a continuation entry undated) and linked by
``link_entries`` with the books' villages, townships, cadres and posts. Prints aggregate
link precision / recall / F1, cross-book and continuation recall, and the number of
suggested links (and how many point at the true parent); nothing from the texts.

Usage (from the repo root)::

    .venv/bin/python -m benchmarks.indep_links --split dev
    .venv/bin/python -m benchmarks.indep_links --split test   # the frozen test split
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from benchmarks.entries import machine
from tools.build_classify_data import FAMILY, indep_text

ROOT = Path(__file__).resolve().parents[1]


def run(split: str) -> dict:
    from minqing.classify import link_entries
    from minqing.classify.types import Entry

    data = json.loads((ROOT / "tests/data/indep" / f"{split}.json").read_text(encoding="utf-8"))
    books, meta, key = {}, {}, {}
    for nb in data["notebooks"]:
        es = []
        for i, e in enumerate(nb["entries"], 1):
            cont = e["date_kind"] == "continuation"
            es.append(Entry(
                seq=i, page_start=1, page_end=1, line_ids=(), text=indep_text(e),
                date=None if cont else dt.date.fromisoformat(e["date"]),
                date_inferred=cont or e["date_kind"] in ("relative", "shared_heading"),
                category_code=e["category_code"], category_score=1.0, category_evidence=(),
                status=FAMILY[e["status_family"]],
            ))  # fmt: skip
            key[e["entry_id"]] = (nb["book_id"], i)
        books[nb["book_id"]] = es
        meta[nb["book_id"]] = nb
    entries = [e for nb in data["notebooks"] for e in nb["entries"]]
    truth = {key[e["entry_id"]]: key[e["follow_up_of"]] for e in entries if e["follow_up_of"]}
    cross = {key[e["entry_id"]] for e in entries if e["cross_book"]}
    cont = {key[e["entry_id"]] for e in entries if e["date_kind"] == "continuation"}
    look = {key[e["entry_id"]] for e in entries if e.get("lookalike_of")}
    sugg: list = []
    links = link_entries(
        books,
        {b: m["village"] for b, m in meta.items()},
        cadres={b: m["cadre"] for b, m in meta.items()},
        townships={b: m["township"] for b, m in meta.items()},
        posts={b: m["post"] for b, m in meta.items()},
        suggestions=sugg,
    )
    pred = {lk.child: lk.parent for lk in links}
    tp = sum(1 for c, p in pred.items() if truth.get(c) == p)
    p = tp / max(1, len(pred))
    r = tp / max(1, len(truth))
    return {
        "entries": len(entries), "truth": len(truth), "predicted": len(pred), "correct": tp,
        "precision": p, "recall": r, "f1": 2 * p * r / max(1e-9, p + r),
        "cross_book": f"{sum(1 for c in cross if pred.get(c) == truth[c])}/{len(cross)}",
        "continuation": f"{sum(1 for c in cont if pred.get(c) == truth.get(c))}/{len(cont)}",
        "lookalike_wrongly_linked":
            f"{sum(1 for c in look if c in pred and pred[c] != truth.get(c))}/{len(look)}",
        "suggested": len(sugg),
        "suggested_right": sum(1 for s in sugg if truth.get(s.child) == s.parent),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", action="append", choices=["train", "dev", "test"])
    args = ap.parse_args()
    print(f"machine: {machine()}\ncommand: {' '.join(sys.argv)}\n")
    print("| split | entries | links (truth) | predicted | P | R | F1 | cross-book | "
          "continuation | look-alikes linked wrongly | suggested (right) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for split in args.split or ["train", "dev"]:
        t0 = time.perf_counter()
        s = run(split)
        print(f"| {split} | {s['entries']} | {s['truth']} | {s['predicted']} | "
              f"{s['precision']:.3f} | "
              f"{s['recall']:.3f} | {s['f1']:.3f} | {s['cross_book']} | {s['continuation']} | "
              f"{s['lookalike_wrongly_linked']} | {s['suggested']} ({s['suggested_right']}) |"
              f"  <!-- {time.perf_counter() - t0:.0f} s -->")  # fmt: skip


if __name__ == "__main__":
    main()
