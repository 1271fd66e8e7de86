"""Issue 12, item 19: reviewers save corrections while an ingest writes the archive.

A real ``minqing ingest`` subprocess writes new books into the archive while the review
plugin, in a real in-process Datasette over the same file, takes correction POSTs the way
a browser sends them. Before: 6 of 126 saves answered 500 ``database is locked``."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from .conftest import SAMPLES, minqing, popen_minqing, query, text


def _form(html: str) -> str:
    return re.search(r'name="csrftoken" value="([^"]+)"', html).group(1)


async def test_item19_review_saves_during_ingest_never_hit_a_locked_database(
    tmp_path: Path,
) -> None:
    from minqing.cmd_serve import make_datasette

    first = tmp_path / "scans" / "liming"
    shutil.copytree(SAMPLES / "shiqiao-liming", first)
    built = minqing(
        "ingest", "scans/liming", "--archive", "arc", "-q", "--workers", "1", cwd=tmp_path
    )
    assert built.returncode == 0, text(built.stderr)
    (line_id, original), *_ = query(
        tmp_path / "arc",
        "select line_id, text from lines where page_id like 'liming/1%' order by line_id",
    )
    book, page = line_id.split("/")[:2]

    # the second notebook, ingested while the reviewer saves
    second = tmp_path / "scans" / "zhangwei"
    shutil.copytree(SAMPLES / "shiqiao-zhangwei", second)
    ds = make_datasette(tmp_path / "arc")
    ingest = popen_minqing(
        "ingest", "scans/zhangwei", "--archive", "arc", "-q", "--workers", "1", cwd=tmp_path
    )
    statuses: list[int] = []
    expected = original
    try:
        while ingest.poll() is None:
            form_page = await ds.client.get(f"/-/review/page/{book}/{page}")
            assert form_page.status_code == 200, form_page.text[:300]
            new = f"{original}（{len(statuses)}）"
            r = await ds.client.post(
                "/-/review/save",
                data={
                    "csrftoken": _form(form_page.text),
                    "action": "line",
                    "line_id": line_id,
                    "text": new,
                    "expected": expected,
                    "back": f"/-/review/page/{book}/{page}",
                },
                cookies=dict(form_page.cookies.items()),
                headers={"Origin": "http://localhost", "Referer": "http://localhost/-/review"},
            )
            statuses.append(r.status_code)
            if r.status_code == 303:
                expected = new
            else:
                print(r.status_code, r.text[:300])
        _, err = ingest.communicate(timeout=300)
    finally:
        if ingest.poll() is None:
            ingest.kill()
    assert ingest.returncode == 0, text(err)
    assert len(statuses) >= 20, f"only {len(statuses)} saves while the ingest ran"
    assert [s for s in statuses if s != 303] == []
    # every save persisted: the line holds the last text, the audit trail every change
    assert query(tmp_path / "arc", "select text from lines where line_id = ?", (line_id,)) == [
        (expected,)
    ]
    assert query(
        tmp_path / "arc", "select count(*) from corrections where target_id = ?", (line_id,)
    )[0][0] == len(statuses)
    assert query(tmp_path / "arc", "select count(distinct book_id) from pages")[0][0] == 2
