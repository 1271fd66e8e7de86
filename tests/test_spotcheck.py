"""Spot-check: the reported CER's 95% interval covers a known injected error rate."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from minqing.archive.store import Archive
from minqing.review import corrections, spotcheck
from tests._review_archive import build_archive

CHARS = (
    "村民反映饮水井水量不足夏天经常断水经了解全组八户都有类似困难"
    "措施联系乡水利站勘察争取安全项目回访已派人到现场测量"
)


def corrupt(text: str, p: float, rng: random.Random) -> str:
    out = []
    for ch in text:
        r = rng.random()
        if r < p / 3:
            continue  # deletion
        if r < 2 * p / 3:
            out.append(rng.choice(CHARS))  # substitution (maybe the same char: a no-op)
        elif r < p:
            out.append(ch + rng.choice(CHARS))  # insertion
        else:
            out.append(ch)
    return "".join(out)


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory):
    """3 books × 12 pages × 14 lines; per-character error probability 0.12·(1 - confidence)."""
    rng = random.Random(7)
    truth: dict[str, str] = {}
    books = {}
    for b in ("b1", "b2", "b3"):
        scale = {"b1": 0.03, "b2": 0.08, "b3": 0.4}[b]  # b3 is a bad book
        pages = []
        for _ in range(12):
            lines = []
            for _ in range(14):
                t = "".join(rng.choice(CHARS) for _ in range(rng.randint(4, 22)))
                conf = rng.uniform(0.55, 1.0)
                lines.append((corrupt(t, scale * (1 - conf) * 2, rng) or t[:1], round(conf, 3), t))
            pages.append(lines)
        books[b] = pages
    root = tmp_path_factory.mktemp("spot") / "arc"
    arc = build_archive(
        root, {b: [[(m, c) for m, c, _ in p] for p in pages] for b, pages in books.items()}
    )
    for b, pages in books.items():
        for page_no, lines in enumerate(pages, start=1):
            for i, (_, _, t) in enumerate(lines):
                truth[f"{b}/{page_no}/{i}"] = t
    yield arc, truth
    arc.close()


def true_cer(arc: Archive, truth: dict[str, str], book: str | None = None) -> float:
    e = c = 0
    for r in arc.db.query("select line_id, book_id, text from lines"):
        if book and r["book_id"] != book:
            continue
        ref = spotcheck.cer_text(truth[r["line_id"]])
        e += spotcheck.edit_distance(spotcheck.cer_text(r["text"]), ref)
        c += len(ref)
    return e / c


def test_plan_size() -> None:
    assert spotcheck.plan_size(100) == 100
    assert spotcheck.plan_size(1000) == 200
    assert spotcheck.plan_size(10_000) == 500
    assert spotcheck.plan_size(10_000, min_lines=50, fraction=0.01) == 100


def test_interval_covers_injected_cer_over_seeds(injected) -> None:
    arc, truth = injected
    cer = true_cer(arc, truth)
    assert 0.01 < cer < 0.1
    covered = 0
    for seed in range(1, 9):
        sid = spotcheck.new_sample(arc, who="qa", seed=seed, min_lines=120)
        items = list(arc.db.query("select line_id from spot_items where sample_id = ?", [sid]))
        assert len(items) >= 120
        spotcheck.record(
            arc,
            sid,
            [(i["line_id"], truth[i["line_id"]]) for i in items],
            who="qa",
            fix_archive=False,
        )
        rep = spotcheck.report(arc, sid)
        o = rep["overall"]
        assert o["lo"] < o["cer"] < o["hi"]
        covered += o["lo"] <= cer <= o["hi"]
        assert {b["book_id"] for b in rep["books"]} == {"b1", "b2", "b3"}
    assert covered >= 7, (
        f"the 95% interval covered the true CER {cer:.4f} in only {covered}/8 samples"
    )


def test_verdict_and_worst_books(injected) -> None:
    arc, truth = injected
    sid = spotcheck.new_sample(arc, who="qa", seed=42, min_lines=150, threshold=0.03)
    items = list(arc.db.query("select line_id from spot_items where sample_id = ?", [sid]))
    half = items[: len(items) // 2]
    spotcheck.record(
        arc, sid, [(i["line_id"], truth[i["line_id"]]) for i in half], who="qa", fix_archive=False
    )
    assert spotcheck.report(arc, sid)["verdict"] == "incomplete"
    rest = items[len(items) // 2 :]
    spotcheck.record(
        arc, sid, [(i["line_id"], truth[i["line_id"]]) for i in rest], who="qa", fix_archive=False
    )
    rep = spotcheck.report(arc, sid)
    assert true_cer(arc, truth, "b3") > 0.03 > true_cer(arc, truth, "b1")
    assert rep["verdict"] == ("fail" if rep["overall"]["cer"] > 0.03 else "pass")
    if rep["verdict"] == "fail":
        assert rep["worst_books"][0] == "b3" and "b1" not in rep["worst_books"]
    # strata: every book and band present, low-confidence lines sampled
    strata = {
        r["stratum"]
        for r in arc.db.query("select stratum from spot_items where sample_id = ?", [sid])
    }
    assert {s.split("|")[0] for s in strata} == {"b1", "b2", "b3"} and any(
        s.endswith("|0") for s in strata
    )


def test_calibration_orders_confidence_and_feeds_the_queue(injected) -> None:
    arc, truth = injected
    # a recorded sample of its own: the test must not depend on the others having run first
    # (under pytest-xdist's default distribution they run on another worker)
    sid = spotcheck.new_sample(arc, who="qa", seed=43, min_lines=150, threshold=0.03)
    items = list(arc.db.query("select line_id from spot_items where sample_id = ?", [sid]))
    spotcheck.record(
        arc, sid, [(i["line_id"], truth[i["line_id"]]) for i in items], who="qa", fix_archive=False
    )
    bins = spotcheck.calibrate(arc)
    assert bins, "recorded samples give a calibration"
    cers = [b["cer"] for b in bins]
    assert cers == sorted(cers, reverse=True)
    assert cers[0] > cers[-1]
    rate = corrections.calibrated_error_rate(arc)
    assert rate(0.56) >= rate(0.99)
    q = corrections.review_queue(arc)
    flagged = [p["needs_rescan"] for p in q]
    assert flagged == sorted(flagged, reverse=True)  # pages to rescan first
    rest = [p["expected_errors"] for p in q if not p["needs_rescan"]]
    assert len(rest) > 3 and rest == sorted(rest, reverse=True)


def test_record_fixes_the_archive_and_rejects_bad_rows(tmp_path: Path) -> None:
    from tests._review_archive import BOOK_A

    arc = build_archive(tmp_path / "a", {"bookA": BOOK_A})
    try:
        sid = spotcheck.new_sample(arc, who="qa", seed=1, min_lines=5, mode="blind")
        view = spotcheck.sample_view(arc, sid)
        assert all(it["shown_text"] is None and it["machine_text"] is None for it in view["items"])
        ids = [it["line_id"] for it in view["items"]]
        before = arc.db["corrections"].count
        with pytest.raises(corrections.BadCorrectionError, match=r"row 2.*not in sample"):
            spotcheck.record(arc, sid, [(ids[0], "甲乙"), ("bookA/9/9", "丙")], who="qa")
        assert arc.db["corrections"].count == before
        assert (
            next(arc.db.query("select count(*) n from spot_items where transcription is not null"))[
                "n"
            ]
            == 0
        )
        spotcheck.record(arc, sid, [(ids[0], "甲乙丙丁")], who="qa")
        line = next(arc.db.query("select text, corrected from lines where line_id = ?", [ids[0]]))
        assert (line["text"], line["corrected"]) == ("甲乙丙丁", 1)
        it = next(arc.db.query("select * from spot_items where line_id = ?", [ids[0]]))
        assert it["ref_chars"] == 4 and it["errors"] > 0
        rep = spotcheck.report(arc, sid)
        assert rep["recorded"] == 1 and rep["verdict"] == "incomplete"
        assert math.isfinite(rep["overall"]["cer"])
    finally:
        arc.close()


def test_cli_new_sheet_record_report(tmp_path: Path) -> None:
    import csv

    from click.testing import CliRunner

    from minqing.cli import cli
    from tests._review_archive import BOOK_A

    build_archive(tmp_path / "a", {"bookA": BOOK_A}).close()
    arc = str(tmp_path / "a")
    run = lambda *a: CliRunner().invoke(cli, list(a), catch_exceptions=False)  # noqa: E731
    r = run("spotcheck", "new", "--archive", arc, "--seed", "3", "--min-lines", "4")
    assert r.exit_code == 0, r.output
    sid = r.stdout.strip().splitlines()[0]
    r = run("spotcheck", "sheet", sid, "--archive", arc)
    rows = list(csv.DictReader(r.stdout.splitlines()))
    assert len(rows) >= 4 and all(row["engine_text"] == "" for row in rows)  # blind
    assert run("spotcheck", "report", sid, "--archive", arc).exit_code == 7  # incomplete
    with Archive(tmp_path / "a") as a:
        truth = {r["line_id"]: r["text"] for r in a.db.query("select line_id, text from lines")}
    sheet_path = tmp_path / "tx.csv"
    with sheet_path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["line_id", "transcription"])
        for i, row in enumerate(rows):
            w.writerow([row["line_id"], truth[row["line_id"]] + ("错" if i == 0 else "")])
    r = run("spotcheck", "record", sid, "--archive", arc, "--file", str(sheet_path), "--who", "qa")
    assert r.exit_code == 0, r.output
    r = run("spotcheck", "report", sid, "--archive", arc, "--json")
    rep = json.loads(r.stdout)
    assert rep["recorded"] == len(rows) and rep["overall"]["errors"] == 1
    assert r.exit_code == (3 if rep["verdict"] == "fail" else 0)
    bad = tmp_path / "bad.csv"
    bad.write_text("line_id,transcription\nnope/1/1,字\n", encoding="utf-8")
    r = run("spotcheck", "record", sid, "--archive", arc, "--file", str(bad))
    assert r.exit_code == 6 and "bad.csv row 2" in r.output and "nothing was recorded" in r.output
    assert run("spotcheck", "calibrate", "--archive", arc).exit_code == 0


def test_a_sample_scoped_to_a_township_draws_only_its_notebooks(tmp_path: Path) -> None:
    """Issue 15: the browser's draw form scopes a sample by township too."""
    from minqing.archive import records

    arc = build_archive(
        tmp_path / "arc",
        {b: [[(f"{b}第{i}行村民反映饮水难", 0.9) for i in range(6)]] for b in "xyz"},
    )
    try:
        records.set_book_metadata(arc, "y", {"township": "河口乡"}, who="t")
        sid = spotcheck.new_sample(arc, who="rev", townships=["河口乡"], size=4, seed=3)
        books = {
            r["book_id"]
            for r in arc.db.query("select book_id from spot_items where sample_id = ?", [sid])
        }
        assert books == {"y"}
        scope = json.loads(
            next(arc.db.query("select scope from spot_samples where sample_id = ?", [sid]))["scope"]
        )
        assert scope["townships"] == ["河口乡"]
        with pytest.raises(spotcheck.BadCorrectionError):
            spotcheck.new_sample(arc, who="rev", townships=["没有这个乡"], size=4)
    finally:
        arc.close()
