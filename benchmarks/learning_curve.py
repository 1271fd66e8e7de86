"""Benchmark (issue 13): category and status on the independent corpus, text level, and
the learning curve of ``minqing retrain``.

Reads the entries' texts (heading + paragraphs + later notes, as a reader transcribes
them) of a split of ``tests/data/indep/`` and prints aggregate scores only:

1. before: the category lexicon alone and the status cue lexicon alone;
2. after: the shipped models (fitted from ``classify/data/training.jsonl``: the train
   split + the own corpus), as the pipeline uses them;
3. the learning curve: the split's voices (writers) are a new county. Their train-split
   notebooks are taken out of the shipped training entries and serve as the reviewers'
   confirmations; N = 0, 10, 25, 50 of them (drawn per writer in proportion, ``--repeats``
   draws, mean and range) adapt both models the way ``minqing retrain`` does
   (``train_category_model(..., base=True)``, ``train_status_model``), and the adapted
   models are scored on the split. The confirmations never come from the scored split.

Usage (from the repo root)::

    .venv/bin/python -m benchmarks.learning_curve --split test   # the frozen test split
    .venv/bin/python -m benchmarks.learning_curve --split dev

The frozen test split is only scored here: nothing is printed from its texts.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

from benchmarks.entries import machine
from tools.build_classify_data import FAMILY, indep_text

ROOT = Path(__file__).resolve().parents[1]
INDEP = ROOT / "tests" / "data" / "indep"


def split_entries(split: str) -> list[dict]:
    data = json.loads((INDEP / f"{split}.json").read_text(encoding="utf-8"))
    out = []
    for nb in data["notebooks"]:
        for e in nb["entries"]:
            out.append(
                {
                    "writer": nb["book_id"].split("-", 1)[0],
                    "text": indep_text(e),
                    "category_code": int(e["category_code"]),
                    "status": FAMILY[e["status_family"]],
                }
            )
    return out


def score(rows, cat_model, status_model) -> dict:
    from sklearn.metrics import f1_score

    from minqing.classify import classify_category, classify_status, cue_status

    y = [r["category_code"] for r in rows]
    if cat_model == "lexicon":
        p = [classify_category(r["text"], model=False)[0] for r in rows]
    else:
        p = [classify_category(r["text"], model=cat_model)[0] for r in rows]
    ys = [r["status"] for r in rows]
    if status_model == "cues":
        ps = [cue_status(r["text"]) for r in rows]
    else:
        ps = [classify_status(r["text"], model=status_model)[0] for r in rows]
    fam = {}
    for s in sorted(set(ys)):
        idx = [i for i, v in enumerate(ys) if v == s]
        fam[s] = f"{sum(ps[i] == s for i in idx)}/{len(idx)}"
    return {
        "category_accuracy": sum(a == b for a, b in zip(p, y, strict=True)) / len(y),
        "category_macro_f1": float(
            f1_score(y, p, labels=sorted(set(y)), average="macro", zero_division=0)
        ),
        "status_accuracy": sum(a == b for a, b in zip(ps, ys, strict=True)) / len(ys),
        "status_by_family": fam,
        "confusion": Counter((a, b) for a, b in zip(y, p, strict=True) if a != b),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="dev", choices=["dev", "test"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", default="0,10,25,50")
    args = ap.parse_args()
    from minqing.classify import model as M

    t0 = time.perf_counter()
    rows = split_entries(args.split)
    writers = sorted({r["writer"] for r in rows})
    print(
        f"# learning_curve.py --split {args.split} "
        f"({len(rows)} entries, voices {', '.join(writers)})"
    )
    print(f"machine: {machine()}")
    print(f"command: {' '.join(sys.argv)}\n")
    print("| models | category acc | category macro-F1 | status acc | status by family |")
    print("|---|---|---|---|---|")
    for name, cm, sm in [
        ("before: lexicon + cue lexicon", "lexicon", "cues"),
        ("after: shipped models", M.default_category_model(), M.default_status_model()),
    ]:
        s = score(rows, cm, sm)
        fam = ", ".join(f"{k} {v}" for k, v in s["status_by_family"].items())
        print(f"| {name} | {s['category_accuracy']:.3f} | {s['category_macro_f1']:.3f} | "
              f"{s['status_accuracy']:.3f} | {fam} |")  # fmt: skip
        if name.startswith("after"):
            conf = ", ".join(f"{a}→{b}: {n}" for (a, b), n in s["confusion"].most_common())
            print(f"\ncategory confusions of the shipped model (truth→predicted: count): {conf}\n")

    # the learning curve: the split's voices' train notebooks are the county's confirmations
    shipped = M.shipped_training()
    pool = {w: [r for r in shipped if r["writer"] == w] for w in writers}
    base = tuple(r for r in shipped if r["writer"] not in writers)
    total = sum(len(v) for v in pool.values())
    print(
        f"learning curve: base = shipped entries without voices {writers} ({len(base)}); "
        f"confirmations drawn from those voices' train notebooks ({total}), {args.repeats} draws"
    )
    print("\n| confirmations N | category acc | category macro-F1 | status acc |")
    print("|---|---|---|---|")
    orig = M.shipped_training
    M.shipped_training = lambda: base  # type: ignore[assignment]
    try:
        for n in [int(x) for x in args.sizes.split(",")] + [total]:
            if n > total:
                continue
            accs = []
            for rep in range(args.repeats if 0 < n < total else 1):
                rng = random.Random(1000 * rep + n)
                conf = []
                for w in writers:
                    k = round(n * len(pool[w]) / total)
                    conf += rng.sample(pool[w], min(k, len(pool[w])))
                texts = [r["text"] for r in conf]
                cm = M.train_category_model(texts, [r["category_code"] for r in conf], base=True)
                sm = M.train_status_model(texts, [r["status"] for r in conf])
                s = score(rows, cm, sm)
                accs.append((s["category_accuracy"], s["category_macro_f1"], s["status_accuracy"]))
            cells = []
            for j in range(3):
                v = [a[j] for a in accs]
                mean = sum(v) / len(v)
                cells.append(
                    f"{mean:.3f}" + (f" ({min(v):.3f}–{max(v):.3f})" if len(v) > 1 else "")
                )
            label = f"{n}" + (" (all)" if n == total else "")
            print(f"| {label} | " + " | ".join(cells) + " |")
    finally:
        M.shipped_training = orig  # type: ignore[assignment]
    print(f"\n{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
