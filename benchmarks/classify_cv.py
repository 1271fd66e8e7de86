"""Benchmark (issue 13, item 4): category and status recipes, cross-validated by writer.

Every recipe is scored the same two ways, and only these decide which recipe ships:

1. grouped CV over the shipped training entries (``classify/data/training.jsonl``):
   folds grouped by **writer** (leave-one-writer-out by default), so no hand is both
   learnt and scored — category accuracy + macro-F1 of lexicon + model
   (:func:`~classify.model.cross_validate_category` with ``groups``), status accuracy +
   macro-F1 (:func:`benchmarks.status.cross_validate` with ``by="writer"``);
2. dev, text level: a model of the recipe fitted on all training entries, scored on the
   independent dev split's entries (the end-to-end figure is
   ``python -m benchmarks.entries --indep dev --bypass``, for the shipped recipe).

Usage (from the repo root)::

    .venv/bin/python -m benchmarks.classify_cv                  # shipped recipes only
    .venv/bin/python -m benchmarks.classify_cv --variants all   # every recipe below
    .venv/bin/python -m benchmarks.classify_cv --category --variants C10 C100
    .venv/bin/python -m benchmarks.classify_cv --folds 5        # GroupKFold(5) by writer

The frozen test split is never read here.
"""

from __future__ import annotations

import argparse
import time

from benchmarks._common import command_line, machine


# --- category recipes ------------------------------------------------------------------
def _words(text: str) -> list[str]:
    """jieba words (domain dictionary) of two or more characters of a model text."""
    from minqing.classify.lexicon import cut

    return [w for w in cut(text) if len(w) >= 2 and " " not in w]


