"""Reading times: ISO 8601, offsets honoured, no offset meaning Copenhagen wall-clock time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.values.times import TimeError, local_iso, parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "2026-01-15T10:00:00+01:00", datetime(2026, 1, 15, 9, 0, tzinfo=UTC), id="offset-plus-1"
        ),
        pytest.param(
            "2026-01-15T10:00:00-05:00", datetime(2026, 1, 15, 15, 0, tzinfo=UTC), id="offset-minus-5"
        ),
        pytest.param("2026-07-01T10:00:00+02:00", datetime(2026, 7, 1, 8, 0, tzinfo=UTC), id="offset-plus-2"),
        pytest.param("2026-01-15T10:00:00Z", datetime(2026, 1, 15, 10, 0, tzinfo=UTC), id="zulu"),
        pytest.param("2026-01-15T10:00:00+00:00", datetime(2026, 1, 15, 10, 0, tzinfo=UTC), id="utc-offset"),
        # An explicit offset places the moments that local time cannot.
        pytest.param(
            "2026-10-25T02:30+02:00", datetime(2026, 10, 25, 0, 30, tzinfo=UTC), id="first-02:30-oct"
        ),
        pytest.param(
            "2026-10-25T02:30+01:00", datetime(2026, 10, 25, 1, 30, tzinfo=UTC), id="second-02:30-oct"
        ),
        pytest.param("2026-03-29T02:30+01:00", datetime(2026, 3, 29, 1, 30, tzinfo=UTC), id="gap-02:30-mar"),
    ],
)
def test_an_explicit_offset_is_honoured(text: str, expected: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2026-01-15T10:00", datetime(2026, 1, 15, 9, 0, tzinfo=UTC), id="winter-plus-1"),
        pytest.param("2026-07-01T10:00:00", datetime(2026, 7, 1, 8, 0, tzinfo=UTC), id="summer-plus-2"),
        pytest.param(
            "2026-03-29T01:59:59", datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), id="just-before-gap"
        ),
        pytest.param("2026-03-29T03:00", datetime(2026, 3, 29, 1, 0, tzinfo=UTC), id="just-after-gap"),
        pytest.param("2026-10-25T01:59", datetime(2026, 10, 24, 23, 59, tzinfo=UTC), id="before-repeat"),
        pytest.param("2026-10-25T03:00", datetime(2026, 10, 25, 2, 0, tzinfo=UTC), id="after-repeat"),
        pytest.param(" 2026-11-23 10:00 ", datetime(2026, 11, 23, 9, 0, tzinfo=UTC), id="space-and-padding"),
        pytest.param("2026-11-23", datetime(2026, 11, 22, 23, 0, tzinfo=UTC), id="date-is-local-midnight"),
    ],
)
def test_a_time_without_offset_is_copenhagen_wall_clock(text: str, expected: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("2026-03-29T02:30", "does not exist", id="spring-forward-gap"),
        pytest.param("2026-03-29T02:00", "does not exist", id="gap-start"),
        pytest.param("2026-10-25T02:30", "happens twice", id="fall-back-repeat"),
        pytest.param("2026-10-25T02:00", "happens twice", id="repeat-start"),
    ],
)
def test_a_local_time_that_does_not_exist_or_happens_twice_is_refused(text: str, message: str) -> None:
    with pytest.raises(TimeError, match=message):
        parse_time(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("yesterday", "not an ISO 8601 time", id="word"),
        pytest.param("2026-02-30T10:00", "not an ISO 8601 time", id="30-february"),
        pytest.param("2026-11-23T25:00", "not an ISO 8601 time", id="hour-25"),
        pytest.param("23/11/2026 10:00", "not an ISO 8601 time", id="danish-format"),
        pytest.param("", "no time given", id="empty"),
        pytest.param("   ", "no time given", id="blank"),
    ],
)
def test_garbage_is_refused_with_a_message(text: str, message: str) -> None:
    with pytest.raises(TimeError, match=message):
        parse_time(text)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param(datetime(2026, 1, 15, 9, 0, tzinfo=UTC), "2026-01-15T10:00:00+01:00", id="winter"),
        pytest.param(
            datetime(2026, 7, 1, 8, 0, 30, 500, tzinfo=UTC), "2026-07-01T10:00:30+02:00", id="summer"
        ),
        pytest.param(
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "2026-10-25T02:30:00+02:00", id="first-02:30"
        ),
        pytest.param(
            datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "2026-10-25T02:30:00+01:00", id="second-02:30"
        ),
    ],
)
def test_local_iso_writes_copenhagen_time_to_the_second(moment: datetime, expected: str) -> None:
    assert local_iso(moment) == expected
