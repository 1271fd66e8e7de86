"""ingest: discovering books, reading every input format, bad input, quality flags."""

from __future__ import annotations

import hashlib
import io
import pickle
import re
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from minqing import ingest
from minqing.ingest import BookSource, Page, SourceFile, discover, load_source
from minqing.ingest.errors import (
    BadInputError,
    CorruptScanError,
    DecompressionBombError,
    EmptyFileError,
    EncryptedPdfError,
    IngestError,
    InputNotFoundError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from minqing.ingest.quality import THRESHOLDS, measure, needs_rescan, quality_flags
from minqing.ingest.testing import assemble_pdf
from tests._ingest_pages import encode, exif_rotated_jpeg, make_page


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return make_page(1)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def load(path: Path, book: str = "b") -> list[Page]:
    return load_source(SourceFile(path, book))


# ------------------------------------------------------------ discover ----


def test_discover_folder_of_images_natural_order_and_side_files(tmp_path: Path, page) -> None:
    jpg = encode(page)
    book = tmp_path / "杨树沟-2024"
    for name in ["p10.jpg", "p2.jpg", "P3.JPG", "p1.jpg"]:
        write(book / name, jpg)
    # side files of ours, hidden files: not pages
    for name in [
        "truth.json",
        "lines.json",
        "README.md",
        "notes.txt",
        "x.csv",
        ".DS_Store",
        "._p1.jpg",
    ]:
        write(book / name, b"whatever")
    # an unrecognised file is still listed, so load_source can report it
    write(book / "scan.dat", b"\x00\x01garbage")
    books = discover([book])
    assert len(books) == 1
    b = books[0]
    assert isinstance(b, BookSource)
    assert b.book_id == "杨树沟-2024"
    assert [f.path.name for f in b.files] == ["p1.jpg", "p2.jpg", "P3.JPG", "p10.jpg", "scan.dat"]
    assert [f.kind for f in b.files] == ["jpeg"] * 4 + ["unknown"]
    assert all(f.book_id == "杨树沟-2024" for f in b.files)


def test_discover_recognises_bytes_not_extensions(tmp_path: Path, page) -> None:
    write(tmp_path / "a" / "page1.png", encode(page, "JPEG"))  # a JPEG named .png
    write(tmp_path / "a" / "page2", encode(page, "PNG"))  # no extension at all
    write(tmp_path / "minutes.jpg", Image.new("RGB", (50, 50)).tobytes())  # raw bytes named .jpg
    pdf = io.BytesIO()
    Image.fromarray(page).save(pdf, format="PDF")
    write(tmp_path / "a" / "scan.bin", pdf.getvalue())  # a PDF with a wrong name
    books = {b.book_id: b for b in discover([tmp_path])}
    assert [f.kind for f in books["a"].files] == ["jpeg", "png"]
    assert books["scan"].files[0].kind == "pdf"
    assert books[tmp_path.name].files[0].kind == "unknown"


def test_discover_folder_of_folders_and_pdfs(tmp_path: Path, page) -> None:
    jpg = encode(page)
    write(tmp_path / "book2" / "1.jpg", jpg)
    write(tmp_path / "book10" / "1.jpg", jpg)
    write(tmp_path / "book1" / "1.jpg", jpg)
    write(tmp_path / "book1" / "2.jpg", jpg)
    pdf = io.BytesIO()
    Image.fromarray(page).save(pdf, format="PDF")
    write(tmp_path / "pdfs" / "n2.pdf", pdf.getvalue())
    write(tmp_path / "pdfs" / "n1.pdf", pdf.getvalue())
    books = discover([tmp_path])
    assert [b.book_id for b in books] == ["book1", "book2", "book10", "n1", "n2"]
    assert [len(b.files) for b in books] == [2, 1, 1, 1, 1]
    assert books[3].origin == tmp_path / "pdfs" / "n1.pdf"
    # a single PDF, and a PDF given twice under two folders: ids stay unique and stable
    single = discover([tmp_path / "pdfs" / "n1.pdf"])
    assert [(b.book_id, b.files[0].kind) for b in single] == [("n1", "pdf")]
    write(tmp_path / "other" / "n1.pdf", pdf.getvalue())
    ids = [b.book_id for b in discover([tmp_path / "pdfs", tmp_path / "other"])]
    assert ids == ["n1", "n2", "n1-2"]


def test_discover_missing_or_empty_paths(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError) as e:
        discover([tmp_path / "nope"])
    assert str(e.value) == f"{tmp_path / 'nope'}: no such file or folder (check the path)"
    (tmp_path / "empty").mkdir()
    write(tmp_path / "only-notes" / "README.md", b"# notes")
    for p in (tmp_path / "empty", tmp_path / "only-notes"):
        with pytest.raises(InputNotFoundError, match="holds no scan files"):
            discover([p])


# ---------------------------------------------------------- good input ----


def test_load_jpeg_keeps_original_and_hashes_normalised_png(tmp_path: Path, page) -> None:
    data = encode(page, "JPEG", dpi=150)
    pages = load(write(tmp_path / "p1.jpg", data))
    assert len(pages) == 1
    p = pages[0]
    assert p.original_bytes == data and p.original_ext == ".jpg"
    assert p.index_in_source == 0 and p.book_id == "b"
    assert p.image.shape == page.shape
    _ok, png = cv2.imencode(".png", p.image)
    assert p.sha256 == hashlib.sha256(png.tobytes()).hexdigest()
    # the PNG that was hashed travels with the page, so the archive need not re-encode it
    assert p.png == png.tobytes()
    assert np.array_equal(cv2.imdecode(np.frombuffer(p.png, np.uint8), cv2.IMREAD_COLOR), p.image)
    assert p.flags == ()
    assert p.text_lines is None
    # deterministic: the same file gives the same hash (the OCR cache relies on it)
    assert load(tmp_path / "p1.jpg")[0].sha256 == p.sha256


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_load_applies_exif_orientation(tmp_path: Path, page, orientation: int) -> None:
    data = exif_rotated_jpeg(page, orientation)
    p = load(write(tmp_path / "p.jpg", data))[0]
    assert p.image.shape == page.shape
    assert f"exif:{orientation}" in p.transforms
    assert p.original_bytes == data
    diff = np.abs(p.image.astype(int) - page.astype(int)).mean()
    assert diff < 6, diff


def test_load_png_16bit_grey_and_rgba(tmp_path: Path, page) -> None:
    grey = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    buf = io.BytesIO()
    Image.fromarray(grey.astype(np.uint16) * 257).save(buf, format="PNG")
    p16 = load(write(tmp_path / "g16.png", buf.getvalue()))[0]
    assert np.abs(p16.image[..., 0].astype(int) - grey).max() <= 1
    rgba = np.dstack([cv2.cvtColor(page, cv2.COLOR_BGR2RGB), np.full(grey.shape, 255, np.uint8)])
    rgba[:10, :10, 3] = 0  # transparent corner becomes white paper
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    p = load(write(tmp_path / "rgba.png", buf.getvalue()))[0]
    assert (p.image[:10, :10] == 255).all()
    assert p.original_ext == ".png"


def test_load_multipage_tiff(tmp_path: Path) -> None:
    frames = [Image.fromarray(cv2.cvtColor(make_page(s), cv2.COLOR_BGR2RGB)) for s in (1, 2, 3)]
    buf = io.BytesIO()
    frames[0].save(
        buf,
        format="TIFF",
        save_all=True,
        append_images=frames[1:],
        compression="tiff_lzw",
        dpi=(150, 150),
    )
    pages = load(write(tmp_path / "book.tif", buf.getvalue()))
    assert [p.index_in_source for p in pages] == [0, 1, 2]
    for frame, p in zip(frames, pages, strict=True):
        assert p.original_ext == ".png"
        assert np.array_equal(
            np.asarray(Image.open(io.BytesIO(p.original_bytes))), np.asarray(frame)
        )
        assert np.array_equal(p.image, cv2.cvtColor(np.asarray(frame), cv2.COLOR_RGB2BGR))
        assert p.flags == ()
    assert len({p.sha256 for p in pages}) == 3


def test_damaged_tiff_page_fails_the_file_naming_the_page(tmp_path: Path) -> None:
    frames = [
        Image.fromarray(cv2.cvtColor(make_page(s, size=(300, 420)), cv2.COLOR_BGR2RGB))
        for s in (1, 2, 3)
    ]
    buf = io.BytesIO()
    frames[0].save(
        buf, format="TIFF", save_all=True, append_images=frames[1:], compression="tiff_lzw"
    )
    data = buf.getvalue()
    # cut short inside page 3: PIL raised a bare TypeError here, which is no BadInputError
    path = write(tmp_path / "book.tif", data[: int(len(data) * 0.8)])
    with pytest.raises(CorruptScanError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: damaged TIFF image (page 3): ")
    # scrambled strip data inside page 2
    broken = bytearray(data)
    broken[int(len(data) * 0.45) : int(len(data) * 0.5)] = b"\xff" * (
        int(len(data) * 0.5) - int(len(data) * 0.45)
    )
    with pytest.raises(CorruptScanError, match=r"damaged TIFF image \(page 2\): decoder error"):
        load(write(tmp_path / "b2.tif", bytes(broken)))


def test_load_image_only_pdf_renders_at_300_dpi(tmp_path: Path) -> None:
    frames = [Image.fromarray(cv2.cvtColor(make_page(s), cv2.COLOR_BGR2RGB)) for s in (4, 5)]
    buf = io.BytesIO()
    frames[0].save(buf, format="PDF", save_all=True, append_images=frames[1:], resolution=150)
    pages = load(write(tmp_path / "n.pdf", buf.getvalue()))
    assert len(pages) == 2
    for p in pages:
        # 874x1240 px at 150 dpi is 5.83x8.27 in; at 300 dpi that is 1748x2480 px
        assert abs(p.image.shape[1] - 1748) <= 2 and abs(p.image.shape[0] - 2480) <= 2
        assert p.original_ext == ".png" and p.original_bytes.startswith(b"\x89PNG")
        assert p.text_lines is None
        assert p.flags == ()  # 150 dpi scan: fine for handwriting


def _three_page_scan_pdf() -> bytes:
    frames = [
        Image.fromarray(cv2.cvtColor(make_page(s, size=(300, 420)), cv2.COLOR_BGR2RGB))
        for s in (1, 2, 3)
    ]
    buf = io.BytesIO()
    frames[0].save(buf, format="PDF", save_all=True, append_images=frames[1:], resolution=50)
    return buf.getvalue()


def _page_object(data: bytes, number: int) -> int:
    """Offset of the dictionary of page ``number`` (1-based) in a PIL-written PDF."""
    return [m.start() for m in re.finditer(rb"/Type /Page\b", data)][number - 1]


def test_damaged_image_on_one_pdf_page_fails_the_file_naming_the_page(tmp_path: Path) -> None:
    data = _three_page_scan_pdf()
    assert len(load(write(tmp_path / "good.pdf", data))) == 3
    # wipe the JPEG data of page 2's scan: PDFium would draw nothing (a blank page)
    images = [m.end() for m in re.finditer(rb"/DCTDecode.*?stream\r?\n", data, re.DOTALL)]
    assert len(images) == 3
    broken = bytearray(data)
    broken[images[1] : images[1] + 2000] = b"\x00" * 2000
    path = write(tmp_path / "scans" / "n.pdf", bytes(broken))
    with pytest.raises(CorruptScanError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: damaged PDF (page 2): its scanned image cannot be decoded")
    assert "\n" not in message and "0x" not in message  # no object addresses
    assert pickle.loads(pickle.dumps(info.value)).problem == info.value.problem


def test_damaged_page_object_fails_the_file_naming_the_page(tmp_path: Path) -> None:
    data = _three_page_scan_pdf()
    at = _page_object(data, 3)
    box = re.compile(rb"/MediaBox \[[^\]]*\]")
    start = data.rindex(b" obj", 0, at)
    m = box.search(data, start)
    assert m is not None
    broken = data[: m.start()] + b"/MediaBox [ 0 0 abc (x) ]" + data[m.end() :]
    path = write(tmp_path / "n.pdf", broken)
    # pdfplumber raised its own PdfminerException here (not a BadInputError), from
    # its close() re-reading the page tree while our error was on its way out
    with pytest.raises(CorruptScanError, match=r"n\.pdf: damaged PDF \(page 3\): "):
        load(path)


def test_blank_pdf_page_is_not_taken_for_a_damaged_one(tmp_path: Path) -> None:
    white = Image.new("RGB", (300, 420), (255, 255, 255))
    buf = io.BytesIO()
    white.save(buf, format="PDF", resolution=50)
    (p,) = load(write(tmp_path / "blank.pdf", buf.getvalue()))
    assert int(p.image.min()) >= 250


def _stream(data: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def text_pdf() -> bytes:
    """An A5 page with two lines in Helvetica and one in the standard CJK font STSong-Light."""
    cjk = "三月十二日走访杨树沟村".encode("utf-16-be").hex().upper().encode()
    content = (
        b"BT /F1 14 Tf 50 540 Td (Visit to Yangshugou village) Tj ET\n"
        b"BT /F1 14 Tf 50 510 Td (Road repair requested) Tj ET\n"
        b"BT /F2 16 Tf 50 470 Td <" + cjk + b"> Tj ET\n"
    )
    return assemble_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            (
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 595] /Contents 4 0 R "
                b"/Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>"
            ),
            _stream(content),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            (
                b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
                b"/DescendantFonts [7 0 R] >>"
            ),
            (
                b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
                b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> "
                b"/FontDescriptor 8 0 R >>"
            ),
            (
                b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 "
                b"/FontBBox [-25 -254 1000 880] "
                b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>"
            ),
        ]
    )


def test_load_pdf_with_text_layer_keeps_lines_in_pixels(tmp_path: Path) -> None:
    pages = load(write(tmp_path / "typed.pdf", text_pdf()))
    assert len(pages) == 1
    p = pages[0]
    assert p.text_lines is not None
    texts = [t for t, _ in p.text_lines]
    assert texts == [
        "Visit to Yangshugou village",
        "Road repair requested",
        "三月十二日走访杨树沟村",
    ]
    scale = 300 / 72
    (_, box0), (_, box1), _ = p.text_lines
    assert abs(box0[0] - 50 * scale) < 3  # x0 in image pixels
    # baseline at y=540 pt from the bottom of a 595 pt page: the box sits just above it
    assert (595 - 540 - 16) * scale < box0[1] < (595 - 540) * scale < box0[3] + 15
    assert box0[1] < box1[1]
    h, w = p.image.shape[:2]
    assert abs(w - 420 * scale) <= 2 and abs(h - 595 * scale) <= 2
    assert all(0 <= b[0] < b[2] <= w and 0 <= b[1] < b[3] <= h for _, b in p.text_lines)


# ----------------------------------------------------------- bad input ----


def _rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def encrypted_pdf(user_password: bytes = b"secret") -> bytes:
    """A one-page PDF encrypted with the standard security handler (RC4 40-bit, R2)."""
    pad = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
    owner = _rc4(hashlib.md5((b"owner" + pad)[:32]).digest()[:5], (user_password + pad)[:32])
    file_id = hashlib.md5(b"minqing-test").digest()
    perms = -4
    key = hashlib.md5(
        (user_password + pad)[:32] + owner + perms.to_bytes(4, "little", signed=True) + file_id
    ).digest()[:5]
    u_value = _rc4(key, pad)
    content = b"BT /F1 24 Tf 72 700 Td (secret page) Tj ET"
    obj_key = hashlib.md5(key + (4).to_bytes(3, "little") + b"\x00\x00").digest()[:10]
    return assemble_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            _stream(_rc4(obj_key, content)),
            b"<< /Filter /Standard /V 1 /R 2 /O <"
            + owner.hex().encode()
            + b"> /U <"
            + u_value.hex().encode()
            + b"> /P -4 >>",
        ],
        trailer_extra=b"/Encrypt 5 0 R /ID [<"
        + file_id.hex().encode()
        + b"> <"
        + file_id.hex().encode()
        + b">] ",
    )


