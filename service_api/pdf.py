"""A minimal PDF writer for text documents (statements): A4 pages of monospaced lines in
the standard Courier font, no dependency. Characters outside Latin-1 are written as ``?``.
"""

from __future__ import annotations

PAGE_W, PAGE_H, MARGIN, SIZE, LEADING = 595, 842, 50, 9, 12
LINES_PER_PAGE = (PAGE_H - 2 * MARGIN) // LEADING


def _escape(text: str) -> bytes:
    raw = text.encode("latin-1", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def text_pdf(lines: list[str], title: str = "") -> bytes:
    """A PDF showing ``lines``, paginated.

    >>> pdf = text_pdf(["hello (world)"], "t")
    >>> pdf[:8], b"hello \\\\(world\\\\)" in pdf, pdf.rstrip().endswith(b"%%EOF")
    (b'%PDF-1.4', True, True)
    """
    pages = [lines[i:i + LINES_PER_PAGE] for i in range(0, max(len(lines), 1),
                                                        LINES_PER_PAGE)] or [[]]
    objects: list[bytes] = []  # object n is objects[n - 1]
    n_pages = len(pages)
    font, info = 3 + 2 * n_pages, 4 + 2 * n_pages
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    for i, page in enumerate(pages):
        body = [b"BT", f"/F1 {SIZE} Tf {LEADING} TL {MARGIN} {PAGE_H - MARGIN} Td".encode()]
        body += [b"(" + _escape(line) + b") Tj T*" for line in page]
        body.append(b"ET")
        stream = b"\n".join(body)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] "
                       f"/Resources << /Font << /F1 {font} 0 R >> >> "
                       f"/Contents {4 + 2 * i} 0 R >>".encode())
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream
                       + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier "
                   b"/Encoding /WinAnsiEncoding >>")
    objects.append(b"<< /Title (" + _escape(title) + b") /Producer (Forewarn) >>")
    assert len(objects) == info
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {info} 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)
