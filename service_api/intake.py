"""Orders from people on any channel (phone, SMS, chat, email, portal) through one
endpoint: the caller names the machine by its serial number as the customer read it off
the plate (or by asset id), and the order joins the same deduplication as automatic ones
(one open order per asset and failure mode).

Matching a serial, in order: the asset id; the serial exactly; the serial with case,
spaces, dashes, dots and slashes ignored (``normalized``); else the closest serial by
Damerau-Levenshtein distance on the normalised forms (``fuzzy``): accepted when the
distance is at most ``max(1, len // 6)`` and no other serial is as close. Anything else
is refused with the closest candidates, so the person can ask again. The match made is
returned with the order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NOISE = re.compile(r"[\s\-_./]+")


def normalize(serial: str) -> str:
    """
    >>> normalize(" sn-4711/a ")
    'SN4711A'
    """
    return _NOISE.sub("", serial).upper()


def distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, or ``limit + 1`` once it
    exceeds ``limit``.

    >>> distance("SN4711", "SN4171", 3), distance("SN4711", "SN471", 3)
    (1, 1)
    >>> distance("ABC", "XYZ", 1)
    2
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


@dataclass(frozen=True)
class Match:
    asset_id: str
    serial_number: str | None
    method: str  # asset_id, exact, normalized, fuzzy
    distance: int = 0


@dataclass(frozen=True)
class NoMatch:
    reason: str
    candidates: list[tuple[str, str, int]]  # (asset id, serial, distance)


def match_serial(given: str, serials: list[tuple[str, str]]) -> Match | NoMatch:
    """``serials``: (asset id, serial number) of every asset that has one.

    >>> fleet = [("p1", "SN-4711"), ("p2", "SN-4712"), ("m1", "MX 900 771")]
    >>> match_serial("sn 4711", fleet).method
    'normalized'
    >>> match_serial("MX900717", fleet)
    Match(asset_id='m1', serial_number='MX 900 771', method='fuzzy', distance=1)
    >>> match_serial("SN4713", fleet).reason
    "serial 'SN4713' is as close to 2 assets: say which"
    """
    for asset_id, serial in serials:
        if serial == given:
            return Match(asset_id, serial, "exact")
    want = normalize(given)
    if not want:
        return NoMatch("the serial number is empty", [])
    same = [(a, s) for a, s in serials if normalize(s) == want]
    if len(same) == 1:
        return Match(same[0][0], same[0][1], "normalized")
    if len(same) > 1:
        return NoMatch(f"serial {given!r} matches {len(same)} assets once case, spaces and "
                       "dashes are ignored: say which", [(a, s, 0) for a, s in same])
    limit = max(1, len(want) // 6)
    scored = sorted((distance(want, normalize(s), limit + 2), a, s) for a, s in serials)
    near = [(a, s, d) for d, a, s in scored[:3] if d <= limit + 2]
    best = [x for x in near if x[2] == near[0][2]] if near else []
    if not best or best[0][2] > limit:
        return NoMatch(f"no asset has a serial number close to {given!r}", near)
    if len(best) > 1:
        return NoMatch(f"serial {given!r} is as close to {len(best)} assets: say which", near)
    a, s, d = best[0]
    return Match(a, s, "fuzzy", d)
