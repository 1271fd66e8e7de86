"""Compiled volumes (issue 8): the Word file is re-opened with python-docx and checked."""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from collections import Counter
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

import minqing.volumes.compile as compile_mod
from minqing.archive.errors import NothingToCompileError
from minqing.archive.store import Archive
from minqing.classify.types import CATEGORIES
from minqing.cli import cli
from minqing.errors import ExitCode
from minqing.volumes.compile import (
    CompileStats,
    compile_volume,
    missed_weeks_text,
    parse_period,
    period_weeks,
)
from tests._compile_data import ENTRY_ROWS, build_archive, eid

Q3 = {"date_from": dt.date(2024, 7, 1), "date_to": dt.date(2024, 9, 30)}
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def arch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compile") / "archive"
    build_archive(root).close()
    return root


@pytest.fixture()
def archive(arch_dir: Path):  # type: ignore[no-untyped-def]
    a = Archive(arch_dir)
    yield a
    a.close()


@pytest.fixture(scope="module")
def q3_volume(
    arch_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, CompileStats]:
    out = tmp_path_factory.mktemp("vol") / "2024Q3.docx"
    with Archive(arch_dir) as a:
        stats = compile_volume(a, out, **Q3, compiled_on=dt.date(2024, 10, 8))
    return out, stats


def texts(path: Path) -> list[str]:
    return [p.text for p in docx.Document(str(path)).paragraphs]


def period_rows(start: str = "2024-07-01", end: str = "2024-09-30") -> list[tuple]:
    return [r for r in ENTRY_ROWS if r[4] and start <= r[4] <= end]


# --------------------------------------------------------------------------- content


def test_every_entry_of_the_period_appears_exactly_once(q3_volume) -> None:  # type: ignore[no-untyped-def]
    out, stats = q3_volume
    paras = texts(out)
    count = Counter(paras)
    in_period = period_rows()
    assert stats.entries == len(in_period) == 10
    for row in in_period:
        assert count[row[8]] == 1, f"{eid(row[0], row[1])} appears {count[row[8]]} times"
    # entries after the period (2024-10-08, 10-05, 11-11) and undated ones are not in it
    for row in ENTRY_ROWS:
        if not row[4] or row[4] > "2024-09-30":
            assert row[8] not in count, f"{eid(row[0], row[1])} ({row[4]}) should not be in Q3"
    # the corrected text is printed, not the machine text
    assert any("王老五" in p for p in paras) and not any("王老无" in p for p in paras)


def test_matter_from_before_the_period_is_shown_once_as_context(q3_volume) -> None:  # type: ignore[no-untyped-def]
    out, stats = q3_volume
    paras = texts(out)
    root_text = ENTRY_ROWS[0][8]  # 2024-06-12, followed up on 2024-07-10
    assert Counter(paras)[root_text] == 1
    i = paras.index(root_text)
    assert "前期记录" in paras[i - 1]
    assert stats.context_entries == 1


def test_follow_ups_sit_under_their_matter_in_date_order(q3_volume) -> None:  # type: ignore[no-untyped-def]
    out, _ = q3_volume
    d = docx.Document(str(out))
    paras = [p.text for p in d.paragraphs]
    styles = [p.style.name for p in d.paragraphs]
    by_id = {eid(r[0], r[1]): r for r in ENTRY_ROWS}
    root = by_id[eid("ZJG-2024", 2)]  # 2024-07-03, follow-ups 07-20 (other book), 08-15
    start = paras.index(root[8])
    nxt = next(i for i in range(start + 1, len(paras)) if styles[i].startswith("Heading"))
    block = paras[start:nxt]
    pos = [block.index(by_id[e][8]) for e in (eid("AAA-2024", 1), eid("ZJG-2024", 5))]
    assert pos == sorted(pos) and pos[0] > 0
    # each follow-up is announced with its date and status
    assert any(p.startswith("1. 2024年7月20日　办理中") for p in block)
    assert any(p.startswith("2. 2024年8月15日　已解决") for p in block)
    assert "办理结果：丈量确认边界，双方签订调解协议" in block


