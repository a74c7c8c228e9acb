"""The SQLite text of a time, made by ``isoformat``, is exactly what SQLAlchemy's own
DATETIME processor would store: rows written before and after compare and sort alike."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from service_api.tables import UtcDateTime

DIALECT = sqlite.dialect()
OURS = UtcDateTime()._cached_bind_processor(DIALECT)
SQLALCHEMY = DateTime()._cached_bind_processor(DIALECT)


@given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31),
                    timezones=st.builds(timezone, st.timedeltas(
                        min_value=timedelta(hours=-23), max_value=timedelta(hours=23)))))
def test_same_text_as_sqlalchemy(moment):
    assert OURS(moment) == SQLALCHEMY(moment.astimezone(UTC))


def test_none_passes_and_naive_is_refused():
    assert OURS(None) is None
    with pytest.raises(ValueError, match="naive"):
        OURS(datetime(2026, 1, 1))
