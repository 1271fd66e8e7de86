"""One schema (issue 11): named migrations, reading never writes, one Archive handle."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import sqlite_utils

from minqing.archive import export, schema
from minqing.archive.errors import ArchiveSchemaError
from minqing.archive.store import DB_NAME, Archive, is_frozen, is_read_only
from tests.conftest import REPO, run_cli, run_minqing, serve


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every file under ``root``: relative path -> (sha256, mtime_ns, mode)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            st = p.stat()
            out[p.relative_to(root).as_posix()] = (
                hashlib.sha256(p.read_bytes()).hexdigest(),
                st.st_mtime_ns,
                st.st_mode,
            )
    return out


def db_state(path: Path) -> tuple[str, int]:
    st = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns


def schema_sql(db_file: Path) -> set[tuple[str, str, str]]:
    conn = sqlite3.connect(db_file.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        return set(conn.execute("select type, name, coalesce(sql, '') from sqlite_master"))
    finally:
        conn.close()


def chmod_tree(root: Path, writable: bool) -> None:
    for p in [root, *root.rglob("*")]:
        mode = p.stat().st_mode
        p.chmod(mode | 0o200 if writable else mode & ~0o222)


# -- docs ----------------------------------------------------------------------------------


def test_docs_schema_md_is_generated_from_the_schema() -> None:
    """docs/schema.md is exactly what the schema module generates (regenerate it with
    `python -m minqing.archive.schema --markdown > docs/schema.md`)."""
    committed = (REPO / "docs" / "schema.md").read_text(encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "minqing.archive.schema", "--markdown"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    assert proc.stdout == schema.markdown()
    assert committed == proc.stdout, "docs/schema.md is stale: regenerate it"


def test_docs_describe_every_table_and_view(monkeypatch: pytest.MonkeyPatch) -> None:
    text = schema.markdown()
    db = sqlite_utils.Database(memory=True)
    schema.MIGRATIONS.apply(db)
    for name in [*db.table_names(), *db.view_names()]:
        # FTS5 shadow tables (the alternates' tables of issue 17 too)
        if not name.startswith(
            ("entries_fts_", "lines_fts_", "entries_alt_fts_", "lines_alt_fts_")
        ):
            assert f"`{name}`" in text
    for table in ("review_decisions", "ocr_calibration", "spot_samples", "spot_items"):
        assert f"### `{table}`" in text  # the tables that used to be created lazily
    # web accounts live in accounts.db (issue 12): its schema is declared and documented here
    assert schema.ACCOUNTS_SCHEMA.strip() in text and "### `users`" not in text
    docs = dict(schema.TABLE_DOCS)
    del docs["spot_items"]
    monkeypatch.setattr(schema, "TABLE_DOCS", docs)
    with pytest.raises(KeyError, match="spot_items"):
        schema.markdown()


# -- migrations ----------------------------------------------------------------------------


def test_a_new_archive_records_every_migration(tmp_path: Path) -> None:
    with Archive(tmp_path / "a", create=True) as a:
        assert a.migrated == schema.MIGRATION_NAMES
        assert schema.applied(a) == schema.MIGRATION_NAMES
        assert schema.pending(a) == []
        assert schema.schema_version(a) == schema.SCHEMA_VERSION == len(schema.MIGRATION_NAMES)
        tables = set(a.db.table_names())
    assert {"review_decisions", "ocr_calibration", "spot_samples", "spot_items"} <= tables
    assert "users" not in tables  # accounts live in accounts.db, never published (m002)
    with Archive(tmp_path / "a", write=True) as a:  # up to date: nothing to apply
        assert a.migrated == []


def test_no_table_is_created_outside_the_schema() -> None:
    """The schema is declared in archive/schema.py only: no other library module creates
    a table, view, index or trigger (or adds a column)."""
    pattern = (
        ".create(",
        "create_index(",
        "add_column(",
        ".transform(",
        "enable_fts(",
        "CREATE TABLE",
        "CREATE VIEW",
        "CREATE INDEX",
        "CREATE UNIQUE INDEX",
        "CREATE TRIGGER",
        "CREATE VIRTUAL",
        "ALTER TABLE",
        "DROP TABLE",
        "DROP VIEW",
    )
    bad = []
    for folder in ("archive", "review", "volumes", "datasette", "minqing"):
        for f in (REPO / folder).rglob("*.py"):
            if f == REPO / "archive" / "schema.py":
                continue
            for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
                if any(p in line or p in line.upper() for p in pattern):
                    bad.append(f"{f.relative_to(REPO)}:{n}: {line.strip()}")
    assert not bad, "\n".join(bad)


def test_an_archive_from_before_migrations_is_refused_for_reading_then_migrated(
    archive_copy: Path,
) -> None:
    """An archive written before migrations were recorded (no _sqlite_migrations, no review
    or spot-check tables, an older view): reading refuses it with the command to run and
    leaves it alone; `minqing migrate` adopts it; it then has exactly a new archive's schema."""
    db_file = archive_copy / DB_NAME
    fresh = schema_sql(db_file)
    before_export = run_cli("export", "entries", "--archive", str(archive_copy)).stdout
    conn = sqlite3.connect(db_file)
    for table in (
        "_sqlite_migrations",
        "review_decisions",
        "ocr_calibration",
        "spot_samples",
        "spot_items",
    ):
        conn.execute(f"drop table {table}")
    # columns of later migrations too (m003, m004): an archive from before migrations had none
    for column in (
        "date_confirmed",
        "date_kind",
        "shares_heading",
        "later_notes",
        "body_dates",
        "alternates",
    ):
        conn.execute(f"alter table entries drop column {column}")
    conn.execute("drop trigger lines_corrected_drop_alternates")
    conn.execute("alter table lines drop column alternates")
    # what later migrations added: maintained matters (m002), merge origins (m003), topics
    # and ordered supervision indexes (m004)
    for trigger in [*schema.DERIVED_TRIGGERS, *schema.TOPIC_TRIGGERS]:
        conn.execute(f"drop trigger {trigger}")
    for table in ("matters", "cadre_days", "origins", "topics"):
        conn.execute(f"drop table {table}")
    for (index,) in conn.execute(
        "select name from sqlite_master where type = 'index' and sql like '%origin%'"
    ).fetchall():
        conn.execute(f"drop index {index}")
    conn.execute("alter table books drop column merged_sha")
    for table in ("books", "corrections", "runs"):
        conn.execute(f"alter table {table} drop column origin")
    conn.execute("alter table corrections drop column origin_id")
    conn.execute("alter table runs drop column origin_id")
    conn.execute("create view matters as select entry_id as matter_id from entries")
    conn.commit()
    conn.close()
    legacy = db_state(db_file)

    with pytest.raises(ArchiveSchemaError, match=r"older than this minqing.*m001_initial") as exc:
        Archive(archive_copy)
    assert "minqing migrate --archive" in str(exc.value)
    proc = run_cli("export", "entries", "--archive", str(archive_copy), check=False)
    assert proc.returncode == 4
    assert "minqing migrate --archive" in proc.stderr and proc.stdout == ""
    assert db_state(db_file) == legacy  # refusing to read wrote nothing

    proc = run_cli("migrate", "--archive", str(archive_copy))
    assert "applied m001_initial" in proc.stderr
    assert schema_sql(db_file) - {("table", "_sqlite_migrations", "")} == fresh
    after_export = run_cli("export", "entries", "--archive", str(archive_copy)).stdout
    # every value survives, except those of the m003 columns this simulation dropped
    assert _without_m003(after_export) == _without_m003(before_export)
    proc = run_cli("migrate", "--archive", str(archive_copy))
    assert "(0 migration(s) applied)" in proc.stderr