def _bad_inputs(page: np.ndarray) -> dict[str, tuple[bytes, type, str]]:
    jpg = encode(page)
    png = encode(page, "PNG")
    pdf = io.BytesIO()
    Image.fromarray(page).save(pdf, format="PDF")
    pdf_bytes = pdf.getvalue()
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    return {
        "empty.jpg": (
            b"",
            EmptyFileError,
            "empty file (0 bytes) (re-copy the file or rescan the page)",
        ),
        "cut.jpg": (
            jpg[: len(jpg) // 2],
            CorruptScanError,
            "truncated JPEG image (rescan the page or re-copy the file)",
        ),
        "cut.png": (
            png[: len(png) // 2],
            CorruptScanError,
            "truncated PNG image (rescan the page or re-copy the file)",
        ),
        "noise.jpg": (
            b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8,
            CorruptScanError,
            "damaged JPEG image",
        ),
        "cut.pdf": (pdf_bytes[:300], CorruptScanError, "damaged PDF"),
        "junk.pdf": (b"%PDF-1.4\n" + b"\x07garbage" * 50, CorruptScanError, "damaged PDF"),
        "locked.pdf": (
            encrypted_pdf(),
            EncryptedPdfError,
            "PDF is encrypted with a password "
            "(save an unencrypted copy of the PDF and ingest that)",
        ),
        "notes.docx": (
            b"PK\x03\x04" + b"\x00" * 100,
            UnsupportedFormatError,
            "unsupported format (ZIP)",
        ),
        "phone.heic": (
            heic,
            UnsupportedFormatError,
            "unsupported format (HEIC) (export the photo as JPEG",
        ),
        "scan.dat": (
            b"hello world, not a scan",
            UnsupportedFormatError,
            "not an image or PDF (unrecognised file contents)",
        ),
    }


@pytest.mark.parametrize("name", list(_bad_inputs(np.zeros((20, 20, 3), np.uint8))))
def test_bad_input_gets_its_error_and_one_line_message(tmp_path: Path, page, name: str) -> None:
    data, exc_type, expected = _bad_inputs(page)[name]
    path = write(tmp_path / "scans" / "b1" / name, data)
    with pytest.raises(exc_type) as info:
        load(path)
    err = info.value
    assert isinstance(err, BadInputError)
    message = str(err)
    assert "\n" not in message
    assert message.startswith(f"{path}: {expected}")
    assert message == f"{err.path}: {err.problem} ({err.hint})"
    assert err.path == path and err.hint
    # survives the trip through a process pool
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err) and str(back) == message and back.path == err.path


def test_decompression_bomb(tmp_path: Path, monkeypatch) -> None:
    import minqing.ingest._read as read

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # PIL's own guard
    monkeypatch.setattr(read, "MAX_IMAGE_PIXELS", 100_000)  # our PDF page guard
    big = encode(np.full((400, 400, 3), 250, np.uint8), "PNG")  # 160k pixels
    with pytest.raises(DecompressionBombError) as info:
        load(write(tmp_path / "huge.png", big))
    assert "image too large to decode safely" in str(info.value)
    assert "MINQING_MAX_IMAGE_PIXELS" in info.value.hint
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", ingest.MAX_IMAGE_PIXELS)
    with pytest.raises(DecompressionBombError, match="PDF page 1 is 8x12 inches"):
        load(write(tmp_path / "typed.pdf", text_pdf().replace(b"0 0 420 595", b"0 0 600 850")))


def test_real_bomb_with_default_limit_is_refused(tmp_path: Path) -> None:
    # a 20000 x 20000 PNG (400 Mpx) compresses to a few hundred kB
    width = 20000
    row = zlib.compress(b"\x00" + b"\x00" * width, 9)
    del row
    raw = zlib.compressobj(9)
    body = b"".join(raw.compress(b"\x00" + b"\x00" * width) for _ in range(width)) + raw.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
        )

    ihdr = width.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    assert len(png) < 1_000_000
    with pytest.raises(DecompressionBombError):
        load(write(tmp_path / "bomb.png", png))


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match="file vanished"):
        load(tmp_path / "gone.jpg")


