"""The edge agent: Modbus inputs -> anomaly processor -> spool -> MQTT output.

Polling never waits on the network: samples and anomaly events are appended to the
disk spool, and a forwarder drains the spool to the broker, committing only what
the broker acknowledged. Read errors are counted per type and logged, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial

from contracts.wire import (
    AnomalyEvent,
    DeviceEvent,
    GatewayState,
    ReadingBatch,
    Sample,
    events_topic,
    state_topic,
    telemetry_topic,
    utcnow,
)

from .errors import DeviceError, DeviceOffline
from .inputs.modbus import ModbusDevice, open_devices
from .log_limit import limit_library_logs
from .metrics import AgentMetrics
from .outputs.mqtt import MqttPublisher, PublishError
from .outputs.spool import Spool
from .processors.anomaly import Anomaly, AnomalyProcessor
from .processors.report_by_exception import ReportByException
from .settings import AgentSettings

log = logging.getLogger(__name__)


async def wait_or_timeout(event: asyncio.Event, timeout: float) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; return whether it is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=max(0.0, timeout))
    return event.is_set()


@dataclass
class AgentCounters:
    polls: int = 0
    samples_polled: int = 0
    values_polled: int = 0
    read_errors: Counter = field(default_factory=Counter)
    anomalies: int = 0
    batches: int = 0
    messages_published: int = 0
    overruns: int = 0  # poll slots skipped because a poll took longer than its interval
    bytes_published: int = 0
    publish_batches: int = 0
    publish_s_sum: float = 0.0
    values_unchanged: int = 0  # read, within their deadband: sent as "unchanged"
    samples_restored: int = 0  # read by the last run, batched by this one
    read_errors_by_device: Counter = field(default_factory=Counter)  # (asset, kind) -> n

    def as_dict(self) -> dict[str, int]:
        d = {k: v for k, v in self.__dict__.items() if isinstance(v, int)
             and not isinstance(v, bool)}
        d.update({f"read_errors.{k}": v for k, v in self.read_errors.items()})
        return d


class _Collector:
    """The sink the inputs write to during one poll."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.errors: list[DeviceError] = []

    def add(self, sample: Sample) -> None:
        self.samples.append(sample)

    def add_error(self, error: DeviceError) -> None:
        self.errors.append(error)


