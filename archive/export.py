"""Exports of the archive (DESIGN.md §5: the entries contract).

Contract fields, on every entry, never renamed: ``entry_id``, ``book``, ``page_start``,
``page_end``, ``date``, ``category_code``, ``category``, ``text``, ``follow_up_of``,
``status``. More fields are added freely.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minqing.archive.errors import ArchiveError
from minqing.archive.schema import BOOKS, ENTRIES, LINES, PAGES
from minqing.archive.store import Archive

CONTRACT_FIELDS = (
    "entry_id",
    "book",
    "page_start",
    "page_end",
    "date",
    "category_code",
    "category",
    "text",
    "follow_up_of",
    "status",
)
EXTRA_FIELDS = (
    "seq",
    "date_inferred",
    "status_code",
    "matter_id",
    "category_score",
    "category_evidence",
    "category_confirmed",
    "fields",
    "cadre",
    "township",
    "village",
    "date_kind",
    "shares_heading",
    "later_notes",
    "body_dates",
)
EXPORT_FIELDS = CONTRACT_FIELDS + EXTRA_FIELDS


class BadPageFileError(ArchiveError):
    """A PAGE XML file to import is not one this archive can read back."""


def iter_entries(archive: Archive) -> Iterator[dict[str, Any]]:
    """Every entry as an export record, in book and entry order."""
    sql = (
        f"select e.*, b.cadre as b_cadre, b.township as b_township, b.village as b_village "
        f"from {ENTRIES} e left join {BOOKS} b on b.book_id = e.book_id "
        "order by e.book_id, e.seq"
    )
    for r in archive.db.query(sql):
        yield {
            "entry_id": r["entry_id"],
            "book": r["book_id"],
            "page_start": r["page_start"],
            "page_end": r["page_end"],
            "date": r["date"],
            "category_code": r["category_code"],
            "category": r["category"],
            "text": r["text"],
            "follow_up_of": r["follow_up_of"],
            "status": r["status"],
            "seq": r["seq"],
            "date_inferred": bool(r["date_inferred"]),
            "status_code": r["status_code"],
            "matter_id": r["matter_id"],
            "category_score": r["category_score"],
            "category_evidence": json.loads(r["category_evidence"] or "[]"),
            "category_confirmed": bool(r["category_confirmed"]),
            "fields": json.loads(r["fields"] or "{}"),
            "cadre": r["b_cadre"],
            "township": r["b_township"],
            "village": r["b_village"],
            # issue 18 (absent in archives written before it)
            "date_kind": r.get("date_kind") or "gregorian",
            "shares_heading": bool(r.get("shares_heading")),
            "later_notes": json.loads(r.get("later_notes") or "[]"),
            "body_dates": [
                {"kind": k, "date": d} for k, d in json.loads(r.get("body_dates") or "[]")
            ],
        }


def to_jsonl(record: dict[str, Any]) -> str:
    """One export record as a JSON line (UTF-8, not ASCII-escaped)."""
    return json.dumps(record, ensure_ascii=False)


#: written first in a CSV file: Excel on Chinese Windows reads UTF-8 only after a BOM
CSV_BOM = "\ufeff"


def csv_header() -> str:
    """The CSV header line of the entries export."""
    buf = io.StringIO()
    csv.writer(buf).writerow(EXPORT_FIELDS)
    return buf.getvalue()


def to_csv_row(record: dict[str, Any]) -> str:
    """One export record as a CSV row; lists and objects as JSON, booleans as 1/0."""
    buf = io.StringIO()
    values = []
    for f in EXPORT_FIELDS:
        v = record.get(f)
        if isinstance(v, bool):
            v = int(v)
        elif isinstance(v, (list, dict)):
            v = json.dumps(v, ensure_ascii=False)
        values.append("" if v is None else v)
    csv.writer(buf).writerow(values)
    return buf.getvalue()


# -- page-level exports: PAGE XML 2019-07-15 and ALTO 4.4 (issue 15) ----------------------
#: the PAGE XML namespace (the 2019-07-15 schema read by Transkribus, eScriptorium, OCR-D)
PAGE_NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
#: the ALTO 4 namespace (schema version 4.4)
ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
PAGE_FORMATS = ("page", "alto")
#: how the archive's ids travel in a PAGE file's ``custom`` attributes
_CUSTOM = re.compile(r"minqing\s*\{([^}]*)\}")


def text_digest(text: str | None) -> str:
    """A short digest of a line text as exported (the import's stale check)."""
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()[:16]


def _points(box_json: str | None, r: dict[str, Any]) -> list[tuple[int, int]]:
    """A line's polygon as non-negative integer points (its box when there is no polygon)."""
    pts: list[tuple[int, int]] = []
    try:
        pts = [(max(0, round(p[0])), max(0, round(p[1]))) for p in json.loads(box_json or "[]")]
    except (TypeError, ValueError, IndexError):
        pts = []
    if len(pts) < 3 and r.get("x0") is not None:
        x0, y0, x1, y1 = (max(0, round(r[k])) for k in ("x0", "y0", "x1", "y1"))
        pts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return pts


def _bbox(pts: list[tuple[int, int]]) -> tuple[int, int, int, int]:
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def _ncname(text: str) -> str:
    """An XML ID from an archive id (letters, digits, ``-_.``; starts with a letter)."""
    return "p_" + re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def iter_pages(archive: Archive, books: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
    """Every page with its lines (polygon points, text, confidence), in book and page order."""
    where, params = "", []
    if books:
        where, params = f" where book_id in ({','.join('?' * len(books))})", list(books)
    for p in list(
        archive.db.query(f"select * from {PAGES}{where} order by book_id, page_no", params)
    ):
        lines = []
        for r in archive.db.query(
            f"select * from {LINES} where page_id = ? order by line_no", [p["page_id"]]
        ):
            pts = _points(r["box"], r)
            if not pts:
                continue
            lines.append({**r, "points": pts})
        yield {**p, "lines": lines}


def _pts_attr(pts: list[tuple[int, int]]) -> str:
    return " ".join(f"{x},{y}" for x, y in pts)


def to_page_xml(page: dict[str, Any], created: str) -> bytes:
    """One page as PAGE XML 2019-07-15: one text region, its lines with polygons, text and
    confidence; archive ids and the exported text's digest in ``custom`` attributes."""
    from lxml import etree

    def el(parent: Any, tag: str, **attrs: Any) -> Any:
        return etree.SubElement(
            parent, f"{{{PAGE_NS}}}{tag}", {k: str(v) for k, v in attrs.items()}
        )

    root = etree.Element(f"{{{PAGE_NS}}}PcGts", nsmap={None: PAGE_NS})
    root.set("pcGtsId", _ncname(page["page_id"]))
    meta = el(root, "Metadata")
    el(meta, "Creator").text = "minqing"
    el(meta, "Created").text = created
    el(meta, "LastChange").text = created
    pg = el(
        root,
        "Page",
        imageFilename=page["image"] or "",
        imageWidth=page["width"] or 0,
        imageHeight=page["height"] or 0,
        custom=f"minqing {{page_id:{page['page_id']};book_id:{page['book_id']};}}",
    )
    lines = page["lines"]
    if lines:
        ro = el(el(pg, "ReadingOrder"), "OrderedGroup", id="ro_1")
        el(ro, "RegionRefIndexed", index=0, regionRef="r_1")
        region = el(pg, "TextRegion", id="r_1", type="paragraph")
        allpts = [pt for ln in lines for pt in ln["points"]]
        x0, y0, x1, y1 = _bbox(allpts)
        el(region, "Coords", points=_pts_attr([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]))
        for ln in lines:
            tl = el(
                region,
                "TextLine",
                id=f"l_{ln['line_no']}",
                custom=f"minqing {{line_id:{ln['line_id']};sha:{text_digest(ln['text'])};}}",
            )
            el(tl, "Coords", points=_pts_attr(ln["points"]))
            attrs = {} if ln["confidence"] is None else {"conf": f"{ln['confidence']:.4f}"}
            el(el(tl, "TextEquiv", **attrs), "Unicode").text = ln["text"] or ""
        el(el(region, "TextEquiv"), "Unicode").text = "\n".join(ln["text"] or "" for ln in lines)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def to_alto_xml(page: dict[str, Any], created: str) -> bytes:
    """One page as ALTO 4.4: one text block, its lines with box, polygon, text and word
    confidence (``WC``) in pixels of the archived (normalised) image."""
    from lxml import etree

    def el(parent: Any, tag: str, **attrs: Any) -> Any:
        return etree.SubElement(
            parent, f"{{{ALTO_NS}}}{tag}", {k: str(v) for k, v in attrs.items()}
        )

    root = etree.Element(f"{{{ALTO_NS}}}alto", nsmap={None: ALTO_NS})
    root.set("SCHEMAVERSION", "4.4")
    desc = el(root, "Description")
    el(desc, "MeasurementUnit").text = "pixel"
    el(el(desc, "sourceImageInformation"), "fileName").text = page["image"] or ""
    step = el(el(desc, "Processing", ID="proc_1"), "processingDateTime")
    step.text = created
    sw = el(step.getparent(), "processingSoftware")
    el(sw, "softwareName").text = "minqing"
    w, h = page["width"] or 0, page["height"] or 0
    pg = el(
        el(root, "Layout"),
        "Page",
        ID=_ncname(page["page_id"]),
        PHYSICAL_IMG_NR=page["page_no"],
        WIDTH=w,
        HEIGHT=h,
    )
    ps = el(pg, "PrintSpace", HPOS=0, VPOS=0, WIDTH=w, HEIGHT=h)
    lines = page["lines"]
    if lines:
        x0, y0, x1, y1 = _bbox([pt for ln in lines for pt in ln["points"]])
        block = el(ps, "TextBlock", ID="b_1", HPOS=x0, VPOS=y0, WIDTH=x1 - x0, HEIGHT=y1 - y0)
        for ln in lines:
            lx0, ly0, lx1, ly1 = _bbox(ln["points"])
            box = {"HPOS": lx0, "VPOS": ly0, "WIDTH": lx1 - lx0, "HEIGHT": ly1 - ly0}
            tl = el(block, "TextLine", ID=f"l_{ln['line_no']}", **box)
            el(el(tl, "Shape"), "Polygon", POINTS=_pts_attr(ln["points"]))
            attrs = {"CONTENT": ln["text"] or "", **box}
            if ln["confidence"] is not None:
                attrs["WC"] = f"{ln['confidence']:.4f}"
            el(tl, "String", **attrs)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def page_file_name(page: dict[str, Any]) -> str:
    """Where a page's XML goes inside the export folder: ``<book>/<page_no:04d>.xml``."""
    return f"{page['book_id']}/{int(page['page_no']):04d}.xml"


def _custom(value: str | None) -> dict[str, str]:
    m = _CUSTOM.search(value or "")
    if not m:
        return {}
    out = {}
    for part in m.group(1).split(";"):
        if ":" in part:
            k, v = part.split(":", 1)
            out[k.strip()] = v.strip()
    return out


@dataclass(frozen=True)
class PageLine:
    """A line read back from a PAGE XML file: the archive's line id, the text in the file
    and the digest of the text as it was exported (None when the file has none)."""

    line_id: str
    text: str
    exported_sha: str | None


def read_page_xml(path: Path) -> list[PageLine]:
    """The lines of a PAGE XML file this archive exported (2019-07-15 or a similar PAGE
    namespace): line id from the ``custom`` attribute (else page id + ``l_N``), the first
    ``TextEquiv`` (lowest index) text.

    Raises:
        BadPageFileError: not XML, not PAGE, or a line that names no archive line.
    """
    from lxml import etree

    try:
        tree = etree.parse(str(path))
    except (etree.XMLSyntaxError, OSError) as exc:
        raise BadPageFileError(str(path), f"not readable XML ({exc})", "export it again") from None
    root = tree.getroot()
    ns = etree.QName(root).namespace or ""
    if etree.QName(root).localname != "PcGts" or "primaresearch.org/PAGE" not in ns:
        raise BadPageFileError(str(path), "not a PAGE XML file (no PcGts root)", "give PAGE XML")
    q = {"p": ns}
    page = root.find("p:Page", q)
    page_id = _custom(page.get("custom") if page is not None else None).get("page_id")
    out = []
    for tl in root.iterfind(".//p:TextLine", q):
        info = _custom(tl.get("custom"))
        line_id = info.get("line_id")
        if not line_id:
            m = re.fullmatch(r"l_(\d+)", tl.get("id") or "")
            if not (m and page_id):
                raise BadPageFileError(
                    str(path), f"line {tl.get('id')!r} names no archive line", "export it again"
                )
            line_id = f"{page_id}/{int(m.group(1))}"
        equivs = tl.findall("p:TextEquiv", q)
        if not equivs:
            continue
        equivs.sort(key=lambda e: int(e.get("index") or 0))
        uni = equivs[0].find("p:Unicode", q)
        out.append(PageLine(line_id, (uni.text if uni is not None else "") or "", info.get("sha")))
    return out
