"""The operator's side: serving a read-only archive or one on a full disk, ``minqing demo``
and a folder it did not make, a busy port (issue 12 items 22, 24, 25)."""

from __future__ import annotations

import json
import shlex
import shutil
import socket
import subprocess
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import MINQING, free_port, run_cli, run_minqing, wait_for_http
from tests.security.conftest import Client, first_line, line_text


def _can_unshare() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


needs_mount_ns = pytest.mark.skipif(
    not _can_unshare(), reason="needs a private mount namespace (unshare -m, as root)"
)


@contextmanager
def serve_in_namespace(setup: str, archive: Path):  # type: ignore[no-untyped-def]
    """``minqing serve`` run after the shell commands ``setup``, in a private mount namespace."""
    port = free_port()
    cmd = " ".join(shlex.quote(c) for c in [*MINQING, "serve", "--archive", str(archive)])
    proc = subprocess.Popen(
        ["unshare", "-m", "sh", "-c", f"{setup} && exec {cmd} --port {port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/-/versions.json", proc)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _reads_and_refuses_saves(base: str, root: Path) -> None:
    client = Client(base)
    assert client.request("/archive/entries.json")[0] == 200
    status, _, body = client.request(
        "/archive/entries.json?_shape=array&_search=" + urllib.parse.quote("饮水")
    )
    assert status == 200 and json.loads(body) and all("饮水" in r["text"] for r in json.loads(body))
    line_id, before, book, page_no = first_line(root)
    token = client.token(f"/-/review/page/{urllib.parse.quote(book, safe='')}/{page_no}")
    status, _, body = client.request(
        "/-/review/save", {"csrftoken": token, "action": "line", "line_id": line_id, "text": "x"}
    )
    assert status == 503 and "只读" in body, (status, body[:300])
    assert line_text(root, line_id) == before


@needs_mount_ns
def test_item22_serve_starts_on_a_read_only_archive(local_archive: Path) -> None:
    (local_archive / ".web-secret").unlink(missing_ok=True)
    a = shlex.quote(str(local_archive))
    setup = f"mount --bind {a} {a} && mount -o remount,bind,ro {a}"
    with serve_in_namespace(setup, local_archive) as (base, _):
        _reads_and_refuses_saves(base, local_archive)
    assert not (local_archive / ".web-secret").exists()  # nothing was written


@needs_mount_ns
def test_item22_serve_starts_on_a_full_disk(sample_archive: Path, tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    archive = disk / "archive"
    src = shlex.quote(str(sample_archive))
    d = shlex.quote(str(disk))
    setup = (
        f"mount -t tmpfs -o size=48m tmpfs {d} && cp -r {src} {d}/archive"
        f" && rm -f {d}/archive/.web-secret {d}/archive/archive.db-wal {d}/archive/archive.db-shm"
        f" && (dd if=/dev/zero of={d}/fill bs=64k 2>/dev/null; true)"
        f" && test $(df --output=avail {d} | tail -1) -eq 0"
    )
    port_proc = None
    with serve_in_namespace(setup, archive) as (base, proc):
        port_proc = proc
        client = Client(base)
        assert client.request("/archive/entries.json")[0] == 200
        status, _, body = client.request(
            "/archive/entries.json?_shape=array&_search=" + urllib.parse.quote("饮水")
        )
        assert status == 200 and json.loads(body)
        line_id = "shiqiao-liming/1/0"
        token = client.token("/-/review/page/shiqiao-liming/1")
        status, _, body = client.request(
            "/-/review/save",
            {"csrftoken": token, "action": "line", "line_id": line_id, "text": "x"},
        )
        assert status == 503 and "只读" in body, (status, body[:300])
    assert port_proc is not None


# -- item 24: demo never deletes what it did not make ---------------------------------------


def test_item24_demo_refuses_a_real_archive_and_keeps_it(local_archive: Path) -> None:
    notes = local_archive / "notes.txt"
    notes.write_text("我的笔记\n", encoding="utf-8")
    before = sorted(p.name for p in local_archive.iterdir())
    proc = run_cli("demo", "--archive", str(local_archive), "--no-serve", check=False)
    assert proc.returncode == 8, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "refusing" in lines[0]
    assert sorted(p.name for p in local_archive.iterdir()) == before
    assert notes.read_text(encoding="utf-8") == "我的笔记\n"


def test_item24_demo_refuses_a_folder_of_someone_elses_files(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("x", encoding="utf-8")
    proc = run_cli("demo", "--archive", str(folder), "--no-serve", check=False)
    assert proc.returncode == 8 and "not made by `minqing demo`" in proc.stderr
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "x"


def test_item24_only_a_marked_demo_folder_is_cleared(tmp_path: Path) -> None:
    from minqing.cmd_demo import MARKER, clear_demo_folder
    from minqing.errors import MinqingError

    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / MARKER).write_text("made by minqing demo", encoding="utf-8")
    (demo / "archive.db").write_bytes(b"")
    clear_demo_folder(demo)
    assert not demo.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    clear_demo_folder(empty)  # an empty folder is fine and kept
    assert empty.is_dir()
    a_file = tmp_path / "file"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(MinqingError, match="refusing"):
        clear_demo_folder(a_file)
    assert a_file.exists()


# -- item 25: a busy port -----------------------------------------------------------------


@contextmanager
def busy_port():  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield s.getsockname()[1]


def test_item25_serve_on_a_busy_port_says_so_and_never_ready(sample_archive: Path) -> None:
    with busy_port() as port:
        proc = run_minqing(
            "serve", "--archive", str(sample_archive), "--port", str(port), check=False, timeout=60
        )
    assert proc.returncode == 8, (proc.returncode, proc.stderr)
    out = proc.stdout + proc.stderr
    assert "Serving" not in out and "ready:" not in out
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "already in use" in lines[0] and str(port) in lines[0], lines


def test_item25_demo_on_a_busy_port_says_so_before_ingesting(tmp_path: Path) -> None:
    with busy_port() as port:
        proc = run_minqing(
            "demo",
            "--archive",
            str(tmp_path / "demo"),
            "--port",
            str(port),
            check=False,
            timeout=120,
        )
    assert proc.returncode == 8, (proc.returncode, proc.stderr)
    assert "ready:" not in proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "already in use" in lines[0], lines
    assert not (tmp_path / "demo").exists()  # refused before any work
