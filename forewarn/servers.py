"""Private instances of the servers Forewarn talks to, for tests and benchmarks.

Mosquitto and VictoriaMetrics come from Debian's packages (``make test`` installs them);
each instance listens on a free 127.0.0.1 port with its own data directory, never the
system service.
"""

from __future__ import annotations

import getpass
import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

from .runtime import free_port


class ServerMissing(RuntimeError):
    """A server binary is not installed."""


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
VICTORIA = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"


class Mosquitto:
    """A private Mosquitto; ``stop()``/``start()`` simulate a broker outage on the same port."""

    def __init__(self, workdir: Path):
        if not Path(MOSQUITTO).exists():
            raise ServerMissing(f"{MOSQUITTO} not found: `make test` installs mosquitto")
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mosquitto.conf"
        # Persistence so a restart keeps persistent sessions' queued messages;
        # unlimited queues: the default (1000) silently drops for slow subscribers.
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\nuser {getpass.getuser()}\n"
            f"persistence true\npersistence_location {workdir}/\nautosave_interval 1\n"
            "max_queued_messages 0\nmax_inflight_messages 0\n"
            f"log_dest file {workdir}/mosquitto.log\n")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Victoria:
    def __init__(self, workdir: Path, port: int | None = None):
        if not Path(VICTORIA).exists():
            raise ServerMissing(f"{VICTORIA} not found: `make test` installs victoria-metrics")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [VICTORIA, f"-httpListenAddr=127.0.0.1:{self.port}", f"-storageDataPath={workdir}",
             "-retentionPeriod=100y", "-search.latencyOffset=0s",
             "-search.disableCache"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def export(self, match: str, expect_values: int = 0, timeout: float = 15.0) -> list[dict]:
        """Every stored series matching ``match``; waits (bounded) until at least
        ``expect_values`` values are visible, since VictoriaMetrics indexes asynchronously."""
        q = urllib.parse.urlencode({"match[]": match})
        deadline = time.monotonic() + timeout
        while True:
            urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=10).read()
            with urllib.request.urlopen(f"{self.url}/api/v1/export?{q}", timeout=10) as r:
                series = [json.loads(line) for line in r.read().decode().splitlines() if line]
            if sum(len(x["values"]) for x in series) >= expect_values or (
                    time.monotonic() > deadline):
                return series
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
