"""``minqing corrections export/import``: row-validated, atomic, stale-checked."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from minqing.archive.store import Archive
from minqing.cli import cli
from tests._review_archive import BOOK_A, build_archive


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    build_archive(tmp_path / "arc", {"bookA": BOOK_A}).close()
    return tmp_path / "arc"


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def export_rows(root: Path, tmp_path: Path) -> tuple[Path, list[dict]]:
    out = tmp_path / "fix.csv"
    r = run("corrections", "export", "--archive", str(root), "-o", str(out))
    assert r.exit_code == 0, r.output
    with out.open(encoding="utf-8") as f:
        return out, list(csv.DictReader(f))


def write(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def snapshot(root: Path) -> tuple:
    with Archive(root) as a:
        return (
            list(a.db.query("select line_id, text, corrected from lines order by line_id")),
            list(
                a.db.query(
                    "select entry_id, category_code, status_code, date, follow_up_of, text "
                    "from entries order by entry_id"
                )
            ),
            a.db["corrections"].count,
        )


def pick(rows: list[dict], id_: str, field: str) -> dict:
    return next(r for r in rows if r["id"] == id_ and r["field"] == field)


def test_export_import_roundtrip(root: Path, tmp_path: Path) -> None:
    path, rows = export_rows(root, tmp_path)
    assert len([r for r in rows if r["target"] == "line"]) == 10
    pick(rows, "bookA/1/2", "text")["new"] = "水量不足，夏天经常渴水。"
    pick(rows, "bookA:003", "category_code")["new"] = "5"
    pick(rows, "bookA:003", "date")["new"] = "2024-03-20"
    pick(rows, "bookA:004", "follow_up_of")["new"] = "-"
    write(path, rows)
    r = run("corrections", "import", str(path), "--archive", str(root), "--who", "offline-1")
    assert r.exit_code == 0, r.output
    assert "4 correction(s) applied" in r.output
    with Archive(root) as a:
        e3 = next(a.db.query("select * from entries where entry_id = 'bookA:003'"))
        assert (e3["category_code"], e3["category_confirmed"], e3["date"]) == (5, 1, "2024-03-20")
        assert (
            next(a.db.query("select follow_up_of from entries where entry_id = 'bookA:004'"))[
                "follow_up_of"
            ]
            is None
        )
        assert (
            "渴水"
            in next(a.db.query("select text from entries where entry_id = 'bookA:001'"))["text"]
        )
        assert {c["who"] for c in a.db.query("select who from corrections")} == {"offline-1"}
    # the same file again: every `current` is now stale → refused, nothing changes
    before = snapshot(root)
    r = run("corrections", "import", str(path), "--archive", str(root))
    assert r.exit_code == 6
    assert "changed by someone else" in r.output and "nothing was imported" in r.output
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("id_", "field", "value", "message"),
    [
        ("bookA:002", "category_code", "9", "category '9' is not 1–8"),
        ("bookA:002", "date", "2024-13-40", "is not a date"),
        ("bookA:002", "status_code", "done", "status 'done' is unknown"),
        ("bookA:099", "category_code", "3", "no entry 'bookA:099'"),
        ("bookA/7/1", "text", "甲", "no line 'bookA/7/1'"),
    ],
)
def test_a_bad_row_changes_nothing_and_is_named(
    root: Path, tmp_path: Path, id_: str, field: str, value: str, message: str
) -> None:
    path, rows = export_rows(root, tmp_path)
    pick(rows, "bookA/1/2", "text")["new"] = "好的改正"  # a good row before the bad one
    bad = {
        "target": "line" if "/" in id_ else "entry",
        "id": id_,
        "field": field,
        "current": "",
        "new": value,
        "confidence": "",
        "context": "",
    }
    rows.append(bad)
    write(path, rows)
    before = snapshot(root)
    r = run("corrections", "import", str(path), "--archive", str(root))
    assert r.exit_code == 6
    assert f"row {len(rows) + 1}" in r.output and message in r.output, r.output
    assert snapshot(root) == before


def test_unknown_field_and_jsonl(root: Path, tmp_path: Path) -> None:
    path = tmp_path / "fix.jsonl"
    path.write_text(
        json.dumps(
            {"target": "line", "id": "bookA/1/2", "field": "text", "new": "改"}, ensure_ascii=False
        )
        + "\n"
        + json.dumps({"target": "entry", "id": "bookA:001", "field": "cadre", "new": "x"})
        + "\n",
        encoding="utf-8",
    )
    before = snapshot(root)
    r = run("corrections", "import", str(path), "--archive", str(root))
    assert r.exit_code == 6 and "line 2: cannot correct entry.cadre" in r.output
    assert snapshot(root) == before
    path.write_text(
        json.dumps(
            {"target": "line", "id": "bookA/1/2", "field": "text", "new": "改"}, ensure_ascii=False
        )
        + "\n",
        encoding="utf-8",
    )
    assert run("corrections", "import", str(path), "--archive", str(root)).exit_code == 0
    with Archive(root) as a:
        assert (
            next(a.db.query("select text from lines where line_id = 'bookA/1/2'"))["text"] == "改"
        )
