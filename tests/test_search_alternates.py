"""Search that finds what was written, not only what was read (issue 17): the index."""

from __future__ import annotations

import json
import sqlite3

import pytest

from minqing.archive.search import (
    ALT_BREAK,
    accepted_alternates,
    alt_bigrams,
    find_spans,
    fts_query,
    joined_alternates,
    search,
    stored_alternates,
)


def _db(docs: list[tuple[str, dict[int, str]]]) -> sqlite3.Connection:
    from minqing.archive.search import bigrams

    conn = sqlite3.connect(":memory:")
    conn.execute("create table entries (entry_id text, date text, text text, alternates text)")
    conn.execute("create virtual table entries_fts using fts5(bigrams)")
    conn.execute("create virtual table entries_alt_fts using fts5(alt)")
    for n, (text, alts) in enumerate(docs, start=1):
        conn.execute(
            "insert into entries(rowid, entry_id, date, text, alternates) values (?, ?, ?, ?, ?)",
            [n, f"e{n}", f"2024-01-{n:02d}", text, json.dumps(alts) if alts else None],
        )
        conn.execute("insert into entries_fts(rowid, bigrams) values (?, ?)", [n, bigrams(text)])
        if alts:
            conn.execute(
                "insert into entries_alt_fts(rowid, alt) values (?, ?)",
                [n, alt_bigrams(text, alts)],
            )
    return conn


def ids(res) -> list[tuple[str, bool]]:  # type: ignore[no-untyped-def]
    return [(h.row["entry_id"], h.alternate) for h in res.hits]


def test_a_misread_first_character_is_found_through_its_alternate_after_exact_hits() -> None:
    conn = _db(
        [
            ("村民反映饺水难问题", {4: "饮"}),  # read 饺水, second choice 饮
            ("饮水工程已完工", {}),
            ("饺子馆开业", {0: "饮"}),  # 饮子 is no 饮水
        ]
    )
    res = search(conn, "饮水", columns="t.entry_id", order_by="t.date desc")
    assert ids(res) == [("e2", False), ("e1", True)]
    assert (res.exact_count, res.alternate_count) == (1, 1)
    # the span covers 饺水, with 饮 used in place of 饺 at position 4
    assert res.hits[1].spans == [(4, 6, ((4, "饮"),))]
    # exact only: the alternate hit is gone
    res = search(conn, "饮水", columns="t.entry_id", order_by="t.date desc", exact=True)
    assert ids(res) == [("e2", False)] and res.alternate_count == 0


@pytest.mark.parametrize(
    ("word", "alternate"),
    [("饮水难", True), ("反映饮水", True), ("饮水难问", True), ("水难", False), ("饮水题", None)],
)
def test_words_through_an_alternate_match_as_phrases(word: str, alternate: bool | None) -> None:
    conn = _db([("村民反映饺水难问题", {4: "饮"})])
    expected = [] if alternate is None else [("e1", alternate)]
    assert ids(search(conn, word, columns="t.entry_id")) == expected


def test_no_phrase_runs_from_one_window_into_the_next() -> None:
    # two unsure characters far apart: windows 饮水难问 ... and ...镇政付 must not join
    text = "饺水难问题已经上报镇政府"
    alts = {0: "饮", 11: "付"}
    col = alt_bigrams(text, alts)
    assert col is not None and f" {ALT_BREAK} " in col
    conn = _db([(text, alts)])
    assert ids(search(conn, "饮水", columns="t.entry_id")) == [("e1", True)]
    assert ids(search(conn, "政付", columns="t.entry_id")) == [("e1", True)]
    # the end of the first window followed by the start of the second is no phrase
    first, second = col.split(f" {ALT_BREAK} ")[:2]
    joined = first.split()[-1][-1] + second.split()[0][0]
    assert ids(search(conn, joined, columns="t.entry_id")) == []


def test_two_unsure_characters_of_one_word_combine() -> None:
    conn = _db([("饺木难", {0: "饮", 1: "水"})])
    assert ids(search(conn, "饮水难", columns="t.entry_id")) == [("e1", True)]
    assert find_spans("饺木难", {0: "饮", 1: "水"}, ["饮水"]) == [(0, 2, ((0, "饮"), (1, "水")))]


def test_a_query_of_several_words_may_find_each_word_either_way() -> None:
    conn = _db([("村民反映饺水难问题", {4: "饮"}), ("村民饮水", {}), ("饺水难", {0: "饮"})])
    # 村民 read, 饮水 through an alternate: a possible match; e2 is exact; e3 lacks 村民
    res = search(conn, "村民 饮水", columns="t.entry_id", order_by="t.entry_id")
    assert ids(res) == [("e2", False), ("e1", True)]
    assert fts_query("饮 水难") == '"饮" * AND "水难"'


