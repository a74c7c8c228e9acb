"""The wire contract between edge agents and ingesters: topics and payloads.

This module is the only thing the agent and the ingester share. Every message is
JSON (telemetry may instead travel in the compact encoding of ``contracts.compact``,
which ``decode_telemetry`` reads alike), carries the schema version ``v`` and the
sending gateway's sequence number ``seq`` (one counter per gateway, over every message
it publishes, persisted with its spool) so that the ingester can detect gaps and
duplicates instead of trusting MQTT QoS. ``stream`` names the spool that numbered the
message: a gateway whose spool is replaced starts a new stream at seq 0, which is not
mistaken for duplicates. Sample timestamps are the UTC time the edge read the device.

Topics (``{site}`` and ``{gateway}`` are single topic levels)::

    forewarn/v1/{site}/{gateway}/telemetry   ReadingBatch   QoS 1
    forewarn/v1/{site}/{gateway}/events      AnomalyEvent | DeviceEvent (by ``kind``)  QoS 1
    forewarn/v1/{site}/{gateway}/state       GatewayState   QoS 1, retained, also the last will

>>> telemetry_topic("plant-a", "gw-01")
'forewarn/v1/plant-a/gw-01/telemetry'
>>> parse_topic("forewarn/v1/plant-a/gw-01/events")
('plant-a', 'gw-01', 'events')
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)

from . import compact
from .ids import ID_RULE, FastId, Id, check_id

SCHEMA_VERSION = 1
TOPIC_ROOT = "forewarn/v1"
SUBSCRIBE_ALL = f"{TOPIC_ROOT}/+/+/+"
KINDS = ("telemetry", "events", "state")


class WireError(ValueError):
    """A topic or payload does not follow the wire contract."""


TopicLevel = Id  # a site, gateway, asset or signal name: one topic level


def _topic(site: str, gateway: str, kind: str) -> str:
    return f"{TOPIC_ROOT}/{check_id(site)}/{check_id(gateway)}/{kind}"


def telemetry_topic(site: str, gateway: str) -> str:
    return _topic(site, gateway, "telemetry")


def events_topic(site: str, gateway: str) -> str:
    return _topic(site, gateway, "events")


def state_topic(site: str, gateway: str) -> str:
    return _topic(site, gateway, "state")


def parse_topic(topic: str) -> tuple[str, str, str]:
    """Split a Forewarn topic into (site, gateway, kind); raise WireError if it is not one."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != TOPIC_ROOT or parts[4] not in KINDS:
        raise WireError(
            f"topic {topic!r} is not {TOPIC_ROOT}/<site>/<gateway>/<{'|'.join(KINDS)}>"
        )
    site, gateway, kind = parts[2], parts[3], parts[4]
    try:
        check_id(site)
        check_id(gateway)
    except ValueError as exc:
        raise WireError(f"topic {topic!r}: {exc}") from exc
    return site, gateway, kind


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a UTC offset (e.g. 2026-01-01T00:00:00Z)")
    return value.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_utc)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = SCHEMA_VERSION
    gateway: TopicLevel
    seq: int = Field(ge=0, description="per-gateway sequence number over all messages")
    stream: str = Field(default="0", pattern=r"^[0-9a-f]{1,16}$",
                        description="id of the spool that assigned seq")
    sent_at: UtcTime

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


WireInt = Annotated[int, Field(strict=True, ge=-(2**63), le=2**64 - 1)]
WireFloat = Annotated[float, Field(allow_inf_nan=False)]
Value = WireInt | WireFloat  # an integer register stays an integer, exact to 64 bits


