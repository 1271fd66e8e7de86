"""CTC decoding of the recognition model's per-timestep probabilities.

The PP-OCR recognition model outputs, for every horizontal step of the line image,
a probability for each of ~18k characters plus the CTC blank. rapidocr keeps only
the best character per step (greedy decoding). Here we also run a prefix beam
search over the few likely characters per step, scored with a character-bigram
language model, so that a glyph the model hesitates over (候/侯, 冶/治, 一/1) is
read as the character that makes sense next to its neighbours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from minqing.ocr._lm import CharBigramLM

NEG_INF = -math.inf


def _lse(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


@dataclass(frozen=True)
class Decoded:
    """One decoded line: text, per-character confidences and emission timesteps.

    ``alternates`` (issue 17): for each character the model was unsure of (confidence
    below :data:`ALT_STORE_BELOW`), ``(index, characters, probabilities)`` of the next
    likeliest characters, likeliest first; see :func:`with_alternates`.
    """

    text: str
    char_confidences: tuple[float, ...]
    steps: tuple[int, ...]
    alternates: tuple[tuple[int, str, tuple[float, ...]], ...] = ()

    @property
    def confidence(self) -> float:
        """Mean character confidence (0 for an empty line), as rapidocr reports it."""
        if not self.char_confidences:
            return 0.0
        return float(np.mean(self.char_confidences))


#: characters read with a confidence below this keep their next likeliest characters
#: (issue 17). Deliberately wide: the search index applies its own, calibrated threshold
#: (``archive/search.py`` ALT_BELOW), so that calibrating it never needs a re-OCR.
ALT_STORE_BELOW = 0.98
#: at most this many alternates per character, each with at least this probability
ALT_MAX = 3
ALT_MIN_PROB = 0.005


def with_alternates(d: Decoded, probs: np.ndarray, chars: list[str]) -> Decoded:
    """``d`` with the next likeliest characters of each unsure character.

    A character's candidates are the peak probabilities of every character over the
    steps where it was emitted (its step and the two after, where CTC spreads a glyph),
    the CTC blank and the character read excluded. The decoders already look at these
    top-k characters (the LM's candidates); this keeps them for the search index.
    """
    if not d.steps or len(d.steps) != len(d.text):
        return d
    out = []
    n_cols = probs.shape[1]
    k = min(ALT_MAX + 1, n_cols - 1)
    for i, (t, conf) in enumerate(zip(d.steps, d.char_confidences, strict=True)):
        if conf >= ALT_STORE_BELOW:
            continue
        peak = probs[t : t + 3, 1:].max(axis=0)
        top = np.argpartition(peak, -k)[-k:]
        top = top[np.argsort(-peak[top])]
        alts = [
            (chars[c + 1], float(peak[c]))
            for c in top
            if peak[c] >= ALT_MIN_PROB and chars[c + 1] != d.text[i]
        ][:ALT_MAX]
        if alts:
            out.append((i, "".join(a for a, _ in alts), tuple(round(p, 4) for _, p in alts)))
    return Decoded(d.text, d.char_confidences, d.steps, tuple(out))


def greedy_decode(probs: np.ndarray, chars: list[str]) -> Decoded:
    """Best character per step, repeats merged, blanks dropped (index 0 is blank)."""
    idx = probs.argmax(axis=1)
    best = probs.max(axis=1)
    keep = np.ones(len(idx), dtype=bool)
    keep[1:] = idx[1:] != idx[:-1]
    keep &= idx != 0
    steps = np.nonzero(keep)[0]
    text = "".join(chars[i] for i in idx[steps])
    confs = tuple(float(best[t]) for t in steps)
    return Decoded(text, confs, tuple(int(t) for t in steps))


def is_uncertain(probs: np.ndarray, threshold: float = 0.9, runner_up: float = 0.03) -> bool:
    """True when some step hesitates between characters (worth an LM re-decode)."""
    nb = probs[:, 1:]
    first = nb.max(axis=1)
    # only steps whose best character is unsure and that are not plain blank
    rows = np.nonzero((first < threshold) & (probs[:, 0] < 1.0 - runner_up))[0]
    if rows.size == 0:
        return False
    sub = nb[rows]
    second = np.partition(sub, -2, axis=1)[:, -2]
    return bool(np.any(second > runner_up))


def beam_decode(
    probs: np.ndarray,
    chars: list[str],
    lm: CharBigramLM,
    *,
    alpha: float = 0.3,
    beta: float = 0.0,
    beam: int = 8,
    topk: int = 5,
    min_prob: float = 1e-3,
    blank_skip: float = 0.999,
) -> Decoded:
    """CTC prefix beam search with a character LM.

    Score of a prefix = log P_ctc(prefix) + ``alpha`` * log P_lm(prefix) + ``beta`` * length.

    Args:
        probs: (T, C) softmax output; column 0 is the CTC blank.
        chars: column -> character (``chars[0]`` is the blank placeholder).
        lm: an object with ``logp(prev_char, char) -> float``.
    """
    T = probs.shape[0]
    logp = np.log(np.maximum(probs, 1e-12))
    # prefix -> [log p ending in blank, log p ending in non-blank]
    beams: dict[tuple[int, ...], list[float]] = {(): [0.0, NEG_INF]}
    lm_score: dict[tuple[int, ...], float] = {(): 0.0}
    steps: dict[tuple[int, ...], tuple[int, ...]] = {(): ()}

    for t in range(T):
        lb = float(logp[t, 0])
        if probs[t, 0] >= blank_skip:
            for v in beams.values():
                v[0], v[1] = _lse(v[0], v[1]) + lb, NEG_INF
            continue
        row = probs[t]
        k = min(topk, row.shape[0] - 1)
        top = np.argpartition(row[1:], -k)[-k:] + 1
        cand = [int(c) for c in top if row[c] >= min_prob]
        nxt: dict[tuple[int, ...], list[float]] = {}

        def slot(p: tuple[int, ...], nxt: dict = nxt) -> list[float]:
            s = nxt.get(p)
            if s is None:
                s = nxt[p] = [NEG_INF, NEG_INF]
            return s

        for prefix, (pb, pnb) in beams.items():
            s = slot(prefix)
            s[0] = _lse(s[0], _lse(pb, pnb) + lb)
            last = prefix[-1] if prefix else -1
            for c in cand:
                lp = float(logp[t, c])
                new = (*prefix, c)
                if new not in lm_score:
                    prev_ch = chars[last] if prefix else ""
                    lm_score[new] = lm_score[prefix] + lm.logp(prev_ch, chars[c])
                    steps[new] = (*steps[prefix], t)
                ns = slot(new)
                if c == last:
                    s[1] = _lse(s[1], pnb + lp)  # repeat without blank: same prefix
                    ns[1] = _lse(ns[1], pb + lp)  # repeat after blank: new char
                else:
                    ns[1] = _lse(ns[1], _lse(pb, pnb) + lp)

        def total(item: tuple[tuple[int, ...], list[float]]) -> float:
            p, (b, nb) = item
            return _lse(b, nb) + alpha * lm_score[p] + beta * len(p)

        beams = dict(sorted(nxt.items(), key=total, reverse=True)[:beam])

    best = max(
        beams.items(), key=lambda it: _lse(*it[1]) + alpha * lm_score[it[0]] + beta * len(it[0])
    )[0]
    text = "".join(chars[c] for c in best)
    at = steps[best]
    confs = tuple(float(probs[t : t + 3, c].max()) for t, c in zip(at, best, strict=True))
    return Decoded(text, confs, at)


def substitute_decode(
    probs: np.ndarray,
    chars: list[str],
    lm: CharBigramLM,
    *,
    alpha: float = 0.3,
    topk: int = 5,
    min_prob: float = 0.01,
) -> Decoded:
    """Re-choose each greedily decoded character with the LM, never adding or dropping one.

    The greedy path fixes where characters are (runs of the same best character);
    for each run the candidates are the ``topk`` characters with the highest
    probability anywhere in the run (at least ``min_prob``). A Viterbi search picks
    the sequence maximising ``sum log p_ctc + alpha * sum log P_lm(c_i | c_i-1)``.
    Most recognition errors on handwriting are look-alike substitutions (候/侯,
    冶/治, 了/3); insertions and deletions stay as the model read them, so a rare
    character the model is sure of is never dropped in favour of the LM.
    """
    idx = probs.argmax(axis=1)
    runs: list[tuple[int, int]] = []  # [start, end) of each emitted character's run
    t = 0
    T = len(idx)
    while t < T:
        if idx[t] == 0:
            t += 1
            continue
        s = t
        while t < T and idx[t] == idx[s]:
            t += 1
        runs.append((s, t))
    if not runs:
        return Decoded("", (), ())
    cands: list[list[tuple[int, float]]] = []
    for s, e in runs:
        peak = probs[s:e, 1:].max(axis=0)
        k = min(topk, peak.shape[0])
        top = np.argpartition(peak, -k)[-k:]
        best = int(idx[s]) - 1
        opts = {int(c) + 1: float(peak[c]) for c in top if peak[c] >= min_prob}
        opts[best + 1] = float(peak[best])
        cands.append(sorted(opts.items(), key=lambda kv: -kv[1]))

    # Viterbi over the candidate lattice
    score = [math.log(max(p, 1e-12)) + alpha * lm.logp("", chars[c]) for c, p in cands[0]]
    back: list[list[int]] = []
    for i in range(1, len(cands)):
        prev = cands[i - 1]
        new_score, ptr = [], []
        for c, p in cands[i]:
            lp = math.log(max(p, 1e-12))
            best_j, best_v = 0, NEG_INF
            for j, (pc, _) in enumerate(prev):
                v = score[j] + alpha * lm.logp(chars[pc], chars[c])
                if v > best_v:
                    best_j, best_v = j, v
            new_score.append(best_v + lp)
            ptr.append(best_j)
        score = new_score
        back.append(ptr)
    j = int(np.argmax(score))
    path = [j]
    for ptr in reversed(back):
        j = ptr[j]
        path.append(j)
    path.reverse()
    chosen = [cands[i][j] for i, j in enumerate(path)]
    text = "".join(chars[c] for c, _ in chosen)
    return Decoded(text, tuple(p for _, p in chosen), tuple(s for s, _ in runs))
