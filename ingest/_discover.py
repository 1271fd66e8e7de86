"""Turn the paths a user gives into books and their files, in page order."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import natsort

from minqing.ingest._sniff import NON_PAGE_DIRS, is_non_page, sniff_file
from minqing.ingest.errors import InputNotFoundError
from minqing.ingest.types import BookSource, SourceFile


def _sorted(paths: list[Path]) -> list[Path]:
    # natural order: p2 before p10; case-insensitive so P3 sits between p2 and p4
    return natsort.natsorted(paths, key=lambda p: p.name, alg=natsort.ns.IGNORECASE)


def _book_id(name: str) -> str:
    return name.replace("/", "_").strip() or "book"


def _walk(folder: Path, out: list[tuple[str, Path, list[tuple[Path, str]]]]) -> None:
    """Collect books under ``folder``: its loose non-PDF files form one book named
    after the folder, each PDF is a book of its own, each subfolder is walked the same way."""
    try:
        entries = list(folder.iterdir())
    except OSError as e:
        raise InputNotFoundError(
            folder, f"cannot list folder: {e.strerror or e}", "check the path and its permissions"
        ) from e
    loose: list[tuple[Path, str]] = []
    pdfs: list[Path] = []
    subdirs: list[Path] = []
    for entry in _sorted(entries):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            if entry.name not in NON_PAGE_DIRS:
                subdirs.append(entry)
        elif entry.is_file():
            if is_non_page(entry):
                continue
            kind = sniff_file(entry)
            if kind == "pdf":
                pdfs.append(entry)
            else:
                loose.append((entry, kind))
    if loose:
        out.append((_book_id(Path(os.path.abspath(folder)).name), folder, loose))
    for pdf in pdfs:
        out.append((_book_id(pdf.stem), pdf, [(pdf, "pdf")]))
    for sub in subdirs:
        _walk(sub, out)


def discover(paths: Sequence[Path | str]) -> list[BookSource]:
    """Find the books in the given paths.

    A PATH may be a folder of page images (one notebook, pages in natural sort
    order), a folder of such folders (one book per subfolder, walked to any
    depth), a PDF (one book), a folder of PDFs (one book each), or a single image
    file (a book of its own). ``book_id`` is the folder name or the file stem; when
    two books would get the same id, later ones get ``-2``, ``-3``, ... in the order
    found, so the same input always yields the same ids.

    Files are recognised by their bytes. Hidden files and side files (``*.json``,
    ``*.md``, ``*.txt``, ``*.csv``, ``*.yaml``, ...) are not pages; every other
    file is listed, recognised or not, so that :func:`load_source` can report it.
    Within a folder, PDFs are books of their own and the other files form the
    folder's book.

    Raises:
        InputNotFoundError: a PATH does not exist or holds no candidate files.
    """
    found: list[tuple[str, Path, list[tuple[Path, str]]]] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputNotFoundError(path, "no such file or folder", "check the path")
        before = len(found)
        if path.is_dir():
            _walk(path, found)
        elif is_non_page(path):
            raise InputNotFoundError(
                path,
                "not a scan (a side file such as JSON or Markdown)",
                "give a folder of page images or a PDF",
            )
        else:
            found.append((_book_id(path.stem), path, [(path, sniff_file(path))]))
        if len(found) == before:
            raise InputNotFoundError(
                path,
                "holds no scan files",
                "give a folder of page images, a folder of PDFs or a PDF",
            )
    books: list[BookSource] = []
    seen: dict[str, int] = {}
    for book_id, origin, files in found:
        n = seen.get(book_id, 0) + 1
        seen[book_id] = n
        if n > 1:
            book_id = f"{book_id}-{n}"
            while book_id in seen:  # pragma: no cover - pathological names like a-2 beside a
                n += 1
                book_id = f"{book_id.rsplit('-', 1)[0]}-{n}"
            seen[book_id] = 1
        books.append(
            BookSource(
                book_id=book_id,
                files=tuple(SourceFile(path=p, book_id=book_id, kind=k) for p, k in files),
                origin=origin,
            )
        )
    return books
