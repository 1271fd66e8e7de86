"""Write ``classify/data/training.jsonl``: the texts the shipped status and category
models are fitted from (issue 13).

Sources, and only these: the independent corpus's **train** splits
(``tests/data/indep/train.json``, ``train2.json``, ``train3.json`` and ``train4.json``, the
last three by twelve more writers) and the project's own development corpus
(``tests/data/corpus/truth.json``). The dev split (tuning), the frozen test split and the
own held-out books (``truth_heldout.json``) are never written here.

Each line: ``{"source", "book", "writer", "text", "category_code", "status"}`` where
``text`` is the entry as a reader transcribes it (heading + paragraphs + later notes, joined
without separators, as the classify stage sees OCR lines) and ``status`` a key of
``classify.types.STATUSES``.

Usage (from the repo root)::

    python tools/build_classify_data.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "classify" / "data" / "training.jsonl"
FAMILY = {
    "recorded": "recorded",
    "in_progress": "in_progress",
    "escalation": "escalated",
    "resolved": "resolved",
    "explanation": "explained",
}
LABEL = {
    "已记录": "recorded",
    "办理中": "in_progress",
    "已上报": "escalated",
    "已解决": "resolved",
    "已解释": "explained",
}


def indep_text(entry: dict) -> str:
    """An independent-corpus entry's text as a reader transcribes it."""
    return (
        (entry.get("heading") or "")
        + "".join(entry["paragraphs"])
        + "".join(n["text"] for n in entry.get("later_notes") or [])
    )


def _indep_rows(doc: dict, source: str) -> list[dict]:
    out = []
    for nb in doc["notebooks"]:
        writer = nb["book_id"].split("-", 1)[0]
        for e in nb["entries"]:
            out.append(
                {
                    "source": source,
                    "book": nb["book_id"],
                    "writer": writer,
                    "text": indep_text(e),
                    "category_code": int(e["category_code"]),
                    "status": FAMILY[e["status_family"]],
                }
            )
    return out


def rows() -> list[dict]:
    out = []
    for split in ("train", "train2", "train3", "train4"):
        train = json.loads((ROOT / f"tests/data/indep/{split}.json").read_text(encoding="utf-8"))
        assert train["split"] == split
        out += _indep_rows(train, f"indep-{split}")
    own = json.loads((ROOT / "tests/data/corpus/truth.json").read_text(encoding="utf-8"))
    for e in own["entries"]:
        if not e.get("status"):
            continue
        out.append(
            {
                "source": "own-corpus",
                "book": e["book_id"],
                "writer": "own",
                "text": e["text"],
                "category_code": int(e["category_code"]),
                "status": LABEL[e["status"]],
            }
        )
    return out


def main() -> None:
    data = rows()
    with OUT.open("w", encoding="utf-8") as fh:
        for r in data:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(data)} entries -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
