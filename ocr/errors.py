"""Exceptions raised by the OCR stage.

Messages say what went wrong and what to do; they never name the image file,
because the engine only sees pixels: the pipeline adds the file name.
"""

from __future__ import annotations


class OcrError(Exception):
    """Recognition failed on one image (the engine crashed or returned garbage)."""


class EngineUnavailableError(OcrError):
    """The requested OCR engine cannot be loaded (package or model files missing)."""


class UnknownEngineError(EngineUnavailableError):
    """No engine is registered under the requested name."""
