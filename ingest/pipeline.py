"""The ingester: MQTT subscriber -> validation (dead letters) -> store -> risk -> work orders.

Messages are acknowledged to the broker only after the store has accepted them
(paho's manual ack), from a persistent session, so a crash or a store outage loses
nothing: unacknowledged messages are delivered again. Sequence numbers per gateway
reveal gaps (lost upstream) and duplicates (redelivery; writes are idempotent).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt

from contracts.wire import (
    SUBSCRIBE_ALL,
    AnomalyEvent,
    GatewayState,
    ReadingBatch,
    WireError,
    decode_message,
)

from .api_client import ApiClient, ApiError
from .dead_letters import DeadLetters
from .risk import RiskTracker
from .sequence import SeqTracker
from .settings import IngestSettings
from .stores import Store, StoreError

log = logging.getLogger(__name__)


@dataclass
class IngestCounters:
    messages: int = 0
    batches: int = 0
    samples: int = 0
    points_stored: int = 0
    anomalies: int = 0
    dead_letters: int = 0
    seq_gaps: int = 0  # messages missing right now (a late arrival closes its gap)
    seq_duplicates: int = 0  # redelivered messages, acknowledged and not stored again
    store_errors: int = 0
    gateway_state: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


class Ingester:
    def __init__(self, settings: IngestSettings, store: Store, dead_letters: DeadLetters,
                 risk: RiskTracker | None = None, api: ApiClient | None = None):
        self.settings = settings
        self.store = store
        self.dead_letters = dead_letters
        self.risk = risk
        self.api = api
        self.counters = IngestCounters()
        self.reasons: Counter[str] = Counter()
        self._queue: queue.Queue[mqtt.MQTTMessage] = queue.Queue(settings.mqtt.queue_max)
        self.sequences = SeqTracker()
        self._known_assets: set[str] = set()
        self._connected = threading.Event()
        self._stopping = threading.Event()
        m = settings.mqtt
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=m.client_id,
                                   clean_session=not m.persistent_session,
                                   protocol=mqtt.MQTTv311, manual_ack=True)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    # -- MQTT thread ---------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT broker refused the ingester: %s", reason_code)
            return
        client.subscribe(SUBSCRIBE_ALL, qos=1)
        self._connected.set()
        log.info("ingester subscribed to %s", SUBSCRIBE_ALL)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        log.warning("ingester disconnected from MQTT broker (%s)", reason_code)

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        # Blocks when the queue is full: back-pressure on the broker, nothing dropped.
        self._queue.put(msg)

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    # -- worker ----------------------------------------------------------------------
    def _take_batch(self) -> list[mqtt.MQTTMessage]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.settings.batch_max_wait_s
        while len(batch) < self.settings.batch_max_messages:
            try:
                batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def _dead_letter(self, msg: mqtt.MQTTMessage, reason: str) -> None:
        self.dead_letters.add(msg.topic, msg.payload, reason)
        self.counters.dead_letters += 1
        self.reasons[reason.split(":")[0]] += 1
        log.warning("dead letter (%s): %s", msg.topic, reason)

    def process(self, batch: list[mqtt.MQTTMessage]) -> None:
        """Validate, store (retrying until the store accepts), ack, then score."""
        telemetry: list[ReadingBatch] = []
        for msg in batch:
            self.counters.messages += 1
            try:
                message = decode_message(msg.topic, msg.payload)
            except WireError as exc:
                self._dead_letter(msg, str(exc))
                continue
            if isinstance(message, GatewayState):
                self.counters.gateway_state[message.gateway] = message.status
                log.info("gateway %s is %s", message.gateway, message.status)
                continue
            if not self.sequences.check(message.gateway, message.stream, message.seq):
                continue  # seen before (redelivery): already stored
            if isinstance(message, AnomalyEvent):
                self.counters.anomalies += 1
            else:
                telemetry.append(message)
        samples_by_gw: dict[str, list] = {}
        for b in telemetry:
            samples_by_gw.setdefault(b.gateway, []).extend(b.samples)
        for gateway, samples in samples_by_gw.items():
            self._write(gateway, samples)
        for msg in batch:
            self._client.ack(msg.mid, msg.qos)
        self.counters.batches += 1
        gaps = self.sequences.missing_total()
        if gaps > self.counters.seq_gaps:
            log.warning("%d messages missing upstream (sequence gaps)", gaps)
        self.counters.seq_gaps = gaps
        self.counters.seq_duplicates = self.sequences.duplicates
        all_samples = [s for b in telemetry for s in b.samples]
        self._register_assets(all_samples)
        if self.risk is not None and all_samples:
            self.risk.observe(all_samples)

    def _write(self, gateway: str, samples: list) -> None:
        delay = 0.5
        while True:
            try:
                self.counters.points_stored += self.store.write(gateway, samples)
                self.counters.samples += len(samples)
                return
            except StoreError as exc:
                self.counters.store_errors += 1
                log.warning("%s; retrying in %.1fs (messages stay unacknowledged)", exc, delay)
                if self._stopping.wait(delay):
                    raise
                delay = min(delay * 2, 10.0)

    def _register_assets(self, samples: list) -> None:
        """Tell the service API about new assets, from its sender thread (``ApiClient.send``)."""
        if self.api is None:
            return
        for s in samples:
            if s.asset in self._known_assets:
                continue
            self._known_assets.add(s.asset)  # forgotten again if the call fails: retried
            self.api.send(("asset", s.asset), lambda api, asset=s.asset: api.upsert_asset(asset),
                          on_error=lambda exc, asset=s.asset: self._not_registered(asset, exc))

    def _not_registered(self, asset: str, exc: ApiError) -> None:
        self._known_assets.discard(asset)
        log.warning("asset %s not registered with the API yet: %s", asset, exc)

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; then finish the batch in hand and disconnect."""
        self._stopping = stop
        host, port = self.settings.mqtt.endpoint()
        self._client.connect_async(host, port, keepalive=self.settings.mqtt.keepalive_s)
        self._client.loop_start()
        try:
            while not stop.is_set():
                batch = self._take_batch()
                if batch:
                    try:
                        self.process(batch)
                    except StoreError:
                        break  # stopping while the store is down: redelivered next start
        finally:
            self._client.disconnect()
            self._client.loop_stop()
            if self.risk is not None:
                self.risk.close()
            if self.api is not None:
                self.api.close()
            log.info("ingester stopped: %s", self.counters.as_dict())