def test_the_index_keeps_only_unsure_characters_likely_alternates() -> None:
    stored = stored_alternates(
        "饺水难",
        [(0, "饮钦", (0.3, 0.001)), (1, "永", (0.02,)), (2, "雉", (0.4,))],
        [0.6, 0.97, 0.5],
    )
    assert stored is not None
    # 饮 kept (read char unsure, alternate likely); 钦 too unlikely; 水 read surely
    assert accepted_alternates(stored, below=0.9, min_prob=0.01) == {0: "饮", 2: "雉"}
    assert accepted_alternates(stored, below=0.55, min_prob=0.01) == {2: "雉"}
    assert accepted_alternates(None) == {}


def test_alternates_follow_lines_into_the_entry_text_across_line_ends() -> None:
    # 饮 at the end of one line (read 饺), 水 at the start of the next
    parts = [("村民反映饺", {4: "饮"}), (" 水难问题", {})]
    text = "村民反映饺水难问题"
    alts = joined_alternates(parts, text)
    assert alts == {4: "饮"}
    conn = _db([(text, alts)])
    assert ids(search(conn, "饮水", columns="t.entry_id")) == [("e1", True)]


def test_a_word_split_over_a_line_end_is_found_exactly_in_the_entry_text() -> None:
    from minqing.archive.search import bigrams

    # the entry text joins lines with no gap; even a stored break does not split a word
    for text in ("村民反映饮水难", "村民反映饮\n水难"):
        conn = sqlite3.connect(":memory:")
        conn.execute("create virtual table f using fts5(bigrams)")
        conn.execute("insert into f(rowid, bigrams) values (1, ?)", [bigrams(text)])
        hits = conn.execute("select rowid from f where f match ?", [fts_query("饮水")]).fetchall()
        assert hits == [(1,)]


# -- the recogniser keeps its second choices; the cache carries them --------------------------


def test_the_recogniser_keeps_the_next_likeliest_characters_of_unsure_ones() -> None:
    import cv2

    from minqing.archive.records import page_text_from_json, page_text_to_json
    from minqing.ocr import get_engine
    from minqing.ocr._ctc import ALT_STORE_BELOW
    from tests.conftest import SAMPLES

    engine = get_engine("rapidocr", threads=1)
    page = engine.recognize(cv2.imread(str(SAMPLES / "shiqiao-liming" / "page-01.jpg")))
    lines_with = [ln for ln in page.lines if ln.alternates]
    assert lines_with, "a handwritten page has characters the recogniser hesitates over"
    for ln in page.lines:
        unsure = {i for i, c in enumerate(ln.char_confidences) if c < ALT_STORE_BELOW}
        for i, chars, probs in ln.alternates:
            assert i in unsure  # only unsure characters keep alternates
            assert ln.text[i] not in chars  # never the character read
            assert list(probs) == sorted(probs, reverse=True)
            assert all(0 < p <= ln.char_confidences[i] + 1e-6 for p in probs)
    # the OCR cache carries them: a cached page indexes the same alternates
    again = page_text_from_json(page_text_to_json(page))
    assert [ln.alternates for ln in again.lines] == [ln.alternates for ln in page.lines]