def _without_m003(jsonl: str) -> list[dict]:
    m003 = {"date_kind", "shares_heading", "later_notes", "body_dates"}
    rows = [json.loads(line) for line in jsonl.splitlines() if line.strip()]
    assert rows
    return [{k: v for k, v in r.items() if k not in m003} for r in rows]


def test_a_newer_archive_is_read_as_is_but_not_written(archive_copy: Path) -> None:
    with Archive(archive_copy, write=True) as a:
        a.db["_sqlite_migrations"].insert(
            {"migration_set": "minqing", "name": "m999_future", "applied_at": "2030-01-01"}
        )
    with Archive(archive_copy) as a:
        assert len(list(export.iter_entries(a))) > 0
    with pytest.raises(ArchiveSchemaError, match=r"newer minqing.*m999_future"):
        Archive(archive_copy, write=True)


# -- reading never writes -------------------------------------------------------------------


def test_opening_for_reading_does_not_change_the_database_file(archive_copy: Path) -> None:
    db_file = archive_copy / DB_NAME
    before = db_state(db_file)
    assert not is_frozen(archive_copy) and not is_read_only(archive_copy)
    with Archive(archive_copy) as a:
        assert a.read_only
        rows = list(export.iter_entries(a))
        assert rows and schema.pending(a) == []
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            a.db.execute("update entries set text = 'x'")
    assert db_state(db_file) == before
    # the same through the CLI's readers
    run_cli("export", "entries", "--archive", str(archive_copy))
    run_cli("books", "list", "--archive", str(archive_copy))
    run_cli("users", "list", "--archive", str(archive_copy))
    assert db_state(db_file) == before


