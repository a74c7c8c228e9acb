"""Times as integers since 1970, the one way every part counts them (compact encoding,
stores, the API's telemetry reader): exact integer arithmetic on an aware datetime, no
float ``timestamp()`` on the way."""

from __future__ import annotations

from datetime import UTC, datetime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_us(t: datetime) -> int:
    """Microseconds since 1970 of an aware datetime.

    >>> epoch_us(datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC))
    1767225600123456
    """
    d = t - EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def epoch_ns(t: datetime) -> int:
    """Nanoseconds since 1970 (the stores' and line protocol's unit).

    >>> epoch_ns(datetime(1970, 1, 1, 0, 0, 1, 500, tzinfo=UTC))
    1000500000
    """
    return epoch_us(t) * 1000
