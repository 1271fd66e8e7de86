"""Generators of realistic test scans for the ingest tests (not collected: no tests here;
``test_ingest_support.py`` checks the generators).

Pages are drawn like the bundled samples: ruled notebook paper (A5 at ~150 dpi),
a red margin line and handwriting-like Chinese text (a Kai font with per-character
jitter). Other helpers turn a page into a phone photo, a flatbed scan, a spread.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

FONT_CANDIDATES = [
    Path("/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf"),
    Path("/usr/share/fonts/truetype/arphic/ukai.ttc"),
]
FONT = next((p for p in FONT_CANDIDATES if p.exists()), None)

TEXT = (
    "三月十二日上午到杨树沟村走访村民王秀兰反映自家门前道路年久失修雨天泥泞孩子上学不便"
    "希望村里尽快修缮经与村两委商议计划由村集体经济出资并向镇里申请以工代赈资金下周召开"
    "村民代表大会讨论方案三月二十日回访道路已平整铺设砂石群众表示满意饮水难问题仍需协调"
    "县水利局解决邻里纠纷已调解完毕双方签订协议土地承包合同续签工作正在推进低保评审公开"
)

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "samples"

A5_150 = (874, 1240)  # width, height of an A5 page at 150 dpi


def need_font() -> Path:
    """The handwriting-like font, or skip the test when no Kai font is installed."""
    if FONT is None:
        pytest.skip("no Kai font installed (fonts-lxgw-wenkai or fonts-arphic-ukai)")
    return FONT


def make_page(
    seed: int = 0,
    size: tuple[int, int] = A5_150,
    n_lines: int | None = None,
    char_px: int | None = None,
    paper: tuple[int, int, int] = (247, 250, 250),
    ink: tuple[int, int, int] = (90, 40, 30),
    margin_frac: float = 0.08,
) -> np.ndarray:
    """A clean ruled notebook page with handwriting, as a BGR array."""
    font_path = need_font()
    rng = random.Random(seed)
    w, h = size
    scale = w / A5_150[0]
    rule = round(47 * scale)  # 8 mm ruling
    char_px = char_px or round(30 * scale)
    img = Image.new("RGB", (w, h), paper[::-1])
    draw = ImageDraw.Draw(img)
    top = int(h * 0.1)
    for y in range(top, int(h * 0.95), rule):
        draw.line([(0, y), (w, y)], fill=(175, 200, 225), width=max(1, int(scale)))
    left = int(w * margin_frac)
    draw.line([(left - 6, 0), (left - 6, h)], fill=(200, 150, 150), width=max(1, int(scale)))
    font = ImageFont.truetype(str(font_path), char_px)
    rows = list(range(top + rule, int(h * 0.93), rule))
    if n_lines is not None:
        rows = rows[:n_lines]
    pos = rng.randrange(len(TEXT))
    right = w - int(w * margin_frac)
    for i, base in enumerate(rows):
        x = left + (int(2 * char_px) if i == 0 else 0) + rng.randint(0, 6)
        end = right - (rng.randint(0, 8) * char_px if i % 5 == 4 else 0)
        while x + char_px < end:
            ch = TEXT[pos % len(TEXT)]
            pos += 1
            glyph = Image.new("L", (char_px * 2, char_px * 2), 0)
            ImageDraw.Draw(glyph).text((char_px // 2, char_px // 3), ch, font=font, fill=255)
            glyph = glyph.rotate(rng.uniform(-6, 6), resample=Image.BICUBIC)
            fy = base - int(char_px * 1.45) + rng.randint(-2, 2)
            img.paste(Image.new("RGB", glyph.size, ink[::-1]), (x - char_px // 2, fy), glyph)
            x += int(char_px * rng.uniform(0.95, 1.12))
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


def encode(img: np.ndarray, fmt: str = "JPEG", dpi: float | None = 150, **kw) -> bytes:
    """Encode a BGR array with PIL (so DPI and EXIF tags can be set)."""
    pil = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    buf = io.BytesIO()
    if dpi:
        kw["dpi"] = (dpi, dpi)
    if fmt == "JPEG":
        kw.setdefault("quality", 90)
    pil.save(buf, format=fmt, **kw)
    return buf.getvalue()


def exif_rotated_jpeg(page: np.ndarray, orientation: int) -> bytes:
    """JPEG whose pixels are stored rotated, with the EXIF tag that undoes it."""
    stored = {
        3: cv2.rotate(page, cv2.ROTATE_180),
        6: cv2.rotate(page, cv2.ROTATE_90_COUNTERCLOCKWISE),
        8: cv2.rotate(page, cv2.ROTATE_90_CLOCKWISE),
    }[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, exif=exif.tobytes())


def phone_photo(
    page: np.ndarray, seed: int = 0, out_size: tuple[int, int] = (1500, 2000)
) -> tuple[np.ndarray, np.ndarray]:
    """The page photographed on a wooden table: perspective, uneven light, noise.

    Returns (photo BGR, the page's corners in the photo: TL, TR, BR, BL).
    """
    rng = np.random.default_rng(seed)
    ow, oh = out_size
    h, w = page.shape[:2]
    yy, xx = np.mgrid[0:oh, 0:ow].astype(np.float32)
    table = np.empty((oh, ow, 3), np.float32)
    grain = 12 * np.sin(xx / 9.0 + 3 * np.sin(yy / 60.0))
    table[..., 0] = 60 + grain
    table[..., 1] = 95 + grain
    table[..., 2] = 140 + grain
    corners = np.float32(
        [
            [ow * 0.17, oh * 0.11],
            [ow * 0.85, oh * 0.14],
            [ow * 0.89, oh * 0.9],
            [ow * 0.12, oh * 0.86],
        ]
    )
    corners += rng.uniform(-15, 15, corners.shape).astype(np.float32)
    src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    m = cv2.getPerspectiveTransform(src, corners)
    warped = cv2.warpPerspective(page, m, (ow, oh), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (ow, oh))
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    photo = warped.astype(np.float32) * alpha + table * (1 - alpha)
    # uneven light: bright upper left, a shadow towards the lower right
    light = 1.05 - 0.45 * ((xx / ow) * 0.6 + (yy / oh) * 0.7) / 1.3
    photo *= light[..., None]
    photo += rng.normal(0, 3, photo.shape)
    photo = np.clip(photo, 0, 255).astype(np.uint8)
    return photo, corners


def on_flatbed(
    page: np.ndarray,
    angle: float,
    canvas: tuple[int, int] = (1240, 1754),
    offset=(60, 50),
    lid: int = 205,
) -> tuple[np.ndarray, np.ndarray]:
    """An A5 page lying skewed on an A4 flatbed (grey lid of brightness ``lid``).

    Returns (scan, page corners).
    """
    cw, ch = canvas
    h, w = page.shape[:2]
    scan = np.full((ch, cw, 3), lid, np.uint8)
    centre = (offset[0] + w / 2, offset[1] + h / 2)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    m[0, 2] += centre[0] - w / 2
    m[1, 2] += centre[1] - h / 2
    warped = cv2.warpAffine(page, m, (cw, ch), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    mask = cv2.warpAffine(np.full((h, w), 255, np.uint8), m, (cw, ch))
    # a soft shadow along the page edge, as a lid casts
    shadow = cv2.GaussianBlur(cv2.dilate(mask, np.ones((9, 9), np.uint8)), (15, 15), 0)
    scan = (scan.astype(np.float32) * (1 - 0.25 * shadow[..., None] / 255.0)).astype(np.uint8)
    scan[mask > 0] = warped[mask > 0]
    pts = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    corners = cv2.transform(pts[None], m)[0]
    return scan, corners


def spread(left: np.ndarray, right: np.ndarray, gutter_shadow: bool = True) -> np.ndarray:
    """Two facing pages scanned as one image, with a darker gutter between them."""
    img = np.concatenate([left, right], axis=1).astype(np.float32)
    if gutter_shadow:
        w = img.shape[1]
        x = np.arange(w, dtype=np.float32)
        shade = 1 - 0.35 * np.exp(-(((x - w / 2) / (w * 0.012)) ** 2))
        img *= shade[None, :, None]
    return np.clip(img, 0, 255).astype(np.uint8)
