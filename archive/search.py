"""Chinese full-text search with character bigrams in SQLite FTS5.

SQLite's default tokenizer cannot split unsegmented Chinese, and a jieba-segmented
index misses sub-words (杨树沟 inside 杨树沟村, 饮水 inside 饮水难); see
MEASUREMENTS.md. So every run of CJK characters is indexed as its overlapping
character bigrams (plus the run's last character, so that one-character queries
work as prefix queries), and runs of letters/digits as lower-cased words. A query
is turned into the same bigrams, as an FTS5 phrase per query word: the phrase
matches exactly where the word occurs as a substring of the indexed text.

:func:`fts_query` replaces Datasette's ``escape_fts`` SQL function (see
``datasette/plugins/minqing_search.py``), so the stock search box works.
"""

from __future__ import annotations

import re
import unicodedata

# CJK unified ideographs (+ extension A, compatibility) and the 〇 used in dates.
_CJK = r"\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"([{_CJK}]+)|([0-9A-Za-z]+)")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    # Whitespace inside CJK text is layout (line breaks, OCR spacing), not a word break.
    return re.sub(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])", "", text)


def _run_tokens(run: str, *, with_tail: bool) -> list[str]:
    if len(run) == 1:
        return [run]
    grams = [run[i : i + 2] for i in range(len(run) - 1)]
    if with_tail:
        grams.append(run[-1])
    return grams


def bigrams(text: str) -> str:
    """The indexed form of ``text``: space-separated bigrams and words."""
    out: list[str] = []
    for cjk, word in _TOKEN_RE.findall(_normalise(text)):
        if cjk:
            out.extend(_run_tokens(cjk, with_tail=True))
        else:
            out.append(word.lower())
    return " ".join(out)


def fts_query(query: str | None) -> str:
    """Turn a user's search text into an FTS5 MATCH expression over :func:`bigrams`.

    Every whitespace-separated word must occur (AND); inside a word, CJK runs become
    phrases of consecutive bigrams, so 土地承包 matches only the substring 土地承包.
    A single CJK character becomes a prefix query. Returns an expression that
    matches nothing (``""``-phrase) when the query holds no searchable characters.
    """
    parts: list[str] = []
    for word in unicodedata.normalize("NFKC", query or "").split():
        tokens: list[str] = []
        for cjk, alnum in _TOKEN_RE.findall(word):
            if cjk:
                tokens.extend(_run_tokens(cjk, with_tail=False))
            else:
                tokens.append(alnum.lower())
        if not tokens:
            continue
        if len(tokens) == 1 and len(tokens[0]) == 1 and re.match(rf"[{_CJK}]", tokens[0]):
            parts.append(f'"{tokens[0]}" *')
        else:
            parts.append('"' + " ".join(tokens) + '"')
    return " AND ".join(parts) if parts else '""'
