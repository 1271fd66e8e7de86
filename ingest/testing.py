"""Hand-made input files for tests and benchmarks (not used by the product)."""

from __future__ import annotations

#: the header of every PDF written here (the comment line of binary bytes tells tools the
#: file is binary, as PDF 1.4 recommends)
PDF_HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"


def assemble_pdf(
    objects: list[bytes], trailer_extra: bytes = b"", header: bytes = PDF_HEADER
) -> bytes:
    """A PDF from numbered object bodies (object 1 is the catalog), with an xref table of
    exact offsets; ``trailer_extra`` goes into the trailer dictionary (e.g. ``/Encrypt``).
    No PDF library is needed, and damaged variants are easy to write."""
    out = bytearray(header)
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer_extra,
        xref,
    )
    return bytes(out)
