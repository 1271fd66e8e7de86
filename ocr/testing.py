"""Synthetic handwriting-like pages for tests and benchmarks (not used by the product).

Needs a CJK font: LXGW WenKai or AR PL UKai (Debian ``fonts-lxgw-wenkai``,
``fonts-arphic-ukai``); :func:`find_cjk_font` returns None when neither is installed
and callers skip. ``handright`` (dev extra) adds stroke jitter for "messy" pages.

More hands (issue 14): :func:`hand_styles` lists a :class:`Hand` for every Kai font of
:data:`HAND_FONTS` that is installed (none is downloaded; an absent one is skipped), each in
a few pens: stroke weight, slant, ball-pen, pencil (grey, grainy) or ink. ``render_page``,
``render_grid_form`` and ``tools/render_notebook.py`` (:meth:`Hand.render_notebook_args`)
draw in one; without a hand they draw exactly as before.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
    "/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf",
)

#: diary-like sentences (our own text) for generated pages
DIARY_LINES = (
    "二〇二四年三月五日，走访杨树沟村张大爷家。",
    "张大爷反映自家饮水井水量不足，夏天经常断水。",
    "经了解，全组八户村民都有类似困难。",
    "措施：联系乡水利站勘察，争取安全饮水项目。",
    "三月十二日回访，水利站已派人到现场测量。",
    "村民李桂兰反映低保评定不公开，要求张榜公示。",
    "已向村两委转达，下周召开村民代表会议。",
    "四月二日，村委会门前道路坑洼，雨天难行。",
    "建议纳入村容村貌整治计划，先行填补坑洞。",
    "王家与赵家因宅基地边界发生纠纷，现场调解。",
    "双方同意以原有界石为准，签订调解协议。",
    "五月十日反馈：道路已修好，群众满意。",
)

#: lines with a wide gap (tab) in the middle, as in a diary's header lines
GAPPED_LINES = (
    "日期：三月五日\t地点：杨树沟村",
    "走访对象：张大爷\t记录人：李建国",
    "反映问题：饮水井水量不足\t类别：热点难点",
    "办理情况：已联系水利站\t状态：办理中",
    "回访日期：三月十二日\t结果：已派人测量",
    "群众评价：满意\t备注：下月复查",
)

FORM_ROWS = (
    ("姓名", "张桂兰"),
    ("住址", "杨树沟村三组"),
    ("反映问题", "饮水井水量不足"),
    ("办理情况", "已联系乡水利站"),
    ("走访日期", "三月十二日"),
    ("责任干部", "李建国"),
)


def find_cjk_font() -> str | None:
    """Path of an installed simplified-Chinese Kai font, or None."""
    for p in FONT_CANDIDATES:
        if Path(p).is_file():
            return p
    return None


#: handwriting-like (Kai) CJK fonts Debian packages: (path, face index, name). Every one
#: installed is used by :func:`hand_styles`; cwTeXKai (``fonts-cwtex-kai``) is a traditional
#: Chinese font: it lacks about a third of the simplified characters drawn here, so
#: :func:`font_covers` leaves it out of every text it cannot write.
HAND_FONTS = (
    ("/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf", 0, "LXGW WenKai"),
    ("/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Light.ttf", 0, "LXGW WenKai Light"),
    ("/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Bold.ttf", 0, "LXGW WenKai Bold"),
    ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0, "AR PL UKai CN"),
    ("/usr/share/fonts/truetype/arphic/ukai.ttc", 1, "AR PL UKai HK"),
    ("/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf", 0, "AR PL KaitiM GB"),
    ("/usr/share/fonts/truetype/cwtex/cwkai.ttf", 0, "cwTeXKai"),
)

#: pens: name -> (RGB ink, opacity, pencil grain)
PENS = {
    "ball-pen": ((30, 50, 150), 0.92, 0.0),
    "ink": ((25, 25, 30), 0.95, 0.0),
    "blue-black": ((28, 36, 84), 0.92, 0.0),
    "pencil": ((95, 95, 100), 0.8, 0.45),
}


@dataclass(frozen=True)
class Hand:
    """One writer's hand for generated pages.

    Attributes:
        font, index, name: a Kai font of :data:`HAND_FONTS` and its face index.
        pen: a key of :data:`PENS` (ink colour, opacity, pencil grain).
        weight: stroke weight, in pixels each stroke grows by (0: the font's own).
        slant: degrees the characters lean (right > 0).
    """

    font: str
    index: int = 0
    name: str = ""
    pen: str = "blue-black"
    weight: int = 0
    slant: float = 0.0

    @property
    def ink(self) -> tuple[int, int, int]:
        return PENS[self.pen][0]

    def truetype(self, size: int):
        from PIL import ImageFont

        return ImageFont.truetype(self.font, size, index=self.index)

    def render_notebook_args(self) -> dict:
        """The fields of ``tools.render_notebook.HandStyle`` that draw this hand."""
        ink, opacity, grain = PENS[self.pen]
        return {
            "font_path": self.font,
            "font_index": self.index,
            "ink": ink,
            "ink_opacity": opacity,
            "grain": grain,
            "weight": self.weight,
            "slant": self.slant,
        }

    def ink_mask(self, mask, seed: int = 0):
        """An 'L' ink mask (255 = ink) drawn with this hand's pen: weight, slant, grain."""
        return pen_mask(mask, self.weight, self.slant, PENS[self.pen][2], seed)


def pen_mask(mask, weight: int, slant: float, grain: float, seed: int):
    """``mask`` ('L', 255 = ink) with strokes grown by ``weight`` px, leant by ``slant``
    degrees (widened to fit; right > 0) and broken up by a pencil's ``grain`` (0..1)."""
    from PIL import Image, ImageFilter

    if weight > 0:
        mask = mask.filter(ImageFilter.MaxFilter(2 * weight + 1))
    if slant:
        t = math.tan(math.radians(slant))
        w, h = mask.size
        extra = math.ceil(abs(t) * h)
        mask = mask.transform(
            (w + extra, h),
            Image.Transform.AFFINE,
            (1, t, -max(t, 0.0) * h, 0, 1, 0),
            resample=Image.Resampling.BICUBIC,
            fillcolor=0,
        )
    if grain:
        rng = np.random.default_rng(seed)
        a = np.asarray(mask, np.float32)
        tooth = rng.uniform(0, 1, a.shape).astype(np.float32)
        a *= 1 - grain * tooth
        mask = Image.fromarray(a.clip(0, 255).astype(np.uint8), "L")
    return mask


@lru_cache(maxsize=64)
def _missing_glyph(path: str, index: int) -> bytes:
    from PIL import ImageFont

    return bytes(ImageFont.truetype(path, 32, index=index).getmask("\U000f0000"))


def font_covers(path: str, text: str, index: int = 0) -> bool:
    """Whether the font at ``path`` has a glyph for every character of ``text``."""
    from PIL import ImageFont

    font = ImageFont.truetype(path, 32, index=index)
    missing = _missing_glyph(path, index)
    return all(
        c.isspace() or (bytes(font.getmask(c)) != missing and font.getbbox(c)[2] > 0)
        for c in set(text)
    )


#: the pens and leanings each font is drawn with, in turn: (pen, weight, slant)
_PEN_VARIANTS = (
    ("ball-pen", 0, 0.0),
    ("pencil", 0, 7.0),
    ("ink", 1, -4.0),
    ("blue-black", 1, 10.0),
)


@lru_cache(maxsize=8)
def _hand_styles(text: str) -> tuple[Hand, ...]:
    hands = []
    for k, (path, index, name) in enumerate(HAND_FONTS):
        if not Path(path).is_file() or (text and not font_covers(path, text, index)):
            continue
        for j in range(3):
            pen, weight, slant = _PEN_VARIANTS[(k + j) % len(_PEN_VARIANTS)]
            # a light font drawn thin stays thin (no heavy pen)
            hands.append(Hand(path, index, name, pen, 0 if "Light" in name else weight, slant))
    return tuple(hands)


def hand_styles(text: str = "") -> list[Hand]:
    """A few hands (pen, weight, slant) in every installed font of :data:`HAND_FONTS` that
    can write ``text`` (all of them for ``""``); empty when none is installed."""
    return list(_hand_styles(text))


def _font(size: int, path: str | None = None):
    from PIL import ImageFont

    path = path or find_cjk_font()
    if path is None:
        raise FileNotFoundError("no CJK font installed (apt install fonts-lxgw-wenkai)")
    return ImageFont.truetype(path, size)


def _to_bgr(img) -> np.ndarray:
    arr = np.asarray(img.convert("RGB"))
    return np.ascontiguousarray(arr[:, :, ::-1])


def render_page(
    lines: tuple[str, ...] | list[str] = DIARY_LINES[:8],
    *,
    font_size: int = 44,
    angle: float = 0.0,
    messy: bool = False,
    seed: int = 0,
    width: int = 1240,
    line_gap: float = 1.9,
    ruled: bool = False,
    hand: Hand | None = None,
) -> np.ndarray:
    """A page with ``lines`` of text, optionally rotated by ``angle`` degrees (BGR).

    ``hand``: written in this hand (font, pen, weight, slant; a line the hand's font cannot
    write falls back to the default font), else in :func:`find_cjk_font`'s, as before.
    """
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    font = _font(font_size)
    own = hand.truetype(font_size) if hand is not None else None
    margin = 90
    height = int(2 * margin + len(lines) * font_size * line_gap)
    paper = (246, 243, 236)
    img = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(img)
    ink = (40, 40, 60)
    for i, text in enumerate(lines):
        y = margin + i * font_size * line_gap
        if ruled:
            yy = int(y + font_size * 1.25)
            draw.line([(margin - 20, yy), (width - margin + 20, yy)], fill=(170, 190, 215), width=2)
        # a tab is a wide gap: the detector sees two boxes on one line (the case where
        # the engines' own top-left-y order breaks on tilted pages)
        x = margin
        for seg in text.split("\t"):
            f = font
            if hand is not None and own is not None and font_covers(hand.font, seg, hand.index):
                f = own
            if hand is not None:
                xy = (x + rng.randint(-10, 10), int(y)) if messy else (x, int(y))
                _draw_messy(img, seg, xy, f, seed + i, hand=hand, jitter=messy)
            elif messy:
                _draw_messy(img, seg, (x + rng.randint(-10, 10), int(y)), font, seed + i)
            else:
                draw.text((x, y), seg, font=font, fill=ink)
            x += int(f.getlength(seg)) + 4 * font_size
    if angle:
        img = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=paper)
    return _to_bgr(img)


