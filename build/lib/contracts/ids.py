"""The one identifier pattern: assets, gateways, sites, signal names, topic levels.

1-64 characters from ``A-Z a-z 0-9 _ . -``: safe as an MQTT topic level, an InfluxDB
tag or field, a URL path segment and a file name, with nothing to escape.

>>> check_id("pump-01")
'pump-01'
>>> check_id("pump 01")
Traceback (most recent call last):
...
ValueError: 'pump 01' is not a valid id or topic level: use 1-64 characters from A-Z a-z 0-9 _ . -
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

ID_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
_ID = re.compile(ID_PATTERN)


def check_id(value: str) -> str:
    """Return ``value`` if it is a valid id; raise ValueError saying what is allowed."""
    if not _ID.match(value):
        raise ValueError(
            f"{value!r} is not a valid id or topic level: {ID_RULE}")
    return value


Id = Annotated[str, AfterValidator(check_id)]

# The same pattern checked inside pydantic-core, for the hot path (every signal name of
# every sample the ingester decodes); its error is pydantic's ``string_pattern_mismatch``,
# which ``contracts.wire`` words like ``check_id``.
FastId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
ID_RULE = "use 1-64 characters from A-Z a-z 0-9 _ . -"
