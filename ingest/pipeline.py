"""The ingester: MQTT subscriber -> validation (dead letters) -> store -> risk -> work orders.

Messages are acknowledged to the broker only after the store has accepted them, or
after they went to the dead letters (paho's manual ack), from a persistent MQTT 5
session, so a crash or a store outage loses nothing: unacknowledged messages are
delivered again. Nothing a payload holds can stop ingestion: every message ends up
stored or dead-lettered with its reason, and acknowledged. Sequence numbers per gateway
reveal gaps (lost upstream) and duplicates (redelivery; writes are idempotent).

Back-pressure never blocks paho's network thread: the broker sends at most
``mqtt.queue_max`` unacknowledged messages (MQTT 5 receive maximum), so the hand-over
queue is bounded by the protocol, and a stalled store only stops acks, not keepalives.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from contracts.api_bodies import MAX_BATCH, AssetUpsert, EventBatch
from contracts.api_bodies import EventRecord as ApiEvent
from contracts.mqtt import ConnectionReport
from contracts.wire import (
    AnomalyEvent,
    DeviceEvent,
    GatewayState,
    Sample,
    WireError,
    decode_message,
    decode_telemetry,
    parse_topic,
)

from .admission import Admitted, TimeWindow, admit
from .api_client import ApiClient, ApiError
from .dead_letters import DeadLetters
from .device_state import DeviceStates
from .held_values import HeldValues
from .instance import Instance, claim_instance
from .metrics import MetricsServer
from .records import EventRecord
from .risk import RiskTracker
from .sequence import SeqTracker
from .settings import IngestSettings
from .state_file import StateFile
from .stores import Store, StoreError, StoreRejected

log = logging.getLogger(__name__)


@dataclass
class IngestCounters:
    messages: int = 0
    batches: int = 0
    samples: int = 0
    points_stored: int = 0
    anomalies: int = 0
    dead_letters: int = 0
    refused: int = 0  # invalid, seen by a scoring-only ingester (the storing ones dead-letter)
    seq_gaps: int = 0  # messages missing right now (a late arrival closes its gap)
    seq_duplicates: int = 0  # redelivered messages, acknowledged and not stored again
    store_errors: int = 0  # transient failures, retried
    store_rejected: int = 0  # writes the store refused for good: dead-lettered, alarm
    internal_errors: int = 0  # bugs: the message was dead-lettered, ingestion went on
    events_stored: int = 0  # anomaly events and gateway state changes
    scores: int = 0  # risk scores computed
    scores_not_stored: int = 0
    device_events: int = 0  # a device behind a gateway went offline or came back
    values_held: int = 0  # "unchanged" values filled in with the value last sent
    values_held_unknown: int = 0  # "unchanged" values never seen before: left out
    gateway_state: dict[str, str] = field(default_factory=dict)
    # each device's link as its gateway last reported it (device events, state messages)
    device_state: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


DEAD_LETTER_KINDS = ("invalid_message", "invalid_sample", "time_window", "store_rejected",
                     "internal_error")


class Timing:
    """Store write latency (sum, count, max) and lag (now minus the newest stored sample)."""

    def __init__(self) -> None:
        self.write_s_sum = 0.0
        self.writes = 0
        self.write_s_max = 0.0
        self.lag_s = 0.0

    def write(self, seconds: float) -> None:
        self.write_s_sum += seconds
        self.writes += 1
        self.write_s_max = max(self.write_s_max, seconds)

    def lag(self, newest: datetime) -> None:
        self.lag_s = max(0.0, (datetime.now(UTC) - newest).total_seconds())


class Ingester:
    def __init__(self, settings: IngestSettings, store: Store, dead_letters: DeadLetters,
                 risk: RiskTracker | None = None, api: ApiClient | None = None):
        self.settings = settings
        self.store = store
        self.dead_letters = dead_letters
        self.risk = risk
        self.api = api
        self.counters = IngestCounters()
        self.reasons: Counter[str] = Counter()  # dead letters by kind
        self.timing = Timing()
        self.last_store_error: str | None = None
        self.metrics: MetricsServer | None = None
        # Unbounded here, bounded by the broker: at most mqtt.queue_max unacked messages.
        self._queue: queue.SimpleQueue[mqtt.MQTTMessage] = queue.SimpleQueue()
        self.sequences = SeqTracker()
        self.held = HeldValues()  # report by exception: the values "unchanged" stands for
        self.window = TimeWindow(settings.max_future_skew_s, settings.max_sample_age_s)
        self._known_assets: set[str] = set()
        self._gateway_assets: dict[str, set[str]] = {}  # assets seen behind each gateway
        self.device_states = DeviceStates(settings.run_signal, settings.trip_signal)
        if risk is not None:
            risk.hold = self._order_hold
        self._event_posts = 0
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self.topic_filters = settings.topic_filters()
        self.storing = settings.role in ("all", "store")  # writes telemetry, dead letters
        self.scoring = settings.role in ("all", "score")  # sequences, risk, state
        m = settings.mqtt
        self.instance: Instance | None = None
        if m.client_id is None:
            self.instance = claim_instance(settings.state_dir)
        self.client_id = m.client_id or self.instance.client_id()  # type: ignore[union-attr]
        self.report = ConnectionReport(m, log, f"ingester {self.client_id}")
        self.state: StateFile | None = None
        if settings.persist_state and self.scoring:
            self.state = StateFile(Path(settings.state_dir) / f"{self.client_id}.state.sqlite")
            self._restore(self.state)
        v5 = m.protocol == "5"
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                   protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                                   clean_session=None if v5 else not m.persistent_session,
                                   manual_ack=True)
        m.apply(self._client)  # credentials, TLS
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = lambda client, userdata: self.report.failed()
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    # -- state across restarts ------------------------------------------------------
    def _restore(self, state: StateFile) -> None:
        meta = state.meta()
        streams = state.streams()
        self.sequences.restore(streams, int(meta.get("seq_duplicates", 0)))
        assets = {}
        if self.risk is not None:
            digest = self.risk.model.digest()
            if meta.get("model_digest", digest) == digest:
                assets = state.assets()
                self.risk.scorer.restore(assets)
            else:
                log.warning("the model changed since the state file %s was written: per-asset "
                            "scoring state starts afresh", state.path)
                state.drop_assets()
        if streams or assets:
            log.info("restored state of %d streams and %d assets from %s", len(streams),
                     len(assets), state.path)

    def _checkpoint(self, assets: set[str]) -> None:
        """Save what this batch changed, durably, before it is acknowledged."""
        if self.state is None:
            return
        meta = {"seq_duplicates": str(self.sequences.duplicates)}
        snaps = {}
        if self.risk is not None:
            meta["model_digest"] = self.risk.model.digest()
            snaps = self.risk.scorer.snapshot(assets)
        self.state.save(self.sequences.snapshot(self.sequences.take_dirty()), snaps, meta)

    # -- MQTT thread ---------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.report.refused(str(reason_code))
            return
        self.report.connected()
        stale = [f for f in self._recorded_filters() if f not in self.topic_filters]
        if stale:  # a resumed session keeps what an earlier configuration subscribed to
            client.unsubscribe(stale)
            log.warning("ingester %s: unsubscribed from %s (no longer configured)",
                        self.client_id, ", ".join(stale))
        client.subscribe([(f, 1) for f in self.topic_filters])
        self._record_filters()
        self._connected.set()
        log.info("ingester %s (role %s) subscribed to %s (session %s)", self.client_id,
                 self.settings.role, ", ".join(self.topic_filters),
                 "resumed" if flags.session_present else "new")

    def _filters_path(self) -> Path:
        return Path(self.settings.state_dir) / f"{self.client_id}.subscriptions.json"

    def _recorded_filters(self) -> list[str]:
        try:
            return list(json.loads(self._filters_path().read_text()))
        except (OSError, ValueError):
            return []

    def _record_filters(self) -> None:
        path = self._filters_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.topic_filters))

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self._connected.is_set():
            log.warning("ingester disconnected from MQTT broker %s (%s)",
                        self.settings.mqtt.safe_url, reason_code)
        self._connected.clear()

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        self._queue.put(msg)  # never blocks paho's network thread

    def queued(self) -> int:
        return self._queue.qsize()

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

    def _dead_letter(self, topic: str, payload: bytes, reason: str, kind: str) -> None:
        """``kind`` (one of DEAD_LETTER_KINDS) labels the metric; ``reason`` says it all."""
        self.reasons[kind] += 1
        if not self.storing:  # the storing ingesters dead-letter it
            self.counters.refused += 1
            log.debug("refused (%s): %s", topic, reason)
            return
        self.dead_letters.add(topic, payload, reason)
        self.counters.dead_letters += 1
        log.warning("dead letter (%s): %s", topic, reason)


    def process(self, batch: list[mqtt.MQTTMessage]) -> None:
        """Validate, store (retrying while the store is down), ack, then score."""
        admitted: dict[str, list[Admitted]] = {}
        events: list[tuple[EventRecord, mqtt.MQTTMessage]] = []
        now = datetime.now(UTC)
        for msg in batch:
            self.counters.messages += 1
            try:
                self._admit(msg, now, admitted, events)
            except Exception as exc:  # a bug must not turn one message into a poison loop
                self.counters.internal_errors += 1
                log.exception("internal error on a message from %s", msg.topic)
                self._dead_letter(msg.topic, msg.payload, f"internal error: {exc!r}",
                                  "internal_error")
        if self.storing:
            for gateway, items in admitted.items():
                self._write(gateway, items)
            if events:
                self._write_events(events)
        all_samples = [it.sample for items in admitted.values() for it in items]
        for gateway, items in admitted.items():  # which assets each gateway speaks for
            self._gateway_assets.setdefault(gateway, set()).update(
                it.sample.asset for it in items)
        if self.scoring and self.risk is not None and all_samples:
            self._score(all_samples)
        self._checkpoint({s.asset for s in all_samples})
        for msg in batch:
            self._client.ack(msg.mid, msg.qos)
        self.counters.batches += 1
        gaps = self.sequences.missing_total()
        if gaps > self.counters.seq_gaps:
            log.warning("%d messages missing upstream (sequence gaps)", gaps)
        self.counters.seq_gaps = gaps
        self.counters.seq_duplicates = self.sequences.duplicates
        self._register_assets(admitted)
        if self.storing and events:
            self._post_events([e for e, _ in events])
        if self.scoring and self.api is not None and all_samples:  # sees each stream whole
            self._send_events(self.device_states.observe(all_samples))

    def _score(self, samples: list[Sample]) -> None:
        """Score and store the scores; scoring is downstream of storage, never stops it."""
        try:
            scores = self.risk.observe(samples)  # type: ignore[union-attr]
        except Exception:
            self.counters.internal_errors += 1
            log.exception("risk scoring failed on %d samples", len(samples))
            return
        if not scores:
            return
        self.counters.scores += len(scores)
        try:
            self.store.write_scores(scores)
        except StoreError as exc:  # derived data: counted, not retried
            self.counters.scores_not_stored += len(scores)
            log.warning("%d risk scores not stored: %s", len(scores), exc)

    def _admit(self, msg: mqtt.MQTTMessage, now: datetime, admitted: dict[str, list[Admitted]],
               events: list[tuple[EventRecord, mqtt.MQTTMessage]]) -> None:
        try:
            kind = parse_topic(msg.topic)[2]
            if kind == "telemetry":
                decoded = decode_telemetry(msg.topic, msg.payload)
            else:
                message = decode_message(msg.topic, msg.payload)
        except WireError as exc:
            self._dead_letter(msg.topic, msg.payload, str(exc), "invalid_message")
            return
        if kind != "telemetry":
            if isinstance(message, GatewayState):
                before = self.counters.gateway_state.get(message.gateway)
                self.counters.gateway_state[message.gateway] = message.status
                self.counters.device_state.update(message.devices)
                if before != message.status:
                    log.info("gateway %s is %s", message.gateway, message.status)
                    events.append((EventRecord.of(message), msg))
            elif self._new(message.gateway, message.stream, message.seq):
                if isinstance(message, AnomalyEvent):
                    self.counters.anomalies += 1
                    events.append((EventRecord.of(message), msg))
                elif isinstance(message, DeviceEvent):
                    self.counters.device_events += 1
                    self.counters.device_state[message.asset] = message.status
                    log.info("device %s behind %s is %s%s", message.asset, message.gateway,
                             message.status, f" ({message.reason})" if message.reason else "")
                    events.append((EventRecord.of(message), msg))
            return
        if not self._new(decoded.gateway, decoded.stream, decoded.seq):
            return  # seen before (redelivery): already stored or dead-lettered
        for refused in decoded.refused:
            self._dead_letter(msg.topic, refused.payload(), refused.reason, "invalid_sample")
        if decoded.batch is None:
            return
        good, refused_by_time = admit(decoded.batch, msg.topic, self.window, now)
        filled = []
        for it in good:
            sample = self.held.fill(it.sample)
            if sample is it.sample:
                filled.append(it)
            elif sample is not None:
                filled.append(Admitted(sample, it.topic, it.envelope))
        self.counters.values_held = self.held.filled
        self.counters.values_held_unknown = self.held.unknown
        admitted.setdefault(decoded.gateway, []).extend(filled)
        for refused in refused_by_time:
            self._dead_letter(msg.topic, refused.payload(), refused.reason, "time_window")

    def _new(self, gateway: str, stream: str, seq: int) -> bool:
        """Not seen before. A storing-only ingester of a shared group sees part of each
        stream, so it cannot tell: it stores again (writes are idempotent)."""
        return self.sequences.check(gateway, stream, seq) if self.scoring else True

    def _retrying(self, call: Callable[[], int]) -> int:
        """Run a store call, retrying transient errors with backoff and jitter until it
        succeeds or the ingester stops (then StoreError: nothing is acked). StoreRejected
        goes to the caller."""
        delay = 0.5
        while True:
            try:
                out = call()
                self.last_store_error = None
                return out
            except StoreRejected as exc:
                self.last_store_error = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {exc}"
                raise
            except StoreError as exc:  # the error first: a reader of the count sees it
                self.last_store_error = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {exc}"
                self.counters.store_errors += 1
                wait = delay * random.uniform(0.5, 1.0)  # jitter: N ingesters do not align
                log.warning("%s; retrying in %.1fs (messages stay unacknowledged)", exc, wait)
                if self._stopping.wait(wait):
                    raise
                delay = min(delay * 2, 10.0)

    def _write(self, gateway: str, items: list[Admitted]) -> None:
        """Store samples; dead-letter what the store refuses for good, alone if it can."""
        started = time.perf_counter()
        try:
            self.counters.points_stored += self._retrying(
                lambda: self.store.write(gateway, [it.sample for it in items]))
        except StoreRejected as exc:
            if exc.per_point and len(items) > 1:  # isolate the points it refuses
                half = len(items) // 2
                self._write(gateway, items[:half])
                self._write(gateway, items[half:])
                return
            self.counters.store_rejected += 1
            log.error("ALARM store refused %d samples of %s for good, dead-lettered: %s",
                      len(items), gateway, exc)
            for it in items:
                refused = it.refused(f"store refused: {exc}")
                self._dead_letter(it.topic, refused.payload(), refused.reason,
                                  "store_rejected")
            return
        self.timing.write(time.perf_counter() - started)
        self.timing.lag(max(it.sample.ts for it in items))
        self.counters.samples += len(items)

    def _write_events(self, events: list[tuple[EventRecord, mqtt.MQTTMessage]]) -> None:
        try:
            self.counters.events_stored += self._retrying(
                lambda: self.store.write_events([e for e, _ in events]))
        except StoreRejected as exc:
            self.counters.store_rejected += 1
            log.error("ALARM store refused %d events for good, dead-lettered: %s",
                      len(events), exc)
            for _, msg in events:
                self._dead_letter(msg.topic, msg.payload, f"store refused: {exc}",
                                  "store_rejected")

    def _register_assets(self, admitted: dict[str, list[Admitted]]) -> None:
        """Tell the service API about new assets and their gateway, from its sender thread
        (``ApiClient.send``); the API fills only fields nobody has set."""
        if self.api is None:
            return
        for gateway, items in admitted.items():
            for it in items:
                asset = it.sample.asset
                if asset in self._known_assets:
                    continue
                self._known_assets.add(asset)  # forgotten again if the call fails: retried
                self.api.send(("asset", asset),
                              lambda api, a=asset, g=gateway: api.upsert_asset(
                                  a, AssetUpsert(gateway=g)),
                              on_error=lambda exc, a=asset: self._not_registered(a, exc))

    def _post_events(self, events: list[EventRecord]) -> None:
        """Post anomaly events, and gateway state changes for each asset seen behind that
        gateway, to the service API as evidence (idempotent there: a repeat is a duplicate).
        """
        if self.api is None:
            return
        records = []
        for e in events:
            ts = datetime.fromtimestamp(e.ts_ns / 1e9, UTC)
            if e.kind == "anomaly" and e.asset:
                f = e.fields
                score = f.get("score")
                records.append(ApiEvent(
                    asset_id=e.asset, ts=ts, kind="anomaly", signal=str(f.get("signal", "")),
                    severity=min(abs(score), 1e6) if isinstance(score, float)
                    and math.isfinite(score) else None,
                    message=f"{f.get('detector', '')} flagged {f.get('signal', '')}"[:200],
                    detail={k: v for k, v in {**f, "gateway": e.gateway}.items()
                            if not isinstance(v, float) or math.isfinite(v)}))
            elif e.kind == "device" and e.asset:  # the asset's own link: shown as its state
                status = str(e.fields.get("status", ""))
                reason = str(e.fields.get("reason", ""))
                records.append(ApiEvent(
                    asset_id=e.asset, ts=ts, kind="gateway_state", signal=e.gateway[:64],
                    message=f"device {status} at gateway {e.gateway}"
                            f"{': ' + reason if reason else ''}"[:200],
                    detail={"gateway": e.gateway, "status": status, "device": e.asset,
                            "reason": reason[:200]}))
            elif e.kind == "gateway_state":
                status = str(e.fields.get("status", ""))
                for asset in sorted(self._gateway_assets.get(e.gateway, ())):
                    records.append(ApiEvent(
                        asset_id=asset, ts=ts, kind="gateway_state", signal=e.gateway[:64],
                        message=f"gateway {e.gateway} {status}"[:200],
                        detail={"gateway": e.gateway, "status": status}))
        self._send_events(records)

    def _send_events(self, records: list[ApiEvent]) -> None:
        if self.api is None:
            return
        for i in range(0, len(records), MAX_BATCH):
            batch = EventBatch(records=records[i:i + MAX_BATCH])
            self._event_posts += 1
            self.api.send(("events", self._event_posts),
                          lambda api, b=batch: api.post_events(b),
                          on_error=lambda exc, b=batch: log.warning(
                              "%d events not posted to the service API: %s", len(b.records),
                              exc))

    def _order_hold(self, asset: str) -> str | None:
        """No order from stale data: not while the asset's gateway says it is offline,
        nor while the gateway says the asset's device does not answer."""
        for gateway, assets in self._gateway_assets.items():
            if asset in assets and self.counters.gateway_state.get(gateway) == "offline":
                return f"gateway {gateway} is offline"
        if self.counters.device_state.get(asset) == "offline":
            return f"device {asset} does not answer its gateway"
        return None

    def _not_registered(self, asset: str, exc: ApiError) -> None:
        self._known_assets.discard(asset)
        log.warning("asset %s not registered with the API yet: %s", asset, exc)

    def _start_metrics(self) -> MetricsServer | None:
        port = self.settings.metrics_port
        if port is None:
            return None
        if port and self.instance is not None:
            port += self.instance.slot
        try:
            server = MetricsServer(self, self.settings.metrics_host, port)
        except OSError as exc:
            log.error("ingester %s: no /metrics or /healthz, %s:%s is not free (%s): set "
                      "metrics_port", self.client_id, self.settings.metrics_host, port, exc)
            return None
        server.start()
        log.info("ingester %s: /metrics and /healthz on http://%s:%d", self.client_id,
                 self.settings.metrics_host, server.port)
        return server

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; then finish the batch in hand and disconnect."""
        self._stopping = stop
        m = self.settings.mqtt
        host, port = m.endpoint()
        self.report.started()
        self.metrics = self._start_metrics()
        if m.protocol == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = m.session_expiry_s if m.persistent_session else 0
            props.ReceiveMaximum = m.queue_max
            self._client.connect_async(host, port, keepalive=m.keepalive_s,
                                       clean_start=not m.persistent_session, properties=props)
        else:
            self._client.connect_async(host, port, keepalive=m.keepalive_s)
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
            if self.metrics is not None:
                self.metrics.stop()
            if self.state is not None:
                self.state.close()
            if self.instance is not None:
                self.instance.release()
            log.info("ingester stopped: %s", self.counters.as_dict())