def word_vectorizer():
    """TF-IDF over the jieba words of a model text (tried beside the characters)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(tokenizer=_words, lowercase=False, token_pattern=None, sublinear_tf=True)


def _cat(ngram=(1, 2), C=30.0, class_weight="balanced", words=0.0, min_df=1):
    """A factory of category pipelines (steps ``tfidf`` and ``clf``, as the model needs)."""

    def make():
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, Pipeline

        chars = TfidfVectorizer(
            analyzer="char", ngram_range=ngram, sublinear_tf=True, min_df=min_df
        )
        if words:
            feats = FeatureUnion(
                [("chars", chars), ("words", word_vectorizer())],
                transformer_weights={"chars": 1.0, "words": words},
            )
        else:
            feats = chars
        return Pipeline(
            [
                ("tfidf", feats),
                ("clf", LogisticRegression(C=C, max_iter=3000, class_weight=class_weight)),
            ]
        )

    return make


CATEGORY_VARIANTS = {
    "shipped": None,
    "C3": _cat(C=3.0),
    "C10": _cat(C=10.0),
    "C100": _cat(C=100.0),
    "ng13": _cat(ngram=(1, 3)),
    "ng13-C10": _cat(ngram=(1, 3), C=10.0),
    "ng13-C100": _cat(ngram=(1, 3), C=100.0),
    "unweighted": _cat(class_weight=None),
    "mindf2": _cat(min_df=2),
    "words0.5": _cat(words=0.5),
    "words1": _cat(words=1.0),
    "ng13-words1": _cat(ngram=(1, 3), words=1.0),
}
#: other weights of the model against the lexicon (the shipped model's is 0.8)
CATEGORY_WEIGHTS = {"w0.6": 0.6, "w0.7": 0.7, "w0.9": 0.9}


def category_cv(pipeline, folds: int, weight: float | None = None) -> dict:
    from minqing.classify.model import cross_validate_category, shipped_training

    rows = shipped_training()
    return cross_validate_category(
        [r["text"] for r in rows],
        [r["category_code"] for r in rows],
        folds=folds,
        groups=[r["writer"] for r in rows],
        pipeline=pipeline,
        weight=weight,
    )


def category_dev(pipeline, weight: float | None = None) -> dict:
    from sklearn.metrics import f1_score

    from benchmarks.learning_curve import split_entries
    from minqing.classify.category import lexicon_distribution, mix
    from minqing.classify.model import shipped_training, train_category_model

    rows = shipped_training()
    model = train_category_model(
        [r["text"] for r in rows], [r["category_code"] for r in rows], pipeline=pipeline
    )
    dev = split_entries("dev")
    ys = [r["category_code"] for r in dev]
    w = model.weight if weight is None else weight
    probs = model.predict_proba_many([r["text"] for r in dev])
    lex = [lexicon_distribution(r["text"])[0] for r in dev]
    pred = [mix(x, p, w)[0] for x, p in zip(lex, probs, strict=True)]
    return {
        "accuracy": sum(a == b for a, b in zip(ys, pred, strict=True)) / len(dev),
        "macro_f1": float(f1_score(ys, pred, labels=sorted(set(ys)), average="macro")),
    }


# --- status recipes --------------------------------------------------------------------
def _status(**kw):
    def make():
        from minqing.classify.status import status_pipeline

        return status_pipeline(**kw)

    return make


#: the recipe shipped before issue 13 item 4's tuning; the variants change it one step at a time
BEFORE = {"cue_weight": 2.0, "last_weight": 0.0}
STATUS_VARIANTS = {
    "shipped": None,
    "before": _status(**BEFORE),
    "C3": _status(**BEFORE, C=3.0),
    "C30": _status(**BEFORE, C=30.0),
    "cue4": _status(**{**BEFORE, "cue_weight": 4.0}),
    "cue1": _status(**{**BEFORE, "cue_weight": 1.0}),
    "cue0.5": _status(**{**BEFORE, "cue_weight": 0.5}),
    "cue0.25": _status(**{**BEFORE, "cue_weight": 0.25}),
    "cue0": _status(**{**BEFORE, "cue_weight": 0.0}),
    "whole0": _status(**BEFORE, whole_weight=0.0),
    "whole0.5": _status(**BEFORE, whole_weight=0.5),
    "close2": _status(**BEFORE, sentences=2),
    "close4": _status(**BEFORE, sentences=4),
    "unweighted": _status(**BEFORE, class_weight=None),
    "last1": _status(**{**BEFORE, "last_weight": 1.0}),
    "cue1-close2": _status(cue_weight=1.0, last_weight=0.0, sentences=2),
    "cue0.5-last1": _status(cue_weight=0.5, last_weight=1.0),
    "cue0.25-last1": _status(cue_weight=0.25, last_weight=1.0),
    "cue0.25-last2": _status(cue_weight=0.25, last_weight=2.0),
    "cue0.25-last3": _status(cue_weight=0.25, last_weight=3.0),
    "cue0.25-last4": _status(cue_weight=0.25, last_weight=4.0),
    "cue0.5-last3": _status(cue_weight=0.5, last_weight=3.0),
    "cue1-last3": _status(cue_weight=1.0, last_weight=3.0),
}


def status_dev(pipeline) -> float:
    from benchmarks.learning_curve import split_entries
    from minqing.classify import model as M
    from minqing.classify.status import classify_status, status_pipeline

    rows = M.shipped_training()
    pipe = M._fit(
        (pipeline or status_pipeline)(),
        [r["text"] for r in rows],
        [r["status"] for r in rows],
        [1.0] * len(rows),
    )
    model = M.StatusModel(pipe, len(rows))
    dev = split_entries("dev")
    return sum(classify_status(r["text"], model=model)[0] == r["status"] for r in dev) / len(dev)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--category", action="store_true", help="category recipes only")
    ap.add_argument("--status", action="store_true", help="status recipes only")
    ap.add_argument("--variants", nargs="*", default=["shipped"], help="names, or 'all'")
    ap.add_argument("--folds", type=int, default=99, help="folds by writer (99: one per writer)")
    a = ap.parse_args()
    both = not (a.category or a.status)
    print(machine())
    print("command:", command_line())
    if a.category or both:
        every = [*CATEGORY_VARIANTS, *CATEGORY_WEIGHTS]
        names = every if a.variants == ["all"] else a.variants
        print("category  recipe        CV acc  CV mF1  (model alone acc)  dev acc  dev mF1")
        for name in names:
            if name not in every:
                continue
            t0 = time.time()
            pipe = CATEGORY_VARIANTS.get(name)
            weight = CATEGORY_WEIGHTS.get(name)
            cv = category_cv(pipe, a.folds, weight)
            dev = category_dev(pipe, weight)
            print(
                f"category  {name:<12}  {cv['combined']['accuracy']:.3f}   "
                f"{cv['combined']['macro_f1']:.3f}   ({cv['model']['accuracy']:.3f})"
                f"            {dev['accuracy']:.3f}    {dev['macro_f1']:.3f}"
                f"   [{cv['folds']} folds, {time.time() - t0:.0f} s]",
                flush=True,
            )
            top = sorted(cv["confusions"].items(), key=lambda kv: -kv[1])[:6]
            print("          confusions:", ", ".join(f"{tp}:{k}" for tp, k in top))
    if a.status or both:
        from benchmarks.status import cross_validate

        names = list(STATUS_VARIANTS) if a.variants == ["all"] else a.variants
        print("status    recipe        CV acc  CV mF1  (indep acc)  dev acc")
        for name in names:
            if name not in STATUS_VARIANTS:
                continue
            t0 = time.time()
            pipe = STATUS_VARIANTS[name]
            cv = cross_validate(a.folds, by="writer", pipeline=pipe)
            dev = status_dev(pipe)
            print(
                f"status    {name:<12}  {cv['model_all']:.3f}   {cv['macro_f1']:.3f}   "
                f"({cv['model_indep']:.3f})      {dev:.3f}"
                f"   [{cv['folds']} folds, {time.time() - t0:.0f} s]",
                flush=True,
            )
            top = cv["confusions"].most_common(6)
            print("          confusions:", ", ".join(f"{t}->{p}:{k}" for (t, p), k in top))
    print("(status 'shipped' is the recipe classify/status.py ships now; 'before' the one it")
    print(" shipped before: cue lexicon weight 2.0, no last-sentence features)")


if __name__ == "__main__":
    main()
