"""Where the Datasette configuration directory and the sample notebooks are.

In a source checkout (and an editable install) they are the repository's
``datasette/`` and ``samples/`` folders; a regular install carries copies inside
the package as ``minqing/_datasette`` and ``minqing/_samples``.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for c in candidates:
        if c.is_dir():
            return c
    return candidates[0]


def datasette_dir() -> Path:
    """The Datasette configuration directory (metadata, settings, plugins, templates)."""
    return _first_existing(_PKG / "_datasette", _PKG.parent / "datasette")


def samples_dir() -> Path:
    """The bundled sample notebooks."""
    return _first_existing(_PKG / "_samples", _PKG.parent / "samples")
