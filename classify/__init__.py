"""minqing stage: classify.

A book's lines → single-matter entries (dates, fields, category, status) → follow-up
links → matters. Public API::

    from minqing.classify import segment_book, link_entries, classify_category, detect_status
    from minqing.classify import parse_date_line, matters, CLASSIFIER_VERSION
    from minqing.classify import inherit_categories
    from minqing.classify import train_category_model, load_category_model, cross_validate_category
"""

from __future__ import annotations

from minqing.classify._version import CLASSIFIER_VERSION
from minqing.classify.category import classify_category
from minqing.classify.dates import DateMatch, parse_date_line
from minqing.classify.links import inherit_categories, link_entries, matters
from minqing.classify.model import (
    CategoryModel,
    StatusModel,
    cross_validate_category,
    default_category_model,
    default_status_model,
    load_category_model,
    load_status_model,
    train_category_model,
    train_status_model,
)
from minqing.classify.segment import segment_book
from minqing.classify.status import classify_status, cue_status, detect_status

__all__ = [
    "CLASSIFIER_VERSION",
    "CategoryModel",
    "DateMatch",
    "StatusModel",
    "classify_category",
    "classify_status",
    "cross_validate_category",
    "cue_status",
    "default_category_model",
    "default_status_model",
    "detect_status",
    "inherit_categories",
    "link_entries",
    "load_category_model",
    "load_status_model",
    "matters",
    "parse_date_line",
    "segment_book",
    "train_category_model",
    "train_status_model",
]
