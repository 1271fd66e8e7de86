"""Category (1–8) of an entry: the lexicon, combined with a trained model when given."""

from __future__ import annotations

from classify.lexicon import lexicon_scores
from classify.types import CATEGORIES

#: weight of a trained model's probabilities against the lexicon's (when both speak)
MODEL_WEIGHT = 0.6
#: pseudo-count that keeps a single weak word from looking certain
_SMOOTH = 1.0


def lexicon_distribution(text: str) -> tuple[dict[int, float], dict[int, list[str]]]:
    """Lexicon probabilities per category (all 0 when no word matched) and the words."""
    scores, words = lexicon_scores(text)
    total = sum(scores.values())
    if total <= 0:
        return {c: 0.0 for c in CATEGORIES}, words
    return {c: s / (total + _SMOOTH) for c, s in scores.items()}, words


def classify_category(text: str, model=None) -> tuple[int, float, tuple[str, ...]]:
    """``(category code, score in [0, 1], evidence words)`` for an entry's text.

    Without a model the lexicon decides: the category with the largest summed weight
    of matched words; ``8`` (其他) when no word matched. With a model
    (:class:`classify.model.CategoryModel`), its probabilities are mixed with the
    lexicon's (``MODEL_WEIGHT``); the evidence then also names the model's strongest
    words for the chosen category.
    """
    lex, words = lexicon_distribution(text)
    has_lex = any(v > 0 for v in lex.values())
    if model is not None:
        probs = model.predict_proba(text)
        if has_lex:
            mixed = {c: MODEL_WEIGHT * probs.get(c, 0.0) + (1 - MODEL_WEIGHT) * lex[c] for c in CATEGORIES}
        else:
            mixed = {c: probs.get(c, 0.0) for c in CATEGORIES}
        code = max(mixed, key=lambda c: (mixed[c], -c))
        score = min(1.0, max(0.0, mixed[code]))
        evidence = list(words[code])
        for w in model.evidence(text, code):
            if w not in evidence:
                evidence.append(w)
        return code, round(score, 4), tuple(evidence[:8])
    if not has_lex:
        return 8, 0.0, ()
    code = max(lex, key=lambda c: (lex[c], -c))
    return code, round(min(1.0, lex[code]), 4), tuple(words[code])
