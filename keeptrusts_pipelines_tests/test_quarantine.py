"""Bad records are never dropped silently: each goes to quarantine with its reason, in either
lake."""

import json
from datetime import date
from pathlib import Path

from keeptrusts_pipelines.lake.ingest import ingest_day
from keeptrusts_pipelines.lake.layout import Lake, Location
from keeptrusts_pipelines.model.schema import CONFIG_VERSIONS_SPEC, DECISION_EVENTS_SPEC
from keeptrusts_pipelines.sources.demo import generate_day
from keeptrusts_pipelines.sources.landing import LandingSource, LocalLandingStore
from keeptrusts_pipelines.sources.records import record_json
from keeptrusts_pipelines_tests.lakes import read_partition

DAY = date(2026, 5, 4)


def good_records(count: int) -> list[dict]:
    return generate_day(3, DAY, 400)["decision_events"].slice(0, count).to_pylist()


def quarantined_lines(lake: Lake, location: Location | None) -> list[str]:
    assert location is not None
    return lake.read_bytes(location).decode("utf-8").splitlines()


def write_lines(landing: Path, lines: list[str]) -> None:
    folder = landing / "decision_events" / f"date={DAY}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gateway-1.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def crafted_bad_lines(template: dict) -> dict[str, str]:
    """One malformed record per kind of fault, keyed by the reason it must be given."""

    def variant(**changes) -> str:
        record = dict(template, event_id=f"evt_bad_{len(changes)}_{sorted(changes)[0]}")
        record.update(changes)
        return record_json({k: v for k, v in record.items() if v is not ...})

    return {
        "invalid JSON": '{"event_id": "evt_truncated", "timestamp": ',
        "not a JSON object": "[1, 2, 3]",
        "missing required field event_id": variant(event_id=...),
        "unparseable timestamp": variant(timestamp="yesterday at noon"),
        "is outside the partition day": variant(timestamp="2026-05-05T00:00:00Z"),
        "unknown action": variant(action="allow-ish"),
        "unknown severity": variant(severity="urgent"),
        "missing required field gateway": variant(gateway=""),
        "latency_ms is not an integer": variant(latency_ms="fast"),
        "policies_evaluated is not a list": variant(policies_evaluated="pii-filter"),
        "duplicate event_id": record_json(template),
    }


def test_each_malformed_record_is_quarantined_with_its_reason(tmp_path: Path, lake: Lake) -> None:
    records = good_records(50)
    bad = crafted_bad_lines(records[0])
    write_lines(tmp_path / "landing", [record_json(r) for r in records] + list(bad.values()))
    report = ingest_day(
        LandingSource(LocalLandingStore(tmp_path / "landing")), lake, DECISION_EVENTS_SPEC, DAY
    )

    assert report.partition.rows == 50
    assert report.quarantined == len(bad)
    lines = [json.loads(line) for line in quarantined_lines(lake, report.quarantine_file)]
    reasons = [line["reason"] for line in lines]
    for expected_reason in bad:
        assert sum(expected_reason in reason for reason in reasons) == 1, expected_reason
    assert all(
        line["origin"].startswith("decision_events/date=2026-05-04/gateway-1.jsonl:")
        for line in lines
    )
    assert sum(report.reject_reasons.values()) == len(bad)


def test_reasons_name_the_value_and_the_fix(tmp_path: Path, lake: Lake) -> None:
    records = good_records(5)
    bad = crafted_bad_lines(records[0])
    write_lines(tmp_path / "landing", [bad["unparseable timestamp"], bad["unknown action"]])
    report = ingest_day(
        LandingSource(LocalLandingStore(tmp_path / "landing")),
        lake,
        DECISION_EVENTS_SPEC,
        DAY,
    )
    reasons = [
        json.loads(line)["reason"] for line in quarantined_lines(lake, report.quarantine_file)
    ]
    assert "unparseable timestamp 'yesterday at noon': use RFC 3339" in reasons[0]
    assert (
        "unknown action 'allow-ish' (expected one of allow, block, redact, escalate)" in reasons[1]
    )


def test_quarantine_share_check_fails_above_the_limit(tmp_path: Path, lake: Lake) -> None:
    records = good_records(20)
    write_lines(tmp_path / "landing", [record_json(r) for r in records] + ["not json"])
    source = LandingSource(LocalLandingStore(tmp_path / "landing"))
    strict = ingest_day(source, lake, DECISION_EVENTS_SPEC, DAY, max_reject_share=0.01)
    lenient = ingest_day(source, lake, DECISION_EVENTS_SPEC, DAY, max_reject_share=0.10)

    share = {c.name: c for c in strict.checks}["quarantine_share_below_threshold"]
    assert not share.passed and share.metadata["quarantined"] == 1
    assert {c.name: c for c in lenient.checks}["quarantine_share_below_threshold"].passed


def test_a_clean_day_leaves_no_quarantine_file(tmp_path: Path, lake: Lake) -> None:
    landing = tmp_path / "landing"
    write_lines(landing, ["garbage"])
    source = LandingSource(LocalLandingStore(landing))
    first = ingest_day(source, lake, DECISION_EVENTS_SPEC, DAY)
    assert quarantined_lines(lake, first.quarantine_file)
    assert lake.quarantined_records("decision_events") == 1
    write_lines(landing, [record_json(r) for r in good_records(3)])
    report = ingest_day(source, lake, DECISION_EVENTS_SPEC, DAY)
    assert report.quarantine_file is None
    assert lake.quarantined_records("decision_events") == 0


def test_policy_definitions_land_typed_absent_ones_as_null_and_malformed_ones_in_quarantine(
    tmp_path: Path, lake: Lake
) -> None:
    day = date(2026, 5, 5)
    versions = generate_day(3, day, 400)["config_versions"].to_pylist()
    assert versions, "the demo changes some gateway's configuration on this day"
    described = versions[0]
    older_gateway = {k: v for k, v in described.items() if k != "policy_definitions"}
    older_gateway["config_version"] += "-older"
    malformed = dict(described, config_version=described["config_version"] + "-bad")
    malformed["policy_definitions"] = "pii-filter: redacts personal data"
    folder = tmp_path / "landing" / "config_versions" / f"date={day}"
    folder.mkdir(parents=True)
    lines = [record_json(r) for r in (described, older_gateway, malformed)]
    (folder / "gateway-1.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = ingest_day(
        LandingSource(LocalLandingStore(tmp_path / "landing")),
        lake,
        CONFIG_VERSIONS_SPEC,
        day,
    )

    landed = {
        row["config_version"]: row
        for row in read_partition(lake, report.partition.path).to_pylist()
    }
    assert (
        landed[described["config_version"]]["policy_definitions"] == described["policy_definitions"]
    )
    assert all(d["description"] for d in described["policy_definitions"])
    assert landed[older_gateway["config_version"]]["policy_definitions"] is None
    (line,) = quarantined_lines(lake, report.quarantine_file)
    assert (
        "policy_definitions is not a list of {policy, version, description}"
        in json.loads(line)["reason"]
    )
