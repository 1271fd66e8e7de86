"""Types produced by the ingest stage: books, input files and normalised pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class SourceFile:
    """One input file of a book (an image, a multi-page TIFF or a PDF).

    Attributes:
        path: the file, as found under the path the user gave.
        book_id: the book it belongs to.
        kind: what its bytes are (``jpeg``, ``png``, ``tiff``, ``bmp``, ``webp``,
            ``pdf``, ``empty``, ``unknown``, or ``unreadable`` for a folder that cannot be
            listed or a dangling symbolic link), sniffed by :func:`ingest.discover`;
            empty when not sniffed. :func:`ingest.load_source` sniffs again anyway.
    """

    path: Path
    book_id: str
    kind: str = ""


@dataclass(frozen=True)
class BookSource:
    """A notebook to ingest: its id and its input files in page order.

    ``book_id`` is the folder name or PDF stem unless a manifest says otherwise.
    """

    book_id: str
    files: tuple[SourceFile, ...]
    origin: Path

    def __post_init__(self) -> None:
        if not self.book_id or "/" in self.book_id:
            raise ValueError(f"invalid book id {self.book_id!r}")
        object.__setattr__(self, "files", tuple(self.files))


@dataclass(frozen=True)
class Page:
    """One normalised single page, ready for OCR.

    Attributes:
        book_id: the book it belongs to.
        source: the input file it came from.
        index_in_source: 0-based sub-page within the source (PDF page, TIFF frame,
            half of a spread, ...), so pages sort stably.
        original_bytes: the untouched scan bytes (stored content-addressed).
        original_ext: file extension for the original (``.jpg``, ``.png``, ...).
        image: the normalised page image, BGR ``uint8`` array.
        sha256: content hash of the normalised image (PNG-encoded); OCR is cached
            on it.
        transforms: what was done to the original, in order, for the record.
        flags: quality flags: name -> measured value (empty when the page is fine).
        text_lines: lines taken from a PDF text layer (then OCR is skipped), as
            ``(text, (x0, y0, x1, y1))`` in image pixels; None for scans.
        png: the PNG encoding of ``image`` that ``sha256`` hashes (OpenCV's default
            settings), so that whoever stores the page need not encode it again
            (~60 ms a page); None when the producer did not keep it.
    """

    book_id: str
    source: SourceFile
    index_in_source: int
    original_bytes: bytes = field(repr=False)
    original_ext: str
    image: np.ndarray = field(repr=False, compare=False)
    sha256: str
    transforms: tuple[str, ...] = ()
    flags: tuple[tuple[str, float], ...] = ()
    text_lines: tuple[tuple[str, tuple[float, float, float, float]], ...] | None = None
    png: bytes | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.image is None or self.image.ndim != 3 or self.image.shape[2] != 3:
            raise ValueError(f"Page.image must be an HxWx3 BGR array ({self.source.path})")
        if len(self.sha256) != 64:
            raise ValueError(f"Page.sha256 must be a sha256 hex digest, got {self.sha256!r}")
