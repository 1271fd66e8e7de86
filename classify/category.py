"""Category (1–8) of an entry: the lexicon, combined with a trained model when given."""

from __future__ import annotations

from minqing.classify.lexicon import lexicon_scores
from minqing.classify.types import CATEGORIES

#: weight of a model's probabilities against the lexicon's when the model does not say
#: (a :class:`classify.model.CategoryModel` says: its weight rises with its training data)
MODEL_WEIGHT = 0.6
#: pseudo-count that keeps a single weak word from looking certain
_SMOOTH = 1.0
#: when no lexicon word matched, the lexicon's vote for 8 (其他) that a model must outweigh
NO_WORD_PRIOR = 0.8


def lexicon_distribution(text: str) -> tuple[dict[int, float], dict[int, list[str]]]:
    """Lexicon probabilities per category (all 0 when no word matched) and the words."""
    scores, words = lexicon_scores(text)
    total = sum(scores.values())
    if total <= 0:
        return {c: 0.0 for c in CATEGORIES}, words
    return {c: s / (total + _SMOOTH) for c, s in scores.items()}, words


def mix(lex: dict[int, float], probs: dict[int, float], weight: float) -> tuple[int, float]:
    """``(code, score)`` of a model's probabilities mixed with the lexicon's, the model
    counting ``weight``; a lexicon that matched no word votes :data:`NO_WORD_PRIOR` for 8."""
    if not any(v > 0 for v in lex.values()):
        lex = {c: (NO_WORD_PRIOR if c == 8 else 0.0) for c in CATEGORIES}
    mixed = {c: weight * probs.get(c, 0.0) + (1 - weight) * lex[c] for c in CATEGORIES}
    code = max(mixed, key=lambda c: (mixed[c], -c))
    return code, min(1.0, max(0.0, mixed[code]))


def classify_category(text: str, model=None) -> tuple[int, float, tuple[str, ...]]:
    """``(category code, score in [0, 1], evidence words)`` for an entry's text.

    ``model=None`` uses the model fitted from the training texts the package ships
    (:func:`classify.model.default_category_model`, issue 13); ``model=False`` leaves the
    lexicon alone, which decides: the category with the largest summed weight
    of matched words; ``8`` (其他) when no word matched. With a model
    (:class:`classify.model.CategoryModel`, or anything with ``predict_proba(text)`` and
    ``evidence(text, code)``), its probabilities are mixed with the lexicon's, the
    model counting ``model.weight`` (``MODEL_WEIGHT`` when it has none); when no lexicon
    word matched, the lexicon votes :data:`NO_WORD_PRIOR` for 8. The evidence names the
    lexicon words of the chosen category, then the model's strongest n-grams for it.

    The function only proposes: it reads text and returns a code. Categories a reviewer
    confirmed are kept by the archive, which never asks the classifier about them.
    """
    if model is None:
        from minqing.classify.model import default_category_model

        model = default_category_model()
    elif model is False:
        model = None
    lex, words = lexicon_distribution(text)
    has_lex = any(v > 0 for v in lex.values())
    if model is not None:
        w = float(getattr(model, "weight", MODEL_WEIGHT))
        code, score = mix(lex, model.predict_proba(text), w)
        evidence = list(words[code])
        for word in model.evidence(text, code):
            if not any(word in w or w in word for w in evidence):
                evidence.append(word)
        return code, round(score, 4), tuple(evidence[:8])
    if not has_lex:
        return 8, 0.0, ()
    code = max(lex, key=lambda c: (lex[c], -c))
    return code, round(min(1.0, lex[code]), 4), tuple(words[code])
