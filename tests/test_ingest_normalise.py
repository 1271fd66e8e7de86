"""ingest normalisation on generated scans: photos, flatbeds, spreads, rotations."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from minqing.ingest import SourceFile, load_source
from minqing.ingest.normalise import find_page, normalise, rotate_bound
from tests._ingest_pages import (
    SAMPLES_DIR,
    encode,
    make_page,
    on_flatbed,
    phone_photo,
    spread,
)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two page images after scaling b to a's size (1 = identical)."""
    ga = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY).astype(np.float32)
    gb = cv2.resize(cv2.cvtColor(b, cv2.COLOR_BGR2GRAY), ga.shape[::-1]).astype(np.float32)
    ga = cv2.GaussianBlur(ga, (0, 0), 5)
    gb = cv2.GaussianBlur(gb, (0, 0), 5)
    return float(np.corrcoef(ga.ravel(), gb.ravel())[0, 1])


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return make_page(11)


def test_clean_page_is_left_alone(page) -> None:
    (out,) = normalise(page)
    assert out.transforms == [] and out.image is page


def test_phone_photo_is_found_warped_and_flattened(tmp_path: Path, page) -> None:
    photo, truth = phone_photo(page, seed=3)
    corners = find_page(photo)
    assert corners is not None
    diagonal = float(np.hypot(*photo.shape[:2]))
    assert np.linalg.norm(corners - truth, axis=1).max() < 0.01 * diagonal
    path = tmp_path / "photo.jpg"
    path.write_bytes(encode(photo, dpi=None))
    (p,) = load_source(SourceFile(path, "b"))
    assert p.transforms[:2] == ("perspective", "flatten_light")
    h, w = p.image.shape[:2]
    # an upright page-shaped rectangle; its aspect is only approximate, because the
    # warp sizes the page from its longest sides (no camera model)
    assert abs(w / h - page.shape[1] / page.shape[0]) < 0.08
    assert similarity(page, p.image) > 0.8
    grey = cv2.cvtColor(p.image, cv2.COLOR_BGR2GRAY)
    # light evened out: paper in the dark corner is about as bright as in the lit one
    assert abs(float(np.median(grey[:100, :100])) - float(np.median(grey[-100:, -100:]))) < 20
    assert p.flags == ()


@pytest.mark.parametrize("angle", [4.0, -6.0])
def test_a5_page_skewed_on_a4_flatbed_is_deskewed_and_cropped(page, angle: float) -> None:
    scan, _truth = on_flatbed(page, angle)
    (out,) = normalise(scan)
    kinds = [t.split(":")[0] for t in out.transforms]
    assert kinds == ["deskew", "crop"]
    assert abs(float(out.transforms[0].split(":")[1]) + angle) < 0.5
    h, w = out.image.shape[:2]
    assert (
        abs(w - page.shape[1]) < 0.03 * page.shape[1]
        and abs(h - page.shape[0]) < 0.03 * page.shape[0]
    )
    assert similarity(page, out.image) > 0.8


@pytest.mark.parametrize("seed", [0, 1, 2, 4, 5])
def test_page_on_a_wooden_table_is_found_whatever_the_grain(seed: int) -> None:
    # the table's grain gives edges everywhere around the page; at the analysis
    # scale they once joined the page's outline and the quad took in the table
    photo, truth = phone_photo(make_page(seed + 40), seed=seed)
    corners = find_page(photo)
    assert corners is not None
    assert np.linalg.norm(corners - truth, axis=1).max() < 0.005 * float(np.hypot(*photo.shape[:2]))


def test_page_running_out_of_the_photo_is_still_found() -> None:
    # the right edge of the page lies outside the frame: the photo's border bounds it
    photo, truth = phone_photo(make_page(3), seed=3)
    cut = photo[:, :1250]
    corners = find_page(cut)
    assert corners is not None
    diagonal = float(np.hypot(*cut.shape[:2]))
    assert np.linalg.norm(corners[[0, 3]] - truth[[0, 3]], axis=1).max() < 0.005 * diagonal
    assert (corners[[1, 2], 0] > cut.shape[1] - 5).all()
    (out,) = normalise(cut)
    assert out.transforms[:2] == ["perspective", "flatten_light"]


@pytest.mark.parametrize(
    ("seed", "angle", "lid"), [(31, 3.0, 205), (32, -2.0, 205), (33, 5.0, 228)]
)
def test_flatbed_deskew_angle_is_exact(seed: int, angle: float, lid: int) -> None:
    # lid 228: a page on a lid of nearly its own brightness (only weak edges)
    page = make_page(seed)
    scan, _ = on_flatbed(page, angle, lid=lid)
    (out,) = normalise(scan)
    assert [t.split(":")[0] for t in out.transforms] == ["deskew", "crop"]
    assert abs(float(out.transforms[0].split(":")[1]) + angle) <= 0.15
    h, w = out.image.shape[:2]
    assert (
        abs(w - page.shape[1]) < 0.015 * page.shape[1]
        and abs(h - page.shape[0]) < 0.015 * page.shape[0]
    )


@pytest.mark.parametrize(
    ("turn", "expected"),
    [(cv2.ROTATE_90_CLOCKWISE, "rotate:270"), (cv2.ROTATE_90_COUNTERCLOCKWISE, "rotate:90")],
)
def test_landscape_page_on_its_side_is_turned_not_split(turn: int, expected: str) -> None:
    land = make_page(41, size=(1240, 874))
    (out,) = normalise(cv2.rotate(land, turn))
    assert out.transforms == [expected]
    assert np.array_equal(out.image, land)


def test_two_page_spread_splits_left_then_right(tmp_path: Path) -> None:
    left, right = make_page(21), make_page(22)
    path = tmp_path / "spread.jpg"
    path.write_bytes(encode(spread(left, right)))
    pages = load_source(SourceFile(path, "b"))
    assert [p.index_in_source for p in pages] == [0, 1]
    assert [p.transforms[-1] for p in pages] == ["split:left", "split:right"]
    assert similarity(left, pages[0].image) > 0.85 and similarity(right, pages[1].image) > 0.85
    assert similarity(left, pages[0].image) > similarity(right, pages[0].image) + 0.1
    assert abs(pages[0].image.shape[1] - left.shape[1]) < 0.03 * left.shape[1]
    assert pages[0].original_bytes == pages[1].original_bytes == path.read_bytes()


@pytest.mark.parametrize(
    ("turn", "expected"),
    [
        (cv2.ROTATE_180, "rotate:180"),
        (cv2.ROTATE_90_CLOCKWISE, "rotate:270"),
        (cv2.ROTATE_90_COUNTERCLOCKWISE, "rotate:90"),
    ],
)
def test_turned_page_is_turned_upright_from_its_text(page, turn: int, expected: str) -> None:
    (out,) = normalise(cv2.rotate(page, turn))
    assert out.transforms == [expected]
    assert np.array_equal(out.image, page)


def test_skewed_page_is_levelled(page) -> None:
    (out,) = normalise(rotate_bound(page, 3.0))
    assert len(out.transforms) == 1 and out.transforms[0].startswith("deskew:")
    assert abs(float(out.transforms[0].split(":")[1]) + 3.0) < 0.3


def test_bundled_samples_are_left_alone() -> None:
    files = sorted(SAMPLES_DIR.glob("*/*.jpg"))
    if not files:
        pytest.skip("no bundled samples")
    for f in files:
        (p,) = load_source(SourceFile(f, f.parent.name))
        assert p.transforms == () and p.flags == (), f