def test_sections_run_township_village_category(q3_volume) -> None:  # type: ignore[no-untyped-def]
    out, _ = q3_volume
    d = docx.Document(str(out))
    heads = [
        (p.style.name, p.text)
        for p in d.paragraphs
        if p.style.name in ("Heading 1", "Heading 2", "Heading 3")
    ]
    h1 = [t for s, t in heads if s == "Heading 1"]
    assert h1 == ["一、概况", "二、柳林乡", "三、石桥镇"]
    i = heads.index(("Heading 1", "三、石桥镇"))
    after = [t for _s, t in heads[i + 1 :]]
    assert after[:4] == [
        "（一）杨树沟村",
        "1．农村矛盾纠纷",
        "2．群众关注的热点难点",
        "3．精神文明建设",
    ]
    assert "（二）河口村" in after
    # the source reference names the book and page
    sources = [p.text for p in d.paragraphs if p.text.startswith("出处：")]
    assert "出处：《张建国民情日记（2024）》第2页 · 第2条（编号ZJG-2024:002）" in sources
    # a book without a title is named by its cadre and village, never by its pinyin id alone
    assert not [s for s in sources if s.startswith("出处：日记本")], sources


def test_cover_and_contents(q3_volume) -> None:  # type: ignore[no-untyped-def]
    out, stats = q3_volume
    d = docx.Document(str(out))
    paras = [p for p in d.paragraphs if p.text]
    assert paras[0].style.name == "Title"
    assert paras[0].text == stats.title == "民情日记汇编（2024年第三季度）"
    body = [p.text for p in paras]
    assert "汇编期间：2024年7月1日至2024年9月30日" in body
    assert "编印日期：2024年10月8日" in body
    xml = zipfile.ZipFile(out).read("word/document.xml").decode()
    assert re.search(r'<w:instrText[^>]*> TOC \\o "1-3" \\h \\z \\u </w:instrText>', xml)
    toc = [p.text.split("\t")[0] for p in d.paragraphs if p.style.name.startswith("toc ")]
    heads = [
        p.text for p in d.paragraphs if p.style.name in ("Heading 1", "Heading 2", "Heading 3")
    ]
    assert toc == heads
    settings = zipfile.ZipFile(out).read("word/settings.xml").decode()
    assert '<w:updateFields w:val="true"/>' in settings


# --------------------------------------------------------------------------- statistics


def _table(d: docx.document.Document, caption: str) -> list[list[str]]:
    body = d.element.body
    cap = next(
        p
        for p in body.iter(qn("w:p"))
        if "".join(t.text or "" for t in p.iter(qn("w:t"))) == caption
    )
    tbl = cap.getnext()
    assert tbl.tag == qn("w:tbl"), caption
    table = next(t for t in d.tables if t._tbl is tbl)
    return [[c.text for c in r.cells] for r in table.rows]


def _matters_from_archive(archive: Archive, start: str, end: str) -> dict[str, dict]:
    """Matters of the period computed straight from SQL (independent of compile.py)."""
    rows = list(
        archive.db.query("select * from entries where date is not null and date <= ?", [end])
    )
    out: dict[str, dict] = {}
    keys = {r["matter_id"] for r in rows if start <= r["date"] <= end}
    for key in keys:
        chain = sorted(
            (r for r in rows if r["matter_id"] == key), key=lambda r: (r["date"], r["entry_id"])
        )
        root = next(r for r in chain if r["entry_id"] == key)
        out[key] = {
            "root": root,
            "status": chain[-1]["status_code"],
            "entries": sum(start <= r["date"] <= end for r in chain),
        }
    return out


