"""The compiled volume of the sample archive names notebooks as officials do (issue 15)."""

from __future__ import annotations

from pathlib import Path

import docx

from tests.conftest import run_minqing


def test_sources_name_cadre_village_page_and_entry(sample_archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "vol.docx"
    run_minqing("compile", "--archive", str(sample_archive), "--period", "2024", "-o", str(out))
    sources = [p.text for p in docx.Document(str(out)).paragraphs if p.text.startswith("出处：")]
    assert sources
    assert any(s.startswith("出处：张伟（杨树沟村）日记本第") for s in sources), sources
    assert any(s.startswith("出处：李明（河湾村）日记本第") for s in sources), sources
    for s in sources:
        assert "条（编号shiqiao-" in s, s  # the id only after the names, in small print
        assert not s.startswith("出处：日记本")
