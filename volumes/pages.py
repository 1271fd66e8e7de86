"""Exact page numbers for a volume's contents, taken from LibreOffice's own layout.

A Word file does not know its page breaks: the compiler writes the contents with page
numbers estimated by its page model, Word recomputes them on open (``w:updateFields``),
but LibreOffice prints the cached numbers as they are, and the estimate drifts on long
volumes or when a font falls back to a wider one. When LibreOffice is installed, the
compiled file is laid out once by ``soffice --headless --convert-to pdf``; each heading of
the contents is found, in order, on the rendered pages, and the folio printed in that
page's footer (``— N —``) replaces the cached number. The same rendering can be kept as the
volume's PDF.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

#: seconds LibreOffice may take to lay a volume out (a 600-entry volume takes ~30 s)
SOFFICE_TIMEOUT = 600
_FOLIO = re.compile(r"—\s*(\d+)\s*—")


class LayoutError(Exception):
    """LibreOffice could not lay the volume out (missing, failed or too slow)."""


@dataclass(frozen=True)
class PagesCheck:
    """What :func:`fix_contents_pages` did."""

    headings: int  # contents entries
    found: int  # found on the rendered pages
    changed: int  # cached numbers that were wrong and were corrected
    pdf: Path | None  # the volume rendered after the correction, when asked for


def soffice() -> str | None:
    """LibreOffice's command, when installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def render_pdf(docx: Path, out_dir: Path, timeout: float = SOFFICE_TIMEOUT) -> Path:
    """``docx`` rendered to ``out_dir/<stem>.pdf`` by LibreOffice (its own throwaway profile,
    so that a LibreOffice the user has open is neither used nor disturbed)."""
    exe = soffice()
    if exe is None:
        raise LayoutError("LibreOffice (soffice) is not installed")
    with tempfile.TemporaryDirectory(prefix="minqing-lo-") as profile:
        try:
            proc = subprocess.run(
                [
                    exe,
                    f"-env:UserInstallation={Path(profile).as_uri()}",
                    "--headless",
                    "--convert-to",
                    "pdf",
                    "--outdir",
                    str(out_dir),
                    str(docx),
                ],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as e:
            raise LayoutError(f"LibreOffice took more than {timeout:.0f} s") from e
        except OSError as e:
            raise LayoutError(f"LibreOffice could not be started ({e.strerror or e})") from e
    pdf = out_dir / f"{docx.stem}.pdf"
    if proc.returncode != 0 or not pdf.exists():
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise LayoutError(f"LibreOffice failed (exit {proc.returncode}: {tail[0]})")
    return pdf


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def heading_folios(pdf: Path, headings: list[tuple[int, str, str]]) -> dict[str, int]:
    """The printed page number of each heading ``(level, text, bookmark)``, by bookmark.

    Headings are looked for in order, from the first page after the contents, as the first
    line of a page that starts with the heading's text; a heading not found is left out.
    """
    import pdfplumber

    with pdfplumber.open(pdf) as doc:
        pages = [page.extract_text() or "" for page in doc.pages]
    toc = [i for i, text in enumerate(pages) if "目录" in _squash(text)[:40]]
    if not toc:
        return {}
    first = toc[0]
    # the contents may run over several pages: the body starts after its last dot leaders
    while first + 1 < len(pages) and "....." in pages[first + 1]:
        first += 1
    folios: dict[str, int] = {}
    at = first + 1
    for _level, text, bookmark in headings:
        want = _squash(text)
        for i in range(at, len(pages)):
            if any(_squash(line).startswith(want) for line in pages[i].splitlines()):
                found = _FOLIO.findall(pages[i])
                folios[bookmark] = int(found[-1]) if found else i - toc[0] + 1
                at = i
                break
    return folios


def set_contents_pages(docx: Path, folios: dict[str, int]) -> int:
    """Write ``folios`` as the cached results of the contents' PAGEREF fields of ``docx``
    (replaced atomically); how many numbers changed."""
    with zipfile.ZipFile(docx) as z:
        items = [(info, z.read(info)) for info in z.infolist()]
    changed = 0

    def fix(m: re.Match[str]) -> str:
        nonlocal changed
        new = folios.get(m.group(2))
        if new is None or m.group(4) == str(new):
            return m.group(0)
        changed += 1
        return f"{m.group(1)}{new}{m.group(5)}"

    pageref = re.compile(
        r"(PAGEREF (\S+) \\h </w:instrText></w:r>"
        r"(?:(?!</w:r>).)*?</w:r>"  # the run holding the separate mark
        r"(<w:r>(?:(?!<w:t[ >]).)*?<w:t[^>]*>))(\d*)(</w:t>)",
        re.S,
    )
    out: list[tuple[zipfile.ZipInfo, bytes]] = []
    for info, data in items:
        if info.filename == "word/document.xml":
            xml = pageref.sub(fix, data.decode("utf-8"))
            data = xml.encode("utf-8")
        out.append((info, data))
    if not changed:
        return 0
    fd, tmp = tempfile.mkstemp(prefix=f".{docx.name}.", suffix=".tmp", dir=docx.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for info, data in out:
                z.writestr(info, data)
        os.replace(tmp, docx)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return changed


def fix_contents_pages(
    docx: Path, headings: list[tuple[int, str, str]], pdf_out: Path | None = None
) -> PagesCheck:
    """Lay ``docx`` out with LibreOffice and correct its contents' page numbers; with
    ``pdf_out``, also write the corrected volume as a PDF there.

    Raises:
        LayoutError: LibreOffice is missing, failed or took too long (``docx`` unchanged).
    """
    with tempfile.TemporaryDirectory(prefix="minqing-pages-") as tmp:
        work = Path(tmp)
        copy = work / "volume.docx"
        shutil.copyfile(docx, copy)
        folios = heading_folios(render_pdf(copy, work / "first"), headings)
        changed = set_contents_pages(docx, folios)
        pdf = None
        if pdf_out is not None:
            if changed:
                shutil.copyfile(docx, copy)
                rendered = render_pdf(copy, work / "second")
            else:
                rendered = work / "first" / "volume.pdf"
            pdf_out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(rendered, pdf_out)
            pdf = pdf_out
    return PagesCheck(headings=len(headings), found=len(folios), changed=changed, pdf=pdf)