def test_statistics_tables_agree_with_the_archive(q3_volume, archive) -> None:  # type: ignore[no-untyped-def]
    out, _ = q3_volume
    d = docx.Document(str(out))
    matters = _matters_from_archive(archive, "2024-07-01", "2024-09-30")
    closed = {"resolved", "explained"}

    cat = _table(d, "表1　按类别统计")
    assert cat[0] == ["类别", "记录（篇）", "事项（件）", "已办结", "未办结"]
    for code, name in CATEGORIES.items():
        ms = [m for m in matters.values() if m["root"]["category_code"] == code]
        row = next(r for r in cat if r[0] == f"{code}. {name}")
        done = sum(m["status"] in closed for m in ms)
        assert row[1:] == [
            str(sum(m["entries"] for m in ms)),
            str(len(ms)),
            str(done),
            str(len(ms) - done),
        ]
    assert cat[-1][:3] == ["合计", "10", str(len(matters))]

    vil = _table(d, "表2　按乡镇、村统计")
    for (town, village), n in Counter(
        (m["root"]["township"], m["root"]["village"]) for m in matters.values()
    ).items():
        row = next(r for r in vil if r[:2] == [town, village])
        assert row[3] == str(n)

    st = _table(d, "表3　事项办理情况（截至2024年9月30日）")
    status_count = Counter(m["status"] for m in matters.values())
    labels = {
        "已解决": "resolved",
        "已解释": "explained",
        "已上报": "escalated",
        "办理中": "in_progress",
        "已记录（尚未办理）": "recorded",
    }
    for row in st[1:-1]:
        assert row[1] == str(status_count[labels[row[0]]]), row
    assert st[-1][:2] == ["合计", str(len(matters))]


def test_cadre_weeks_against_the_weekly_minimum(q3_volume, archive) -> None:  # type: ignore[no-untyped-def]
    out, _ = q3_volume
    d = docx.Document(str(out))
    rows = {r[0]: r for r in _table(d, "表4　干部每周记录情况（每周不少于1篇；单位：篇）")[1:]}
    weeks = period_weeks(parse_period("2024Q3"))
    assert len(weeks) == 13 and weeks[0] == dt.date(2024, 7, 1)
    for cadre in ("张建国", "李秀英", "王志明", "周明"):
        dates = [
            dt.date.fromisoformat(r["date"])
            for r in archive.db.query(
                "select date from entries where cadre = ? "
                "and date between '2024-07-01' and '2024-09-30'",
                [cadre],
            )
        ]
        met = {x - dt.timedelta(days=x.weekday()) for x in dates}
        assert rows[cadre][2] == str(len(dates))
        assert rows[cadre][4] == f"{len(met)}/13"
    # 赵四 wrote in May and November but nothing in Q3: every week missed
    assert rows["赵四"][2:] == ["0", "0.0", "0/13", "7月1日—9月29日（13周）"]
    # 张建国: 7/3, 7/10, 8/15, 9/23 → weeks of 7/1, 7/8, 8/12, 9/23 met
    assert rows["张建国"][5] == "7月15日—8月11日（4周）；8月19日—9月22日（5周）"


# --------------------------------------------------------------------------- typography


def test_page_setup_fonts_and_sizes(q3_volume) -> None:  # type: ignore[no-untyped-def]
    out, _ = q3_volume
    d = docx.Document(str(out))
    for s in d.sections:
        assert (round(s.page_width.mm), round(s.page_height.mm)) == (210, 297)
        assert round(s.top_margin.mm) == 37 and round(s.bottom_margin.mm) == 35
        assert round(s.left_margin.mm) == 28 and round(s.right_margin.mm) == 26

    def east_asia(style_or_run) -> str | None:  # type: ignore[no-untyped-def]
        rpr = style_or_run.element.rPr if hasattr(style_or_run, "type") else style_or_run._r.rPr
        fonts = rpr.find(qn("w:rFonts"))
        return fonts.get(qn("w:eastAsia"))

    st = d.styles
    assert east_asia(st["Normal"]) == "仿宋_GB2312" and st["Normal"].font.size == Pt(16)
    assert east_asia(st["Title"]) == "方正小标宋简体" and st["Title"].font.size == Pt(22)
    assert east_asia(st["Heading 1"]) == "黑体" and st["Heading 1"].font.size == Pt(16)
    assert east_asia(st["Heading 2"]) == "楷体_GB2312" and st["Heading 2"].font.size == Pt(16)
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3"):
        fonts = st[name].element.rPr.find(qn("w:rFonts"))
        assert not any("Theme" in k for k in fonts.attrib), f"{name} keeps a theme font"

    # every run with text carries its East-Asian font explicitly
    runs = 0
    for p in d.element.body.iter(qn("w:p")):
        for r in p.iter(qn("w:r")):
            if r.find(qn("w:t")) is None or not (r.find(qn("w:t")).text or ""):
                continue
            runs += 1
            fonts = r.find(qn("w:rPr")).find(qn("w:rFonts"))
            assert fonts is not None and fonts.get(qn("w:eastAsia")), "".join(r.itertext())
            assert fonts.get(qn("w:ascii")) == "Times New Roman"
    assert runs > 100
    by_style = {(p.style.name, r.text): r for p in d.paragraphs for r in p.runs if r.text}
    title_run = by_style[("Title", "民情日记汇编（2024年第三季度）")]
    assert (
        title_run.font.size == Pt(22)
        and title_run._r.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"
    )
    h1 = by_style[("Heading 1", "三、石桥镇")]
    assert h1._r.rPr.rFonts.get(qn("w:eastAsia")) == "黑体" and h1.font.size == Pt(16)
    h2 = by_style[("Heading 2", "（一）杨树沟村")]
    assert h2._r.rPr.rFonts.get(qn("w:eastAsia")) == "楷体_GB2312"
    body = next(p for p in d.paragraphs if p.text == ENTRY_ROWS[1][8])
    assert body.runs[0].font.size == Pt(16)
    assert body.runs[0]._r.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"

    # fallbacks are named in the font table
    fonts_xml = zipfile.ZipFile(out).read("word/fontTable.xml").decode()
    assert re.search(r'<w:font w:name="仿宋_GB2312"><w:altName w:val="仿宋"/>', fonts_xml)
    assert re.search(r'<w:font w:name="方正小标宋简体"><w:altName w:val="宋体"/>', fonts_xml)


