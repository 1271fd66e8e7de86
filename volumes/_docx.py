"""Word (.docx) writing for compiled volumes, laid out after GB/T 9704-2012.

Two layers:

* :func:`build_skeleton` makes a python-docx ``Document`` that holds everything except
  the body text: A4 page with the GB/T 9704 margins, the styles (body 仿宋_GB2312 3号,
  titles 方正小标宋简体 2号, level-1 headings 黑体, level-2 楷体_GB2312), page numbers
  "— N —" in 4号宋体 (odd pages right, even pages left, as the standard asks), and a
  marker paragraph where the body goes.
* :class:`DocxStream` writes the final file: it copies the skeleton's parts and streams
  the body (paragraphs and tables built as XML strings by the helpers below) into
  ``word/document.xml`` through a temporary file, so that a volume of 10,000 entries
  never has to sit in memory as an lxml tree.

Every run carries its fonts explicitly (``w:rFonts`` with ``w:eastAsia``, not only the
Latin ones): Word picks the East-Asian font for Chinese text from ``w:eastAsia``
alone, and a style-only font is lost as soon as someone pastes the text elsewhere.

Fonts and fallbacks.  The GB/T 9704 fonts (仿宋_GB2312, 方正小标宋简体, 楷体_GB2312,
黑体, 宋体) are what an office PC in China has.  Where one is missing, the font table
(``word/fontTable.xml``) names an alternate (``w:altName``) that Word uses instead:
仿宋_GB2312 → 仿宋 (FangSong), 楷体_GB2312 → 楷体 (KaiTi), 方正小标宋简体 → 宋体 (SimSun),
黑体 → SimHei, 宋体 → SimSun.  LibreOffice on Linux substitutes through fontconfig
(with Debian's ``fonts-noto-cjk`` installed: Noto Serif/Sans CJK SC).  Latin letters and
digits use Times New Roman.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import docx
from docx.enum.section import WD_ORIENT
from docx.oxml import parse_xml
from docx.oxml.ns import qn
from docx.shared import Mm

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
IMAGE_RELTYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"

# Fonts named by GB/T 9704-2012 (and the alternates written into the font table).
FONT_BODY = "仿宋_GB2312"
FONT_TITLE = "方正小标宋简体"
FONT_H1 = "黑体"
FONT_H2 = "楷体_GB2312"
FONT_PAGE_NO = "宋体"
FONT_LATIN = "Times New Roman"
FONT_FALLBACKS: dict[str, str] = {
    FONT_BODY: "仿宋",  # FangSong
    FONT_H2: "楷体",  # KaiTi
    FONT_TITLE: "宋体",  # SimSun
    FONT_H1: "SimHei",
    FONT_PAGE_NO: "SimSun",
    "仿宋": "FangSong",
    "楷体": "KaiTi",
}

# Chinese type sizes (号) in points.
SIZE_2HAO = 22.0
SIZE_3HAO = 16.0
SIZE_4HAO = 14.0
SIZE_XIAO4 = 12.0

#: GB/T 9704-2012 7.1: A4, top 37 mm, left 28 mm; text block 156 mm × 225 mm.
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}
#: 22 lines in the 225 mm text block: 637.8 pt / 22 ≈ 28.95 pt, in twentieths of a point.
LINE_PITCH_TWIPS = 579
#: two 3号 characters, the first-line indent of body paragraphs
INDENT_2CHARS_TWIPS = 640
#: the text block width in twips (156 mm)
TEXT_WIDTH_TWIPS = round(156 / 25.4 * 1440)
EMU_PER_MM = 36000

BODY_MARKER = "@@MINQING-BODY@@"

_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def esc(text: object) -> str:
    """``text`` as XML character data: illegal control characters dropped, markup escaped."""
    s = _ILLEGAL_XML.sub("", str(text))
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _half_points(size_pt: float) -> int:
    return round(size_pt * 2)


def rpr(font: str = FONT_BODY, size: float = SIZE_3HAO, *, bold: bool = False) -> str:
    """Run properties with the East-Asian and Latin fonts and the size set explicitly."""
    hp = _half_points(size)
    b = "<w:b/><w:bCs/>" if bold else ""
    return (
        f'<w:rPr><w:rFonts w:ascii="{FONT_LATIN}" w:hAnsi="{FONT_LATIN}" '
        f'w:eastAsia="{esc(font)}" w:cs="{FONT_LATIN}" w:hint="eastAsia"/>{b}'
        f'<w:sz w:val="{hp}"/><w:szCs w:val="{hp}"/></w:rPr>'
    )


def run(text: str, font: str = FONT_BODY, size: float = SIZE_3HAO, *, bold: bool = False) -> str:
    """One run of text; line breaks inside ``text`` become ``w:br``."""
    props = rpr(font, size, bold=bold)
    parts = str(text).split("\n")
    inner = "<w:br/>".join(f'<w:t xml:space="preserve">{esc(p)}</w:t>' for p in parts)
    return f"<w:r>{props}{inner}</w:r>"


def ppr(
    style: str | None = None,
    *,
    keep_next: bool = False,
    page_break_before: bool = False,
    spacing_before: int | None = None,
    spacing_after: int | None = None,
    line: int | None = None,
    line_rule: str = "exact",
    indent_first: int | None = None,
    indent_left: int | None = None,
    jc: str | None = None,
    section: str | None = None,
) -> str:
    """Paragraph properties, children in the order the schema requires."""
    out = ["<w:pPr>"]
    if style:
        out.append(f'<w:pStyle w:val="{style}"/>')
    if keep_next:
        out.append("<w:keepNext/>")
    if page_break_before:
        out.append("<w:pageBreakBefore/>")
    if spacing_before is not None or spacing_after is not None or line is not None:
        attrs = ""
        if spacing_before is not None:
            attrs += f' w:before="{spacing_before}"'
        if spacing_after is not None:
            attrs += f' w:after="{spacing_after}"'
        if line is not None:
            attrs += f' w:line="{line}" w:lineRule="{line_rule}"'
        out.append(f"<w:spacing{attrs}/>")
    if indent_first is not None or indent_left is not None:
        attrs = ""
        if indent_left is not None:
            attrs += f' w:left="{indent_left}"'
        if indent_first is not None:
            attrs += f' w:firstLine="{indent_first}"'
        out.append(f"<w:ind{attrs}/>")
    if jc:
        out.append(f'<w:jc w:val="{jc}"/>')
    if section:
        out.append(section)
    out.append("</w:pPr>")
    return "".join(out)


def para(runs: str | list[str], props: str = "") -> str:
    """A paragraph from its properties and runs."""
    body = runs if isinstance(runs, str) else "".join(runs)
    return f"<w:p>{props}{body}</w:p>"


def bookmark(bm_id: int, name: str, content: str) -> str:
    """``content`` (runs) wrapped in a bookmark (TOC entries jump to these)."""
    return (
        f'<w:bookmarkStart w:id="{bm_id}" w:name="{esc(name)}"/>{content}'
        f'<w:bookmarkEnd w:id="{bm_id}"/>'
    )


def field_runs(instr: str, cached: str, font: str = FONT_BODY, size: float = SIZE_3HAO) -> str:
    """A complete field (begin, instruction, separate, cached result, end) as runs."""
    props = rpr(font, size)
    return (
        f'<w:r>{props}<w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r>{props}<w:instrText xml:space="preserve"> {esc(instr)} </w:instrText></w:r>'
        f'<w:r>{props}<w:fldChar w:fldCharType="separate"/></w:r>'
        f'<w:r>{props}<w:t xml:space="preserve">{esc(cached)}</w:t></w:r>'
        f'<w:r>{props}<w:fldChar w:fldCharType="end"/></w:r>'
    )


def toc_field(entries: list[tuple[int, str, str]]) -> str:
    """A Word TOC field over heading levels 1–3, pre-filled with ``entries``.

    ``entries`` are ``(level, text, bookmark)``.  The cached result lists every
    heading as a hyperlink with a PAGEREF field to its bookmark, so that the contents
    page shows real entries before anyone updates fields.  The PAGEREF results are
    :func:`page_token` placeholders that :meth:`DocxStream.close` replaces with the
    caller's page estimates: LibreOffice shows the cached result as it is (it does
    not recompute fields nested in a TOC), while Word rebuilds the whole field on
    open because the skeleton sets ``w:updateFields``.
    """
    props = rpr()
    begin = (
        f'<w:r>{props}<w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r>{props}<w:instrText xml:space="preserve">'
        ' TOC \\o "1-3" \\h \\z \\u </w:instrText></w:r>'
        f'<w:r>{props}<w:fldChar w:fldCharType="separate"/></w:r>'
    )
    end = f'<w:r>{props}<w:fldChar w:fldCharType="end"/></w:r>'
    if not entries:
        return para(begin + run("（在 Word 中右击此处选择“更新域”生成目录）") + end, ppr("TOC1"))
    out = []
    last = len(entries) - 1
    for i, (level, text, bm) in enumerate(entries):
        font = FONT_H1 if level == 1 else FONT_BODY
        size = SIZE_4HAO
        link = (
            f'<w:hyperlink w:anchor="{esc(bm)}" w:history="1">'
            + run(text, font, size)
            + f"<w:r>{rpr(font, size)}<w:tab/></w:r>"
            + field_runs(f"PAGEREF {bm} \\h", page_token(bm), font, size)
            + "</w:hyperlink>"
        )
        content = (begin if i == 0 else "") + link + (end if i == last else "")
        out.append(para(content, ppr(f"TOC{level}")))
    return "".join(out)


def page_token(bookmark_name: str) -> str:
    """A placeholder for the page of ``bookmark_name``, filled in by :meth:`DocxStream.close`."""
    return f"@@PG{bookmark_name}@@"


_PAGE_TOKEN = re.compile(r"@@PG([A-Za-z0-9_]+)@@")


#: tables of at most this many rows are kept on one page
KEEP_TABLE_ROWS = 15


def table(
    header: list[str],
    rows: list[list[str]],
    widths_mm: list[float],
    *,
    bold_last_row: bool = False,
    align: list[str] | None = None,
) -> str:
    """A bordered table whose header row repeats on every page (``w:tblHeader``)."""
    total = sum(widths_mm)
    scale = (156 / total) if total > 156 else 1.0
    tw = [round(w * scale / 25.4 * 1440) for w in widths_mm]
    align = align or ["center"] * len(header)
    border = 'w:val="single" w:sz="4" w:space="0" w:color="000000"'
    out = [
        (
            '<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/>'
            f'<w:tblW w:w="{sum(tw)}" w:type="dxa"/><w:jc w:val="center"/>'
            f"<w:tblBorders><w:top {border}/><w:left {border}/><w:bottom {border}/>"
            f"<w:right {border}/><w:insideH {border}/><w:insideV {border}/></w:tblBorders>"
            '<w:tblLayout w:type="fixed"/>'
            '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" '
            'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>'
        )
    ]
    out += [f'<w:gridCol w:w="{w}"/>' for w in tw]
    out.append("</w:tblGrid>")

    # a short table is kept on one page (each row kept with the next), a long one may break
    # between rows (never inside one) and repeats its header
    together = len(rows) <= KEEP_TABLE_ROWS

    def row(cells: list[str], *, head: bool, bold: bool, last: bool) -> str:
        tr = ["<w:tr><w:trPr><w:cantSplit/>" + ("<w:tblHeader/>" if head else "") + "</w:trPr>"]
        keep = together and not last
        for j, (cell, w) in enumerate(zip(cells, tw, strict=True)):
            jc = "center" if head else align[j]
            font = FONT_H1 if head else FONT_BODY
            tr.append(
                f'<w:tc><w:tcPr><w:tcW w:w="{w}" w:type="dxa"/><w:vAlign w:val="center"/></w:tcPr>'
                + para(
                    run(cell, font, SIZE_XIAO4, bold=bold and not head),
                    ppr("TableText", jc=jc, keep_next=keep),
                )
                + "</w:tc>"
            )
        tr.append("</w:tr>")
        return "".join(tr)

    out.append(row(header, head=True, bold=False, last=not rows))
    for i, cells in enumerate(rows):
        last = i == len(rows) - 1
        out.append(row(cells, head=False, bold=bold_last_row and last, last=last))
    out.append("</w:tbl>")
    return "".join(out)


def inline_picture(rel_id: str, pic_id: int, cx: int, cy: int, descr: str) -> str:
    """A run holding an inline picture of ``cx`` × ``cy`` EMU."""
    a = "http://schemas.openxmlformats.org/drawingml/2006/main"
    pic = "http://schemas.openxmlformats.org/drawingml/2006/picture"
    return (
        '<w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0">'
        f'<wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="{pic_id}" name="图片 {pic_id}" '
        f'descr="{esc(descr)}"/><wp:cNvGraphicFramePr><a:graphicFrameLocks xmlns:a="{a}" '
        f'noChangeAspect="1"/></wp:cNvGraphicFramePr><a:graphic xmlns:a="{a}">'
        f'<a:graphicData uri="{pic}"><pic:pic xmlns:pic="{pic}"><pic:nvPicPr>'
        f'<pic:cNvPr id="0" name="thumb{pic_id}.jpeg"/><pic:cNvPicPr/></pic:nvPicPr>'
        f'<pic:blipFill><a:blip r:embed="{rel_id}"/><a:stretch><a:fillRect/></a:stretch>'
        f'</pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/>'
        '</a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic>'
        "</a:graphicData></a:graphic></wp:inline></w:drawing></w:r>"
    )


def page_break() -> str:
    """A paragraph holding a page break."""
    return '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'


# --------------------------------------------------------------------------- skeleton


def _style_xml(
    style_id: str,
    name: str,
    *,
    based_on: str | None = "Normal",
    next_style: str | None = None,
    ppr_xml: str = "",
    rpr_xml: str = "",
    ui_priority: int | None = None,
    default: bool = False,
) -> str:
    parts = [
        f'<w:style xmlns:w="{W_NS}" w:type="paragraph" w:styleId="{style_id}"'
        + (' w:default="1"' if default else "")
        + f'><w:name w:val="{name}"/>'
    ]
    if based_on:
        parts.append(f'<w:basedOn w:val="{based_on}"/>')
    if next_style:
        parts.append(f'<w:next w:val="{next_style}"/>')
    if ui_priority is not None:
        parts.append(f'<w:uiPriority w:val="{ui_priority}"/>')
    parts.append("<w:qFormat/>")
    parts.append(ppr_xml)
    parts.append(rpr_xml)
    parts.append("</w:style>")
    return "".join(parts)


def _style_rpr(font: str, size: float, *, bold: bool = False) -> str:
    hp = _half_points(size)
    b = "<w:b/><w:bCs/>" if bold else '<w:b w:val="0"/><w:bCs w:val="0"/>'
    return (
        f'<w:rPr><w:rFonts w:ascii="{FONT_LATIN}" w:hAnsi="{FONT_LATIN}" '
        f'w:eastAsia="{font}" w:cs="{FONT_LATIN}" w:hint="eastAsia"/>{b}'
        f'<w:color w:val="000000"/><w:kern w:val="2"/><w:sz w:val="{hp}"/><w:szCs w:val="{hp}"/>'
        '<w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr>'
    )


def _heading_ppr(level: int) -> str:
    return (
        "<w:pPr><w:keepNext/><w:keepLines/>"
        f'<w:spacing w:before="0" w:after="0" w:line="{LINE_PITCH_TWIPS}" w:lineRule="exact"/>'
        f'<w:ind w:firstLine="{INDENT_2CHARS_TWIPS}"/><w:jc w:val="left"/>'
        f'<w:outlineLvl w:val="{level - 1}"/></w:pPr>'
    )


def _install_styles(document: docx.document.Document) -> None:
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is not None:
        styles.remove(defaults)
    styles.insert(
        0,
        parse_xml(
            f'<w:docDefaults xmlns:w="{W_NS}"><w:rPrDefault>'
            + _style_rpr(FONT_BODY, SIZE_3HAO)
            .replace('<w:b w:val="0"/><w:bCs w:val="0"/>', "")
            .replace('<w:color w:val="000000"/>', "")
            + '</w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after="0" '
            f'w:line="{LINE_PITCH_TWIPS}" w:lineRule="exact"/></w:pPr></w:pPrDefault>'
            "</w:docDefaults>"
        ),
    )
    body_ppr = (
        f'<w:pPr><w:widowControl/><w:spacing w:before="0" w:after="0" w:line="{LINE_PITCH_TWIPS}" '
        f'w:lineRule="exact"/><w:ind w:firstLine="{INDENT_2CHARS_TWIPS}"/>'
        '<w:jc w:val="both"/></w:pPr>'
    )
    toc_ppr = (
        "<w:pPr><w:tabs>"
        f'<w:tab w:val="right" w:leader="dot" w:pos="{TEXT_WIDTH_TWIPS - 10}"/></w:tabs>'
        f'<w:spacing w:before="0" w:after="0" w:line="{LINE_PITCH_TWIPS}" w:lineRule="exact"/>'
        '<w:ind w:left="{left}" w:firstLine="0"/></w:pPr>'
    )
    new = [
        _style_xml(
            "Normal",
            "Normal",
            based_on=None,
            ppr_xml=body_ppr,
            rpr_xml=_style_rpr(FONT_BODY, SIZE_3HAO),
            default=True,
        ),
        _style_xml(
            "Title",
            "Title",
            next_style="Normal",
            ui_priority=10,
            ppr_xml='<w:pPr><w:spacing w:before="0" w:after="0" w:line="720" '
            'w:lineRule="exact"/><w:ind w:firstLine="0"/><w:jc w:val="center"/></w:pPr>',
            rpr_xml=_style_rpr(FONT_TITLE, SIZE_2HAO),
        ),
        _style_xml(
            "Heading1",
            "heading 1",
            next_style="Normal",
            ui_priority=9,
            ppr_xml=_heading_ppr(1),
            rpr_xml=_style_rpr(FONT_H1, SIZE_3HAO),
        ),
        _style_xml(
            "Heading2",
            "heading 2",
            next_style="Normal",
            ui_priority=9,
            ppr_xml=_heading_ppr(2),
            rpr_xml=_style_rpr(FONT_H2, SIZE_3HAO),
        ),
        _style_xml(
            "Heading3",
            "heading 3",
            next_style="Normal",
            ui_priority=9,
            ppr_xml=_heading_ppr(3),
            rpr_xml=_style_rpr(FONT_BODY, SIZE_3HAO, bold=True),
        ),
        _style_xml(
            "Heading4",
            "heading 4",
            next_style="Normal",
            ui_priority=9,
            ppr_xml=_heading_ppr(4),
            rpr_xml=_style_rpr(FONT_BODY, SIZE_3HAO, bold=True),
        ),
        _style_xml(
            "TOCHeading",
            "TOC Heading",
            next_style="Normal",
            ui_priority=39,
            ppr_xml='<w:pPr><w:spacing w:before="0" w:after="240" w:line="720" '
            'w:lineRule="exact"/><w:ind w:firstLine="0"/><w:jc w:val="center"/></w:pPr>',
            rpr_xml=_style_rpr(FONT_TITLE, SIZE_2HAO),
        ),
        _style_xml(
            "TOC1",
            "toc 1",
            next_style="Normal",
            ui_priority=39,
            ppr_xml=toc_ppr.replace("{left}", "0"),
            rpr_xml=_style_rpr(FONT_H1, SIZE_XIAO4 + 2),
        ),
        _style_xml(
            "TOC2",
            "toc 2",
            next_style="Normal",
            ui_priority=39,
            ppr_xml=toc_ppr.replace("{left}", "420"),
            rpr_xml=_style_rpr(FONT_BODY, SIZE_XIAO4 + 2),
        ),
        _style_xml(
            "TOC3",
            "toc 3",
            next_style="Normal",
            ui_priority=39,
            ppr_xml=toc_ppr.replace("{left}", "840"),
            rpr_xml=_style_rpr(FONT_BODY, SIZE_XIAO4 + 2),
        ),
        _style_xml(
            "TableText",
            "Table Text",
            ui_priority=99,
            ppr_xml='<w:pPr><w:snapToGrid w:val="0"/>'
            '<w:spacing w:before="30" w:after="30" w:line="240" w:lineRule="auto"/>'
            '<w:ind w:firstLine="0"/><w:jc w:val="center"/></w:pPr>',
            rpr_xml=_style_rpr(FONT_BODY, SIZE_XIAO4),
        ),
        _style_xml(
            "Footer",
            "footer",
            ui_priority=99,
            ppr_xml='<w:pPr><w:tabs><w:tab w:val="center" w:pos="4153"/>'
            '<w:tab w:val="right" w:pos="8306"/></w:tabs><w:spacing w:line="240" '
            'w:lineRule="auto"/><w:ind w:firstLine="0"/></w:pPr>',
            rpr_xml=_style_rpr(FONT_PAGE_NO, SIZE_4HAO),
        ),
    ]
    for xml in new:
        el = parse_xml(xml)
        sid = el.get(qn("w:styleId"))
        for old in styles.findall(qn("w:style")):
            if old.get(qn("w:styleId")) == sid:
                styles.remove(old)
        styles.append(el)


def _page_number_paragraph(paragraph, *, odd: bool) -> None:
    """ "— N —" in 4号宋体; odd pages right-aligned, even pages left, one character in."""
    props = rpr(FONT_PAGE_NO, SIZE_4HAO)
    # GB/T 9704 7.5: odd page numbers on the right, even on the left, one character in
    ind = 'w:right="280"' if odd else 'w:left="280"'
    xml = (
        f'<w:p xmlns:w="{W_NS}"><w:pPr><w:pStyle w:val="Footer"/>'
        f'<w:ind {ind} w:firstLine="0"/><w:jc w:val="{"right" if odd else "left"}"/></w:pPr>'
        f'<w:r>{props}<w:t xml:space="preserve">— </w:t></w:r>'
        + field_runs("PAGE", "1", FONT_PAGE_NO, SIZE_4HAO)
        + f'<w:r>{props}<w:t xml:space="preserve"> —</w:t></w:r></w:p>'
    )
    new = parse_xml(xml)
    paragraph._p.addprevious(new)
    paragraph._p.getparent().remove(paragraph._p)


def _insert_setting(settings, tag: str, attrs: dict[str, str], successors: tuple[str, ...]) -> None:
    el = settings.find(qn(tag))
    if el is None:
        el = settings.makeelement(qn(tag), {})
        for succ in successors:
            anchor = settings.find(qn(succ))
            if anchor is not None:
                anchor.addprevious(el)
                break
        else:
            settings.append(el)
    for k, v in attrs.items():
        el.set(qn(k), v)


def build_skeleton(*, title: str, author: str, subject: str) -> docx.document.Document:
    """A python-docx document with page set-up, styles and footers, body = one marker.

    The final section (the volume after the cover) gets page numbers starting at 1;
    the cover section is written into the body by the caller (see :func:`cover_section_break`).
    """
    document = docx.Document()
    _install_styles(document)
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width = Mm(210)
    section.page_height = Mm(297)
    section.top_margin = Mm(MARGINS_MM["top"])
    section.bottom_margin = Mm(MARGINS_MM["bottom"])
    section.left_margin = Mm(MARGINS_MM["left"])
    section.right_margin = Mm(MARGINS_MM["right"])
    section.header_distance = Mm(15)
    section.footer_distance = Mm(28)  # the page number sits 7 mm below the text block
    sect_pr = section._sectPr
    grid = sect_pr.find(qn("w:docGrid"))
    if grid is not None:
        grid.set(qn("w:type"), "lines")
        grid.set(qn("w:linePitch"), str(LINE_PITCH_TWIPS))
    document.settings.odd_and_even_pages_header_footer = True
    _page_number_paragraph(section.footer.paragraphs[0], odd=True)
    _page_number_paragraph(section.even_page_footer.paragraphs[0], odd=False)
    pg_num = sect_pr.makeelement(qn("w:pgNumType"), {qn("w:start"): "1"})
    cols = sect_pr.find(qn("w:cols"))
    if cols is not None:
        cols.addprevious(pg_num)
    else:
        sect_pr.append(pg_num)
    settings = document.settings.element
    after_update = (
        "w:hdrShapeDefaults",
        "w:footnotePr",
        "w:endnotePr",
        "w:compat",
        "w:docVars",
        "w:rsids",
        "m:mathPr",
        "w:attachedSchema",
        "w:themeFontLang",
        "w:clrSchemeMapping",
    )
    _insert_setting(settings, "w:updateFields", {"w:val": "true"}, after_update)
    lang = settings.find(qn("w:themeFontLang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")
    props = document.core_properties
    props.title = title
    props.author = author
    props.subject = subject
    props.language = "zh-CN"
    document.add_paragraph(BODY_MARKER)
    return document


def cover_section_break(document: docx.document.Document) -> str:
    """The paragraph that ends the cover section: same page set-up, no page numbers."""
    from lxml import etree

    sect = etree.tostring(document.sections[-1]._sectPr, encoding=str)
    sect = re.sub(r"<w:(footer|header)Reference [^>]*/>", "", sect)
    sect = re.sub(r"<w:pgNumType [^>]*/>", "", sect)
    sect = re.sub(r' xmlns:\w+="[^"]*"', "", sect)
    return para("", ppr(indent_first=0, section=sect))


def font_table_xml() -> str:
    """``word/fontTable.xml`` naming the GB/T 9704 fonts with their alternates."""
    fonts = [
        (FONT_LATIN, None, "00", "roman", "variable"),
        (FONT_BODY, FONT_FALLBACKS[FONT_BODY], "86", "modern", "fixed"),
        ("仿宋", FONT_FALLBACKS["仿宋"], "86", "modern", "fixed"),
        (FONT_TITLE, FONT_FALLBACKS[FONT_TITLE], "86", "script", "default"),
        (FONT_H1, FONT_FALLBACKS[FONT_H1], "86", "modern", "variable"),
        (FONT_H2, FONT_FALLBACKS[FONT_H2], "86", "modern", "fixed"),
        ("楷体", FONT_FALLBACKS["楷体"], "86", "modern", "fixed"),
        (FONT_PAGE_NO, FONT_FALLBACKS[FONT_PAGE_NO], "86", "auto", "variable"),
    ]
    out = [
        (f"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n<w:fonts xmlns:w=\"{W_NS}\">")
    ]
    for name, alt, charset, family, pitch in fonts:
        out.append(f'<w:font w:name="{esc(name)}">')
        if alt:
            out.append(f'<w:altName w:val="{esc(alt)}"/>')
        out.append(
            f'<w:charset w:val="{charset}"/><w:family w:val="{family}"/>'
            f'<w:pitch w:val="{pitch}"/></w:font>'
        )
    out.append("</w:fonts>")
    return "".join(out)


# --------------------------------------------------------------------------- streaming


class DocxStream:
    """Write a .docx whose body is streamed: ``write()`` XML chunks, ``add_image()``, ``close()``.

    The body goes to a temporary file next to ``out_path`` and the package is
    assembled at :meth:`close`, then renamed into place, so a failure never leaves
    a half-written volume behind.  Call :meth:`abort` on failure.
    """

    def __init__(self, skeleton: docx.document.Document, out_path: Path) -> None:
        self.out_path = Path(out_path)
        buf = io.BytesIO()
        skeleton.save(buf)
        self._skeleton = zipfile.ZipFile(buf)
        xml = self._skeleton.read("word/document.xml").decode("utf-8")
        pos = xml.index(BODY_MARKER)
        start = xml.rfind("<w:p>", 0, pos)
        start_alt = xml.rfind("<w:p ", 0, pos)
        start = max(start, start_alt)
        end = xml.index("</w:p>", pos) + len("</w:p>")
        self._head, self._tail = xml[:start], xml[end:]
        self._tmpdir = Path(tempfile.mkdtemp(prefix=".minqing-compile-", dir=self.out_path.parent))
        self._body_path = self._tmpdir / "document.xml"
        self._body = self._body_path.open("w", encoding="utf-8")
        self._body.write(self._head)
        self._zip_path = self._tmpdir / "out.docx"
        self._zip = zipfile.ZipFile(self._zip_path, "w", compression=zipfile.ZIP_DEFLATED)
        self._rels: list[tuple[str, str]] = []
        self._next_rel = 1000
        self._next_pic = 1
        self._closed = False

    def write(self, xml: str) -> None:
        """Append body XML (paragraphs, tables)."""
        self._body.write(xml)

    def add_image(self, data: bytes, ext: str = "jpeg") -> tuple[str, int]:
        """Store an image part; return its relationship id and a fresh drawing id."""
        self._next_rel += 1
        rel_id = f"rIdMq{self._next_rel}"
        target = f"media/mq{self._next_rel}.{ext}"
        self._zip.writestr(f"word/{target}", data, compress_type=zipfile.ZIP_STORED)
        self._rels.append((rel_id, target))
        pic_id = self._next_pic
        self._next_pic += 1
        return rel_id, pic_id

    def close(self, pages: dict[str, int] | None = None) -> None:
        """Assemble the package and move it to ``out_path``.

        ``pages`` maps bookmark names to the page numbers that replace their
        :func:`page_token` placeholders (the contents' cached page numbers).
        """
        self._body.write(self._tail)
        self._body.close()
        for info in self._skeleton.infolist():
            name = info.filename
            if name == "word/document.xml":
                continue
            data = self._skeleton.read(name)
            if name == "word/_rels/document.xml.rels" and self._rels:
                text = data.decode("utf-8")
                extra = "".join(
                    f'<Relationship Id="{rid}" Type="{IMAGE_RELTYPE}" Target="{t}"/>'
                    for rid, t in self._rels
                )
                data = text.replace("</Relationships>", extra + "</Relationships>").encode()
            elif name == "word/fontTable.xml":
                data = font_table_xml().encode("utf-8")
            elif name == "docProps/thumbnail.jpeg":
                continue  # python-docx's template preview shows an unrelated page
            elif name == "_rels/.rels":
                text = data.decode("utf-8")
                data = re.sub(r"<Relationship [^>]*thumbnail[^>]*/>", "", text).encode()
            self._zip.writestr(info.filename, data)
        pages = pages or {}

        def fill(m: re.Match[str]) -> str:
            return str(pages.get(m.group(1), ""))

        with (
            self._body_path.open("r", encoding="utf-8") as src,
            self._zip.open("word/document.xml", "w", force_zip64=True) as dst,
        ):
            carry = ""
            while True:
                chunk = src.read(1 << 20)
                text = carry + chunk
                if not chunk:
                    dst.write(_PAGE_TOKEN.sub(fill, text).encode("utf-8"))
                    break
                # keep a tail that might hold the start of a placeholder
                cut = max(len(text) - 64, 0)
                at = text.rfind("@@PG", cut)
                cut = at if at != -1 else len(text)
                dst.write(_PAGE_TOKEN.sub(fill, text[:cut]).encode("utf-8"))
                carry = text[cut:]
        self._zip.close()
        os.replace(self._zip_path, self.out_path)
        self._cleanup()
        self._closed = True

    def abort(self) -> None:
        """Drop everything written so far."""
        if self._closed:
            return
        try:
            self._body.close()
            self._zip.close()
        finally:
            self._cleanup()
            self._closed = True

    def _cleanup(self) -> None:
        shutil.rmtree(self._tmpdir, ignore_errors=True)


#: Debian's fonts standing in for the GB/T 9704 fonts, per style (fonts-noto-cjk,
#: fonts-arphic-ukai): 小标宋 title → Noto Serif CJK SC (bold), 黑体 → Noto Sans CJK SC,
#: 楷体 → AR PL UKai CN, 仿宋 body → Noto Serif CJK SC. LibreOffice ignores the font table's
#: alternates, so a volume for Linux names these in its runs and keeps the GB fonts as the
#: alternates Word uses where they are installed.
LINUX_FONTS: dict[str, str] = {
    FONT_BODY: "Noto Serif CJK SC",
    "仿宋": "Noto Serif CJK SC",
    FONT_TITLE: "Noto Serif CJK SC",
    FONT_H1: "Noto Sans CJK SC",
    FONT_H2: "AR PL UKai CN",
    "楷体": "AR PL UKai CN",
    FONT_PAGE_NO: "Noto Serif CJK SC",
}


def retarget_fonts(path: Path | str, mapping: dict[str, str] = LINUX_FONTS) -> None:
    """Rewrite a written .docx so that its East Asian fonts are ``mapping``'s families, each
    with the GB font it replaces as ``w:altName`` in the font table (replaced atomically)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".docx")
    os.close(fd)
    try:
        with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
            for item in zin.infolist():
                data = zin.read(item.filename)
                if item.filename == "word/fontTable.xml":
                    text = data.decode("utf-8")
                    for gb, linux in mapping.items():
                        text = re.sub(
                            rf'<w:font w:name="{re.escape(esc(gb))}">(<w:altName w:val="[^"]*"/>)?',
                            f'<w:font w:name="{esc(linux)}"><w:altName w:val="{esc(gb)}"/>',
                            text,
                        )
                    seen: set[str] = set()

                    def once(m: re.Match[str], seen: set[str] = seen) -> str:  # once per family
                        name = m.group(1)
                        if name in seen:
                            return ""
                        seen.add(name)
                        return m.group(0)

                    text = re.sub(r'<w:font w:name="([^"]*)">.*?</w:font>', once, text)
                    data = text.encode("utf-8")
                elif item.filename.startswith("word/") and item.filename.endswith(".xml"):
                    text = data.decode("utf-8")
                    for gb, linux in mapping.items():
                        text = text.replace(f'w:eastAsia="{esc(gb)}"', f'w:eastAsia="{esc(linux)}"')
                    data = text.encode("utf-8")
                zout.writestr(item, data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