def _draw_messy(img, text, xy, font, seed, ink=(30, 30, 55), hand=None, jitter=True):
    """Draw ``text`` with handright's per-character jitter (falls back to plain text).

    ``hand``: in its ink, with its pen (weight, slant, grain); ``jitter=False``: no jitter."""
    from PIL import Image, ImageDraw

    if hand is not None:
        ink = hand.ink
        opacity = PENS[hand.pen][1]
        jitter = jitter and find_handright()
        size = font.size
        if jitter:
            mask = _handright_mask(text, font, seed, ink)
        else:
            mask = Image.new("L", (int(size * (len(text) + 2) * 1.1), int(size * 1.8)), 0)
            ImageDraw.Draw(mask).text((5, int(size * 0.2)), text, font=font, fill=255)
        mask = hand.ink_mask(mask, seed).point(lambda v: int(v * opacity))
        img.paste(Image.new("RGB", mask.size, ink), xy, mask)
        return
    try:
        mask = _handright_mask(text, font, seed, ink)
    except ImportError:
        ImageDraw.Draw(img).text(xy, text, font=font, fill=ink)
        return
    img.paste(Image.new("RGB", mask.size, ink), xy, mask)


def _handright_mask(text, font, seed, ink):
    """handright's jittered ``text`` as an 'L' ink mask (255 = ink), as :func:`_draw_messy`
    draws it."""
    from handright import Template, handwrite
    from PIL import Image

    size = font.size
    w = int(size * (len(text) + 2) * 1.1)
    h = int(size * 1.8)
    tpl = Template(
        background=Image.new("RGB", (w, h), (255, 255, 255)),
        font=font,
        line_spacing=int(size * 1.5),
        fill=ink,
        left_margin=5,
        top_margin=int(size * 0.2),
        right_margin=5,
        bottom_margin=0,
        word_spacing=2,
        line_spacing_sigma=2,
        font_size_sigma=size * 0.06,
        word_spacing_sigma=size * 0.08,
        perturb_x_sigma=size * 0.05,
        perturb_y_sigma=size * 0.05,
        perturb_theta_sigma=0.06,
    )
    page = next(iter(handwrite(text, tpl, seed=seed)))
    return page.convert("L").point(lambda v: 255 - v)