def test_page_numbers_and_repeating_table_headers(q3_volume) -> None:  # type: ignore[no-untyped-def]
    out, _ = q3_volume
    d = docx.Document(str(out))
    assert len(d.sections) == 2
    cover, body = d.sections
    assert cover.footer.is_linked_to_previous  # the first section: no footer, no page number
    for footer, align in ((body.footer, "right"), (body.even_page_footer, "left")):
        p = footer.paragraphs[0]
        xml = p._p.xml
        assert "PAGE" in "".join(p._p.itertext()) and 'w:fldCharType="begin"' in xml
        assert p.text.startswith("— ") and p.text.endswith(" —")
        assert f'<w:jc w:val="{align}"/>' in xml
        for r in p.runs:
            assert r.font.size == Pt(14) and r._r.rPr.rFonts.get(qn("w:eastAsia")) == "宋体"
    assert d.settings.odd_and_even_pages_header_footer
    sect = body._sectPr
    assert sect.find(qn("w:pgNumType")).get(qn("w:start")) == "1"
    assert len(d.tables) == 4
    for t in d.tables:
        first = t.rows[0]._tr
        assert first.find(qn("w:trPr")).find(qn("w:tblHeader")) is not None
        assert all(r._tr.find(qn("w:trPr")).find(qn("w:tblHeader")) is None for r in t.rows[1:])


# ------------------------------------------------------------------- filters, images, errors


