"""A learnt entry-boundary model: does a line start a new entry? (issue 13)

The segmenter's rules (date heading, relative start, list marker, labels, later notes) are
features here, beside layout features that survive OCR: a vertical gap above the line, its
indentation, how short it and the line before are, whether the line before ends a
sentence, and how much the line's head looks like a date (digits, 年月日, 星期, weather)
even when it no longer parses. A logistic regression (scikit-learn) over these features is
trained on labelled lines (``benchmarks/train_boundary.py``: the independent corpus's
train split, with OCR-like damage to headings, and ``tests/data/corpus``) and shipped as
coefficients in ``classify/data/boundary.json``. The segmenter asks it only about lines
its rules did not start an entry on: a line the model is sure about starts one (a damaged
heading). No coefficient is keyed to the test split: it is never read by the training.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

FEATURES = (
    "rule_start",
    "date_heading",
    "date_with_text",
    "relative",
    "marker",
    "time_label",
    "later_note",
    "gap",
    "page_top",
    "prev_ended",
    "prev_short",
    "short",
    "indent",
    "head_digits",
    "head_datey",
    "has_comma",
    "no_entry",
)

_DATEY = re.compile(r"[年月日号星期周晴阴雨雪云农历初廿腊正]")
_DIGIT = re.compile(r"[0-9〇零一二三四五六七八九十]")
#: the probability above which a line the rules passed over starts an entry
THRESHOLD = 0.7  # chosen on the dev split (line-level P/R of starts, as drawn and damaged)


def line_features(
    *,
    rule_start: bool,
    date_heading: bool,
    date_with_text: bool,
    relative: bool,
    marker: bool,
    time_label: bool,
    later_note: bool,
    gap_lines: float,
    page_top: bool,
    prev_ended: bool,
    prev_len: int,
    length: int,
    median_len: float,
    indent_lines: float,
    text: str,
    no_entry: bool,
) -> list[float]:
    """The feature vector of one line (order of :data:`FEATURES`)."""
    head = text[:10]
    med = max(median_len, 1.0)
    return [
        float(rule_start),
        float(date_heading),
        float(date_with_text),
        float(relative),
        float(marker),
        float(time_label),
        float(later_note),
        min(max(gap_lines, 0.0), 4.0),
        float(page_top),
        float(prev_ended),
        float(prev_len < 0.75 * med),
        float(length < 0.6 * med),
        min(max(indent_lines, 0.0), 4.0),
        len(_DIGIT.findall(head)) / max(len(head), 1),
        min(len(_DATEY.findall(text[:14])) / 3.0, 1.0),
        float(bool(re.search(r"[，。,；]", text))),
        float(no_entry),
    ]


@dataclass(frozen=True)
class BoundaryModel:
    """Logistic-regression coefficients over :data:`FEATURES`."""

    coef: tuple[float, ...]
    intercept: float
    features: tuple[str, ...] = FEATURES
    trained_on: str = ""

    def __post_init__(self) -> None:
        if len(self.coef) != len(self.features):
            raise ValueError(
                f"BoundaryModel: {len(self.coef)} coefficients for {len(self.features)} features"
            )

    def probability(self, x: list[float]) -> float:
        """P(the line starts an entry)."""
        z = self.intercept + sum(c * v for c, v in zip(self.coef, x, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_json(self) -> str:
        return json.dumps(
            {
                "features": list(self.features),
                "coef": [round(c, 6) for c in self.coef],
                "intercept": round(self.intercept, 6),
                "trained_on": self.trained_on,
            },
            ensure_ascii=False,
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> BoundaryModel:
        d = json.loads(text)
        if tuple(d["features"]) != FEATURES:
            raise ValueError("boundary model: its features are not this version's")
        return cls(tuple(d["coef"]), float(d["intercept"]), FEATURES, d.get("trained_on", ""))


def train_boundary(
    x: list[list[float]], y: list[int], trained_on: str = "", c: float = 1.0
) -> BoundaryModel:
    """Fit the model (scikit-learn logistic regression, balanced classes)."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
    lr.fit(x, y)
    return BoundaryModel(
        tuple(float(v) for v in lr.coef_[0]), float(lr.intercept_[0]), FEATURES, trained_on
    )


_DEFAULT: list[BoundaryModel | None] = []


def default_boundary_model() -> BoundaryModel | None:
    """The shipped model (``classify/data/boundary.json``), or None when absent."""
    if not _DEFAULT:
        try:
            ref = resources.files("minqing.classify") / "data" / "boundary.json"
            _DEFAULT.append(BoundaryModel.from_json(ref.read_text(encoding="utf-8")))
        except (FileNotFoundError, ValueError, KeyError, ModuleNotFoundError):
            _DEFAULT.append(None)
    return _DEFAULT[0]


def save(model: BoundaryModel, path: Path) -> None:
    path.write_text(model.to_json() + "\n", encoding="utf-8")
