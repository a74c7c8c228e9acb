"""Fixtures that start real parts on 127.0.0.1 with free ports and private data dirs.

Mosquitto and VictoriaMetrics are the Debian packages (`make test` installs them);
they are started here as our own processes, never as the system services.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from forewarn.servers import Mosquitto, ServerMissing, Victoria


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    try:
        broker = Mosquitto(tmp_path / "mosquitto")
    except ServerMissing as exc:
        pytest.fail(str(exc))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[Victoria]:
    try:
        vm = Victoria(tmp_path / "vm")
    except ServerMissing as exc:
        pytest.fail(str(exc))
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