def render_form(
    rows: tuple[tuple[str, str], ...] = FORM_ROWS, *, font_size: int = 40, angle: float = 0.0
) -> np.ndarray:
    """A two-column form: labels left, values right, one row per pair, ruled cells."""
    from PIL import Image, ImageDraw

    font = _font(font_size)
    margin, label_w, value_w = 80, 330, 620
    row_h = int(font_size * 2.2)
    width = 2 * margin + label_w + value_w
    height = 2 * margin + row_h * len(rows)
    paper = (250, 250, 246)
    img = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(img)
    for i, (label, value) in enumerate(rows):
        y = margin + i * row_h
        draw.rectangle([margin, y, margin + label_w, y + row_h], outline=(60, 60, 60), width=2)
        draw.rectangle(
            [margin + label_w, y, width - margin, y + row_h], outline=(60, 60, 60), width=2
        )
        # values written a little higher or lower than the label, as by hand
        dy = (i % 3 - 1) * font_size * 0.15
        draw.text((margin + 20, y + row_h * 0.22), label, font=font, fill=(20, 20, 20))
        draw.text(
            (margin + label_w + 25, y + row_h * 0.22 + dy), value, font=font, fill=(30, 30, 90)
        )
    if angle:
        img = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=paper)
    return _to_bgr(img)