def test_every_error_pickles() -> None:
    for cls in (
        IngestError,
        InputNotFoundError,
        BadInputError,
        EmptyFileError,
        CorruptScanError,
        EncryptedPdfError,
        UnsupportedFormatError,
        DecompressionBombError,
        UnreadableFileError,
    ):
        e = cls(
            Path("scans/b1/p3.jpg"), "truncated JPEG image", "rescan the page or re-copy the file"
        )
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is cls
        assert (
            str(back)
            == "scans/b1/p3.jpg: truncated JPEG image (rescan the page or re-copy the file)"
        )


def test_load_source_in_a_process_pool(tmp_path: Path, page) -> None:
    from concurrent.futures import ProcessPoolExecutor

    good = SourceFile(write(tmp_path / "ok.jpg", encode(page)), "b")
    bad = SourceFile(write(tmp_path / "bad.jpg", b""), "b")
    with ProcessPoolExecutor(max_workers=1) as pool:
        pages = pool.submit(load_source, good).result()
        assert pages[0].sha256 == load_source(good)[0].sha256
        with pytest.raises(EmptyFileError, match=r"bad\.jpg: empty file"):
            pool.submit(load_source, bad).result()


# ------------------------------------------------------- quality flags ----


def test_clean_pages_get_no_flags(page) -> None:
    for seed in range(3):
        img = make_page(seed)
        assert quality_flags(img, dpi=150) == (), measure(img, 150)
    assert quality_flags(make_page(7, size=(1748, 2480)), dpi=300) == ()
    # a nearly blank page is not "low contrast" or "blurred"
    assert quality_flags(make_page(8, n_lines=0), dpi=150) == ()


