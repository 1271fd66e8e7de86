"""The bundled sample notebooks (installed as ``minqing._samples``).

Each sub-folder is one book (folder name = book id) holding ``page-NN.jpg`` scans,
``lines.json`` (every drawn text line per page) and ``truth.json`` (the book's entries);
``truth.json`` here combines both books.  See ``README.md`` in this folder.  Nothing here
needs fonts or ``handright`` at run time: only ``make_samples.py`` (the generator) does.
"""

from __future__ import annotations

from pathlib import Path

#: Folder holding the sample books.
SAMPLES_DIR = Path(__file__).resolve().parent


def book_dirs() -> list[Path]:
    """The sample book folders (those with page images), sorted by name."""
    return sorted(
        p
        for p in SAMPLES_DIR.iterdir()
        if p.is_dir() and (any(p.glob("page-*.jpg")) or any(p.glob("page-*.png")))
    )
