"""The compiled volume of the sample archive names notebooks as officials do (issue 15)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import docx
import pytest

from tests.conftest import run_minqing


def test_sources_name_cadre_village_page_and_entry(sample_archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "vol.docx"
    run_minqing("compile", "--archive", str(sample_archive), "--period", "2024", "-o", str(out))
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
    run_minqing(
        "compile",
        "--archive",
        str(sample_archive),
        "--period",
        "2024",
        "--fonts",
        "linux",
        "-o",
        str(out),
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
    run_minqing("compile", "--archive", str(sample_archive), "--period", "2024", "-o", str(year))
    proc = run_minqing("compile", "--archive", str(sample_archive), "--all", "-o", str(whole))
    assert "14 entries" in proc.stderr
    for path in (year, whole):
        text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
        weeks = int(re.search(r"本期应记(\d+)周", text).group(1))
        assert 8 <= weeks <= 12, weeks  # 2024-03-07 .. 2024-05-10: 10 weeks
