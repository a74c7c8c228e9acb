"""Photos and files of work orders, on disk.

The file name a client sends is kept only as text to show; the file is stored as
``<attachments_dir>/<order id>/<random hex>`` — no part of the path comes from the
request, so no name can reach outside the folder. Size is bounded (``max_attachment_bytes``,
enforced before the body is read), the content type must be in ``attachment_types``, and
images and PDFs must start with their format's signature (a script renamed ``.jpg`` is
refused). Downloads are sent as attachments with ``nosniff``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import unicodedata
from pathlib import Path

from .problems import Problem, Unprocessable

SIGNATURES: dict[str, bytes] = {
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "application/pdf": b"%PDF-",
}


class UnsupportedType(Problem):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


def clean_filename(name: str) -> str:
    """A display name: no folders, no control characters, at most 200 characters.

    >>> clean_filename("../../etc/passwd"), clean_filename("C:\\\\x\\\\pump photo.jpg")
    ('passwd', 'pump photo.jpg')
    """
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    return name[:200] or "attachment"


def check(content_type: str, data: bytes, allowed: list[str]) -> str:
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in allowed:
        raise UnsupportedType(f"content type {media or '(none)'!r} is not accepted; send one "
                              f"of {', '.join(allowed)}")
    if not data:
        raise Unprocessable("the attachment is empty")
    if media == "image/webp":
        ok = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    else:
        ok = media not in SIGNATURES or data.startswith(SIGNATURES[media])
    if not ok:
        raise UnsupportedType(f"the file does not look like {media} (its first bytes do not "
                              "match); send it with its real content type")
    return media


def store(folder: Path, order_id: int, data: bytes) -> tuple[str, str]:
    """Write ``data`` durably under a random name; return (stored name, sha256)."""
    target = folder / str(order_id)
    target.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16)
    tmp = target / f".{name}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target / name)
    return name, hashlib.sha256(data).hexdigest()


def path_of(folder: Path, order_id: int, stored_name: str) -> Path:
    if not stored_name.isalnum():  # made by store(); anything else is not ours
        raise ValueError(f"bad stored attachment name {stored_name!r}")
    return folder / str(order_id) / stored_name
