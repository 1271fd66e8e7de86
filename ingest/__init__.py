"""minqing stage: ingest.

Scans in, normalised pages out::

    from minqing.ingest import discover, load_source
    for book in discover([Path("scans")]):
        for src in book.files:
            pages = load_source(src)   # raises a BadInputError subclass for bad input

:func:`discover` lists books and files (cheap, main process); :func:`load_source`
decodes and normalises one file (expensive, safe to run in a process pool).
Quality thresholds live in :mod:`ingest.quality`; the pixel limit in
:data:`ingest.MAX_IMAGE_PIXELS`.
"""

from minqing.ingest._discover import discover
from minqing.ingest._load import image_sha256, iter_pages, load_source, read_raw
from minqing.ingest._paths import path_text
from minqing.ingest._read import MAX_IMAGE_PIXELS, PDF_RENDER_DPI
from minqing.ingest.quality import needs_rescan
from minqing.ingest.types import BookSource, Page, SourceFile

#: bump when normalisation or flags change, so the pipeline can redo pages
VERSION = "ingest-2"

__all__ = [
    "MAX_IMAGE_PIXELS",
    "PDF_RENDER_DPI",
    "VERSION",
    "BookSource",
    "Page",
    "SourceFile",
    "discover",
    "image_sha256",
    "iter_pages",
    "load_source",
    "needs_rescan",
    "path_text",
    "read_raw",
]
