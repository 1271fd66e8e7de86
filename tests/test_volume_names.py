"""The compiled volume of the sample archive names notebooks as officials do (issue 15)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import docx
import pytest

from tests.conftest import run_cli, run_minqing


def test_sources_name_cadre_village_page_and_entry(sample_archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "vol.docx"
    run_cli(
        "compile", "--archive", str(sample_archive), "--period", "2024", "-o", str(out),
        "--estimated-pages",
    )  # fmt: skip
    doc = docx.Document(str(out))
    # each matter a short 事由 heading: no date, weekday or weather from its dateline
    heads = [p.text for p in doc.paragraphs if p.style.name == "Heading 4"]
    assert len(heads) >= 8
    for h in heads:
        body = h.split("）", 1)[1]
        assert 4 <= len(body) <= 24, h
        assert not re.search(r"\d|星期|多云|^晴|^阴|同日", body), h
    sources = [p.text for p in doc.paragraphs if p.text.startswith("出处：")]
    assert sources
    assert any(s.startswith("出处：张伟（杨树沟村）日记本第") for s in sources), sources
    assert any(s.startswith("出处：李明（河湾村）日记本第") for s in sources), sources
    for s in sources:
        assert "条（编号shiqiao-" in s, s  # the id only after the names, in small print
        assert not s.startswith("出处：日记本")


@pytest.mark.skipif(
    not (shutil.which("soffice") and shutil.which("pdffonts")),
    reason="needs LibreOffice (soffice) and poppler (pdffonts)",
)
def test_linux_fonts_keep_title_headings_and_body_apart_in_libreoffice(
    sample_archive: Path, tmp_path: Path
) -> None:
    """Issue 15 item 10: with --fonts linux, LibreOffice renders >= 3 CJK families."""
    out = tmp_path / "vol.docx"
    run_cli(
        "compile",
        "--archive",
        str(sample_archive),
        "--period",
        "2024",
        "--fonts",
        "linux",
        "-o",
        str(out),
        "--estimated-pages",  # this test lays the volume out itself
    )
    fonts = docx.Document(str(out)).part.package
    table = next(p for p in fonts.parts if p.partname == "/word/fontTable.xml").blob.decode()
    assert '<w:font w:name="Noto Serif CJK SC"><w:altName w:val="仿宋_GB2312"/>' in table
    assert table.count('w:name="Noto Serif CJK SC"') == 1
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    listing = subprocess.run(
        ["pdffonts", str(tmp_path / "vol.pdf")], check=True, capture_output=True, text=True
    ).stdout
    families = {
        re.sub(r"^[A-Z]{6}\+", "", line.split()[0]).split("-")[0]
        for line in listing.splitlines()[2:]
    }
    cjk = {f for f in families if "CJK" in f or "Kai" in f}
    assert len(cjk) >= 3, listing
    assert any("Sans" in f for f in cjk) and any("Serif" in f for f in cjk)
    assert any("Kai" in f for f in cjk)


def test_weekly_minimum_is_judged_against_the_weeks_the_archive_covers(
    sample_archive: Path, tmp_path: Path
) -> None:
    """Issue 15 item 10: a March-May archive compiled for 2024 is not judged against 52 weeks;
    --all compiles the whole archive."""
    year, whole = tmp_path / "year.docx", tmp_path / "all.docx"
    run_cli(
        "compile", "--archive", str(sample_archive), "--period", "2024", "-o", str(year),
        "--estimated-pages",
    )  # fmt: skip
    proc = run_cli(
        "compile", "--archive", str(sample_archive), "--all", "-o", str(whole), "--estimated-pages"
    )
    assert "14 entries" in proc.stderr
    for path in (year, whole):
        text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
        weeks = int(re.search(r"本期应记(\d+)周", text).group(1))
        assert 8 <= weeks <= 12, weeks  # 2024-03-07 .. 2024-05-10: 10 weeks


def _pdf_pages(pdf: Path) -> list[str]:
    """The text of each page of ``pdf``, read by poppler's pdftotext (not by the code under
    test, which reads with pdfplumber)."""
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    n = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))
    return [
        subprocess.run(
            ["pdftotext", "-f", str(i), "-l", str(i), "-layout", str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for i in range(1, n + 1)
    ]


@pytest.mark.skipif(
    not (shutil.which("soffice") and shutil.which("pdftotext")),
    reason="needs LibreOffice (soffice) and poppler (pdftotext)",
)
@pytest.mark.parametrize("fonts", ["linux", "gb"])
def test_contents_page_numbers_are_the_pages_libreoffice_prints(
    sample_archive: Path, tmp_path: Path, fonts: str
) -> None:
    """Issue 15 item 10: every contents entry names the page (its printed folio) on which
    its heading stands in the PDF; the cover is one page."""
    out, pdf = tmp_path / "vol.docx", tmp_path / "vol.pdf"
    proc = run_cli(
        "compile", "--archive", str(sample_archive), "--all", "--fonts", fonts,
        "-o", str(out), "--pdf", str(pdf),
    )  # fmt: skip
    assert re.search(r"Contents checked .*: (\d+) of \1 headings found", proc.stderr), proc.stderr
    pages = _pdf_pages(pdf)
    assert re.sub(r"\s", "", pages[1]).startswith("目录"), pages[1][:200]  # cover: one page
    toc = [
        (re.sub(r"\s", "", m.group(1)), int(m.group(2)))
        for m in re.finditer(r"^\s*(\S.*?)\s*\.{3,}\s*(\d+)\s*$", pages[1], re.M)
    ]
    assert len(toc) >= 15, pages[1]
    # the Word file holds the same numbers as its cached contents
    word = [
        (re.sub(r"\s", "", p.text.split("\t")[0]), int(p.text.split("\t")[1]))
        for p in docx.Document(str(out)).paragraphs
        if p.style.name.startswith("toc ")
    ]
    assert word == toc
    # the short tables of the overview (each ends in a 合计 row) are not split across pages
    for caption in ("表1按类别统计", "表2按乡镇、村统计", "表3事项办理情况"):
        (page,) = [re.sub(r"\s", "", p) for p in pages if caption in re.sub(r"\s", "", p)]
        assert "合计" in page.split(caption, 1)[1], caption
    at = 2
    for title, number in toc:
        for i in range(at, len(pages)):
            lines = [re.sub(r"\s", "", ln) for ln in pages[i].splitlines()]
            if any(ln.startswith(title) for ln in lines):
                folio = re.findall(r"—\s*(\d+)\s*—", pages[i])[-1]
                assert int(folio) == number, (title, number, folio)
                at = i
                break
        else:
            raise AssertionError(f"{title} is not on any page after page {at + 1}")


def test_without_libreoffice_the_contents_keep_estimates_and_say_so(
    sample_archive: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "bin"  # a PATH without soffice
    bare.mkdir()
    env = {"PATH": str(bare)}
    out = tmp_path / "vol.docx"
    proc = run_minqing(
        "compile", "--archive", str(sample_archive), "--all", "-o", str(out), env=env
    )
    assert out.exists()
    assert "the contents' page numbers are estimates" in proc.stderr, proc.stderr
    asked = run_minqing(
        "compile", "--archive", str(sample_archive), "--all", "-o", str(tmp_path / "b.docx"),
        "--pdf", str(tmp_path / "b.pdf"), env=env, check=False,
    )  # fmt: skip
    assert asked.returncode == 2
    assert "need LibreOffice" in asked.stderr and not (tmp_path / "b.pdf").exists()


def test_overview_names_a_span_once_and_a_year_with_its_span(
    sample_archive: Path, tmp_path: Path
) -> None:
    def summary(*period: str) -> str:
        out = tmp_path / f"{len(period)}.docx"
        run_cli(
            "compile", "--archive", str(sample_archive), *period, "-o", str(out),
            "--estimated-pages",
        )  # fmt: skip
        text = "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
        return re.search(r"本册收录(.*?)民情日记", text).group(1)

    assert re.fullmatch(r"2024年\d+月\d+日至2024年\d+月\d+日", summary("--all"))
    assert summary("--period", "2024") == "2024年度（2024年1月1日至2024年12月31日）"
