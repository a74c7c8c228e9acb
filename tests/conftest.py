"""Fixtures that start real parts on 127.0.0.1 with free ports and private data dirs.

Mosquitto and VictoriaMetrics are the Debian packages (`make test` installs them);
they are started here as our own processes, never as the system services.
"""

from __future__ import annotations

import asyncio
import getpass
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from forewarn.runtime import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
VICTORIA = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class Mosquitto:
    """A private Mosquitto; ``stop()``/``start()`` simulate a broker outage on the same port."""

    def __init__(self, workdir: Path):
        if not Path(MOSQUITTO).exists():
            pytest.fail(f"{MOSQUITTO} not found: run `make test`, which installs mosquitto")
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


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()


class Victoria:
    def __init__(self, workdir: Path):
        if not Path(VICTORIA).exists():
            pytest.fail(f"{VICTORIA} not found: run `make test`, which installs victoria-metrics")
        self.port = free_port()
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
        import json
        import urllib.parse

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


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[Victoria]:
    vm = Victoria(tmp_path / "vm")
    yield vm
    vm.stop()


class LoopThread:
    """An asyncio loop in a thread, for async parts (Modbus servers, the agent) in sync tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def submit(self, coro: Coroutine[Any, Any, Any]):
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


@pytest.fixture(scope="session")
def risk_model_dir(tmp_path_factory) -> Path:
    """A risk model trained on a small simulated dataset (1 sample per simulated hour)."""
    from models.dataset import read_runs
    from models.train import train
    from simulators.dataset import write_dataset

    d = tmp_path_factory.mktemp("model")
    write_dataset(d / "train.csv", 80, seed=11)
    train(read_runs(d / "train.csv"), d / "model", log=lambda m: None)
    return d / "model"