def test_a_read_only_copy_is_served_and_exported_unchanged(
    sample_archive: Path, tmp_path: Path
) -> None:
    """Issue 11 acceptance: `chmod -R a-w` on a copy of an archive; `minqing serve` (real
    HTTP: search, entry page, page thumbnail) and `minqing export entries` both work, and
    not one file of the archive changes or appears (checked by hash, mtime and mode, which
    also holds for root, whom the permission bits do not stop)."""
    root = tmp_path / "ro-archive"
    shutil.copytree(sample_archive, root)
    expected = run_cli("export", "entries", "--archive", str(sample_archive)).stdout
    chmod_tree(root, writable=False)
    try:
        assert is_frozen(root) and is_read_only(root)
        before = snapshot(root)
        with serve(root) as base:
            q = urllib.parse.urlencode({"_search": "饮水", "_shape": "array", "_col": "entry_id"})
            with urllib.request.urlopen(f"{base}/archive/entries.json?{q}", timeout=30) as r:
                hits = [row["entry_id"] for row in json.loads(r.read())]
            assert hits and all(":" in h for h in hits)
            with urllib.request.urlopen(f"{base}/-/entry/{urllib.parse.quote(hits[0])}") as r:
                assert r.status == 200 and "饮水" in r.read().decode("utf-8")
            page_id = hits[0].split(":")[0] + "/1"
            with urllib.request.urlopen(f"{base}/-/page-thumb/{page_id}", timeout=30) as r:
                assert r.headers["content-type"] == "image/jpeg" and r.read()[:2] == b"\xff\xd8"
            with urllib.request.urlopen(f"{base}/-/databases.json", timeout=30) as r:
                (db,) = json.loads(r.read())
            assert db["name"] == "archive" and db["is_mutable"] is False
        proc = run_cli("export", "entries", "--archive", str(root), "--format", "jsonl")
        assert proc.stdout == expected
        assert snapshot(root) == before
    finally:
        chmod_tree(root, writable=True)


def test_serve_reads_only_and_refuses_an_older_schema(archive_copy: Path) -> None:
    """`minqing serve` writes nothing at start-up: an archive lacking a migration is refused
    with the command to run (the review saves it would serve need the current schema)."""
    from minqing.cmd_serve import make_datasette

    db_file = archive_copy / DB_NAME
    conn = sqlite3.connect(db_file)
    conn.execute("drop table _sqlite_migrations")
    conn.commit()
    conn.close()
    before = db_state(db_file)
    with pytest.raises(ArchiveSchemaError, match="minqing migrate --archive"):
        make_datasette(archive_copy)
    proc = run_minqing("serve", "--archive", str(archive_copy), check=False, timeout=60)
    assert proc.returncode == 4 and "minqing migrate --archive" in proc.stderr
    assert db_state(db_file) == before
    run_cli("migrate", "--archive", str(archive_copy))
    ds = make_datasette(archive_copy)
    assert ds.databases["archive"].is_mutable  # a writable archive: review saves allowed


# -- one handle -----------------------------------------------------------------------------


def test_archive_accepts_a_connection_or_a_database(sample_archive: Path) -> None:
    with Archive(sample_archive) as by_path:
        expected = list(export.iter_entries(by_path))
    conn = sqlite3.connect(
        sample_archive.resolve().joinpath(DB_NAME).as_uri() + "?mode=ro", uri=True
    )
    for source in (conn, sqlite_utils.Database(conn)):
        a = Archive(source)
        assert a.root == sample_archive.resolve() and a.db_path == a.root / DB_NAME
        assert list(export.iter_entries(a)) == expected
        a.close()  # the caller's connection stays open
        assert conn.execute("select count(*) from entries").fetchone()[0] == len(expected)
    conn.close()
    with pytest.raises(ValueError, match="folder"):
        Archive(sqlite3.connect(":memory:"), write=True)


def test_m002_moves_accounts_out_of_the_published_database(tmp_path: Path) -> None:
    """An archive whose users sat in archive.db (migration 1) gets them in accounts.db."""
    from minqing.web import access

    root = tmp_path / "old"
    root.mkdir()
    db = sqlite_utils.Database(root / "archive.db")
    schema.MIGRATIONS.apply(db, stop_before="m002_accounts_out")
    hashed = access.hash_password("a-long-password-1")
    db["users"].insert(
        {
            "name": "li",
            "role": "reviewer",
            "password_hash": hashed,
            "created_at": "c",
            "changed_at": "c",
        }
    )
    db.close()
    with Archive(root, write=True) as a:
        assert a.migrated == schema.MIGRATION_NAMES[1:]  # m002 and later
        assert "users" not in a.db.table_names()
    assert hashed.encode() not in (root / "archive.db").read_bytes()
    assert (root / "accounts.db").stat().st_mode & 0o077 == 0
    assert access.authenticate(root, "li", "a-long-password-1").role == "reviewer"