def degrade(
    image: np.ndarray,
    *,
    dpi_scale: float = 1.0,
    warp: float = 0.0,
    noise: float = 0.0,
    blur: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Make a clean page look like a poor scan or a phone photo.

    Args:
        dpi_scale: resample by this factor (0.5 = a 300 dpi page scanned at 150 dpi).
        warp: perspective distortion, as a fraction of the page size (phone photo).
        noise: Gaussian noise sigma in grey levels.
        blur: Gaussian blur sigma in pixels.
    """
    import cv2

    rng = np.random.default_rng(seed)
    img = image
    if warp:
        h, w = img.shape[:2]
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
        jitter = rng.uniform(-warp, warp, size=(4, 2)) * np.array([w, h], np.float32)
        dst = (src + jitter).astype(np.float32)
        m = cv2.getPerspectiveTransform(src, dst)
        img = cv2.warpPerspective(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        # uneven lighting
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        shade = 0.85 + 0.15 * np.cos((xx / w - rng.uniform()) * math.pi) * np.cos(
            (yy / h - rng.uniform()) * math.pi
        )
        img = (img.astype(np.float32) * shade[..., None]).clip(0, 255).astype(np.uint8)
    if blur:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    if dpi_scale != 1.0:
        h, w = img.shape[:2]
        img = cv2.resize(
            img,
            (max(1, int(w * dpi_scale)), max(1, int(h * dpi_scale))),
            interpolation=cv2.INTER_AREA,
        )
    if noise:
        img = (
            (img.astype(np.float32) + rng.normal(0, noise, img.shape)).clip(0, 255).astype(np.uint8)
        )
    return np.ascontiguousarray(img)


def cer(hyp: str, ref: str) -> float:
    """Character error rate: edit distance / len(ref) (1.0 when ref is empty and hyp is not)."""
    if not ref:
        return 0.0 if not hyp else 1.0
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(hyp, ref) / len(ref)


#: printed fonts for the labels of generated forms (the first that exists)
PRINT_FONT_CANDIDATES = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc", 2),
)

#: (label, handwritten lines) of a grid form: what each cell holds
GRID_FORM_VALUES: dict[str, tuple[str, ...]] = {
    "时间": ("三月五日",),
    "地点": ("杨树沟村",),
    "走访对象": ("张大爷一家",),
    "反映问题": ("自家饮水井水量不足", "夏天经常断水", "全组八户都有困难"),
    "原因分析": ("井太浅水源不足", "管道老化漏水"),
    "处理意见": ("联系乡水利站勘察", "争取安全饮水项目"),
    "记录人": ("李建国",),
    "日期": ("三月十二日",),
}


def _print_font(size: int):
    from PIL import ImageFont

    for path, index in PRINT_FONT_CANDIDATES:
        if Path(path).is_file():
            return ImageFont.truetype(path, size, index=index)
    return _font(size)


def render_grid_form(
    values: dict[str, tuple[str, ...]] | None = None,
    *,
    seed: int = 0,
    vertical: tuple[str, ...] = ("反映问题", "原因分析", "处理意见"),
    hand: Hand | None = None,
) -> tuple[np.ndarray, dict]:
    """A pre-printed form with ruled cells, some label cells written vertically.

    The layout (column widths, row heights, fonts, which pairs share a row) is drawn from
    ``seed``, so that a reader cannot have been shown it. Rows: 时间|v|地点|v, 走访对象|v,
    then one row per label of ``vertical`` (a narrow cell holding the label one character
    per row, a wide cell with several handwritten lines), then 记录人|v|日期|v. ``hand``:
    the handwriting in this hand (font, pen, weight, slant) instead of the default font.

    Returns:
        ``(BGR image, truth)``: truth holds ``text`` (labels and handwriting in reading
        order, no whitespace), ``fields`` (label -> handwriting) and ``labels``.
    """
    from PIL import Image, ImageDraw

    values = dict(GRID_FORM_VALUES if values is None else values)
    rng = random.Random(seed)
    hand_px = rng.randint(38, 44)
    hand_font = _font(hand_px)
    own = hand.truetype(hand_px) if hand is not None else None
    lab_px = rng.randint(28, 34)
    lab_font = _print_font(lab_px)
    width = rng.randint(1150, 1300)
    x0, x1 = rng.randint(50, 90), width - rng.randint(50, 90)
    top = rng.randint(150, 220)
    vcol = rng.randint(int(lab_px * 2.0), int(lab_px * 3.2))  # the vertical-label column
    hlab = int(lab_px * rng.uniform(4.6, 5.4))  # a horizontal label cell
    pitch = int(hand_px * rng.uniform(1.55, 1.8))
    small_row = int(pitch * rng.uniform(1.25, 1.5))
    ink = rng.choice(((30, 30, 90), (25, 25, 30), (20, 40, 110)))
    rule = rng.choice(((60, 60, 60), (130, 50, 50), (40, 70, 120)))
    rows: list[list[tuple[str, int]]] = []  # per row: (label, cell width) ... values follow
    heights = []
    y_end = top
    # the layout: (kind, items); kind "pairs": label/value cells across; "vertical"
    layout: list[tuple[str, tuple[str, ...]]] = [
        ("pairs", ("时间", "地点")),
        ("pairs", ("走访对象",)),
        *[("vertical", (lab,)) for lab in vertical],
        ("pairs", ("记录人", "日期")),
    ]
    paper = (250, 249, 244)
    height = (
        top
        + 2 * small_row
        + sum(
            max(len(lab) * int(lab_px * 1.5) + 30, len(values.get(lab, ())) * pitch + 30)
            for lab in vertical
        )
        + 2 * small_row
        + 200
    )
    img = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(img)
    title = "民情日记"
    tf = _print_font(44)
    draw.text(((width - draw.textlength(title, font=tf)) / 2, top - 100), title, font=tf, fill=rule)
    truth_text: list[str] = []
    fields: dict[str, str] = {}
    hand_items: list[tuple[str, int, int, int]] = []  # text, x, y, seed
    y = top
    for kind, labels in layout:
        if kind == "pairs":
            h = small_row
            cells = []
            span = (x1 - x0) // len(labels)
            for k, lab in enumerate(labels):
                cx = x0 + k * span
                cells.append((cx, cx + hlab, lab, True))
                cells.append(
                    (cx + hlab, x0 + (k + 1) * span if k + 1 < len(labels) else x1, lab, False)
                )
            for cx0, cx1, lab, is_label in cells:
                draw.rectangle([cx0, y, cx1, y + h], outline=rule, width=2)
                if is_label:
                    lw = draw.textlength(lab, font=lab_font)
                    draw.text(
                        (cx0 + (cx1 - cx0 - lw) / 2, y + (h - lab_px) / 2 - lab_px * 0.1),
                        lab,
                        font=lab_font,
                        fill=(20, 20, 20),
                    )
                    truth_text.append(lab)
                else:
                    vals = values.get(lab, ())
                    for _j, v in enumerate(vals):
                        hand_items.append(
                            (
                                v,
                                cx0 + rng.randint(15, 30),
                                y + int((h - hand_px) / 2 - 0.3 * hand_px),
                                seed * 31 + len(hand_items),
                            )
                        )
                    truth_text.extend(vals)
                    fields[lab] = "".join(vals)
        else:
            lab = labels[0]
            vals = values.get(lab, ())
            step = int(lab_px * 1.5)
            h = max(len(lab) * step + 30, len(vals) * pitch + 30)
            draw.rectangle([x0, y, x0 + vcol, y + h], outline=rule, width=2)
            draw.rectangle([x0 + vcol, y, x1, y + h], outline=rule, width=2)
            cy0 = y + (h - len(lab) * step) / 2
            for k, ch in enumerate(lab):
                cw = draw.textlength(ch, font=lab_font)
                draw.text(
                    (x0 + (vcol - cw) / 2, cy0 + k * step), ch, font=lab_font, fill=(20, 20, 20)
                )
            truth_text.append(lab)
            for j, v in enumerate(vals):
                hand_items.append(
                    (
                        v,
                        x0 + vcol + rng.randint(15, 35),
                        y + 14 + j * pitch - int(0.2 * hand_px),
                        seed * 31 + len(hand_items),
                    )
                )
            truth_text.extend(vals)
            fields[lab] = "".join(vals)
        heights.append(h)
        y += h
    del rows, heights, y_end
    for text, hx, hy, s in hand_items:
        if hand is not None:
            f = own if own is not None and font_covers(hand.font, text, hand.index) else hand_font
            _draw_messy(img, text, (hx, hy), f, s, hand=hand, jitter=find_handright())
        elif find_handright():
            _draw_messy(img, text, (hx, hy), hand_font, s, ink=ink)
        else:
            draw.text((hx, hy), text, font=hand_font, fill=ink)
    img = img.crop((0, 0, width, min(height, y + 120)))
    truth = {
        "text": "".join(truth_text).replace(" ", ""),
        "fields": fields,
        "labels": [lab for _, labs in layout for lab in labs],
    }
    return _to_bgr(img), truth


def find_handright() -> bool:
    """Whether ``handright`` (dev extra) is installed."""
    import importlib.util

    return importlib.util.find_spec("handright") is not None


def phone_photo(
    image: np.ndarray,
    *,
    curl: float = 0.03,
    shadow: float = 0.45,
    tilt: float = 0.04,
    seed: int = 0,
) -> np.ndarray:
    """A page as a phone photographs it: curled, shadowed, on a table, in perspective.

    Args:
        curl: the page bends up towards its right edge (as a notebook page near the
            spine does): text lines curve by up to this fraction of the page height.
        shadow: how dark the shadow across one side gets (0: none, 0.5: half the light).
        tilt: perspective distortion of the page quad, as a fraction of its size.
    """
    import cv2

    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # curl: a vertical displacement growing towards one edge, bowing lines into arcs
    side = rng.choice((-1.0, 1.0))
    u = xx / w if side > 0 else 1.0 - xx / w
    bend = curl * h * (u**2.2) * (0.6 + 0.4 * np.cos((yy / h - 0.5) * math.pi))
    bend += curl * h * 0.35 * np.sin(math.pi * xx / w) * rng.uniform(-1, 1)
    # the page also narrows where it curls away (foreshortening)
    mx = xx - side * 0.04 * curl / 0.03 * w * (u**3) * 0.5
    page = cv2.remap(
        image,
        mx.astype(np.float32),
        (yy - bend).astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(70, 60, 50),
    )
    if shadow:
        # a soft shadow from one corner (a hand or a phone) and a darker curl side
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = math.hypot(w, h) * rng.uniform(0.35, 0.55)
        d = np.hypot(xx - cx, yy - cy) / r
        shade = 1.0 - shadow * np.clip(1.2 - d, 0, 1) ** 1.5
        shade *= 1.0 - 0.5 * shadow * u**2
        page = (page.astype(np.float32) * shade[..., None]).clip(0, 255).astype(np.uint8)
    # on a table, with perspective
    H, W = int(h * 1.25), int(w * 1.3)
    ox, oy = (W - w) // 2, (H - h) // 2
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dst = (
        src
        + np.array([ox, oy], np.float32)
        + rng.uniform(-tilt, tilt, (4, 2)).astype(np.float32) * [w, h]
    )
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    table = np.empty((H, W, 3), np.uint8)
    table[:] = (60, 55, 50)
    out = cv2.warpPerspective(page, m, (W, H), dst=table, borderMode=cv2.BORDER_TRANSPARENT)
    out = cv2.GaussianBlur(out, (0, 0), 0.8)
    noise = rng.normal(0, 3, out.shape)
    return np.ascontiguousarray((out.astype(np.float32) + noise).clip(0, 255).astype(np.uint8))
