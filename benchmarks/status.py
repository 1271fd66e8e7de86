"""Benchmark (issues 13, 18): the status of an entry, text level, on train and dev only.

1. train: 5-fold cross-validation of the shipped status model's recipe over the shipped
   training entries (``classify/data/training.jsonl``: the independent train split + the
   own corpus), folds grouped by notebook so that no notebook is both trained and scored;
   accuracy over all entries and over the independent ones, beside the cue lexicon alone.
2. dev: the independent dev split's entries (heading + paragraphs + later notes) scored
   with the cue lexicon alone and with the shipped model (:func:`classify_status`).

Usage (from the repo root)::

    .venv/bin/python -m benchmarks.status          # both (a minute or two)
    .venv/bin/python -m benchmarks.status --dev    # dev only (seconds)

The frozen test split is never read here.
"""

from __future__ import annotations

import argparse
from collections import Counter

from benchmarks._common import command_line, machine
from benchmarks.learning_curve import split_entries


def cross_validate(folds: int = 5, by: str = "book", pipeline=None) -> dict:
    """Grouped cross-validation of a status recipe over the shipped training entries.

    ``by``: the group no fold both trains on and scores, ``"book"`` (notebook) or
    ``"writer"`` (the honest one: a writer's hand is never both learnt and scored);
    ``folds`` at least the number of groups is leave-one-group-out. ``pipeline``: a factory
    of unfitted pipelines (default :func:`~classify.status.status_pipeline`).
    """
    from sklearn.metrics import f1_score
    from sklearn.model_selection import GroupKFold

    from minqing.classify import model as M
    from minqing.classify.status import classify_status, cue_status, status_pipeline

    rows = M.shipped_training()
    texts = [r["text"] for r in rows]
    ys = [r["status"] for r in rows]
    groups = [r[by] for r in rows]
    folds = min(folds, len(set(groups)))
    pred: list[str] = [""] * len(rows)
    for tr, te in GroupKFold(n_splits=folds).split(texts, ys, groups):
        pipe = M._fit(
            (pipeline or status_pipeline)(),
            [texts[i] for i in tr],
            [ys[i] for i in tr],
            [1.0] * len(tr),
        )
        model = M.StatusModel(pipe, len(tr))
        for i in te:
            pred[i] = classify_status(texts[i], model=model)[0]
    ind = [i for i, r in enumerate(rows) if r["source"].startswith("indep-")]
    return {
        "n": len(rows),
        "folds": folds,
        "by": by,
        "macro_f1": float(f1_score(ys, pred, average="macro")),
        "n_indep": len(ind),
        "model_all": sum(p == y for p, y in zip(pred, ys, strict=True)) / len(rows),
        "model_indep": sum(pred[i] == ys[i] for i in ind) / len(ind),
        "cues_indep": sum(cue_status(texts[i]) == ys[i] for i in ind) / len(ind),
        "confusions": Counter((ys[i], pred[i]) for i in range(len(rows)) if pred[i] != ys[i]),
    }


def dev_scores() -> dict:
    from minqing.classify.status import classify_status, cue_status

    rows = split_entries("dev")
    ys = [r["status"] for r in rows]
    cues = [cue_status(r["text"]) for r in rows]
    model = [classify_status(r["text"])[0] for r in rows]
    return {
        "n": len(rows),
        "cues": sum(a == b for a, b in zip(cues, ys, strict=True)) / len(rows),
        "model": sum(a == b for a, b in zip(model, ys, strict=True)) / len(rows),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", action="store_true", help="the dev split only")
    a = ap.parse_args()
    print(machine())
    print("command:", command_line())
    d = dev_scores()
    print(f"dev ({d['n']} entries): cue lexicon {d['cues']:.3f}  shipped model {d['model']:.3f}")
    if not a.dev:
        c = cross_validate()
        print(
            f"train CV (5 folds grouped by notebook, {c['n']} entries, {c['n_indep']} "
            f"independent): model {c['model_all']:.3f} (independent {c['model_indep']:.3f}); "
            f"cue lexicon alone on the independent {c['cues_indep']:.3f}"
        )
        print("CV confusions (truth, predicted):", dict(c["confusions"].most_common()))


if __name__ == "__main__":
    main()
