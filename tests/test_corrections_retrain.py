"""``minqing retrain`` learns from confirmed categories and reports before/after accuracy."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from minqing.archive.store import Archive
from minqing.cli import cli
from minqing.review import corrections
from tests._review_archive import BOOK_A, build_archive


def test_retrain_reports_cv_accuracy_and_writes_a_loadable_model(tmp_path: Path) -> None:
    from minqing.classify import load_category_model

    books = {f"b{i}": BOOK_A for i in range(4)}
    a = build_archive(tmp_path / "a", books)
    try:
        # reviewers confirm: water → 5, land dispute → 4, road → 7, follow-up → 5
        for eid, code in [
            (r["entry_id"], r["category_code"]) for r in a.db.query("select * from entries")
        ]:
            corrections.set_category(a, eid, code, who="r")
        assert a.db["entries"].count_where("category_confirmed = 1") == 16
    finally:
        a.close()
    r = CliRunner().invoke(
        cli,
        ["retrain", "--archive", str(tmp_path / "a"), "--folds", "4", "--json"],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    ev = json.loads(r.stdout)
    assert (
        ev["n"] == 16
        and 0 <= ev["lexicon"]["accuracy"] <= 1
        and 0 <= ev["combined"]["accuracy"] <= 1
    )
    model = load_category_model(ev["model_path"])
    assert max(model.predict_proba("村民饮水井水量不足").items(), key=lambda kv: kv[1])[0] == 5


def test_retrain_with_too_few_confirmed_says_so(tmp_path: Path) -> None:
    build_archive(tmp_path / "a", {"bookA": BOOK_A}).close()
    r = CliRunner().invoke(cli, ["retrain", "--archive", str(tmp_path / "a")])
    assert r.exit_code == 7
    assert "too few" in r.output and "0 confirmed categories" in r.output
    with Archive(tmp_path / "a") as a:
        assert not (a.root / "models").exists()


def test_retrain_adapts_a_status_model_from_confirmed_statuses(tmp_path: Path) -> None:
    """Issue 13: ten or more confirmed statuses give an adapted status model the next
    ingest uses (models/status-model.joblib), and it reads an escalation as one."""
    from minqing.classify import classify_status, load_status_model

    books = {f"b{i}": BOOK_A for i in range(4)}
    a = build_archive(tmp_path / "a", books)
    try:
        rows = list(a.db.query("select entry_id, category_code, status_code from entries"))
        for r in rows:
            corrections.set_category(a, r["entry_id"], r["category_code"], who="r")
            corrections.set_status(a, r["entry_id"], r["status_code"], who="r")
        assert a.db["entries"].count_where("status_confirmed = 1") == len(rows) >= 10
    finally:
        a.close()
    r = CliRunner().invoke(
        cli,
        ["retrain", "--archive", str(tmp_path / "a"), "--folds", "4", "--json"],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    ev = json.loads(r.stdout)
    assert ev["confirmed_statuses"] == len(rows)
    assert Path(ev["status_model_path"]) == tmp_path / "a" / "models" / "status-model.joblib"
    model = load_status_model(ev["status_model_path"])
    assert model.n_confirmed == len(rows) and model.n_examples > len(rows)
    text = "5月3日 晴 三组的水渠塌了一段，村里修不起，已写成报告上报镇水利站。"
    assert classify_status(text, model=model)[0] == "escalated"
