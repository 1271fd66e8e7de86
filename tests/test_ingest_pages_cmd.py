"""``minqing pages``: pages and their rescan reasons, read back from a real archive."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from minqing.archive.schema import BOOKS, PAGES, page_id
from minqing.archive.store import Archive
from minqing.cli import cli


def _archive(tmp_path: Path) -> Path:
    root = tmp_path / "arch"
    with Archive(root, create=True) as a:
        a.db[BOOKS].insert_all([{"book_id": "b1"}, {"book_id": "b2"}], pk="book_id")
        rows = [
            ("b1", 2, {"blur": 120.5, "too_dark": 87.0}, "scans/b1/p2.jpg"),
            ("b1", 1, {}, "scans/b1/p1.jpg"),
            ("b2", 1, {"low_resolution": 75.0}, "scans/b2.pdf"),
        ]
        a.db[PAGES].insert_all(
            [
                {
                    "page_id": page_id(b, n),
                    "book_id": b,
                    "page_no": n,
                    "quality_flags": json.dumps(flags),
                    "needs_rescan": int(bool(flags)),
                    "source_file": src,
                }
                for b, n, flags, src in rows
            ],
            pk="page_id",
        )
    return root


def test_pages_lists_all_in_order(tmp_path: Path) -> None:
    root = _archive(tmp_path)
    result = CliRunner().invoke(cli, ["pages", "--archive", str(root)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "b1\t1\t-\tscans/b1/p1.jpg",
        "b1\t2\tblur=120.5, too_dark=87\tscans/b1/p2.jpg",
        "b2\t1\tlow_resolution=75\tscans/b2.pdf",
    ]


def test_pages_needs_rescan_and_book_filter(tmp_path: Path) -> None:
    root = _archive(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["pages", "--archive", str(root), "--needs-rescan"])
    assert result.exit_code == 0
    assert [line.split("\t")[:2] for line in result.output.splitlines()] == [
        ["b1", "2"],
        ["b2", "1"],
    ]
    result = runner.invoke(cli, ["pages", "--archive", str(root), "--needs-rescan", "--book", "b2"])
    assert result.output == "b2\t1\tlow_resolution=75\tscans/b2.pdf\n"
    result = runner.invoke(
        cli, ["pages", "--archive", str(root), "--needs-rescan", "--book", "nope"]
    )
    assert result.exit_code == 7
    assert result.output.strip() == f"Error: {root}: no pages need a rescan in book nope"


def test_pages_without_archive(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["pages", "--archive", str(tmp_path / "none")])
    assert result.exit_code == 4
    assert result.output.startswith(f"Error: {tmp_path / 'none'}: no archive here")


def test_pages_needs_rescan_with_nothing_to_rescan_is_a_normal_outcome(tmp_path: Path) -> None:
    """Issue 15 item 11: "no page needs a rescan" is good news, exit 0, not an Error."""
    root = _archive(tmp_path)
    result = CliRunner().invoke(
        cli, ["pages", "--archive", str(root), "--needs-rescan", "--book", "b1"]
    )
    assert result.exit_code == 0
    assert result.stdout.startswith("b1\t2\t")
    with Archive(root, write=True) as a:
        a.db.execute("update pages set needs_rescan = 0")
        a.db.conn.commit()
    result = CliRunner().invoke(cli, ["pages", "--archive", str(root), "--needs-rescan"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == "no page needs a rescan (3 page(s) checked)\n"
    assert "Error" not in result.output
    result = CliRunner().invoke(
        cli, ["pages", "--archive", str(root), "--needs-rescan", "--book", "b2"]
    )
    assert result.exit_code == 0
    assert result.stderr == "no page needs a rescan (1 page(s) of book b2 checked)\n"
