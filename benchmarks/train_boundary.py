"""Train the entry-boundary model (``classify/data/boundary.json``, issue 13).

Labelled lines: the independent corpus's **train** split (never dev or test) as drawn,
each notebook also once more with OCR-like damage to its headings and relative starts
(characters misread or lost, so that the rules no longer read a date), and the
development corpus ``tests/data/corpus`` (its ``lines.json``). Features and model:
``classify/boundary.py``. Usage (repo root)::

    .venv/bin/python -m benchmarks.train_boundary [--out classify/data/boundary.json]

Prints the training size, the coefficients and the dev split's line-level precision /
recall of starts (rules alone, rules + model).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from benchmarks import indep
from minqing.classify.boundary import FEATURES, THRESHOLD, save, train_boundary
from minqing.classify.segment import segment_book
from minqing.classify.types import BookLine

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "corpus"
#: what OCR does to handwritten headings that the date rules cannot undo
NOISE = "口曰目一丨l二十乙了门日"


def damage(text: str, rng: random.Random) -> str:
    """A heading as a weak OCR pass may read it: one or two characters misread or lost."""
    chars = list(text.replace(" ", ""))
    for _ in range(rng.choice((1, 2))):
        if not chars:
            break
        k = rng.randrange(min(len(chars), 8))
        if rng.random() < 0.4:
            del chars[k]
        else:
            chars[k] = rng.choice(NOISE)
    return "".join(chars)


def samples(books: dict[str, list], noisy: bool, seed: int) -> tuple[list, list]:
    rng = random.Random(seed)
    xs, ys = [], []
    for rows in books.values():
        lines, starts = [], set()
        seen = set()
        for bl, eid, kind in rows:
            text = bl.text
            if eid and eid not in seen:
                seen.add(eid)
                starts.add(bl.line_id)
                if noisy and kind == "date" and rng.random() < 0.7:
                    text = damage(text, rng)
            lines.append(BookLine(bl.line_id, bl.page_no, bl.line_no, text, bl.box, bl.page_height))
        trace: list = []
        segment_book(lines, boundary=None, trace=trace)
        for lid, x, _ in trace:
            xs.append(x)
            ys.append(int(lid in starts))
    return xs, ys


def corpus_books() -> dict[str, list]:
    out = {}
    for d in sorted(CORPUS.iterdir()):
        f = d / "lines.json"
        if not f.exists():
            continue
        rows = []
        for pg in json.loads(f.read_text(encoding="utf-8")):
            for i, (text, box, eid) in enumerate(
                zip(pg["lines"], pg["boxes"], pg["entry_ids"], strict=True)
            ):
                bl = BookLine(
                    f"{d.name}/{pg['page']}/{i}", pg["page"], i, text, tuple(box), pg["size"][1]
                )
                rows.append((bl, eid, "body"))
        out[d.name] = rows
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "classify" / "data" / "boundary.json")
    a = ap.parse_args(argv)
    train = indep.labelled_lines("train")
    x, y = samples(train, False, 1)
    x2, y2 = samples(train, True, 2)
    x3, y3 = samples(corpus_books(), False, 3)
    xs, ys = x + x2 + x3, y + y2 + y3
    model = train_boundary(
        xs, ys, trained_on="indep train split (+ damaged headings), tests/data/corpus"
    )
    print(f"trained on {len(xs)} lines, {sum(ys)} entry starts")
    for name, c in zip(FEATURES, model.coef, strict=True):
        print(f"  {name:<16}{c:+.3f}")
    print(f"  {'intercept':<16}{model.intercept:+.3f}")
    # line-level check on dev (damaged and as drawn): starts the rules miss that the model adds
    for noisy in (False, True):
        dx, dy = samples(indep.labelled_lines("dev"), noisy, 5)
        rule = [int(v[0]) for v in dx]
        # the segmenter asks the model only where no rule spoke (no date, marker, label, note)
        both = [int(v[0] or (not any(v[1:7]) and model.probability(v) >= THRESHOLD)) for v in dx]
        for name, pred in (("rules", rule), ("rules+model", both)):
            tp = sum(p and t for p, t in zip(pred, dy, strict=True))
            print(f"dev{' damaged' if noisy else ''} {name}: P={tp / max(1, sum(pred)):.3f} "
                  f"R={tp / max(1, sum(dy)):.3f}")  # fmt: skip
    save(model, a.out)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