class Sample(BaseModel):
    """One poll of one asset: every signal that was read successfully, at one edge time.

    ``values`` holds the signals read and sent; ``unchanged`` those read but not sent
    because they are still within their deadband of the value last sent (report by
    exception, see docs/wire-format.md). A signal in neither was not read.
    Checked inside pydantic-core but for one cheap check; ``_first_error`` words errors.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    asset: FastId
    ts: AwareDatetime  # any UTC offset; the agent sends UTC
    values: dict[FastId, Value] = Field(default_factory=dict)
    unchanged: list[FastId] = Field(default_factory=list, max_length=10_000,
                                    exclude_if=lambda v: not v)
    texts: dict[FastId, Annotated[str, Field(max_length=246)]] = Field(
        default_factory=dict, exclude_if=lambda v: not v,
        description="string registers (serial numbers, alarm texts), apart from numbers")

    @model_validator(mode="after")
    def _says_something(self) -> Sample:
        if not self.values and not self.unchanged and not self.texts:
            raise ValueError("a sample needs at least one value (or unchanged signal)")
        return self


class ReadingBatch(_Message):
    """Telemetry: samples of one or more assets behind one gateway."""

    kind: Literal["telemetry"] = "telemetry"
    samples: list[Sample] = Field(min_length=1)

    def to_compact(self, compress: bool = True) -> bytes:
        """This batch in the compact encoding (``contracts.compact``), read back by
        ``decode_telemetry`` like the JSON."""
        return compact.encode(
            {"gateway": self.gateway, "stream": self.stream, "seq": self.seq,
             "sent_at": self.sent_at},
            [{"asset": s.asset, "ts": s.ts, "values": s.values, "unchanged": s.unchanged,
              "texts": s.texts} for s in self.samples], compress)


class AnomalyEvent(_Message):
    """The edge detector flagged a signal of an asset."""

    kind: Literal["anomaly"] = "anomaly"
    asset: TopicLevel
    signal: TopicLevel
    ts: UtcTime
    value: float
    score: float
    threshold: float
    detector: str = Field(max_length=64, description=(
        "which detector: ewma_zscore, robust_z, drift, rate_of_change, stuck, out_of_range, "
        "multivariate_t2"))
    signals: list[TopicLevel] = Field(default_factory=list, max_length=64, description=(
        "every signal the evidence points at, strongest first (multivariate)"))
    window_start: UtcTime | None = Field(default=None, description=(
        "the evidence runs from here to ts (a drift's start, a stuck run's first value)"))


class DeviceEvent(_Message):
    """A device behind the gateway stopped answering (``offline``) or answers again."""

    kind: Literal["device"] = "device"
    asset: TopicLevel
    status: Literal["online", "offline"]
    ts: UtcTime
    reason: str = Field(default="", max_length=200, description="why it is offline")


class GatewayState(_Message):
    """Gateway birth/death and counters; published retained, and as the MQTT last will.

    ``devices`` holds each device's link state as the gateway last saw it."""

    kind: Literal["state"] = "state"
    status: Literal["online", "offline"]
    counters: dict[str, int] = Field(default_factory=dict)
    devices: dict[TopicLevel, Literal["online", "offline"]] = Field(default_factory=dict)


Message = ReadingBatch | AnomalyEvent | DeviceEvent | GatewayState
_EVENTS: TypeAdapter[AnomalyEvent | DeviceEvent] = TypeAdapter(
    Annotated[AnomalyEvent | DeviceEvent, Field(discriminator="kind")])
_BY_KIND: dict[str, type[_Message] | TypeAdapter] = {
    "telemetry": ReadingBatch,
    "events": _EVENTS,
    "state": GatewayState,
}


def decode_message(topic: str, payload: bytes) -> Message:
    """Validate one MQTT message against the contract.

    Raises WireError with a message naming the first problem found.
    """
    site, gateway, kind = parse_topic(topic)
    model = _BY_KIND[kind]
    try:
        message = (model.validate_json(payload) if isinstance(model, TypeAdapter)
                   else model.model_validate_json(payload))
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        raise WireError(f"{kind} payload on {topic!r} is invalid: {_first_error(exc)}") from exc
    _same_gateway(message.gateway, gateway)
    return message  # type: ignore[return-value]


class _BatchEnvelope(_Message):
    """A ReadingBatch whose samples are not validated yet (see ``decode_telemetry``)."""

    kind: Literal["telemetry"] = "telemetry"
    samples: list[object] = Field(min_length=1)


@dataclass(frozen=True)
class RefusedSample:
    """One sample of a telemetry message that broke the contract, with its batch's envelope.

    ``payload()`` is a one-sample ReadingBatch (same gateway, seq, stream and sent_at), so a
    dead-lettered sample can be decoded again, the same way, once the cause is fixed.
    """

    envelope: dict[str, object]
    sample: object
    reason: str

    def payload(self) -> bytes:
        return json.dumps({**self.envelope, "samples": [self.sample]}, default=_jsonable
                          ).encode()


def _jsonable(o: object) -> object:
    return o.isoformat() if isinstance(o, datetime) else str(o)


@dataclass(frozen=True)
class DecodedTelemetry:
    batch: ReadingBatch | None  # None when no sample was valid
    refused: list[RefusedSample]
    gateway: str
    stream: str
    seq: int


