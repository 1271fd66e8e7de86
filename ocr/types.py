"""Engine-neutral OCR result types.

Every OCR backend returns a :class:`PageText`; downstream stages never see engine
objects. The types reject impossible values so that a broken backend fails loudly
where it broke, not three stages later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

Point = tuple[float, float]


@dataclass(frozen=True)
class Line:
    """One recognised text line.

    Attributes:
        text: normalised text (traditional forms folded to simplified, punctuation
            normalised); this is what downstream stages read.
        box: polygon in page-image pixel coordinates, clockwise from top-left
            (usually 4 points).
        confidence: engine confidence in [0, 1]; not an accuracy.
        raw_text: the engine's text before normalisation (same as ``text`` when no
            normalisation applied).
        char_confidences: per-character confidences where the engine gives them.
        alternates: for characters the engine was unsure of, ``(index in text,
            next likeliest characters, their probabilities)``, likeliest first (issue 17:
            search finds what was written, not only what was read).
    """

    text: str
    box: tuple[Point, ...]
    confidence: float
    raw_text: str = ""
    char_confidences: tuple[float, ...] = field(default=(), compare=False)
    alternates: tuple[tuple[int, str, tuple[float, ...]], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise TypeError(f"Line.text must be str, got {type(self.text).__name__}")
        box = tuple((float(x), float(y)) for x, y in self.box)
        if len(box) < 3:
            raise ValueError(f"Line.box needs at least 3 points, got {len(box)}")
        if any(not (math.isfinite(x) and math.isfinite(y)) for x, y in box):
            raise ValueError(f"Line.box has a non-finite coordinate: {box}")
        object.__setattr__(self, "box", box)
        conf = float(self.confidence)
        if not (0.0 <= conf <= 1.0) or math.isnan(conf):
            raise ValueError(f"Line.confidence must be in [0, 1], got {self.confidence}")
        object.__setattr__(self, "confidence", conf)
        if not self.raw_text:
            object.__setattr__(self, "raw_text", self.text)
        object.__setattr__(self, "char_confidences", tuple(float(c) for c in self.char_confidences))
        alts = []
        for i, chars, probs in self.alternates:
            i, probs = int(i), tuple(float(p) for p in probs)
            if not 0 <= i < len(self.text) or not chars or len(probs) != len(chars):
                raise ValueError(
                    f"Line.alternates entry ({i}, {chars!r}, {probs}) does not fit the text "
                    f"{self.text!r}: index in range, one probability per character"
                )
            alts.append((i, str(chars), probs))
        object.__setattr__(self, "alternates", tuple(alts))

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """Axis-aligned bounding box ``(x0, y0, x1, y1)``."""
        xs = [p[0] for p in self.box]
        ys = [p[1] for p in self.box]
        return (min(xs), min(ys), max(xs), max(ys))


@dataclass(frozen=True)
class PageText:
    """The recognised lines of one page image, in reading order.

    Attributes:
        lines: lines in reading order.
        engine_id: identifies engine, model versions and parameters; the OCR cache
            key is (page content hash, engine_id).
        width, height: size of the image the boxes refer to.
        seconds: wall time the recognition took (0 when served from cache).
    """

    lines: tuple[Line, ...]
    engine_id: str
    width: int
    height: int
    seconds: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        if any(not isinstance(line, Line) for line in self.lines):
            raise TypeError("PageText.lines must hold Line objects")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"PageText size must be positive, got {self.width}x{self.height}")
        if not self.engine_id:
            raise ValueError("PageText.engine_id must not be empty")

    @property
    def text(self) -> str:
        """All line texts joined with newlines, in reading order."""
        return "\n".join(line.text for line in self.lines)
