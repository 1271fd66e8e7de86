"""Where things are: the Datasette configuration, the samples, the cache, the OCR models.

A leaf module: it imports only the standard library, so every stage may ask it (ingest
and ocr both locate the rapidocr wheel's model files here, and every cache goes under
:func:`cache_dir`) without importing one another.

In a source checkout (and an editable install) the Datasette configuration directory and
the sample notebooks are the repository's ``datasette/`` and ``samples/`` folders; a
regular install carries copies inside the package as ``minqing/_datasette`` and
``minqing/_samples``.
"""

from __future__ import annotations

import importlib.util
import os
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


def cache_dir() -> Path:
    """The folder for rebuildable files: ``$MINQING_CACHE``, else ``$XDG_CACHE_HOME/minqing``,
    else ``~/.cache/minqing``. Not created here."""
    env = os.environ.get("MINQING_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "minqing"


def rapidocr_models_dir() -> Path | None:
    """The ``models`` folder of the installed rapidocr wheel (PP-OCR ONNX files), or None
    when rapidocr is not installed. Found without importing rapidocr (nor onnxruntime);
    the folder or a file in it may still be missing from a damaged install."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"