def test_flags_on_bad_pages(tmp_path: Path, page) -> None:
    blurred = cv2.GaussianBlur(page, (0, 0), 4)
    flags = dict(load(write(tmp_path / "blur.jpg", encode(blurred)))[0].flags)
    assert set(flags) == {"blur"} and flags["blur"] < THRESHOLDS["blur"][1]

    dark = (page.astype(np.float32) * 0.35).astype(np.uint8)
    flags = dict(quality_flags(dark, dpi=150))
    assert "too_dark" in flags and flags["too_dark"] < 110

    washed = (page.astype(np.float32) * 0.25 + 190).astype(np.uint8)
    flags = dict(quality_flags(washed, dpi=150))
    assert {"low_contrast", "too_bright"} <= set(flags)

    small = cv2.resize(page, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)  # 75 dpi
    flags = dict(load(write(tmp_path / "small.jpg", encode(small, dpi=75)))[0].flags)
    assert flags == {"low_resolution": 75.0}
    # without a DPI tag, the resolution is estimated from the size of an A5 page
    flags = dict(quality_flags(small, dpi=None))
    assert 70 < flags["low_resolution"] < 80

    # text running off the right edge: the page was cut off when scanned
    cut = page[:, : int(page.shape[1] * 0.8)]
    flags = dict(quality_flags(cut, dpi=150))
    assert "cut_off" in flags and flags["cut_off"] >= 3
    assert needs_rescan(flags) and not needs_rescan(())
