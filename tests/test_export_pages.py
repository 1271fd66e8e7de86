"""PAGE XML 2019-07-15 and ALTO 4.4 exports of the sample archive, validated against the
offline schemas in ../shared/schemas/, and the PAGE round trip (issue 15)."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import SHARED, run_cli

SCHEMAS = SHARED / "schemas"
PAGE_XSD = SCHEMAS / "page-2019-07-15.xsd"
ALTO_XSD = SCHEMAS / "alto-4-4.xsd"
PAGE_NS = {"p": "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"}
ALTO_NS = {"a": "http://www.loc.gov/standards/alto/ns-v4#"}


def _schema(path: Path) -> etree.XMLSchema:
    if not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing (the shared schemas must be present under CI)")
        pytest.skip(f"{path} is absent (../shared/schemas/ not checked out)")
    return etree.XMLSchema(etree.parse(str(path)))


def _db_lines(archive: Path) -> dict[str, tuple]:
    con = sqlite3.connect(archive / "archive.db")
    try:
        return {
            r[0]: r[1:]
            for r in con.execute("select line_id, text, confidence, x0, y0, x1, y1 from lines")
        }
    finally:
        con.close()


@pytest.mark.parametrize("fmt", ["page", "alto"])
def test_every_page_exports_valid_xml_with_every_line(sample_archive: Path, tmp_path: Path, fmt):
    schema = _schema(PAGE_XSD if fmt == "page" else ALTO_XSD)
    out = tmp_path / fmt
    proc = run_cli(
        "export", "pages", "--archive", str(sample_archive), "--format", fmt, "-o", str(out)
    )
    files = sorted(out.rglob("*.xml"))
    con = sqlite3.connect(sample_archive / "archive.db")
    n_pages = con.execute("select count(*) from pages").fetchone()[0]
    con.close()
    assert len(files) == n_pages > 0
    assert f"{n_pages} page(s)" in proc.stderr
    lines = _db_lines(sample_archive)
    seen = {}
    for f in files:
        doc = etree.parse(str(f))
        schema.assertValid(doc)
        if fmt == "page":
            for tl in doc.iterfind(".//p:TextLine", PAGE_NS):
                line_id = re.search(r"line_id:([^;]+);", tl.get("custom")).group(1)
                te = tl.find("p:TextEquiv", PAGE_NS)
                pts = tl.find("p:Coords", PAGE_NS).get("points").split()
                assert len(pts) >= 3
                seen[line_id] = (te.find("p:Unicode", PAGE_NS).text or "", float(te.get("conf")))
        else:
            book, page = f.parent.name, int(f.stem)
            for tl in doc.iterfind(".//a:TextLine", ALTO_NS):
                s = tl.find("a:String", ALTO_NS)
                assert tl.find("a:Shape/a:Polygon", ALTO_NS) is not None
                line_id = f"{book}/{page}/{tl.get('ID')[2:]}"
                seen[line_id] = (s.get("CONTENT"), float(s.get("WC")))
    assert seen.keys() == lines.keys()
    for lid, (text, conf) in seen.items():
        assert text == (lines[lid][0] or "")
        assert conf == pytest.approx(lines[lid][1], abs=1e-4)


def test_page_round_trip_changes_exactly_the_edited_line_audited(
    archive_copy: Path, tmp_path: Path
):
    _schema(PAGE_XSD)
    out = tmp_path / "page"
    run_cli("export", "pages", "--archive", str(archive_copy), "-o", str(out))
    before = _db_lines(archive_copy)
    # edit one line of one page in the exported file, as Transkribus would
    f = sorted(out.rglob("*.xml"))[0]
    doc = etree.parse(str(f))
    tl = doc.find(".//p:TextLine", PAGE_NS)
    line_id = re.search(r"line_id:([^;]+);", tl.get("custom")).group(1)
    uni = tl.find("p:TextEquiv/p:Unicode", PAGE_NS)
    new_text = "改正后的一行文字"
    assert uni.text != new_text
    uni.text = new_text
    doc.write(str(f), xml_declaration=True, encoding="UTF-8")

    proc = run_cli("import", "page", str(out), "--archive", str(archive_copy), "--who", "审校员")
    assert "1 line correction(s) applied" in proc.stderr
    after = _db_lines(archive_copy)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {line_id}
    assert after[line_id][0] == new_text
    con = sqlite3.connect(archive_copy / "archive.db")
    audit = con.execute(
        "select who, target, target_id, field, old, new from corrections"
    ).fetchall()
    entry_text = con.execute(
        "select e.text from entries e join lines l on l.entry_id = e.entry_id where l.line_id = ?",
        [line_id],
    ).fetchone()
    con.close()
    assert audit == [("审校员", "lines", line_id, "text", before[line_id][0], new_text)]
    assert entry_text is None or new_text in entry_text[0]

    # importing the same files again changes nothing more
    proc = run_cli("import", "page", str(out), "--archive", str(archive_copy), "--who", "审校员")
    assert "0 line correction(s) applied" in proc.stderr


def test_page_import_refuses_a_line_changed_in_the_archive_since_export(
    archive_copy: Path, tmp_path: Path
):
    out = tmp_path / "page"
    run_cli("export", "pages", "--archive", str(archive_copy), "-o", str(out))
    f = sorted(out.rglob("*.xml"))[0]
    doc = etree.parse(str(f))
    tl = doc.find(".//p:TextLine", PAGE_NS)
    line_id = re.search(r"line_id:([^;]+);", tl.get("custom")).group(1)
    tl.find("p:TextEquiv/p:Unicode", PAGE_NS).text = "文件里的改动"
    doc.write(str(f), xml_declaration=True, encoding="UTF-8")
    con = sqlite3.connect(archive_copy / "archive.db")
    con.execute("update lines set text = '网页上已改' where line_id = ?", [line_id])
    con.commit()
    con.close()
    proc = run_cli("import", "page", str(out), "--archive", str(archive_copy), check=False)
    assert proc.returncode == 6
    assert "changed in the archive since the export" in proc.stderr
    assert "nothing was imported" in proc.stderr
    assert _db_lines(archive_copy)[line_id][0] == "网页上已改"
