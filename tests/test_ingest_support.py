"""A check of the generators of test scans (``tests/_ingest_pages.py``)."""

from __future__ import annotations

import cv2

from tests._ingest_pages import make_page, on_flatbed, phone_photo


def test_generators_draw_ink_and_keep_corners_inside() -> None:
    page = make_page(1)
    grey = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    assert (grey < 140).mean() > 0.01  # there is handwriting on the page
    photo, corners = phone_photo(page)
    assert photo.shape[:2] == (2000, 1500)
    assert (corners >= 0).all() and (corners[:, 0] < 1500).all() and (corners[:, 1] < 2000).all()
    scan, corners = on_flatbed(page, 4.0)
    assert (corners >= 0).all() and (corners[:, 0] < scan.shape[1]).all()