def test_a_line_correction_drops_its_alternates_in_the_archive(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The schema's trigger: whoever sets a person's text on a line, its alternates go."""
    from minqing.archive.store import Archive

    archive = Archive(tmp_path / "a", create=True)
    try:
        db = archive.db
        db.execute("pragma foreign_keys = off")  # one line, no book or page around it
        db.execute(
            "insert into lines (line_id, page_id, book_id, text, corrected, alternates) "
            "values ('b/1/0', 'b/1', 'b', '饺水', 0, ?)",
            [json.dumps([[0, 0.4, "饮", [0.3]]])],
        )
        # a machine change (confidence, even the machine's own text) keeps them
        db.execute("update lines set confidence = 0.5, text = '饺氺' where line_id = 'b/1/0'")
        assert db.execute("select alternates from lines").fetchone()[0] is not None
        db.execute("update lines set text = '饮水', corrected = 1 where line_id = 'b/1/0'")
        assert db.execute("select alternates from lines").fetchone()[0] is None
    finally:
        archive.close()


# -- through the archive's write path: a word across a line end, the entry page, the CLI ------


def _two_line_archive(root):  # type: ignore[no-untyped-def]
    """One book, one page, one entry of two lines: 饮 (read 饺, second choice 饮) ends the
    first line, 水 starts the second."""
    from minqing.archive import records
    from minqing.archive.store import Archive
    from minqing.classify.types import Entry
    from minqing.ocr.types import Line, PageText

    archive = Archive(root, create=True)
    records.upsert_book(archive, "b", source="b")
    lines = (
        Line("村民反映饺", ((10, 10), (510, 10), (510, 60), (10, 60)), 0.8,
             char_confidences=(0.99, 0.99, 0.99, 0.99, 0.41),
             alternates=((4, "饮钦", (0.37, 0.1)),)),
        Line("水难问题", ((10, 70), (410, 70), (410, 120), (10, 120)), 0.99,
             char_confidences=(0.99,) * 4),
    )  # fmt: skip
    rec = records.PageRecord(
        book_id="b", page_no=1, image="images/x.png", original="images/x.png", sha256="x",
        original_sha256="x", width=600, height=200, source_file="b/p1.png", index_in_source=0,
        transforms=(), flags=(), page_text=PageText(lines, "test-engine", 600, 200),
    )  # fmt: skip
    records.write_page(archive, rec)
    entry = Entry(
        seq=1, page_start=1, page_end=1, line_ids=("b/1/0", "b/1/1"), text="村民反映饺水难问题",
        date=None, date_inferred=False, category_code=5, category_score=0.5,
        category_evidence=(), status="recorded",
    )  # fmt: skip
    records.write_entries(archive, "b", [entry], "test")
    return archive


def test_a_word_across_a_line_end_through_an_alternate_is_found_and_marked_per_line(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    from minqing.web import presentation

    archive = _two_line_archive(tmp_path / "a")
    try:
        conn = archive.db.conn
        assert json.loads(conn.execute("select alternates from entries").fetchone()[0]) == {
            "4": "饮钦"
        }
        # the entry: found through the alternate, across the line end; lines: neither holds it
        res = search(conn, "饮水", columns="t.entry_id")
        assert ids(res) == [("b:001", True)]
        assert search(conn, "饮水", table="lines", columns="t.line_id").hits == []
        # the entry page marks 饺 (maybe 饮) at the end of line 0 and 水 at the start of line 1
        view = presentation.entry_view(conn, "b:001", "饮水")
        assert view is not None and view["maybe"]
        assert (
            '<mark class="mq-maybe">' in view["text_html"] and "<sup>饮</sup>" in view["text_html"]
        )
        lines = {ln["line_id"]: ln for p in view["pages"] for ln in p["lines"]}
        assert [(m["char"], m["alt"]) for m in lines["b/1/0"]["marks"]] == [("饺", "饮")]
        assert [(m["char"], m["alt"]) for m in lines["b/1/1"]["marks"]] == [("水", None)]
        assert lines["b/1/0"]["maybe"] and not lines["b/1/1"]["maybe"]
        first = lines["b/1/0"]["marks"][0]
        assert first["x"] == 410.0 and first["w"] == 100.0  # the 5th of 5 cells of 10..510
        # exact only: nothing
        assert not presentation.entry_view(conn, "b:001", "饮水", exact=True)["maybe"]
        assert presentation.search_all(conn, "饮水", exact=True)["entries"] == []
        both = presentation.search_all(conn, "饮水")
        assert [(r["entry_id"], r["maybe"]) for r in both["entries"]] == [("b:001", True)]
        # the exact word across the line end: an exact hit, not a possible one
        assert ids(search(conn, "饺水", columns="t.entry_id")) == [("b:001", False)]
    finally:
        archive.close()


def test_correcting_the_line_drops_its_alternates_from_the_index(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from minqing.review.corrections import correct_line

    archive = _two_line_archive(tmp_path / "a")
    try:
        assert correct_line(archive, "b/1/0", "村民反映饺", who="t") is False  # unchanged
        assert correct_line(archive, "b/1/0", "村民反映饺。", who="t")
        conn = archive.db.conn
        assert conn.execute("select alternates from lines where line_id = 'b/1/0'").fetchone() == (
            None,
        )
        assert conn.execute("select alternates from entries").fetchone() == (None,)
        assert search(conn, "饮水", columns="t.entry_id").hits == []
        assert search(conn, "饮水", table="lines", columns="t.line_id").hits == []
        # the corrected text is what is found now
        assert correct_line(archive, "b/1/0", "村民反映饮", who="t")
        assert ids(search(conn, "饮水", columns="t.entry_id")) == [("b:001", False)]
    finally:
        archive.close()


def test_minqing_search_lists_exact_hits_then_possible_ones(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from minqing.cli import cli

    _two_line_archive(tmp_path / "a").close()
    runner = CliRunner()
    res = runner.invoke(cli, ["search", "饮水", "--archive", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stdout.splitlines() if ln]
    assert len(lines) == 1
    kind, eid, date, excerpt = lines[0].split("\t")
    assert (kind, eid, date) == ("可能的匹配", "b:001", "-")
    assert "【饺[饮]水】" in excerpt
    assert "0 exact, 1 possible" in res.stderr
    res = runner.invoke(cli, ["search", "饮水", "--exact", "--archive", str(tmp_path / "a")])
    assert res.exit_code == 0 and res.stdout == "" and "0 exact;" in res.stderr
    res = runner.invoke(cli, ["search", "饺水", "--archive", str(tmp_path / "a"), "--limit", "1"])
    assert res.stdout.startswith("确切匹配\tb:001\t")
    res = runner.invoke(cli, ["search", "饮水", "--archive", str(tmp_path / "nowhere")])
    assert res.exit_code != 0 and "nowhere" in res.output
