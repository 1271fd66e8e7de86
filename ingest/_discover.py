"""Turn the paths a user gives into books and their files, in page order."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import natsort

from minqing.ingest._paths import path_text
from minqing.ingest._sniff import ARCHIVE_DB, NON_PAGE_DIRS, UNREADABLE, is_non_page, sniff_file
from minqing.ingest.errors import InputNotFoundError, NoScansError
from minqing.ingest.types import BookSource, SourceFile


def _sorted(paths: list[Path]) -> list[Path]:
    # natural order: p2 before p10; case-insensitive so P3 sits between p2 and p4
    return natsort.natsorted(paths, key=lambda p: p.name, alg=natsort.ns.IGNORECASE)


def _book_id(name: str) -> str:
    # a book id is text that prints and stores: escape a non-UTF-8 byte or a newline
    return path_text(name).replace("/", "_").strip() or "book"


def _walk(
    folder: Path, out: list[tuple[str, Path, list[tuple[Path, str]]]], seen: set[str]
) -> None:
    """Collect books under ``folder``: its loose non-PDF files form one book named
    after the folder, each PDF is a book of its own, each subfolder is walked the same way.

    ``seen`` holds the real paths of the folders walked so far: a folder reached again
    (a symbolic link to ``.`` or to a parent, two links to one folder) is walked once.
    A folder that cannot be listed becomes a book whose one input is the folder itself
    (kind ``unreadable``), so that it is reported as one failed input and the rest goes on.
    """
    real = os.path.realpath(folder)
    if real in seen:
        return
    seen.add(real)
    try:
        entries = list(folder.iterdir())
    except OSError:
        out.append((_book_id(Path(os.path.abspath(folder)).name), folder, [(folder, UNREADABLE)]))
        return
    if any(e.name == ARCHIVE_DB for e in entries):
        return  # an archive folder below the scans (its images are not new pages)
    loose: list[tuple[Path, str]] = []
    pdfs: list[Path] = []
    subdirs: list[Path] = []
    for entry in _sorted(entries):
        if entry.name.startswith("."):
            continue
        try:
            is_dir, is_file = entry.is_dir(), entry.is_file()
        except OSError:  # pragma: no cover - stat failed (I/O error): report it as a page
            is_dir, is_file = False, True
        if is_dir:
            if entry.name not in NON_PAGE_DIRS:
                subdirs.append(entry)
        elif is_file or (entry.is_symlink() and not entry.exists()):
            # a dangling symbolic link is listed too, so that it is reported, not skipped
            if is_non_page(entry):
                continue
            kind = sniff_file(entry) if is_file else UNREADABLE
            if kind == "pdf":
                pdfs.append(entry)
            else:
                loose.append((entry, kind))
    if loose:
        out.append((_book_id(Path(os.path.abspath(folder)).name), folder, loose))
    for pdf in pdfs:
        out.append((_book_id(pdf.stem), pdf, [(pdf, "pdf")]))
    for sub in subdirs:
        _walk(sub, out, seen)


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

    A folder reached twice (through a symbolic link) is walked once. A folder that
    cannot be listed, and a symbolic link whose target is missing, are listed as input
    files of kind ``unreadable``, so that :func:`load_source` reports each as one
    failed input while the rest of the batch goes on.

    Raises:
        InputNotFoundError: a PATH does not exist.
        NoScansError: a PATH holds no candidate files (nothing to do).
    """
    found: list[tuple[str, Path, list[tuple[Path, str]]]] = []
    seen: set[str] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise InputNotFoundError(path, "no such file or folder", "check the path")
        before = len(found)
        if path.is_dir():
            if os.path.realpath(path) in seen:
                continue  # given twice, or inside a folder already given
            _walk(path, found, seen)
        elif is_non_page(path):
            raise InputNotFoundError(
                path,
                "not a scan (a side file such as JSON or Markdown)",
                "give a folder of page images or a PDF",
            )
        else:
            kind = sniff_file(path) if path.exists() else UNREADABLE
            found.append((_book_id(path.stem), path, [(path, kind)]))
        if len(found) == before:
            raise NoScansError(
                path,
                "holds no scan files",
                "give a folder of page images, a folder of PDFs or a PDF",
            )
    books: list[BookSource] = []
    ids: dict[str, int] = {}
    for book_id, origin, files in found:
        n = ids.get(book_id, 0) + 1
        ids[book_id] = n
        if n > 1:
            book_id = f"{book_id}-{n}"
            while book_id in ids:  # pragma: no cover - pathological names like a-2 beside a
                n += 1
                book_id = f"{book_id.rsplit('-', 1)[0]}-{n}"
            ids[book_id] = 1
        books.append(
            BookSource(
                book_id=book_id,
                files=tuple(SourceFile(path=p, book_id=book_id, kind=k) for p, k in files),
                origin=origin,
            )
        )
    return books
