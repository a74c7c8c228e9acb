"""E-mail to order: mails delivered into a Maildir become intake orders on a live API
(serial matched, duplicates joined), and mails that cannot become an order move to
``.failed`` with the reason; run through the CLI as an operator would."""

from __future__ import annotations

import mailbox
import subprocess
import sys
from email.message import EmailMessage

from service_api.bootstrap import issue_token
from tests.servers import start_api


def _mail(sender: str, subject: str, body: str, mid: str) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = sender, "service@example.com", \
        subject, mid
    m.set_content(body)
    return m


def test_mails_become_orders_or_are_set_aside_with_the_reason(tmp_path):
    thread, api, _ = start_api(tmp_path / "api")
    try:
        for asset, serial in (("pump-01", "SN-4711"), ("pump-02", "SN-4712")):
            api._call("PUT", f"/assets/{asset}", {"serial_number": serial})
        token = tmp_path / "token"
        token.write_text(issue_token(f"sqlite:///{tmp_path / 'api' / 'api.sqlite'}",
                                     "mail-bot", create_role="service") + "\n")
        box = mailbox.Maildir(str(tmp_path / "mail"), create=True)
        box.add(_mail("Ann Doe <ann@example.com>", "Pump leaking",
                      "Hello,\nSerial: SN 4711\nthere is water under the pump.\n", "<a1@x>"))
        box.add(_mail("Bob <bob@example.com>", "Re: Pump leaking",
                      "Same pump, still leaking.\nS/N: SN-4711\n", "<a2@x>"))
        box.add(_mail("Cy <cy@example.com>", "Noise, serial SN-47122",
                      "It hums.\n", "<a3@x>"))  # serial in the subject, one digit too many
        box.add(_mail("Dee <dee@example.com>", "Broken", "It broke.\n", "<a4@x>"))
        box.add(_mail("Eve <eve@example.com>", "Broken too", "Serial: ZZ-0\n", "<a5@x>"))
        run = subprocess.run(
            [sys.executable, "-m", "forewarn.cli", "intake-mail", "--maildir",
             str(tmp_path / "mail"), "--api", f"http://127.0.0.1:{thread.settings.port}",
             "--token-file", str(token), "--once"],
            capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert "2 orders made, 1 joined open orders, 2 refused" in run.stderr
        orders = api.items("/work-orders?sort=id")
        assert [(o["asset_id"], o["source"], o["title"]) for o in orders] == [
            ("pump-01", "email", "Pump leaking"), ("pump-02", "email", "Noise, serial SN-47122")]
        assert "water under the pump" in orders[0]["symptom"]
        assert orders[0]["source_ref"] == "<a1@x>"
        assert "'SN-47122', matched 'SN-4712'" in orders[1]["description"]
        # the posted mails are read and kept; the refused ones wait in .failed with why
        box = mailbox.Maildir(str(tmp_path / "mail"), create=False)
        assert sorted(m.get_subdir() for m in box) == ["cur", "cur", "cur"]
        failed = {m["Message-ID"]: m["X-Forewarn-Refused"] for m in box.get_folder("failed")}
        assert "no serial number" in failed["<a4@x>"]
        assert "no asset has a serial number close" in failed["<a5@x>"]
        # a second pass finds nothing new
        again = subprocess.run(
            [sys.executable, "-m", "forewarn.cli", "intake-mail", "--maildir",
             str(tmp_path / "mail"), "--api", f"http://127.0.0.1:{thread.settings.port}",
             "--token-file", str(token), "--once"], capture_output=True, text=True,
            timeout=60)
        assert "0 orders made, 0 joined open orders, 0 refused" in again.stderr
    finally:
        thread.stop()
    # the API away: mails stay new, exit status 1
    box = mailbox.Maildir(str(tmp_path / "mail2"), create=True)
    box.add(_mail("Ann <ann@example.com>", "Leak", "Serial: SN-4711\n", "<b1@x>"))
    run = subprocess.run(
        [sys.executable, "-m", "forewarn.cli", "intake-mail", "--maildir", str(tmp_path / "mail2"),
         "--api", "http://127.0.0.1:9", "--token-file", str(token), "--once"],
        capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "1 waiting for the API" in run.stderr
    assert [m.get_subdir() for m in mailbox.Maildir(str(tmp_path / "mail2"))] == ["new"]


def test_mail_taken_by_smtp_becomes_an_order(tmp_path):
    """``--smtp``: a real SMTP client (smtplib) delivers to the listener; the mail is on
    disk before the 250, becomes an order at once, and what the listener will not take
    (another recipient, an oversized mail) is refused in the SMTP dialogue."""
    import signal
    import smtplib
    import time

    import pytest

    from forewarn.runtime import free_port
    from tests.servers import wait_port

    thread, api, _ = start_api(tmp_path / "api")
    port = free_port()
    token = tmp_path / "token"
    token.write_text(issue_token(f"sqlite:///{tmp_path / 'api' / 'api.sqlite'}",
                                 "mail-bot", create_role="service") + "\n")
    intake = subprocess.Popen(
        [sys.executable, "-m", "forewarn.cli", "intake-mail", "--maildir",
         str(tmp_path / "mail"), "--api", f"http://127.0.0.1:{thread.settings.port}",
         "--token-file", str(token), "--smtp", f"127.0.0.1:{port}", "--accept",
         "service@example.com", "--accept", "@help.example.com", "--max-bytes", "20000",
         "--every", "60"], stderr=subprocess.PIPE, text=True)
    try:
        api._call("PUT", "/assets/pump-01", {"serial_number": "SN-4711"})
        wait_port(port, timeout=20)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            refused = smtp.send_message(
                _mail("Ann Doe <ann@example.com>", "Pump leaking",
                      "Serial: SN-4711\nwater under the pump\n", "<s1@x>"),
                to_addrs=["service@example.com"])
            assert refused == {}
            smtp.send_message(_mail("Bob <bob@example.com>", "Broken", "It broke.\n",
                                    "<s2@x>"), to_addrs=["desk@help.example.com"])
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                smtp.send_message(_mail("Cy <cy@example.com>", "Hi", "Serial: SN-4711\n",
                                        "<s3@x>"), to_addrs=["someone@elsewhere.org"])
            with pytest.raises(smtplib.SMTPSenderRefused) as big:
                smtp.send_message(_mail("Dee <dee@example.com>", "Photos", "x" * 30_000,
                                        "<s4@x>"), to_addrs=["service@example.com"])
            assert big.value.smtp_code == 552
        deadline = time.monotonic() + 20  # a pass runs as soon as a mail arrives
        while time.monotonic() < deadline and not api.items("/work-orders"):
            time.sleep(0.2)
        orders = api.items("/work-orders")
        assert [(o["asset_id"], o["source"], o["source_ref"]) for o in orders] == [
            ("pump-01", "email", "<s1@x>")]
        deadline = time.monotonic() + 10
        box = mailbox.Maildir(str(tmp_path / "mail"), create=False)
        while time.monotonic() < deadline and not list(box.get_folder("failed")):
            time.sleep(0.2)
        failed = list(box.get_folder("failed"))
        assert [m["Message-ID"] for m in failed] == ["<s2@x>"]
        assert failed[0]["X-Forewarn-Envelope-From"] == "bob@example.com"
        assert len(box) == 1  # s3 and s4 were never taken
    finally:
        intake.send_signal(signal.SIGTERM)
        assert intake.wait(20) == 0, intake.stderr.read()
        thread.stop()
