"""One input file in, its normalised pages out."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import cv2

from minqing.ingest._read import RawPage, read_pdf, read_raster
from minqing.ingest._sniff import READABLE, UNREADABLE, sniff_bytes
from minqing.ingest.errors import EmptyFileError, UnsupportedFormatError, read_error
from minqing.ingest.normalise import normalise
from minqing.ingest.quality import quality_flags
from minqing.ingest.types import Page, SourceFile

_UNSUPPORTED_HINTS = {
    "heic": "export the photo as JPEG, or set the phone camera to save Most Compatible photos",
    "gif": "convert it to PNG",
    "jp2": "convert it to PNG or TIFF",
    "zip": "unpack the archive (or save the document as PDF) and ingest the files",
}


def _png(image) -> bytes:
    ok, png = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover
        raise ValueError("cannot PNG-encode image")
    return png.tobytes()


def image_sha256(image) -> str:
    """sha256 of a BGR image encoded as PNG with OpenCV's default settings."""
    return hashlib.sha256(_png(image)).hexdigest()


def read_raw(src: SourceFile) -> Iterator[RawPage]:
    """Decode a source file into raw (un-normalised) pages, one at a time."""
    path = Path(src.path)
    if src.kind == UNREADABLE or path.is_dir():
        # a folder discover() could not list, or a dangling symbolic link
        raise read_error(path, PermissionError(13, "cannot be read"))
    try:
        data = path.read_bytes()
    except OSError as e:
        raise read_error(path, e) from e
    kind = sniff_bytes(data[:1024])
    if kind == "empty":
        raise EmptyFileError(path, "empty file (0 bytes)", "re-copy the file or rescan the page")
    if kind == "pdf":
        return read_pdf(data, path)
    if kind in READABLE:
        return read_raster(data, kind, path)
    if kind in _UNSUPPORTED_HINTS:
        raise UnsupportedFormatError(
            path, f"unsupported format ({kind.upper()})", _UNSUPPORTED_HINTS[kind]
        )
    raise UnsupportedFormatError(
        path,
        "not an image or PDF (unrecognised file contents)",
        "give JPEG, PNG, TIFF or PDF scans, or move the file out of the scan folder",
    )


def iter_pages(src: SourceFile) -> Iterator[Page]:
    """One input file → its normalised pages in order, produced one at a time.

    One page for a JPEG/PNG, N for a PDF or multi-page TIFF, two (left, right) for
    a two-page spread. ``index_in_source`` numbers the pages 0..n-1. Each page is
    decoded when asked for, so a caller that stores a page before asking for the
    next holds one page in memory however long the file. A damaged page raises
    when it is reached: a caller that must fail the whole file drops the pages it got.
    Runs in worker processes: it only reads the file, and every exception it
    raises pickles.

    Raises:
        BadInputError: a subclass naming the file, the problem and the fix.
    """
    n = 0
    for raw in read_raw(src):
        for norm in normalise(raw.image, text_layer=raw.text_lines is not None):
            text_lines = raw.text_lines
            if text_lines is not None and norm.transforms:
                # normalisation moved pixels: map text-layer boxes through it
                text_lines = norm.map_lines(text_lines)
            png = _png(norm.image)
            page = Page(
                book_id=src.book_id,
                source=src,
                index_in_source=n,
                original_bytes=raw.original_bytes,
                original_ext=raw.original_ext,
                image=norm.image,
                sha256=hashlib.sha256(png).hexdigest(),
                transforms=tuple(raw.transforms) + tuple(norm.transforms),
                flags=quality_flags(norm.image, dpi=raw.dpi, skew=norm.residual_skew),
                text_lines=text_lines,
                png=png,
            )
            del norm, png
            n += 1
            yield page
            del page
        del raw


def load_source(src: SourceFile) -> list[Page]:
    """One input file → all its normalised pages in order (see :func:`iter_pages`).

    Holds every page in memory: for long files prefer :func:`iter_pages`.

    Raises:
        BadInputError: a subclass naming the file, the problem and the fix.
    """
    return list(iter_pages(src))
