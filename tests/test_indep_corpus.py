"""The independent corpus: the frozen test split is unchanged and every split is well formed."""

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "data" / "indep"
FROZEN_TEST_SHA256 = "01326f02990d6fc87ce8d18b0f48d5b9cf8750f2cedaa6d75320b8c3854bd52a"
#: the second held-out split, written by three more writers (w7-w9) and frozen before the
#: code of the session that added it was tuned
FROZEN_TEST2_SHA256 = "78900008760ae4386f8a2dd1a9591abbd5f3f3504b734690d7a09bddf68b98ec"
#: the third held-out split, written by six more writers (w22-w27) and frozen before any code
#: change of the session that added it was merged
FROZEN_TEST3_SHA256 = "ac2ddd6c3c2a1e4fe8d8a8bd01585e3a6dd664ec78f59af833d183b8d28a4ba6"
STATUSES = {"已记录", "办理中", "已上报", "已解决", "已解释"}


def test_frozen_test_split_is_unchanged():
    assert hashlib.sha256((HERE / "test.json").read_bytes()).hexdigest() == FROZEN_TEST_SHA256


def test_frozen_test2_split_is_unchanged():
    assert hashlib.sha256((HERE / "test2.json").read_bytes()).hexdigest() == FROZEN_TEST2_SHA256


def test_frozen_test3_split_is_unchanged():
    assert hashlib.sha256((HERE / "test3.json").read_bytes()).hexdigest() == FROZEN_TEST3_SHA256


@pytest.mark.parametrize(
    "split", ["train", "dev", "test", "test2", "train2", "train3", "train4", "test3"]
)
def test_split_is_well_formed(split):
    doc = json.loads((HERE / f"{split}.json").read_text(encoding="utf-8"))
    seen: dict[str, str] = {}
    books = {nb["book_id"] for nb in doc["notebooks"]}
    dates = {e["entry_id"]: e["date"] for nb in doc["notebooks"] for e in nb["entries"]}
    for nb in doc["notebooks"]:
        assert nb["continues"] is None or nb["continues"] in books
        last = None
        for e in nb["entries"]:
            assert e["entry_id"] not in seen
            day = dt.date.fromisoformat(e["date"])
            assert 1 <= e["category_code"] <= 8
            assert e["status"] in STATUSES
            for ref in (e.get("follow_up_of"), e.get("lookalike_of")):
                # follow-ups and look-alikes point to an entry of the same split written before
                assert ref is None or dates[ref] <= e["date"], (e["entry_id"], ref)
            assert e["paragraphs"] and all(isinstance(p, str) for p in e["paragraphs"])
            if last is not None:
                assert day >= last or e["date_kind"] == "continuation", e["entry_id"]
            last = day
            seen[e["entry_id"]] = nb["book_id"]
