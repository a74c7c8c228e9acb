"""E-mail to order: reads customer mails from a Maildir folder (what a local MTA such as
Postfix, or fetchmail/getmail pulling from IMAP or POP, delivers into) and posts each to
``POST /api/v1/intake`` as an ``email`` order.

From a mail: the subject is the title; the plain-text body the symptom; the serial number
from a line such as ``Serial: SN-4711`` (also ``S/N``, ``serial number``, ``Seriennummer``)
or the subject; the sender is the reporter and contact; the Message-ID the reference.
A mail posted (an order made, or an open order of that machine returned) moves to the
Maildir's ``cur`` marked seen; a mail the API refuses for what it says (no serial, no
machine close to it) moves to the ``.failed`` subfolder with the reason in an
``X-Forewarn-Refused`` header, so nobody's report is lost or retried forever; while the
API cannot be reached, mails stay new and are tried on the next pass.
"""

from __future__ import annotations

import email.policy
import email.utils
import logging
import mailbox
import os
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from ingest.api_client import ApiClient, ApiError

log = logging.getLogger(__name__)

SERIAL = re.compile(r"(?im)^\s*(?:serial(?:\s*(?:number|no\.?|nr\.?))?|s/n|sn|"
                    r"seriennummer)\s*[:#=]?\s*([A-Za-z0-9][A-Za-z0-9 ._/-]{1,60}?)\s*$")
SUBJECT_SERIAL = re.compile(r"(?i)\b(?:serial|s/n)\s*[:#]?\s*([A-Za-z0-9][A-Za-z0-9._/-]{1,60})")


@dataclass
class Report:
    posted: int = 0
    deduplicated: int = 0
    refused: int = 0
    waiting: int = 0
    orders: list[int] = field(default_factory=list)


def parse(msg: EmailMessage) -> dict:
    """The intake body a mail asks for.

    >>> m = email.message_from_string(
    ...     "From: Ann Doe <ann@example.com>\\nSubject: Pump leaking\\nMessage-ID: <a1@x>\\n\\n"
    ...     "Hello,\\nSerial: SN-4711\\nwater under the pump.\\n",
    ...     policy=email.policy.default)
    >>> b = parse(m)
    >>> b["serial_number"], b["title"], b["reporter"], b["contact"], b["reference"]
    ('SN-4711', 'Pump leaking', 'Ann Doe', 'ann@example.com', '<a1@x>')
    """
    subject = " ".join(str(msg.get("Subject", "")).split())[:200] or "Report by e-mail"
    part = msg.get_body(preferencelist=("plain", "html")) if msg.is_multipart() else msg
    body = part.get_content() if part is not None else ""
    if part is not None and part.get_content_type() == "text/html":
        body = re.sub(r"<[^>]+>", " ", body)
    found = SERIAL.search(body) or SUBJECT_SERIAL.search(subject)
    name, address = email.utils.parseaddr(str(msg.get("From", "")))
    out = {"channel": "email", "title": subject, "symptom": body.strip()[:10_000],
           "reporter": (name or address)[:200], "contact": address[:200],
           "reference": str(msg.get("Message-ID", "")).strip()[:200]}
    if found:
        out["serial_number"] = found.group(1).strip()
    return out


ARRIVAL = re.compile(r"^(\d+)\.([^.]*)")


def arrival(key: str) -> tuple[int, int, int, str]:
    """When a Maildir file name says its mail arrived: seconds, then microseconds (``M``)
    and Python's delivery counter (``Q``), as Postfix, Dovecot and Python's ``mailbox``
    name them; the micro-seconds are not zero-padded, so plain name order is wrong
    within a second.

    >>> sorted(["1700000000.M99999P7Q2.h", "1700000000.M123456P7Q3.h",
    ...         "1699999999.V8I9M5.h"], key=arrival)
    ['1699999999.V8I9M5.h', '1700000000.M99999P7Q2.h', '1700000000.M123456P7Q3.h']
    """
    m = ARRIVAL.match(key)
    if m is None:
        return (0, 0, 0, key)
    micro = re.search(r"M(\d+)", m.group(2))
    count = re.search(r"Q(\d+)", m.group(2))
    return (int(m.group(1)), int(micro.group(1)) if micro else 0,
            int(count.group(1)) if count else 0, key)


def process(maildir: str | Path, api: ApiClient) -> Report:
    """One pass over the new mails of ``maildir``."""
    box = mailbox.Maildir(str(maildir), factory=None, create=True)
    failed = box.add_folder("failed")  # made if missing
    report = Report()
    # the new mails only, by their file names (a Maildir key is the name before ':'):
    # the mails already read are not opened again on every pass; oldest first, so a
    # report and the follow-up that joins its order keep their order
    new = sorted((name.split(":", 1)[0] for name in os.listdir(Path(maildir) / "new")
                  if not name.startswith(".")), key=arrival)
    for key in new:
        raw = box.get_bytes(key)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        body = parse(msg)
        reason = None if "serial_number" in body else \
            "no serial number in the mail: add a line 'Serial: <as on the plate>'"
        if reason is None:
            try:
                created = api.intake(body)
            except ApiError as exc:
                if exc.status is None or exc.status >= 500 or exc.status in (401, 403, 429):
                    report.waiting += 1  # the API is away or misconfigured: try again
                    log.warning("mail %s not posted yet: %s", body["reference"] or key, exc)
                    continue
                reason = str(exc)  # what the mail says cannot become an order
        if reason is not None:
            refused = mailbox.MaildirMessage(raw)
            refused["X-Forewarn-Refused"] = reason[:900]
            failed.add(refused)
            box.remove(key)
            report.refused += 1
            log.warning("mail %s refused: %s", body["reference"] or key, reason)
            continue
        m = box.get_message(key)
        m.set_subdir("cur")
        m.add_flag("S")
        box[key] = m
        report.orders.append(created["order"]["id"])
        if created["created"]:
            report.posted += 1
        else:
            report.deduplicated += 1
        log.info("mail %s -> work order #%s (%s match of serial %r)", body["reference"] or key,
                 created["order"]["id"], created["match"]["method"], body["serial_number"])
    return report
