"""jieba set-up and the category lexicon (guideline section 三(二)).

jieba is used through a private :class:`jieba.Tokenizer` loaded with the domain's user
dictionary (``classify/data/userdict.txt``), so the global ``jieba`` state other code may
use is left alone. Its dictionary cache goes to a ``minqing-jieba`` folder in the system
temp directory (never site-packages or $HOME) and its logging is silenced.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from importlib import resources

from minqing.classify.errors import ClassifyDataError
from minqing.classify.types import CATEGORIES

_LOCK = threading.Lock()


def _data_text(name: str) -> str:
    try:
        return (
            resources.files(__package__ or "minqing.classify")
            .joinpath("data", name)
            .read_text(encoding="utf-8")
        )
    except OSError as e:  # a broken install
        raise ClassifyDataError(
            f"classify/data/{name}", "cannot be read", "reinstall minqing (pip install -e .)"
        ) from e


@functools.lru_cache(maxsize=1)
def tokenizer():
    """The jieba tokenizer with the domain dictionary, initialised once, quietly."""
    import jieba
    import jieba.posseg

    logging.getLogger("jieba").setLevel(logging.ERROR)
    jieba.setLogLevel(logging.ERROR)
    with _LOCK:
        tk = jieba.Tokenizer()
        tmp = os.path.join(tempfile.gettempdir(), "minqing-jieba")
        os.makedirs(tmp, exist_ok=True)
        tk.tmp_dir = tmp
        tk.initialize()
        for line in _data_text("userdict.txt").splitlines():
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            word = parts[0]
            freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            tag = parts[2] if len(parts) > 2 else None
            tk.add_word(word, freq, tag)
        pos = jieba.posseg.POSTokenizer(tk)
    return tk, pos


def cut(text: str) -> list[str]:
    """jieba words of ``text`` (precise mode)."""
    tk, _ = tokenizer()
    return [w for w in tk.lcut(text) if w.strip()]


def pos_cut(text: str) -> list[tuple[str, str]]:
    """``(word, POS flag)`` pairs of ``text``."""
    _, pos = tokenizer()
    return [(p.word, p.flag) for p in pos.lcut(text) if p.word.strip()]


@dataclass(frozen=True)
class LexiconEntry:
    """A lexicon word: the category it points to and how strongly (1..3)."""

    word: str
    code: int
    weight: float


@functools.lru_cache(maxsize=1)
def lexicon() -> tuple[LexiconEntry, ...]:
    """The category lexicon, longest words first."""
    out: list[LexiconEntry] = []
    for n, line in enumerate(_data_text("lexicon.tsv").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        try:
            word, code, weight = parts[0].strip(), int(parts[1]), float(parts[2])
        except (IndexError, ValueError) as e:
            raise ClassifyDataError(
                "classify/data/lexicon.tsv", f"line {n} is not 'word<TAB>code<TAB>weight'"
            ) from e
        if code not in CATEGORIES:
            raise ClassifyDataError("classify/data/lexicon.tsv", f"line {n}: no category {code}")
        out.append(LexiconEntry(word, code, weight))
    out.sort(key=lambda e: -len(e.word))
    return tuple(out)


def lexicon_hits(text: str) -> list[LexiconEntry]:
    """Lexicon words found in ``text``, longest match first, without overlaps.

    Words of two or more characters are matched as substrings (OCR text is unsegmented
    and jieba may split a rare compound); single characters only when jieba cuts them
    out as a word of their own, so that 偷 in 偷盗 counts but 桥 in 桥头村 does not.
    """
    covered = [False] * len(text)
    hits: list[LexiconEntry] = []
    singles = None
    for e in lexicon():
        if len(e.word) == 1:
            if singles is None:
                singles = set(cut(text))
            if e.word in singles:
                hits.append(e)
            continue
        start = 0
        while True:
            i = text.find(e.word, start)
            if i < 0:
                break
            j = i + len(e.word)
            if not any(covered[i:j]):
                for k in range(i, j):
                    covered[k] = True
                hits.append(e)
            start = i + 1
    return hits


def lexicon_scores(text: str) -> tuple[dict[int, float], dict[int, list[str]]]:
    """Per-category weight sums and the words that contributed, for ``text``."""
    scores = {c: 0.0 for c in CATEGORIES}
    words: dict[int, list[str]] = {c: [] for c in CATEGORIES}
    for e in lexicon_hits(text):
        scores[e.code] += e.weight
        if e.word not in words[e.code]:
            words[e.code].append(e.word)
    return scores, words
