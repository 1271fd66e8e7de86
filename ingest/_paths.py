"""File names as safe, one-line text (for messages and for the archive's records).

POSIX file names are bytes: a name may hold bytes that are not UTF-8 (Python keeps
them as lone surrogates, ``\\udcff``, which SQLite and UTF-8 output refuse) or control
characters such as a newline (which would split a one-line error message in two).
"""

from __future__ import annotations

import os
from pathlib import Path

_CONTROL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def path_text(path: Path | str | bytes) -> str:
    """``path`` as printable one-line text that encodes as UTF-8.

    Names that are valid UTF-8 without control characters come back unchanged (the
    common case, so stored paths of existing archives keep their form). A byte that is
    not UTF-8 becomes ``\\xNN``; a control character becomes ``\\n``, ``\\t``, ``\\r``
    or ``\\xNN``. The same name always gives the same text, so it can key a record.
    """
    if isinstance(path, bytes):
        text = os.fsdecode(path)
    else:
        text = os.fspath(path)
        if isinstance(text, bytes):  # pragma: no cover - a bytes PathLike
            text = os.fsdecode(text)
    if text.isprintable() and not any(0xDC80 <= ord(c) <= 0xDCFF for c in text):
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch in _CONTROL_ESCAPES:
            out.append(_CONTROL_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
            out.append(f"\\x{code:02x}")
        elif 0xD800 <= code <= 0xDFFF:  # any other lone surrogate
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
