"""Exceptions raised by the ingest stage.

Every exception carries the user's path, the problem and what to do next, and
``str(e)`` is one line: ``"{path}: {problem} ({hint})"``. They survive pickling
(the pipeline runs :func:`ingest.load_source` in a process pool), because
``__reduce__`` rebuilds them from exactly those three fields.

Hierarchy::

    IngestError
    ├── InputNotFoundError          a PATH given to discover() is missing or holds no files
    │   └── NoScansError            a PATH holds no scan files (nothing to do)
    └── BadInputError               one input file cannot be turned into pages
        ├── EmptyFileError          zero bytes
        ├── UnsupportedFormatError  not JPEG/PNG/TIFF/BMP/WebP/PDF by its bytes
        ├── CorruptScanError        truncated or damaged image or PDF
        ├── EncryptedPdfError       PDF needs a password
        ├── DecompressionBombError  more pixels than the documented limit
        └── UnreadableFileError     the operating system refused to read it
"""

from __future__ import annotations

import os
from pathlib import Path

from minqing.ingest._paths import path_text


class IngestError(Exception):
    """Base class of every ingest failure: names the file, the problem and the fix."""

    def __init__(self, path: Path | str, problem: str, hint: str = "") -> None:
        self.path = Path(path)
        self.problem = problem
        self.hint = hint
        super().__init__(self.path, problem, hint)

    def __str__(self) -> str:
        # the name is escaped (a newline or a non-UTF-8 byte in it), so the message is
        # one line that prints and stores anywhere
        return f"{path_text(self.path)}: {self.problem}" + (f" ({self.hint})" if self.hint else "")

    def __reduce__(self):
        return (type(self), (self.path, self.problem, self.hint))


class InputNotFoundError(IngestError):
    """A path given to ingest does not exist or holds no scan files."""


class NoScansError(InputNotFoundError):
    """A path given to ingest exists but holds no scan files: there is nothing to do."""


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


def read_error(path: Path | str, exc: OSError) -> UnreadableFileError:
    """The :class:`UnreadableFileError` for an ``OSError`` met reading ``path``.

    Names what went wrong in the user's terms: a folder that cannot be listed, a
    symbolic link whose target is missing, a file that vanished, a full or failing disk.
    """
    path = Path(path)
    why = exc.strerror or str(exc) or type(exc).__name__
    if path.is_symlink() and not path.exists():
        try:
            target = path_text(os.readlink(path))
        except OSError:  # pragma: no cover - the link vanished meanwhile
            target = "?"
        return UnreadableFileError(
            path,
            f"broken symbolic link (its target {target} is missing)",
            "restore the file it points to, or remove the link",
        )
    if path.is_dir():
        try:
            os.listdir(path)
        except OSError as e:
            why = e.strerror or str(e)
        return UnreadableFileError(
            path,
            f"cannot list folder: {why}",
            "check the folder's permissions, then run the same command again",
        )
    if isinstance(exc, FileNotFoundError):
        return UnreadableFileError(
            path,
            "file vanished before it could be read",
            "check that the scans are not being moved while ingesting",
        )
    return UnreadableFileError(
        path, f"cannot read file: {why}", "check the file's permissions and the disk"
    )
