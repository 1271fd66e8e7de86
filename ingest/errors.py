"""Exceptions raised by the ingest stage.

Every exception carries the user's path, the problem and what to do next, and
``str(e)`` is one line: ``"{path}: {problem} ({hint})"``. They survive pickling
(the pipeline runs :func:`ingest.load_source` in a process pool), because
``__reduce__`` rebuilds them from exactly those three fields.

Hierarchy::

    IngestError
    ├── InputNotFoundError          a PATH given to discover() is missing or holds no files
    └── BadInputError               one input file cannot be turned into pages
        ├── EmptyFileError          zero bytes
        ├── UnsupportedFormatError  not JPEG/PNG/TIFF/BMP/WebP/PDF by its bytes
        ├── CorruptScanError        truncated or damaged image or PDF
        ├── EncryptedPdfError       PDF needs a password
        ├── DecompressionBombError  more pixels than the documented limit
        └── UnreadableFileError     the operating system refused to read it
"""

from __future__ import annotations

from pathlib import Path


class IngestError(Exception):
    """Base class of every ingest failure: names the file, the problem and the fix."""

    def __init__(self, path: Path | str, problem: str, hint: str = "") -> None:
        self.path = Path(path)
        self.problem = problem
        self.hint = hint
        super().__init__(self.path, problem, hint)

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}" + (f" ({self.hint})" if self.hint else "")

    def __reduce__(self):
        return (type(self), (self.path, self.problem, self.hint))


class InputNotFoundError(IngestError):
    """A path given to ingest does not exist or holds no scan files."""


class BadInputError(IngestError):
    """One input file cannot be read as pages; the rest of the batch goes on."""


class EmptyFileError(BadInputError):
    """The file has zero bytes."""


class UnsupportedFormatError(BadInputError):
    """The file's bytes are not an image or PDF format ingest reads."""


class CorruptScanError(BadInputError):
    """The image or PDF is truncated or damaged."""


class EncryptedPdfError(BadInputError):
    """The PDF is encrypted with a password."""


class DecompressionBombError(BadInputError):
    """The image (or rendered PDF page) has more pixels than the configured limit."""


class UnreadableFileError(BadInputError):
    """The operating system refused to read the file (vanished, permissions, I/O error)."""
