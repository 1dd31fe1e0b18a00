"""Export requests are validated at the edge, each error naming the field and the fix."""

from datetime import UTC, datetime

import pytest

from keeptrusts_pipelines.errors import ExportRequestError
from keeptrusts_pipelines.model.export_request import ExportRequest, Filters, build_window, validate

NOW = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)


def test_date_ends_include_the_whole_day() -> None:
    window = build_window("2026-05-01", "2026-05-31", None, NOW)
    assert window.start == datetime(2026, 5, 1, tzinfo=UTC)
    assert window.end == datetime(2026, 6, 1, tzinfo=UTC)
    assert (window.first_day.isoformat(), window.last_day.isoformat()) == (
        "2026-05-01",
        "2026-05-31",
    )


def test_rfc3339_ends_include_their_whole_second() -> None:
    window = build_window("2026-04-16T00:00:00Z", "2026-04-23T23:59:59Z", None, NOW)
    assert window.end == datetime(2026, 4, 24, tzinfo=UTC)
    shifted = build_window("2026-04-16T02:00:00+02:00", "2026-04-16T10:00:00.5Z", None, NOW)
    assert shifted.start == datetime(2026, 4, 16, tzinfo=UTC)
    assert shifted.end == datetime(2026, 4, 16, 10, 0, 0, 500001, tzinfo=UTC)


@pytest.mark.parametrize(("last", "hours"), [("24h", 24), ("7d", 168), ("30d", 720), ("90d", 2160)])
def test_quick_ranges_end_now(last: str, hours: int) -> None:
    window = build_window(None, None, last, NOW)
    assert window.end == NOW and (window.end - window.start).total_seconds() == hours * 3600


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("2026-05-31", "2026-05-01", None), "from: 2026-05-31 is after --to 2026-05-01"),
        (("May 1", "2026-05-01", None), "from: 'May 1' is neither a date nor an RFC 3339 time"),
        (
            ("2026-05-01T00:00:00", "2026-05-02", None),
            "from: '2026-05-01T00:00:00' has no time zone; add Z",
        ),
        ((None, None, "2w"), "last: '2w' is not a quick range; use one of 24h, 7d, 30d, 90d"),
        (("2026-05-01", None, None), "to: missing"),
        (("2026-05-01", "2026-05-02", "7d"), "last: give either --last or --from/--to"),
    ],
)
def test_bad_windows_name_the_field_and_the_fix(arguments, message: str) -> None:
    with pytest.raises(ExportRequestError) as error:
        build_window(*arguments, NOW)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("request_options", "message"),
    [
        ({"format": "xlsx"}, "format: unknown format 'xlsx'; use one of csv, json, jsonl, parquet"),
        ({"export_type": "audit"}, "type: unknown type 'audit'"),
        (
            {"filters": Filters(action=("deny",))},
            "filter action: unknown value 'deny'; use one of allow, block, redact, escalate",
        ),
        ({"filters": Filters(result=("failed",))}, "filter result: unknown value 'failed'"),
        (
            {"filters": Filters(min_severity="urgent")},
            "filter min_severity: unknown value 'urgent'",
        ),
        (
            {"export_type": "config-history", "filters": Filters(team=("legal",))},
            "filter team: does not apply to config-history exports",
        ),
    ],
)
def test_bad_requests_name_the_field(request_options: dict, message: str) -> None:
    request = ExportRequest(
        window=build_window("2026-05-01", "2026-05-02", None, NOW), **request_options
    )
    with pytest.raises(ExportRequestError) as error:
        validate(request)
    assert message in str(error.value)