class Agent:
    def __init__(self, settings: AgentSettings):
        limit_library_logs()  # pymodbus logs every failed connect and timeout
        self.settings = settings
        self.counters = AgentCounters()
        self.devices = open_devices(settings.devices)
        self.detector = AnomalyProcessor(settings.detector)
        self.by_exception = ReportByException({d.asset: d.registers for d in settings.devices})
        self.spool = Spool(settings.spool.path, settings.spool.max_messages)
        self.offline: set[str] = set()  # devices that cannot be reached now
        self.metrics_port: int | None = None
        s = settings
        self._telemetry = telemetry_topic(s.site, s.gateway_id)
        self._events = events_topic(s.site, s.gateway_id)
        self._state = state_topic(s.site, s.gateway_id)
        self.publisher = MqttPublisher(
            s.mqtt, s.mqtt.client_id or f"forewarn-agent-{s.gateway_id}",
            max_inflight=s.mqtt.max_inflight,
            will=(self._state, self._state_payload("offline")),
            on_connect=lambda pub: self._announce(pub, "online"))
        # samples waiting for their batch, with their id in the spool's staging table
        self._pending: list[tuple[int, Sample]] = [
            (i, Sample.model_validate_json(item)) for i, item in self.spool.staged()]
        self.counters.samples_restored = len(self._pending)
        if self._pending:
            log.info("agent %s: %d samples read before the last stop are batched now",
                     s.gateway_id, len(self._pending))
        self._pending_since = time.monotonic()
        self._last_error_log: dict[type, float] = {}

    def _state_payload(self, status: str) -> bytes:
        # State messages carry the last sequence number used; they do not consume one.
        return GatewayState(gateway=self.settings.gateway_id, seq=max(0, self.spool.next_seq - 1),
                            stream=self.spool.stream, sent_at=utcnow(), status=status,  # type: ignore[arg-type]
                            counters={**self.counters.as_dict(),
                                      "devices_offline": len(self.offline)},
                            devices={d.settings.asset: "offline" if d.settings.asset in
                                     self.offline else "online" for d in self.devices}
                            ).to_bytes()

    def _announce(self, pub: MqttPublisher, status: str, wait_s: float = 0.0) -> None:
        try:
            pub.publish_now(self._state, self._state_payload(status), retain=True, wait_s=wait_s)
        except PublishError as exc:
            log.warning("%s", exc)

    # -- polling -----------------------------------------------------------------
    async def poll_once(self) -> list[Sample]:
        """Poll every device once, together (the schedules below poll each on its own)."""
        sink = _Collector()
        await asyncio.gather(*(d.poll(sink) for d in self.devices))
        self.counters.polls += 1
        return self._take(sink)

    def _take(self, sink: _Collector) -> list[Sample]:
        """Count, detect and queue what one poll produced."""
        c = self.counters
        for err in sink.errors:
            c.read_errors[type(err).__name__] += 1
            c.read_errors_by_device[err.asset, type(err).__name__] += 1
            self._log_error(err)
        to_send = []
        for sample in sink.samples:
            c.samples_polled += 1
            c.values_polled += len(sample.values)
            for a in self.detector.process(sample):
                c.anomalies += 1
                self.spool.append(self._events, partial(self._event_payload, a))
                log.info("anomaly: %s %s=%.4g (%s %.1f >= %.1f)", a.asset, a.signal, a.value,
                         a.detector, a.score, a.threshold)
            to_send.append(self.by_exception.filter(sample))
        c.values_unchanged = self.by_exception.held
        if to_send and not self._pending:
            self._pending_since = time.monotonic()
        ids = self.spool.stage([x.model_dump_json().encode() for x in to_send])
        self._pending.extend(zip(ids, to_send, strict=True))
        return sink.samples

    def _batch_payload(self, samples: list[Sample], seq: int) -> bytes:
        batch = ReadingBatch(gateway=self.settings.gateway_id, seq=seq, stream=self.spool.stream,
                             sent_at=utcnow(), samples=samples)
        wire = self.settings.wire
        return batch.to_compact(wire.compress) if wire.encoding == "compact" else batch.to_bytes()

    def _event_payload(self, a: Anomaly, seq: int) -> bytes:
        return AnomalyEvent(
            gateway=self.settings.gateway_id, seq=seq, stream=self.spool.stream,
            sent_at=utcnow(), asset=a.asset, signal=a.signal, ts=a.sample.ts, value=a.value,
            score=a.score, threshold=a.threshold, detector=a.detector, signals=list(a.signals),
            window_start=a.window_start,
        ).to_bytes()

    def _device_payload(self, asset: str, status: str, reason: str, seq: int) -> bytes:
        return DeviceEvent(gateway=self.settings.gateway_id, seq=seq, stream=self.spool.stream,
                           sent_at=utcnow(), asset=asset, status=status,  # type: ignore[arg-type]
                           ts=utcnow(), reason=reason).to_bytes()

    def _log_error(self, err: DeviceError) -> None:
        now = time.monotonic()
        if now - self._last_error_log.get(type(err), 0.0) >= 10.0:
            self._last_error_log[type(err)] = now
            log.warning("read failed: %s (%s)", err, type(err).__name__)

    def flush(self, force: bool = False) -> None:
        """Append the pending samples to the spool as batches."""
        s = self.settings
        while self._pending and (
            force or len(self._pending) >= s.batch_max_samples
            or time.monotonic() - self._pending_since >= s.batch_max_age_s
        ):
            chunk = self._pending[: s.batch_max_samples]
            del self._pending[: s.batch_max_samples]
            self.spool.append(self._telemetry, partial(self._batch_payload,
                                                       [x for _, x in chunk]),
                              unstage=[i for i, _ in chunk])
            self.counters.batches += 1
            self._pending_since = time.monotonic()

    async def _poll_loop(self, stop: asyncio.Event) -> None:
        """One schedule per device (devices on one RS-485 line take turns on its lock),
        started spread over one interval if ``spread_polls``: a thousand devices read in
        the same instant queue every sample behind the others' decoding and detection,
        and age them by most of a second."""
        n = len(self.devices)
        spread = self.settings.spread_polls and n > 1
        await asyncio.gather(*(self._device_loop(d, stop, k / n if spread else 0.0)
                               for k, d in enumerate(self.devices)))

    async def _device_loop(self, device: ModbusDevice, stop: asyncio.Event,
                           phase: float = 0.0) -> None:
        """Poll ``device`` every interval, first after ``phase`` of one interval."""
        interval = device.settings.poll_interval_s or self.settings.poll_interval_s
        asset = device.settings.asset
        if phase and await wait_or_timeout(stop, phase * interval):
            return
        next_at = time.monotonic()
        failures = 0  # polls in a row that could not reach the device
        while not stop.is_set():
            sink = _Collector()
            await device.poll(sink)
            self.counters.polls += 1
            self._take(sink)
            self.flush()
            offline = any(isinstance(e, DeviceOffline) for e in sink.errors) and not sink.samples
            if offline != (asset in self.offline):  # a transition: log it, send it, restate
                reason = ""
                if offline:
                    self.offline.add(asset)
                    reason = str(next(e for e in sink.errors if isinstance(e, DeviceOffline)))
                    log.warning("device %s offline (%s); retrying with backoff", asset,
                                device.where)
                else:
                    self.offline.discard(asset)
                    log.warning("device %s back online", asset)
                self.spool.append(self._events, partial(
                    self._device_payload, asset, "offline" if offline else "online",
                    reason[:200]))
                await self._republish_state()
            failures = failures + 1 if offline else 0
            # reconnect with exponential backoff and jitter: 1, 2, 4 ... intervals
            wait = interval if not failures else min(
                self.settings.reconnect_max_s,
                interval * 2 ** min(failures - 1, 16) * random.uniform(1.0, 1.25))
            next_at += wait
            now = time.monotonic()
            if next_at < now:  # overran: skip the missed slots rather than burst
                skipped = int((now - next_at) // interval) + 1
                self.counters.overruns += skipped
                next_at += skipped * interval
            await wait_or_timeout(stop, next_at - time.monotonic())

    def _start_metrics(self) -> AgentMetrics | None:
        s = self.settings
        if s.metrics_port is None:
            return None
        try:
            server = AgentMetrics(self, s.metrics_host, s.metrics_port)
        except OSError as exc:
            log.error("agent %s: no /metrics or /healthz, %s:%s is not free (%s): set "
                      "metrics_port", s.gateway_id, s.metrics_host, s.metrics_port, exc)
            return None
        server.start()
        self.metrics_port = server.port
        log.info("agent %s: /metrics and /healthz on http://%s:%d", s.gateway_id,
                 s.metrics_host, server.port)
        return server

    async def _republish_state(self) -> None:
        """The retained gateway state, with its count of offline devices, sent again."""
        if self.publisher.connected:
            await asyncio.to_thread(self._announce, self.publisher, "online")

    # -- forwarding ----------------------------------------------------------------
    async def forward_once(self) -> int:
        batch = self.spool.begin(self.settings.spool.publish_batch)
        if not batch or not self.publisher.connected:
            return 0
        t = time.monotonic()
        acked = await asyncio.to_thread(self.publisher.publish_batch, batch)
        self.spool.commit(acked)
        c = self.counters
        c.publish_s_sum += time.monotonic() - t
        c.publish_batches += 1
        c.messages_published += len(acked)
        c.bytes_published += sum(len(m.payload) for m in acked)
        return len(acked)

    async def _forward_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            sent = await self.forward_once()
            if sent == 0:
                await wait_or_timeout(stop, 0.2)

    async def run(self, stop: asyncio.Event, drain_timeout: float = 5.0) -> None:
        """Poll and forward until ``stop`` is set; then flush and drain what the broker takes."""
        self.publisher.start()
        metrics = self._start_metrics()
        log.info("agent %s polling %d devices every %.2fs; spool %s holds %d messages",
                 self.settings.gateway_id, len(self.devices), self.settings.poll_interval_s,
                 self.settings.spool.path, self.spool.depth())
        poll = asyncio.create_task(self._poll_loop(stop))
        forward = asyncio.create_task(self._forward_loop(stop))
        try:
            await poll
        finally:
            self.flush(force=True)
            await forward
            deadline = time.monotonic() + drain_timeout
            while self.spool.depth() and time.monotonic() < deadline:
                if await self.forward_once() == 0:
                    await asyncio.sleep(0.1)
            if self.publisher.connected:
                await asyncio.to_thread(self._announce, self.publisher, "offline", 2.0)
            await asyncio.to_thread(self.publisher.stop)
            for d in self.devices:
                d.close()
            if metrics is not None:
                metrics.stop()
            log.info("agent stopped; %d messages left in spool for next start; counters: %s",
                     self.spool.depth(), self.counters.as_dict())
            self.spool.close()
