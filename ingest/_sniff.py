"""Recognise input files by their bytes (magic numbers), never by their extension."""

from __future__ import annotations

from pathlib import Path

#: formats load_source reads, with the extension used for the stored original
READABLE = {"jpeg": ".jpg", "png": ".png", "tiff": ".tif", "bmp": ".bmp", "webp": ".webp"}

#: the kind :func:`ingest.discover` gives a folder it cannot list or a dangling symbolic link
UNREADABLE = "unreadable"

#: files of ours (or of the tools around us) that are never pages
NON_PAGE_NAMES = {"truth.json", "lines.json", "readme.md", "manifest.json", "manifest.yaml"}
NON_PAGE_SUFFIXES = {".json", ".md", ".txt", ".csv", ".yaml", ".yml", ".tsv", ".py", ".pyc"}
#: a folder holding this file is a minqing archive, never a folder of scans
ARCHIVE_DB = "archive.db"
#: folders that never hold scans
NON_PAGE_DIRS = {"__pycache__"}


def sniff_bytes(head: bytes) -> str:
    """Name the format of a file from its first bytes.

    Returns one of ``jpeg png tiff bmp webp pdf`` (readable), ``heic gif jp2 zip``
    (known but unsupported), ``empty`` or ``unknown``.
    """
    if not head:
        return "empty"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"BM") and len(head) >= 14:
        return "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    # PDF: the header may be preceded by up to 1 KiB of junk (PDF 1.7, 7.5.2)
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head[4:8] == b"ftyp" and head[8:12] in (
        b"heic",
        b"heix",
        b"mif1",
        b"msf1",
        b"heim",
        b"hevc",
    ):
        return "heic"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head.startswith((b"\x00\x00\x00\x0cjP  ", b"\xffO\xffQ")):
        return "jp2"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    return "unknown"


def sniff_file(path: Path) -> str:
    """Like :func:`sniff_bytes` for a file on disk (``unknown`` when unreadable)."""
    try:
        with open(path, "rb") as fh:
            return sniff_bytes(fh.read(1024))
    except OSError:
        return "unknown"


def is_non_page(path: Path) -> bool:
    """True for hidden files and our own side files (truth.json, README.md, *.txt, ...)."""
    name = path.name
    if name.startswith((".", "~$")) or name in ("Thumbs.db", "desktop.ini"):
        return True
    return name.lower() in NON_PAGE_NAMES or path.suffix.lower() in NON_PAGE_SUFFIXES
