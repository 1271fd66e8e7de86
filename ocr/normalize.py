"""Text normalisation applied to every recognised line.

PP-OCRv6 sometimes emits traditional forms (訪 張 蘭 戶 國 邊 蓋 訂) for simplified
handwriting, and ASCII punctuation (``,`` ``:`` ``(``) between Chinese characters.
Downstream search and classification want one form, so we fold both (and a circle read
between Chinese numerals, ``二○二四``, becomes ``〇``); the engine's own text stays in
:attr:`ocr.types.Line.raw_text`.
"""

from __future__ import annotations

import functools

#: ASCII punctuation -> full-width Chinese punctuation, applied next to CJK text.
_PUNCT = {
    ",": "，",
    ".": "。",
    ":": "：",
    ";": "；",
    "?": "？",
    "!": "！",
    "(": "（",
    ")": "）",
}


def is_cjk(ch: str) -> bool:
    """True for a CJK ideograph (unified, extension A, compatibility)."""
    if not ch:
        return False
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0xF900 <= o <= 0xFAFF
        or 0x20000 <= o <= 0x2FA1F
    )


def _is_cjk_context(ch: str) -> bool:
    # Chinese punctuation and quotes count as Chinese context too: "好”,他" -> "好”，他".
    return is_cjk(ch) or ch in "，。：；？！（）“”‘’《》、—…"


@functools.lru_cache(maxsize=1)
def _t2s():
    import opencc  # opencc-python-reimplemented: pure Python, dictionaries in the wheel

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Fold traditional characters to simplified (OpenCC ``t2s``).

    The result has the same length as the input (character by character) so that
    per-character confidences stay aligned; when OpenCC's phrase table would change
    the length we fall back to converting each character on its own.
    """
    if not text or text.isascii():
        return text
    converted = _t2s().convert(text)
    if len(converted) == len(text):
        return converted
    conv = _t2s().convert
    return "".join(c if len(c2 := conv(c)) != 1 else c2 for c in text)


def fullwidth_punctuation(text: str) -> str:
    """Replace ASCII punctuation with full-width forms where it sits in Chinese text.

    A mark is replaced when a neighbouring character (spaces skipped) is Chinese and
    it does not sit between two ASCII letters/digits (``3.5``, ``a,b`` stay). A
    period is replaced only after a Chinese character.
    """
    if not any(c in _PUNCT for c in text):
        return text
    chars = list(text)
    n = len(chars)
    for i, c in enumerate(chars):
        if c not in _PUNCT:
            continue
        j = i - 1
        while j >= 0 and chars[j] == " ":
            j -= 1
        k = i + 1
        while k < n and chars[k] == " ":
            k += 1
        prev = chars[j] if j >= 0 else ""
        nxt = chars[k] if k < n else ""
        if prev.isascii() and prev.isalnum() and nxt.isascii() and nxt.isalnum():
            continue
        if c == ".":
            ok = _is_cjk_context(prev) and not (nxt == "." or (nxt.isascii() and nxt.isalnum()))
        elif c == "(":
            ok = _is_cjk_context(nxt) or _is_cjk_context(prev)
        elif c == ")":
            ok = _is_cjk_context(prev) or _is_cjk_context(nxt)
        else:
            ok = _is_cjk_context(prev) or (not prev and _is_cjk_context(nxt))
        if ok:
            chars[i] = _PUNCT[c]
    return "".join(chars)


#: Chinese numerals a written zero sits among (二〇二四年, 一〇五户)
_NUMERALS = "〇一二三四五六七八九十"
#: what the recogniser reads a handwritten 〇 as: a white circle, a large circle, letter O
_ZERO_LOOKALIKES = "○◯OoＯ\uff4f"  # the last: fullwidth small o


def numeral_zero(text: str) -> str:
    """A circle read between Chinese numerals as 〇 (``二○二四`` -> ``二〇二四``).

    Replaced only with a Chinese numeral on both sides (runs of circles included:
    ``二○○五``), so a circle in other text (a list bullet, ``OK``) stays as it is; the
    length is kept, so per-character confidences stay aligned.
    """
    if not any(c in _ZERO_LOOKALIKES for c in text):
        return text
    chars = list(text)
    n = len(chars)
    for i, c in enumerate(chars):
        if c not in _ZERO_LOOKALIKES:
            continue
        j = i - 1
        while j >= 0 and chars[j] in _ZERO_LOOKALIKES:
            j -= 1
        k = i + 1
        while k < n and chars[k] in _ZERO_LOOKALIKES:
            k += 1
        if j >= 0 and k < n and chars[j] in _NUMERALS and chars[k] in _NUMERALS:
            chars[i] = "〇"
    return "".join(chars)


def normalize_text(text: str) -> str:
    """The full normalisation: strip, traditional -> simplified, punctuation, and a
    circle between Chinese numerals as 〇."""
    return numeral_zero(fullwidth_punctuation(to_simplified(text.strip())))
