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

Alternates (issue 17). For characters the recogniser was unsure of, the OCR stage keeps
the next likeliest characters (``ocr.types.Line.alternates``); the archive stores them
(``lines.alternates``) and indexes, in a second FTS5 table (``<table>_alt_fts``), the
bigrams of short windows of the read text with an alternate put in place of the read
character. So a search
for 饮水 also finds a line read as 饺水 whose second choice for 饺 was 饮. A window spans
:data:`ALT_WINDOW` characters either side of the substituted one (words of up to
``ALT_WINDOW + 1`` characters through it match), windows are kept apart by the token
:data:`ALT_BREAK` so that no phrase runs from one into the next. :func:`fts_query` matches
the read text (exact; Datasette's search box); :func:`search` ranks exact hits first, then
the hits only alternates explain. The alternates have a table of their own, not a column:
an FTS5 column filter still reads every row of a token, a small table only its few rows.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# CJK unified ideographs (+ extension A, compatibility) and the 〇 used in dates.
_CJK = r"\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"([{_CJK}]+)|([0-9A-Za-z]+)")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_ALNUM_CHAR = re.compile(r"[0-9A-Za-z]")


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


def _phrases(query: str | None) -> list[str]:
    """One FTS5 phrase per query word (see :func:`fts_query`)."""
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
    return parts


def fts_query(query: str | None) -> str:
    """Turn a user's search text into an FTS5 MATCH expression over :func:`bigrams`.

    Every whitespace-separated word must occur (AND); inside a word, CJK runs become
    phrases of consecutive bigrams, so 土地承包 matches only the substring 土地承包.
    A single CJK character becomes a prefix query. Returns an expression that
    matches nothing (``""``-phrase) when the query holds no searchable characters.
    """
    parts = _phrases(query)
    return " AND ".join(parts) if parts else '""'


# -- alternates (issue 17) ---------------------------------------------------------------------

#: a character's alternates are indexed when the recogniser gave the character it read a
#: probability below this ... (calibrated with ``python -m benchmarks.search_recall``
#: on the bundled samples and generated pages, never on real data)
ALT_BELOW = 0.9
#: ... and only alternates with at least this probability, at most ALT_PER_CHAR of them
ALT_MIN = 0.02
ALT_PER_CHAR = 2
#: characters either side of a substituted one in each indexed window
ALT_WINDOW = 3
#: token between windows in the ``alt`` column: no query produces it (queries are CJK
#: runs and ASCII words, and no one searches for this one), so no phrase spans two windows
ALT_BREAK = "0zq0"

Alternates = dict[int, str]
#: above this many exact hits, :func:`search` lists them by walking the date index
WALK_ABOVE = 2000


def stored_alternates(
    text: str, alternates: Iterable[Sequence[Any]], confidences: Sequence[float]
) -> str | None:
    """The ``lines.alternates`` JSON of a line: ``[[index, p_read, chars, [p, ...]], ...]``.

    ``alternates`` as :class:`~minqing.ocr.types.Line` holds them; ``p_read`` is the
    probability of the character read (None where the engine gave none). None when empty.
    """
    out = []
    for i, chars, probs in alternates:
        if not 0 <= i < len(text):
            continue
        p = round(float(confidences[i]), 4) if i < len(confidences) else None
        out.append([int(i), p, str(chars), [round(float(x), 4) for x in probs]])
    return json.dumps(out, ensure_ascii=False) if out else None


def accepted_alternates(
    stored: str | None,
    *,
    below: float = ALT_BELOW,
    min_prob: float = ALT_MIN,
    per_char: int = ALT_PER_CHAR,
) -> Alternates:
    """The alternates the index uses, ``{index: characters}``, from ``lines.alternates``."""
    if not stored:
        return {}
    out: Alternates = {}
    for i, p_read, chars, probs in json.loads(stored):
        if p_read is not None and p_read >= below:
            continue
        keep = [c for c, p in zip(chars, probs, strict=False) if p >= min_prob][:per_char]
        keep = [c for c in keep if _is_searchable(c)]
        if keep:
            out[int(i)] = "".join(keep)
    return out


def _is_searchable(ch: str) -> bool:
    return bool(_TOKEN_RE.fullmatch(unicodedata.normalize("NFKC", ch)))


def part_positions(parts: Sequence[str], text: str) -> dict[int, tuple[int, int]]:
    """Where each character of ``text`` comes from: ``{text index: (part, index in part)}``.

    Each part (a line's text) is found in ``text`` after the previous one, whitespace
    ignored (entry texts join lines with no gap and no whitespace); a part not found
    there maps nothing.
    """
    out: dict[int, tuple[int, int]] = {}
    pos = 0
    for p, part in enumerate(parts):
        keep = [k for k, ch in enumerate(part) if not ch.isspace()]
        squeezed = "".join(part[k] for k in keep)
        if not squeezed:
            continue
        at = text.find(squeezed, pos)
        if at < 0:
            continue
        for n, k in enumerate(keep):
            out[at + n] = (p, k)
        pos = at + len(squeezed)
    return out


def joined_alternates(parts: Sequence[tuple[str, Alternates]], text: str) -> Alternates:
    """The alternates of a text made of ``parts`` (line texts and their alternates),
    at their positions in ``text`` (see :func:`part_positions`)."""
    where = part_positions([t for t, _ in parts], text)
    return {i: parts[p][1][k] for i, (p, k) in where.items() if k in parts[p][1]}


#: prefix of the tokens of a window that the read text alone spells (see :func:`alt_bigrams`)
READ_MARK = "q"


def _window_tokens(chars: Sequence[str], subs: Container[int]) -> list[str]:
    """Bigram tokens of ``chars`` (CJK runs; ASCII runs as words); a token that touches no
    position in ``subs`` is marked :data:`READ_MARK`."""
    tokens: list[str] = []
    n = 0
    while n < len(chars):
        ch = chars[n]
        if _CJK_CHAR.match(ch):
            m = n
            while m + 1 < len(chars) and _CJK_CHAR.match(chars[m + 1]):
                m += 1
            if m == n:
                tokens.append(ch if n in subs else READ_MARK + ch)
            for k in range(n, m):
                bigram = chars[k] + chars[k + 1]
                tokens.append(bigram if k in subs or k + 1 in subs else READ_MARK + bigram)
            n = m + 1
        elif _ALNUM_CHAR.match(ch):
            m = n
            while m + 1 < len(chars) and _ALNUM_CHAR.match(chars[m + 1]):
                m += 1
            word = "".join(chars[n : m + 1]).lower()
            touched = any(k in subs for k in range(n, m + 1))
            tokens.append(word if touched else READ_MARK + word)
            n = m + 1
        else:
            n += 1
    return tokens


def alt_bigrams(text: str, alts: Alternates, *, window: int = ALT_WINDOW) -> str | None:
    """The alternates' search text for ``text``: windows around unsure characters.

    For every unsure position and alternate, the bigrams of ``window`` characters either
    side with the alternate in place; for two unsure positions within ``window`` of each
    other, also every pair of their alternates together. A bigram the read text alone
    spells is marked (``q水难``), so that a query's phrase only matches here through an
    alternate (:func:`alt_phrases`) and the table stays small to search. Windows are
    separated by :data:`ALT_BREAK`. None when there is nothing to index.
    """
    if not alts:
        return None
    # positions in the whitespace-free text, as the bigram index sees it
    keep = [k for k, ch in enumerate(text) if not ch.isspace()]
    chars = [_fold_keep(text[k]) for k in keep]
    where = {k: n for n, k in enumerate(keep)}
    unsure = sorted((where[k], a) for k, a in alts.items() if k in where)
    windows: list[str] = []
    seen: set[str] = set()

    def add(subs: dict[int, str]) -> None:
        lo = max(0, min(subs) - window)
        hi = min(len(chars), max(subs) + window + 1)
        seg = [_fold_keep(subs[n]) if n in subs else chars[n] for n in range(lo, hi)]
        t = " ".join(_window_tokens(seg, {n - lo for n in subs}))
        if t and t not in seen:
            seen.add(t)
            windows.append(t)

    for n, (i, alts_i) in enumerate(unsure):
        for a in alts_i:
            add({i: a})
        for j, alts_j in unsure[n + 1 :]:
            if j - i > window:
                break
            for a in alts_i:
                for b in alts_j:
                    add({i: a, j: b})
    return f" {ALT_BREAK} ".join(windows) or None


def alt_phrases(query: str | None) -> list[str]:
    """For each query word, the MATCH expression of the alternates' table that finds it
    spelt with one or two alternates: one phrase per choice of the characters that came
    from alternates (the others' bigrams marked as in :func:`alt_bigrams`), ORed."""
    out = []
    for word in query_words(query):
        chars = [_fold_keep(c) for c in word]
        if len(chars) == 1:
            out.append(f'"{chars[0].lower()}" *' if _CJK_CHAR.match(chars[0]) else f'"{chars[0]}"')
            continue
        n = len(chars)
        choices = [{i} for i in range(n)] + [
            {i, j} for i in range(n) for j in range(i + 1, n) if j - i <= ALT_WINDOW
        ]
        phrases = []
        for subs in choices:
            p = '"' + " ".join(_window_tokens(chars, subs)) + '"'
            if p not in phrases:
                phrases.append(p)
        out.append("(" + " OR ".join(phrases) + ")")
    return out


def _fold_keep(ch: str) -> str:
    f = unicodedata.normalize("NFKC", ch)
    return f if len(f) == 1 else ch


Span = tuple[int, int, tuple[tuple[int, str], ...]]


def find_spans(text: str, alts: Alternates, words: Sequence[str]) -> list[Span]:
    """Every occurrence of each word in ``text`` read with its alternates.

    Returns ``(start, end, ((position, alternate used), ...))`` in ``text`` positions, sorted;
    whitespace inside the text is skipped (a word may run across a line break), case and
    full-width forms fold. An occurrence with no alternate position is an exact one.
    """
    keep = [k for k, ch in enumerate(text) if not ch.isspace()]
    fold = [_fold(text[k]) for k in keep]
    opts = [{_fold(a) for a in alts.get(k, "")} for k in keep]
    out = []
    for w in words:
        wf = [_fold(c) for c in w if not c.isspace()]
        if not wf:
            continue
        for s in range(len(keep) - len(wf) + 1):
            used = []
            for n, c in enumerate(wf):
                if fold[s + n] == c:
                    continue
                if c in opts[s + n]:
                    used.append((keep[s + n], c))
                    continue
                break
            else:
                out.append((keep[s], keep[s + len(wf) - 1] + 1, tuple(used)))
    return sorted(set(out))


def _fold(ch: str) -> str:
    f = unicodedata.normalize("NFKC", ch)
    return f.lower() if len(f) == 1 else ch


def query_words(q: str | None) -> list[str]:
    """The words of a search query as the index matches them (NFKC, whitespace-split).

    Characters the index ignores (punctuation, FTS syntax) are dropped from each word;
    each remaining run is a word that must occur as a substring.
    """
    words: list[str] = []
    for raw in unicodedata.normalize("NFKC", q or "").split():
        for cjk, alnum in _TOKEN_RE.findall(raw):
            run = cjk or alnum
            if run.lower() not in (w.lower() for w in words):
                words.append(run)
    return words


@dataclass
class Hit:
    """One search hit: the row, and whether only alternates explain it (``alternate``)."""

    row: dict[str, Any]
    alternate: bool
    #: ``(start, end, ((position, alternate), ...))`` of the words in the row's text
    spans: list[Span] = field(default_factory=list)
    text: str = ""
    alternates: Alternates = field(default_factory=dict)


@dataclass
class Result:
    """Hits of one table: exact first, then alternate ones; counts of all of each."""

    hits: list[Hit]
    exact_count: int
    alternate_count: int


def search(
    conn: sqlite3.Connection,
    q: str | None,
    *,
    table: str = "entries",
    columns: str = "*",
    order_by: str = "rowid",
    exact: bool = False,
    limit: int = 20,
) -> Result:
    """Search ``table`` (``entries`` or ``lines``) through ``<table>_fts``.

    Exact hits (the read text holds every word) come first in ``order_by`` order, then,
    unless ``exact``, the hits only alternates explain, ``limit`` hits in all. Each hit
    carries its text spans.
    """
    fts = f"{table}_fts"
    words = query_words(q)
    if not words:
        return Result([], 0, 0)
    m_exact = fts_query(q)
    exact_count = conn.execute(
        f"select count(*) from {fts} where {fts} match ?", [m_exact]
    ).fetchone()[0]
    hits: list[Hit] = []
    # many hits, newest first: walk the date index and stop after a page of hits (``+``
    # keeps SQLite from fetching every hit by rowid to sort them; see minqing_web.py)
    walk = "+" if exact_count > WALK_ABOVE and order_by.startswith("t.date") else ""
    rows = _rows(
        conn,
        f"select {columns}, t.text as _text, t.alternates as _alts from {table} t "
        f"where {walk}t.rowid in (select rowid from {fts} where {fts} match ?) "
        f"order by {order_by} limit ?",
        [m_exact, limit],
    )
    for r in rows:
        hits.append(_hit(r, words, alternate=False, table=table))
    alternate_count = 0
    if not exact:
        more, alternate_count = alternate_hits(
            conn, q, table=table, columns=columns, order_by=order_by, limit=limit - len(hits)
        )
        hits.extend(more)
    return Result(hits, exact_count, alternate_count)


def alternate_hits(
    conn: sqlite3.Connection,
    q: str | None,
    *,
    table: str = "entries",
    columns: str = "*",
    order_by: str = "rowid",
    limit: int = 20,
) -> tuple[list[Hit], int]:
    """The first ``limit`` hits (in ``order_by`` order) that only the recogniser's
    alternates explain, and how many there are. Exact hits are neither listed nor counted:
    counting those costs ~10-20 ms for a word with 100,000 hits at 1M entries."""
    words = query_words(q)
    if not words:
        return [], 0
    alt_ids = _alternate_ids(conn, f"{table}_fts", f"{table}_alt_fts", q)
    if limit <= 0 or not alt_ids:
        return [], len(alt_ids)
    rows = _rows(
        conn,
        f"select {columns}, t.text as _text, t.alternates as _alts from {table} t "
        f"where t.rowid in (select value from json_each(?)) order by {order_by} limit ?",
        [json.dumps(alt_ids), limit],
    )
    return [_hit(r, words, alternate=True, table=table) for r in rows], len(alt_ids)


def _alternate_ids(conn: sqlite3.Connection, fts: str, alt_fts: str, q: str | None) -> list[int]:
    """Rowids that hold every word, some only through alternates (not exact hits).

    Candidates are the rows whose alternates spell some word (:func:`alt_phrases`: only
    through an alternate, so they are few); each word is then looked up among them.
    """
    exact_phrases = [fts_query(w) for w in query_words(q)]
    through_alt = alt_phrases(q)
    cands: set[int] = set()
    for p in through_alt:
        cands.update(
            r[0] for r in conn.execute(f"select rowid from {alt_fts} where {alt_fts} match ?", [p])
        )
    if not cands:
        return []
    ids = json.dumps(sorted(cands))
    sql = "select rowid from {t} where {t} match ? and rowid in (select value from json_each(?))"
    exact_all = set(cands)
    ok = set(cands)
    for pe, pa in zip(exact_phrases, through_alt, strict=True):
        in_exact = {r[0] for r in conn.execute(sql.format(t=fts), [pe, ids])}
        in_alt = {r[0] for r in conn.execute(sql.format(t=alt_fts), [pa, ids])}
        ok &= in_exact | in_alt
        exact_all &= in_exact
    return sorted(ok - exact_all)


def row_alternates(table: str, stored: str | None) -> Alternates:
    """A row's alternates: ``entries.alternates`` is ``{index: chars}`` JSON already
    accepted; ``lines.alternates`` is what the recogniser stored (thresholds applied here)."""
    if not stored:
        return {}
    if table == "lines":
        return accepted_alternates(stored)
    return {int(k): v for k, v in json.loads(stored).items()}


def _hit(r: dict[str, Any], words: Sequence[str], *, alternate: bool, table: str) -> Hit:
    text = r.pop("_text") or ""
    alts = row_alternates(table, r.pop("_alts"))
    spans = find_spans(text, alts, words)
    if not alternate:
        spans = [s for s in spans if not s[2]]
    return Hit(r, alternate, spans, text, alts)


def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    cur = conn.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
