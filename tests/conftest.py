"""Fixtures that start real parts on 127.0.0.1 with free ports and private data dirs.

Mosquitto, VictoriaMetrics and PostgreSQL are the Debian packages (`make test` installs them);
they are started here as our own processes, never as the system services.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.servers import Mosquitto, Postgres, ServerMissing, Victoria


def _server(make):
    try:
        return make()
    except ServerMissing as exc:
        pytest.fail(str(exc))


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = _server(lambda: Mosquitto(tmp_path / "mosquitto"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def mosquitto_module(tmp_path_factory) -> Iterator[Mosquitto]:
    """One broker for a module whose tests share a live pipeline."""
    broker = _server(lambda: Mosquitto(tmp_path_factory.mktemp("mosquitto")))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[Victoria]:
    vm = _server(lambda: Victoria(tmp_path / "vm"))
    yield vm
    vm.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    pg = _server(Postgres)
    yield pg
    pg.stop()


class RecordingSink:
    """The agent's input sink, recording what a poll produced."""

    def __init__(self) -> None:
        self.samples: list = []
        self.errors: list = []

    def add(self, sample) -> None:
        self.samples.append(sample)

    def add_error(self, error) -> None:
        self.errors.append(error)


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
        async def cancel_pending() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_pending(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


@pytest.fixture(scope="module")
def loop_thread_module() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


@pytest.fixture(scope="session")
def risk_model_dir(tmp_path_factory) -> Path:
    """A risk model trained on a small simulated dataset (1 sample per simulated hour)."""
    from models.dataset import read_runs
    from models.train import TrainOptions, train
    from simulators.dataset import write_dataset

    d = tmp_path_factory.mktemp("model")
    write_dataset(d / "train.csv", 60, seed=11)
    train(read_runs(d / "train.csv"), d / "model", TrainOptions(search_iter=0),
          log=lambda m: None)
    return d / "model"


@contextmanager
def running_pipeline(loop_thread: LoopThread, fleet, ingester, agent_settings):
    """Ingester thread, simulated fleet and agent running; yields (fleet server, agent).

    On exit the agent stops (draining its spool), the ingester is given up to 20 s to
    store every sample the agent polled, then everything stops."""
    from edge_agent.pipeline import Agent
    from simulators.modbus_server import FleetServer

    ingest_stop = threading.Event()
    ingest_thread = threading.Thread(target=ingester.run, args=(ingest_stop,))
    ingest_thread.start()
    assert ingester.wait_connected(10)
    server = FleetServer(fleet)
    loop_thread.run(server.start())
    agent = Agent(agent_settings)
    stop = asyncio.Event()
    running = loop_thread.submit(agent.run(stop))
    try:
        yield server, agent
    finally:
        loop_thread.loop.call_soon_threadsafe(stop.set)
        running.result(30)
        deadline = time.monotonic() + 20
        while ingester.counters.samples < agent.counters.samples_polled and (
                time.monotonic() < deadline):
            time.sleep(0.1)
        ingest_stop.set()
        ingest_thread.join(15)
        loop_thread.run(server.stop())


def f32(x: float) -> float:
    """``x`` stored as a float32 and read back as the shortest decimal of that float32
    (numpy's own shortest repr: independent of the agent's codec)."""
    import numpy as np

    return float(str(np.float32(x)))


class TelemetryWatcher:
    """A broker subscriber that decodes every telemetry message as the ingester does;
    ``samples()`` is what went over the wire so far. Use as a context manager."""

    def __init__(self, port: int, client_id: str):
        import paho.mqtt.client as mqtt

        self._seen: list = []
        self._lock = threading.Lock()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        self._client.on_message = self._on_message
        self._port = port

    def _on_message(self, client, userdata, msg) -> None:
        from contracts.wire import decode_telemetry

        if msg.topic.endswith("/telemetry"):
            with self._lock:
                self._seen.extend(decode_telemetry(msg.topic, msg.payload).batch.samples)

    def samples(self) -> list:
        with self._lock:
            return list(self._seen)

    def __enter__(self) -> TelemetryWatcher:
        from contracts.wire import SUBSCRIBE_ALL

        self._client.connect("127.0.0.1", self._port)
        self._client.subscribe(SUBSCRIBE_ALL, qos=1)
        self._client.loop_start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.loop_stop()
        self._client.disconnect()