def test_filters_select_whole_matters(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "v.docx"
    stats = compile_volume(archive, out, **Q3, villages=["杨树沟村"], statuses=["open"])
    paras = texts(out)
    # open matters of 杨树沟村 as of 9/30: the water matter (escalated) only
    assert stats.matters == 1 and stats.entries == 1
    assert ENTRY_ROWS[2][8] in paras and ENTRY_ROWS[0][8] in paras
    assert stats.title == "石桥镇杨树沟村民情日记汇编（2024年第三季度）"

    stats = compile_volume(archive, out, **Q3, categories=[4])
    paras = texts(out)
    # the 农村矛盾纠纷 matter with both follow-ups, one from another cadre's book
    assert stats.matters == 1 and stats.entries == 3
    assert all(
        eid_text in paras for eid_text in (ENTRY_ROWS[1][8], ENTRY_ROWS[3][8], ENTRY_ROWS[6][8])
    )

    stats = compile_volume(archive, out, **Q3, cadres=["李秀英"], statuses=["已解释"])
    assert (stats.matters, stats.entries) == (1, 2)


def test_with_images_embeds_thumbnails_and_reports_missing(arch_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "img.docx"
    with Archive(arch_dir) as a:
        stats = compile_volume(a, out, **Q3, townships=["柳林乡"], with_images=True)
    d = docx.Document(str(out))
    # 柳林乡 in Q3: two entries, one page each
    assert stats.images == 2 and stats.missing_images == 0
    assert len(d.inline_shapes) == 2
    for shape in d.inline_shapes:
        assert 0 < shape.width <= Mm(120) + 1 and 0 < shape.height <= Mm(100) + 1
    blips = zipfile.ZipFile(out).namelist()
    assert sum(n.startswith("word/media/") for n in blips) == 2

    broken = tmp_path / "broken"
    build_archive(broken, images=False).close()
    with Archive(broken) as a:
        stats = compile_volume(a, out, **Q3, townships=["柳林乡"], with_images=True)
    assert stats.images == 0 and stats.missing_images == 2
    assert texts(out).count("（原件影像缺失，请核对档案中的页面图像。）") == 2


def test_empty_period_raises_and_writes_nothing(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "empty.docx"
    with pytest.raises(NothingToCompileError, match="no entries between 2023-01-01 and 2023-12-31"):
        compile_volume(archive, out, date_from=dt.date(2023, 1, 1), date_to=dt.date(2023, 12, 31))
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_failure_midway_leaves_no_file(
    archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "v.docx"
    out.write_bytes(b"previous volume")

    def boom(self, number, m):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(compile_mod._Writer, "matter", boom)
    with pytest.raises(OSError):
        compile_volume(archive, out, **Q3)
    assert out.read_bytes() == b"previous volume"
    assert [p.name for p in tmp_path.iterdir()] == ["v.docx"]


# --------------------------------------------------------------------------- CLI


def test_cli_period_preset(arch_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "q3.docx"
    res = CliRunner().invoke(
        cli,
        [
            "compile",
            "--archive",
            str(arch_dir),
            "--period",
            "2024Q3",
            "--township",
            "石桥镇",
            "--unit",
            "中共石桥镇委员会",
            "--out",
            str(out),
            "--estimated-pages",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Wrote" in res.output and "8 entries" in res.output
    paras = texts(out)
    assert "石桥镇民情日记汇编（2024年第三季度）" in paras
    assert "编印单位：中共石桥镇委员会" in paras
    assert "Warning: 1 entries have no date" in res.output


def test_cli_empty_period_is_one_error_line(arch_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "none.docx"
    res = CliRunner().invoke(
        cli, ["compile", "--archive", str(arch_dir), "--period", "2025Q1", "--out", str(out)]
    )
    assert res.exit_code == ExitCode.nothing_to_do
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "no entries between 2025-01-01 and 2025-03-31" in lines[0]
    assert "from 2024-05-06 to 2024-11-11" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2024Q5"], "is not a period"),
        (["--period", "2024", "--from", "2024-01-01"], "either --period or --from/--to"),
        (["--from", "2024-07-01"], "give the period"),
        (["--period", "2024", "--category", "9"], "is not a category"),
        (["--period", "2024", "--status", "done"], "is not a status"),
    ],
)
def test_cli_bad_arguments(arch_dir: Path, tmp_path: Path, args: list[str], message: str) -> None:
    res = CliRunner().invoke(
        cli, ["compile", "--archive", str(arch_dir), *args, "--out", str(tmp_path / "x.docx")]
    )
    assert res.exit_code == 2 and message in res.output


def test_cli_missing_archive(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli,
        [
            "compile",
            "--archive",
            str(tmp_path / "nope"),
            "--period",
            "2024",
            "--out",
            str(tmp_path / "x.docx"),
        ],
    )
    assert res.exit_code == ExitCode.archive_error and res.output.startswith("Error: ")


def test_cli_out_must_be_docx(arch_dir: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli,
        [
            "compile",
            "--archive",
            str(arch_dir),
            "--period",
            "2024",
            "--out",
            str(tmp_path / "x.pdf"),
        ],
    )
    assert res.exit_code == 2 and ".docx" in res.output


# --------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("2024", "2024-01-01", "2024-12-31", "2024年度"),
        ("2024Q3", "2024-07-01", "2024-09-30", "2024年第三季度"),
        ("2024-q1", "2024-01-01", "2024-03-31", "2024年第一季度"),
        ("2024H2", "2024-07-01", "2024-12-31", "2024年下半年"),
        ("2024-02", "2024-02-01", "2024-02-29", "2024年2月"),
    ],
)
def test_parse_period(text: str, start: str, end: str, label: str) -> None:
    p = parse_period(text)
    assert (p.start.isoformat(), p.end.isoformat(), p.label) == (start, end, label)


@pytest.mark.parametrize("text", ["2024Q0", "2024-13", "24Q1", "2024H3", "Q3"])
def test_parse_period_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="is not a period"):
        parse_period(text)


def test_weeks_count_by_their_thursday() -> None:
    # 2024: Jan 1 is a Monday; Dec 30-31 belong to a week whose Thursday is in 2025
    weeks = period_weeks(parse_period("2024"))
    assert (
        len(weeks) == 52 and weeks[0] == dt.date(2024, 1, 1) and weeks[-1] == dt.date(2024, 12, 23)
    )
    # 2026Q1 starts on a Thursday: that week counts, the one of Mar 30 (Thu Apr 2) does not
    weeks = period_weeks(parse_period("2026Q1"))
    assert weeks[0] == dt.date(2025, 12, 29) and weeks[-1] == dt.date(2026, 3, 23)
    assert missed_weeks_text([dt.date(2024, 7, 1), dt.date(2024, 7, 8), dt.date(2024, 8, 5)]) == (
        "7月1日—7月14日（2周）；8月5日—8月11日（1周）"
    )


def test_lunar_dates_and_later_notes_are_printed_as_such(tmp_path: Path) -> None:
    """Issue 18: an entry dated by the lunar calendar shows both days; a 补记 the cadre added
    later is its own paragraph, marked, after the entry's text."""
    a = build_archive(tmp_path / "a", images=False)
    a.db.execute("update entries set date_kind = 'lunar' where entry_id = ?", [eid("WZM-2024", 1)])
    note = "9月10日补记：垃圾已全部清运，群众满意。"
    a.db.execute(
        "update entries set text = text || ?, later_notes = ? where entry_id = ?",
        [note, json.dumps([note], ensure_ascii=False), eid("LXY-2024", 1)],
    )
    a.db.conn.commit()
    compile_volume(a, tmp_path / "v.docx", **Q3)
    a.close()
    paras = texts(tmp_path / "v.docx")
    # 2024-07-15 is the 10th day of the 6th lunar month (农历六月初十)
    assert any(p.startswith("记录日期：2024年7月15日（农历六月初十）　") for p in paras)
    # a Gregorian heading: no lunar day
    assert any(p.startswith("记录日期：2024年8月5日　") for p in paras)
    marked = [p for p in paras if p.startswith("【补记】")]
    assert marked == [f"【补记】{note}"]
    body = paras[paras.index(marked[0]) - 1]
    assert body.startswith("2024年8月5日，河口村河堤边垃圾堆放较多") and note not in body


def test_fields_json_is_tolerated(arch_dir: Path, tmp_path: Path) -> None:
    """A broken fields cell does not stop the volume (the text is still printed)."""
    root = tmp_path / "a"
    a = build_archive(root, images=False)
    a.db.execute("update entries set fields = '{not json' where entry_id = ?", [eid("LXY-2024", 1)])
    a.db.execute(
        "update entries set fields = ? where entry_id = ?",
        [json.dumps(["list"]), eid("LXY-2024", 2)],
    )
    a.db.conn.commit()
    stats = compile_volume(a, tmp_path / "v.docx", **Q3, villages=["河口村"])
    a.close()
    assert stats.entries == 3
    assert ENTRY_ROWS[7][8] in texts(tmp_path / "v.docx")


def test_progress_reports_every_matter(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    calls: list[tuple[int, int]] = []
    stats = compile_volume(
        archive, tmp_path / "v.docx", **Q3, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(i, stats.matters) for i in range(1, stats.matters + 1)]


def test_contents_page_numbers_are_filled_in(q3_volume) -> None:  # type: ignore[no-untyped-def]
    """The contents' cached PAGEREF results hold estimated pages, never a placeholder."""
    out, _ = q3_volume
    xml = zipfile.ZipFile(out).read("word/document.xml").decode()
    assert "@@PG" not in xml
    d = docx.Document(str(out))
    pages = [p.text.split("\t")[1] for p in d.paragraphs if p.style.name.startswith("toc ")]
    numbers = [int(n) for n in pages]
    assert numbers[0] == 2 and numbers == sorted(numbers)  # 目录 is page 1, the overview page 2


@pytest.mark.parametrize(
    ("text", "fields", "title"),
    [
        (
            "2月20日几户村民想种植中药材增收，但不懂技术。其他",
            {},
            "几户村民想种植中药材增收，但不懂技术",
        ),
        ("2024年7月3日，村民反映道路破损；已上报", {}, "村民反映道路破损"),
        ("随便写的", {"problem": "承包地边界纠纷"}, "承包地边界纠纷"),
        ("一" * 40, {}, "一" * 29 + "……"),
        # issue 15: dateline (dotted dates, weekday, weather) off, long first clauses cut
        (
            "2024年3月7日星期四多云河湾村有几户人家红白喜事互相攀比，酒席一摆就是几十桌。",
            {},
            "河湾村有几户人家红白喜事互相攀比",
        ),
        ("2024.3.19到村合作社了解春耕准备。合作社今年想扩种", {}, "到村合作社了解春耕准备"),
        (
            "同日下午村民周老汉的身份证丢了，腿脚不便，去不了县城补办。",
            {},
            "村民周老汉的身份证丢了",
        ),
        (
            "3月12日（周二）晴，走访村民张桂兰，饮水井水量不足。",
            {},
            "走访村民张桂兰，饮水井水量不足",
        ),
        ("阴雨天气导致道路泥泞", {}, "阴雨天气导致道路泥泞"),
    ],
)
def test_matter_titles(text: str, fields: dict, title: str) -> None:
    period = parse_period("2024")
    row = {
        "entry_id": "b:001",
        "book_id": "b",
        "seq": 1,
        "page_start": 1,
        "page_end": 1,
        "date": "2024-07-03",
        "date_inferred": 0,
        "category_code": 4,
        "status_code": "recorded",
        "text": text,
        "fields": json.dumps(fields),
        "cadre": "x",
        "township": "t",
        "village": "v",
    }
    assert compile_mod._matter_title(compile_mod._Entry.from_row(row, period)) == title


def test_real_command_in_a_subprocess(arch_dir: Path, tmp_path: Path) -> None:
    from tests._helpers import run_minqing

    out = tmp_path / "年度汇编.docx"
    proc = run_minqing(
        "compile",
        "--archive",
        str(arch_dir),
        "--period",
        "2024",
        "--status",
        "closed",
        "--estimated-pages",
        "--title",
        "民情日记汇编（测试）",
        "--out",
        str(out),
    )
    assert proc.stdout == ""  # stdout is for data; the summary goes to stderr
    assert "Wrote" in proc.stderr and "民情日记汇编（测试）" in proc.stderr
    d = docx.Document(str(out))
    assert d.core_properties.title == "民情日记汇编（测试）"
    status_rows = _table(d, "表3　事项办理情况（截至2024年12月31日）")
    assert {r[0]: r[1] for r in status_rows}["已解决"] != "0"
    assert {r[0]: r[1] for r in status_rows}["办理中"] == "0"


def test_recorder_cell_names_the_cadre_when_no_manifest_does(tmp_path: Path) -> None:
    """Issue 14: the name in a form's 记录人 cell stands in for a missing cadre, marked as
    read from the page; a cadre the manifest names still wins."""
    a = build_archive(tmp_path / "a", images=False)
    a.db.execute("update books set cadre = null, post = null where book_id = 'LXY-2024'")
    a.db.execute("update entries set cadre = null where book_id = 'LXY-2024'")
    for seq in (1, 2):
        row = a.db.execute(
            "select fields from entries where entry_id = ?", [eid("LXY-2024", seq)]
        ).fetchone()
        fields = {**json.loads(row[0]), "recorder": "李建国"}
        a.db.execute(
            "update entries set fields = ? where entry_id = ?",
            [json.dumps(fields, ensure_ascii=False), eid("LXY-2024", seq)],
        )
    a.db.execute(
        "update entries set fields = ? where entry_id = ?",
        [json.dumps({"recorder": "某某"}, ensure_ascii=False), eid("ZJG-2024", 1)],
    )
    a.db.conn.commit()
    compile_volume(a, tmp_path / "v.docx", **Q3)
    a.close()
    body = "\n".join(texts(tmp_path / "v.docx"))
    assert f"李建国{compile_mod.FROM_PAGE}" in body
    assert "某某" not in body  # the manifest's cadre outranks the page
    assert "张建国" in body
