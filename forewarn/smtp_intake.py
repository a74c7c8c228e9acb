"""A small SMTP listener for ``forewarn intake-mail --smtp HOST:PORT``: mails sent to it
(by customers' mail servers through an MX or relay in front, by a portal, by a machine's
alert e-mail) are written into the intake Maildir before they are accepted, so a mail the
sender was told "250" about is on disk, and the intake posts it like any delivered mail.

It never relays: it takes mail for the addresses (or ``@domains``) it is told to, and
refuses other recipients with 550; mails larger than the limit get 552 (the SIZE
extension announces it); a disk that cannot take the mail gives 451, so the sender keeps
it and tries again. TLS and sender authentication belong to the MTA in front of it; it
listens on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import logging
import mailbox
import threading
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)


class MaildirHandler:
    """aiosmtpd handler: recipients checked at RCPT, the mail stored at DATA."""

    def __init__(self, maildir: str | Path, accept: Iterable[str] = (),
                 arrived: threading.Event | None = None):
        self.box = mailbox.Maildir(str(maildir), factory=None, create=True)
        self.accept = [a.lower() for a in accept]
        self.arrived = arrived
        self.stored = 0

    def _wanted(self, address: str) -> bool:
        a = address.lower()
        return not self.accept or any(a == w or (w.startswith("@") and a.endswith(w))
                                      for w in self.accept)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if not self._wanted(address):
            return f"550 5.1.1 <{address}>: not a service address here (no relaying)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        head = (f"X-Forewarn-Envelope-From: {envelope.mail_from}\r\n"
                f"X-Forewarn-Received-From: {session.peer[0] if session.peer else '?'}\r\n")
        try:
            self.box.add(head.encode() + content)  # tmp/ then new/: all or nothing
        except OSError as exc:
            log.error("mail from %s not stored: %s", envelope.mail_from, exc)
            return "451 4.3.0 cannot store the mail now; try again later"
        self.stored += 1
        log.info("mail from %s to %s stored for intake (%d bytes)", envelope.mail_from,
                 ", ".join(envelope.rcpt_tos), len(content))
        if self.arrived is not None:
            self.arrived.set()
        return "250 2.0.0 accepted for intake"


def start(maildir: str | Path, listen: str, accept: Iterable[str] = (),
          max_bytes: int = 10_000_000, arrived: threading.Event | None = None):
    """Start listening on ``HOST:PORT`` in a thread; returns the running controller
    (``.stop()`` it)."""
    from aiosmtpd.controller import Controller

    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--smtp {listen!r}: give HOST:PORT, e.g. 127.0.0.1:2525")
    controller = Controller(MaildirHandler(maildir, accept, arrived), hostname=host or
                            "127.0.0.1", port=int(port), data_size_limit=max_bytes)
    controller.start()
    log.info("taking mail for intake on %s:%s (%s)", controller.hostname, port,
             ", ".join(accept) if accept else "any recipient")
    return controller
