"""One input file in, its normalised pages out."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2

from minqing.ingest._read import RawPage, read_pdf, read_raster
from minqing.ingest._sniff import READABLE, sniff_bytes
from minqing.ingest.errors import EmptyFileError, UnreadableFileError, UnsupportedFormatError
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


def read_raw(src: SourceFile) -> list[RawPage]:
    """Decode a source file into raw (un-normalised) pages."""
    path = Path(src.path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise UnreadableFileError(
            path,
            "file vanished before it could be read",
            "check that the scans are not being moved while ingesting",
        ) from e
    except IsADirectoryError as e:
        raise UnreadableFileError(
            path, "is a folder, not a file", "give the folder to discover()"
        ) from e
    except OSError as e:
        raise UnreadableFileError(
            path,
            f"cannot read file: {e.strerror or e}",
            "check the file's permissions and the disk",
        ) from e
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


def load_source(src: SourceFile) -> list[Page]:
    """One input file → its normalised pages in order.

    One page for a JPEG/PNG, N for a PDF or multi-page TIFF, two (left, right) for
    a two-page spread. ``index_in_source`` numbers the returned pages 0..n-1.
    Runs in worker processes: it only reads the file, and every exception it
    raises pickles.

    Raises:
        BadInputError: a subclass naming the file, the problem and the fix.
    """
    pages: list[Page] = []
    for raw in read_raw(src):
        for norm in normalise(raw.image, text_layer=raw.text_lines is not None):
            text_lines = raw.text_lines
            if text_lines is not None and norm.transforms:
                # normalisation moved pixels: map text-layer boxes through it
                text_lines = norm.map_lines(text_lines)
            png = _png(norm.image)
            pages.append(
                Page(
                    book_id=src.book_id,
                    source=src,
                    index_in_source=len(pages),
                    original_bytes=raw.original_bytes,
                    original_ext=raw.original_ext,
                    image=norm.image,
                    sha256=hashlib.sha256(png).hexdigest(),
                    transforms=tuple(raw.transforms) + tuple(norm.transforms),
                    flags=quality_flags(norm.image, dpi=raw.dpi, skew=norm.residual_skew),
                    text_lines=text_lines,
                    png=png,
                )
            )
    return pages
