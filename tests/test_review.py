"""minqing.review.corrections: every correction is one transaction, audited, stale-checked, and its
derived data (entry text, search index, category, status, chains) follows at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from minqing.archive import records
from minqing.archive.search import fts_query
from minqing.archive.store import Archive
from minqing.review import corrections
from tests._review_archive import BOOK_A, build_archive


@pytest.fixture()
def arc(tmp_path: Path):
    a = build_archive(tmp_path / "arc", {"bookA": BOOK_A})
    yield a
    a.close()


def fts_hits(archive: Archive, table: str, word: str) -> set[str]:
    base = "entries" if table == "entries_fts" else "lines"
    key = "entry_id" if base == "entries" else "line_id"
    return {
        r[key]
        for r in archive.db.query(
            f"select {key} from {base} "
            f"where rowid in (select rowid from {table} where {table} match ?)",
            [fts_query(word)],
        )
    }


def entry(archive: Archive, eid: str) -> dict:
    return next(archive.db.query("select * from entries where entry_id = ?", [eid]))


def audit_rows(archive: Archive) -> list[dict]:
    return list(archive.db.query("select * from corrections order by id"))


def test_fixture_segments_as_expected(arc: Archive) -> None:
    ids = [r["entry_id"] for r in arc.db.query("select entry_id from entries order by seq")]
    assert ids == ["bookA:001", "bookA:002", "bookA:003", "bookA:004"]


def test_correct_line_updates_line_entry_search_and_audit(arc: Archive) -> None:
    lid = "bookA/1/2"
    before = entry(arc, "bookA:001")
    assert "渴水" not in before["text"]
    assert corrections.correct_line(
        arc, lid, "水量不足，夏天经常渴水。", who="rev1", expected="水量不足，夏天经常断水。"
    )
    line = next(arc.db.query("select * from lines where line_id = ?", [lid]))
    assert (line["text"], line["corrected"], line["corrected_text"], line["machine_text"]) == (
        "水量不足，夏天经常渴水。",
        1,
        "水量不足，夏天经常渴水。",
        "水量不足，夏天经常断水。",
    )
    assert "渴水" in entry(arc, "bookA:001")["text"]
    assert fts_hits(arc, "entries_fts", "渴水") == {"bookA:001"}
    assert fts_hits(arc, "lines_fts", "渴水") == {lid}
    assert fts_hits(arc, "lines_fts", "断水") == set()
    (c,) = audit_rows(arc)
    assert (c["who"], c["target"], c["target_id"], c["field"], c["old"], c["new"]) == (
        "rev1",
        "lines",
        lid,
        "text",
        "水量不足，夏天经常断水。",
        "水量不足，夏天经常渴水。",
    )
    # saving the same text again changes nothing and records nothing
    assert not corrections.correct_line(arc, lid, "水量不足，夏天经常渴水。", who="rev1")
    assert len(audit_rows(arc)) == 1


def test_stale_line_edit_is_refused_and_changes_nothing(arc: Archive) -> None:
    lid = "bookA/1/2"
    corrections.correct_line(arc, lid, "甲", who="rev1", expected="水量不足，夏天经常断水。")
    with pytest.raises(corrections.StaleEditError, match="changed by someone else"):
        corrections.correct_line(arc, lid, "乙", who="rev2", expected="水量不足，夏天经常断水。")
    assert next(arc.db.query("select text from lines where line_id = ?", [lid]))["text"] == "甲"
    assert len(audit_rows(arc)) == 1


def test_line_edit_reclassifies_unconfirmed_entry_but_not_confirmed(arc: Archive) -> None:
    eid = "bookA:003"  # road → category 7
    assert entry(arc, eid)["category_code"] == 7
    lines = json.loads(entry(arc, eid)["line_ids"])
    # (a 低保 matter without 公开/公示: those words belong to 村务民主管理 as much as to 低保)
    corrections.correct_line(arc, lines[1], "村民反映低保户看病难，医药费报销慢。", who="r")
    corrections.correct_line(arc, lines[2], "要求帮助申请医疗救助和低保。", who="r")
    assert entry(arc, eid)["category_code"] == 5
    corrections.set_category(arc, eid, 7, who="r", expected=5)
    corrections.correct_line(arc, lines[2], "低保低保低保。", who="r")
    e = entry(arc, eid)
    assert (e["category_code"], e["category_confirmed"]) == (7, 1)


def test_status_follows_text_until_confirmed(arc: Archive) -> None:
    eid = "bookA:003"
    assert entry(arc, eid)["status_code"] == "recorded"
    last = json.loads(entry(arc, eid)["line_ids"])[-1]
    corrections.correct_line(arc, last, "道路已修好。", who="r")
    assert entry(arc, eid)["status_code"] == "resolved"
    corrections.set_status(arc, eid, "in_progress", who="r", expected="resolved")
    e = entry(arc, eid)
    assert (e["status_code"], e["status"], e["status_confirmed"]) == ("in_progress", "办理中", 1)


def test_bad_values_are_refused(arc: Archive) -> None:
    with pytest.raises(corrections.BadCorrectionError, match="not 1–8"):
        corrections.set_category(arc, "bookA:001", 9, who="r")
    with pytest.raises(corrections.BadCorrectionError, match="unknown"):
        corrections.set_status(arc, "bookA:001", "done", who="r")
    with pytest.raises(corrections.BadCorrectionError, match="YYYY-MM-DD"):
        corrections.set_date(arc, "bookA:001", "5 March", who="r")
    with pytest.raises(corrections.TargetNotFoundError, match="no entry"):
        corrections.set_category(arc, "bookA:099", 1, who="r")
    assert audit_rows(arc) == []


def test_set_date(arc: Archive) -> None:
    corrections.set_date(arc, "bookA:002", "2024-03-13", who="r", expected="2024-03-12")
    e = entry(arc, "bookA:002")
    assert (e["date"], e["month"], e["date_confirmed"], e["date_inferred"]) == (
        "2024-03-13",
        "2024-03",
        1,
        0,
    )


def test_confirm_link_and_no_link(arc: Archive) -> None:
    child, parent = "bookA:004", "bookA:001"
    cands = [c["entry_id"] for c in corrections.link_candidates(arc, child)]
    assert parent in cands and child not in cands
    corrections.confirm_link(
        arc, child, parent, who="r", expected=entry(arc, child)["follow_up_of"]
    )
    e = entry(arc, child)
    assert (e["follow_up_of"], e["matter_id"]) == (parent, parent)
    assert (
        next(arc.db.query("select confirmed from links where child = ?", [child]))["confirmed"] == 1
    )
    corrections.confirm_link(arc, child, None, who="r", expected=parent)
    assert entry(arc, child)["follow_up_of"] is None
    assert next(arc.db.query("select parent, confirmed from links where child = ?", [child])) == {
        "parent": "",
        "confirmed": 1,
    }


def test_link_loop_refused(arc: Archive) -> None:
    corrections.confirm_link(arc, "bookA:004", "bookA:001", who="r")
    with pytest.raises(corrections.BadCorrectionError, match="loop"):
        corrections.confirm_link(arc, "bookA:001", "bookA:004", who="r")


def test_split_merge_move(arc: Archive) -> None:
    e1 = entry(arc, "bookA:001")
    ids = json.loads(e1["line_ids"])
    corrections.set_category(arc, "bookA:004", 5, who="r")
    corrections.confirm_link(arc, "bookA:004", "bookA:001", who="r")
    new_id = corrections.split_entry(
        arc, "bookA:001", ids[2], who="r", expected=corrections.entry_rev(e1)
    )
    assert new_id == "bookA:002"
    assert json.loads(entry(arc, "bookA:001")["line_ids"]) == ids[:2]
    assert json.loads(entry(arc, "bookA:002")["line_ids"]) == ids[2:]
    assert [r["entry_id"] for r in arc.db.query("select entry_id from entries order by seq")] == [
        "bookA:001",
        "bookA:002",
        "bookA:003",
        "bookA:004",
        "bookA:005",
    ]
    # later entries were renumbered; their confirmed values and links followed them
    e5 = entry(arc, "bookA:005")
    assert (e5["category_code"], e5["category_confirmed"], e5["follow_up_of"]) == (
        5,
        1,
        "bookA:001",
    )
    assert fts_hits(arc, "entries_fts", "断水") == {"bookA:002"}
    # a stale form (rev of the old entry 1) is refused
    with pytest.raises(corrections.StaleEditError):
        corrections.split_entry(
            arc, "bookA:001", ids[1], who="r", expected=corrections.entry_rev(e1)
        )
    # merge back
    corrections.merge_with_next(arc, "bookA:001", who="r")
    assert json.loads(entry(arc, "bookA:001")["line_ids"]) == ids
    assert entry(arc, "bookA:004")["follow_up_of"] == "bookA:001"
    # move the first line of entry 2 to entry 1, then back to the next entry
    e2 = entry(arc, "bookA:002")
    first2 = json.loads(e2["line_ids"])[0]
    corrections.move_line(arc, first2, "prev", who="r", expected=corrections.entry_rev(e2))
    assert json.loads(entry(arc, "bookA:001")["line_ids"])[-1] == first2
    corrections.move_line(arc, first2, "next", who="r")
    assert json.loads(entry(arc, "bookA:002")["line_ids"])[0] == first2
    with pytest.raises(corrections.BadCorrectionError, match="first line"):
        corrections.move_line(
            arc, json.loads(entry(arc, "bookA:002")["line_ids"])[1], "prev", who="r"
        )
    fields = [c["field"] for c in audit_rows(arc)]
    assert (
        fields.count("split_at") == 1
        and fields.count("merge_with") == 1
        and fields.count("entry_id") == 2
    )


def test_review_decisions_survive_resegmentation(arc: Archive) -> None:
    """The machine rewrites the book's entries (as a re-run does); reapply restores every
    reviewer decision, whatever the renumbering."""
    from minqing import classify
    from minqing.pipeline import _link

    ids = json.loads(entry(arc, "bookA:001")["line_ids"])
    corrections.split_entry(arc, "bookA:001", ids[2], who="r")
    corrections.set_date(arc, "bookA:002", "2024-03-06", who="r")
    corrections.set_category(arc, "bookA:002", 5, who="r")
    corrections.set_status(arc, "bookA:005", "explained", who="r")
    corrections.confirm_link(arc, "bookA:005", "bookA:002", who="r")
    corrections.correct_line(arc, "bookA/2/2", "建议纳入村容村貌整治计划，先填坑。", who="r")
    snapshot = list(
        arc.db.query(
            "select entry_id, line_ids, date, category_code, status_code, follow_up_of, text "
            "from entries order by seq"
        )
    )
    with arc.db.atomic():  # the pipeline's re-segmentation and re-classification
        entries = classify.segment_book(records.book_lines(arc, "bookA"))
        records.write_entries(arc, "bookA", entries, classify.CLASSIFIER_VERSION)
        assert arc.db["entries"].count == 4  # the split is gone from machine output
        corrections.reapply_decisions(arc, ["bookA"])
    _link(arc, ["bookA"])
    with arc.db.atomic():
        corrections.reapply_decisions(arc, ["bookA"])
    after = list(
        arc.db.query(
            "select entry_id, line_ids, date, category_code, status_code, follow_up_of, text "
            "from entries order by seq"
        )
    )
    assert after == snapshot
    assert fts_hits(arc, "entries_fts", "先填坑") == {"bookA:004"}


def test_review_queue_puts_flagged_then_low_confidence_first(arc: Archive) -> None:
    q = corrections.review_queue(arc)
    assert [p["page_id"] for p in q] == ["bookA/2", "bookA/1"]  # page 2 is flagged
    assert q[0]["needs_rescan"] and q[1]["min_confidence"] == pytest.approx(0.62)
    view = corrections.page_view(arc, "bookA", 1)
    assert [ln["line_id"] for ln in view["lines"]][:2] == ["bookA/1/0", "bookA/1/1"]
    assert {e["entry_id"] for e in view["entries"]} == {"bookA:001", "bookA:002"}
    assert all(len(e["rev"]) == 12 for e in view["entries"])


def test_check_line_confirms_a_line_as_it_stands(arc: Archive) -> None:
    """Issue 15: Enter on a line that reads right marks it checked (page progress), audited,
    without changing its text; a changed text is a correction; twice is a no-op."""
    lid = "bookA/1/1"
    before = next(arc.db.query("select * from lines where line_id = ?", [lid]))
    assert not before["corrected"]
    n = len(audit_rows(arc))
    assert corrections.check_line(
        arc, lid, before["text"], who="rev1", expected=before["text"]
    ) == ("checked")
    line = next(arc.db.query("select * from lines where line_id = ?", [lid]))
    assert (line["text"], line["corrected"], line["corrected_text"]) == (
        before["text"],
        1,
        before["text"],
    )
    audit = audit_rows(arc)[n:]
    assert [(a["who"], a["target_id"], a["field"], a["new"]) for a in audit] == [
        ("rev1", lid, "checked", before["text"])
    ]
    assert corrections.check_line(arc, lid, before["text"], who="rev1") == "already"
    assert len(audit_rows(arc)) == n + 1
    # another line: a changed text is a correction, as correct_line
    other = "bookA/1/2"
    assert corrections.check_line(arc, other, "水量不足，夏天常断水。", who="rev1") == "corrected"
    assert audit_rows(arc)[-1]["field"] == "text"
    # stale: someone else changed the line since it was loaded
    with pytest.raises(corrections.StaleEditError):
        corrections.check_line(arc, other, "x", who="rev2", expected="水量不足，夏天经常断水。")


def test_review_queue_narrows_to_a_cadre_or_a_township(tmp_path: Path) -> None:
    a = build_archive(tmp_path / "arc", {"bookA": BOOK_A})
    try:
        b = build_archive(tmp_path / "arc", {"bookB": BOOK_A}, village="河湾村")
        b.close()
        records.set_book_metadata(a, "bookB", {"cadre": "李明", "township": "河口乡"}, who="t")
        records.set_book_metadata(a, "bookA", {"township": "石桥镇"}, who="t")
        books = lambda **kw: {p["book_id"] for p in corrections.review_queue(a, **kw)}  # noqa: E731
        assert books() == {"bookA", "bookB"}
        assert books(cadre="李明") == {"bookB"}
        assert books(township="石桥镇") == {"bookA"}
        assert books(cadre="李明", township="石桥镇") == set()
        assert books(book="bookA", cadre="张伟") == {"bookA"}
        item = corrections.review_queue(a, cadre="李明")[0]
        assert (item["cadre"], item["village"], item["township"]) == ("李明", "河湾村", "河口乡")
        choices = corrections.book_choices(a)
        assert choices["cadres"] == sorted({"张伟", "李明"})
        assert set(choices["townships"]) == {"石桥镇", "河口乡"}
        assert {x["book_id"] for x in choices["books"]} == {"bookA", "bookB"}
    finally:
        a.close()
