"""The bigram index finds exactly what a substring scan finds."""

from __future__ import annotations

import random
import sqlite3

import pytest

from minqing.archive.search import bigrams, fts_query

PHRASES = [
    "杨树沟村村民反映饮水难问题",
    "土地承包纠纷已上报镇政府",
    "低保户李大妈住房漏雨",
    "党员大会讨论村务公开",
    "修建村道解决行路难",
    "邻里纠纷调解成功",
    "饮水工程已完工",
    "村两委班子换届",
    "垃圾清运改善村容村貌",
    "合作社帮助农民增收",
    "2024年3月5日 晴",
    "张三家的承包地被占",
    "计划生育宣传",
    "水渠维修后灌溉用水充足",
]
QUERIES = [
    "饮水",
    "土地承包",
    "杨树沟",
    "承包",
    "村民",
    "纠纷",
    "难",
    "村",
    "2024",
    "饮水 村民",
    "承包地",
    "村容村貌",
    "水难",
    "大妈住房",
    "用水",
    "改善村容",
    "不存在的词",
]


@pytest.fixture(scope="module")
def corpus() -> tuple[sqlite3.Connection, list[str]]:
    rng = random.Random(7)
    docs = ["，".join(rng.sample(PHRASES, rng.randint(1, 4))) + "。" for _ in range(400)]
    conn = sqlite3.connect(":memory:")
    conn.execute("create virtual table f using fts5(bigrams)")
    conn.executemany(
        "insert into f(rowid, bigrams) values (?, ?)", [(i, bigrams(d)) for i, d in enumerate(docs)]
    )
    return conn, docs


@pytest.mark.parametrize("query", QUERIES)
def test_bigram_search_equals_substring_scan(corpus, query: str) -> None:
    conn, docs = corpus
    found = {r[0] for r in conn.execute("select rowid from f where f match ?", [fts_query(query)])}
    expected = {
        i for i, d in enumerate(docs) if all(w in d.replace(" ", "") for w in query.split())
    }
    assert found == expected


def test_words_across_line_breaks_are_found() -> None:
    assert "饮水" in bigrams("村民反映饮\n水难").split()


def test_query_without_searchable_characters_matches_nothing(corpus) -> None:
    conn, _ = corpus
    assert (
        conn.execute("select count(*) from f where f match ?", [fts_query("，。 ")]).fetchone()[0]
        == 0
    )


def test_query_with_fts_syntax_is_escaped(corpus) -> None:
    conn, _ = corpus
    # quotes, operators and parentheses must not raise an FTS5 syntax error
    for q in ['"饮水', "饮水 OR", "(村民", "NEAR(饮水", "*"]:
        conn.execute("select count(*) from f where f match ?", [fts_query(q)]).fetchone()
