"""``minqing ingest --cluster``: ingest on a real Dask LocalCluster (issue 16), real OCR."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import sys
from pathlib import Path

import cloudpickle
import distributed
import pytest

from minqing import cluster, pipeline
from minqing.archive.store import Archive
from minqing.cmd_ingest import read_manifest
from minqing.pipeline import run_ingest
from tests.conftest import SAMPLES, run_minqing, sample_books

# the worker plugin below travels by value: workers need not import the tests package
cloudpickle.register_pickle_by_value(sys.modules[__name__])

POISON = "poison.jpg"


def export(root: Path) -> str:
    return run_minqing("export", "entries", "--archive", str(root), "--format", "jsonl").stdout


def rows(root: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(root / "archive.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


PAGES_SQL = "select page_id, sha256, image, original, source_file from pages order by page_id"


def test_cluster_ingest_equals_a_plain_ingest(sample_archive: Path, tmp_path: Path) -> None:
    dest = tmp_path / "archive"
    proc = run_minqing(
        "ingest", *map(str, sample_books()), "--archive", str(dest),
        "--manifest", str(SAMPLES / "books.csv"), "--cluster", "local:2", "-q",
    )  # fmt: skip
    assert "OCR'd" in proc.stderr and "failed 0" in proc.stderr
    assert export(dest) == export(sample_archive)  # byte-identical
    assert rows(dest, PAGES_SQL) == rows(sample_archive, PAGES_SQL)
    # the images arrived from the workers (no shared folder), content-addressed
    for _, sha, image, original, _ in rows(dest, PAGES_SQL):
        assert (dest / image).is_file() and sha in image and (dest / original).is_file()


def test_a_worker_killed_mid_run_loses_nothing(sample_archive: Path, tmp_path: Path) -> None:
    dest = tmp_path / "archive"
    ex = cluster.DaskExecutor("local:2")
    pids = ex.client.run(os.getpid)
    killed: list[tuple[str, tuple]] = []

    def progress(event: str, n: int, detail: str) -> None:
        # first file of the larger book: its other files are on the workers now
        if event == "file" and not killed and "zhangwei" in detail:
            busy = {w: keys for w, keys in ex.client.processing().items() if keys}
            assert busy, "no task running to kill"
            worker = min(busy)
            os.kill(pids[worker], signal.SIGKILL)
            killed.append((worker, tuple(busy[worker])))

    with Archive(dest, create=True) as a:
        summary = run_ingest(
            sample_books(),
            a,
            manifest=read_manifest(SAMPLES / "books.csv"),
            progress=progress,
            executor=ex,
        )
    assert killed, "no worker was killed"
    assert summary.files_failed == 0 and summary.errors == []
    assert export(dest) == export(sample_archive)
    assert rows(dest, PAGES_SQL) == rows(sample_archive, PAGES_SQL)  # nothing lost or twice
    assert rows(dest, "select count(*) from files where state != 'ok'") == [(0,)]


class KillOnPoison(distributed.WorkerPlugin):
    """Fault injection: a worker that is handed the file named POISON dies (SIGKILL), as
    under the kernel's OOM killer. Installed on every worker, restarted ones included."""

    def setup(self, worker: distributed.Worker) -> None:
        real = pipeline.process_file

        def process_file(src, *args):  # type: ignore[no-untyped-def]
            if Path(src.path).name == POISON:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(src, *args)

        pipeline.process_file = process_file


def test_a_file_that_kills_workers_twice_fails_and_the_batch_goes_on(tmp_path: Path) -> None:
    good = SAMPLES / "shiqiao-liming"
    bad_book = tmp_path / "scans" / "poisoned"
    bad_book.mkdir(parents=True)
    shutil.copy(SAMPLES / "shiqiao-zhangwei" / "page-01.jpg", bad_book / "page-01.jpg")
    shutil.copy(SAMPLES / "shiqiao-zhangwei" / "page-02.jpg", bad_book / POISON)
    dest = tmp_path / "archive"
    ex = cluster.DaskExecutor("local:2")
    ex.client.register_plugin(KillOnPoison(), name="kill-on-poison")
    with Archive(dest, create=True) as a:
        summary = run_ingest([good, bad_book], a, executor=ex)
    assert summary.files_failed == 1
    (error,) = summary.errors
    assert POISON in error and "died twice" in error
    files = dict(rows(dest, "select path, state from files"))
    assert files == {
        **{str(p): "ok" for p in sorted(good.glob("*.jpg"))},
        str(bad_book / "page-01.jpg"): "ok",
        str(bad_book / POISON): "failed",
    }
    (reason,) = rows(dest, f"select reason from files where path like '%{POISON}'")[0]
    assert "died twice" in reason
    assert rows(dest, "select book_id, count(*) from pages group by 1 order by 1") == [
        ("poisoned", 1),
        ("shiqiao-liming", 3),
    ]


def test_cluster_address_errors_are_one_line(tmp_path: Path) -> None:
    proc = run_minqing(
        "ingest", str(SAMPLES / "shiqiao-liming"), "--archive", str(tmp_path / "a"),
        "--cluster", "local:x", check=False,
    )  # fmt: skip
    assert proc.returncode == 5
    assert "Error: --cluster local:x: write local:N" in proc.stderr
    with pytest.raises(cluster.ClusterUnavailableError, match="cannot reach the scheduler"):
        cluster.DaskExecutor("tcp://127.0.0.1:9", timeout="3s")
