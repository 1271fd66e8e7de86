"""minqing stage: classify.

A book's lines → single-matter entries (dates, fields, category, status) → follow-up
links → matters. Public API::

    from classify import segment_book, link_entries, classify_category, detect_status
    from classify import parse_date_line, matters, CLASSIFIER_VERSION
    from classify import train_category_model, load_category_model
"""

from __future__ import annotations

from classify.category import classify_category
from classify.dates import DateMatch, parse_date_line
from classify.links import link_entries, matters
from classify.segment import segment_book
from classify.status import detect_status

#: bump whenever the stage's output may change; stored with every entry
CLASSIFIER_VERSION = "classify-0.3"

__all__ = [
    "CLASSIFIER_VERSION",
    "DateMatch",
    "classify_category",
    "detect_status",
    "link_entries",
    "matters",
    "parse_date_line",
    "segment_book",
]