_UNION_TAGS = ("constrained-int", "float")


def _worded(err: dict) -> str:
    """One pydantic error as a sentence; the contract's own words for its constraints."""
    loc = [x for x in err.get("loc", ()) if x not in _UNION_TAGS]
    err = {**err, "loc": tuple(loc)}
    where = ".".join(str(x) for x in loc)
    kind, value = err.get("type"), err.get("input")
    if kind == "string_pattern_mismatch":
        text = f"{value!r} is not a valid id or topic level: {ID_RULE}"
    elif kind == "finite_number":
        text = f"signal {err['loc'][-1]!r} is {value}: only finite numbers are sent"
    elif kind == "timezone_aware":
        text = "timestamps must carry a UTC offset (e.g. 2026-01-01T00:00:00Z)"
    else:
        text = str(err.get("msg"))
        if value is not None and kind not in ("missing", "json_invalid"):
            text += f" (got {str(value)[:60]!r})"
    return f"{where}: {text}" if where else text


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if errors is None:
        return str(exc).splitlines()[0]
    found = errors()
    # A value is an integer or a float: of the two errors for one bad value, word the
    # float's (an integer is exact either way; "not finite" is what the sender needs).
    found = [e for e in found if "constrained-int" not in e.get("loc", ())] or found
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return _worded(found[0]) + more


def decode_telemetry(topic: str, payload: bytes) -> DecodedTelemetry:
    """Validate a telemetry message sample by sample.

    The envelope (version, gateway, seq, stream, sent_at) must be valid or the whole
    message is refused with WireError, as by ``decode_message``; a bad sample is refused
    alone (``refused``), its good neighbours kept (``batch``).
    """
    site, gateway, kind = parse_topic(topic)
    if kind != "telemetry":
        raise WireError(f"topic {topic!r} is not a telemetry topic")
    if compact.is_compact(payload):
        return _decode_compact(topic, gateway, payload)
    try:  # the common case, all valid, in one pass
        whole = ReadingBatch.model_validate_json(payload)
    except ValueError:
        pass
    else:
        _same_gateway(whole.gateway, gateway)
        return DecodedTelemetry(whole, [], whole.gateway, whole.stream, whole.seq)
    envelope = _envelope_of(topic, lambda: _BatchEnvelope.model_validate_json(payload))
    _same_gateway(envelope.gateway, gateway)
    return _validate_samples(topic, envelope)


def _same_gateway(said: str, topic_gateway: str) -> None:
    if said != topic_gateway:
        raise WireError(
            f"payload gateway {said!r} does not match topic gateway {topic_gateway!r}")


def _envelope_of(topic: str, validate: Callable[[], _BatchEnvelope]) -> _BatchEnvelope:
    try:
        return validate()
    except ValueError as exc:
        raise WireError(f"telemetry payload on {topic!r} is invalid: {_first_error(exc)}") from exc


def _decode_compact(topic: str, gateway: str, payload: bytes) -> DecodedTelemetry:
    try:
        head, samples = compact.decode(payload)
    except compact.CompactError as exc:
        raise WireError(f"compact telemetry payload on {topic!r}: {exc}") from exc
    envelope = _envelope_of(
        topic, lambda: _BatchEnvelope.model_validate({**head, "samples": samples}))
    _same_gateway(envelope.gateway, gateway)
    return _validate_samples(topic, envelope)


def _validate_samples(topic: str, envelope: _BatchEnvelope) -> DecodedTelemetry:
    """Each sample on its own: the bad ones refused with their reason, the rest kept."""
    good: list[Sample] = []
    refused: list[RefusedSample] = []
    head = envelope.model_dump(mode="json", exclude={"samples"})
    for i, raw in enumerate(envelope.samples):
        try:
            good.append(Sample.model_validate(raw))
        except ValueError as exc:
            refused.append(RefusedSample(head, raw, f"sample {i} on {topic!r} is invalid: "
                                                    f"{_first_error(exc)}"))
    batch = (ReadingBatch(v=envelope.v, gateway=envelope.gateway, seq=envelope.seq,
                          stream=envelope.stream, sent_at=envelope.sent_at, samples=good)
             if good else None)
    return DecodedTelemetry(batch, refused, envelope.gateway, envelope.stream, envelope.seq)


def utcnow() -> datetime:
    return datetime.now(UTC)
