"""The demo gateway: deterministic, realistic in mix and content, and complete in its tables."""

import re
from datetime import UTC, date, datetime

import pyarrow.compute as pc
import pytest

from keeptrusts_pipelines.model import schema
from keeptrusts_pipelines.sources.demo import generate_day

WEEKDAY = date(2026, 5, 5)  # a Tuesday

PII_PATTERNS = {
    "email": r"[\w.]+@[\w.]+\.\w+",
    "phone": r"\+34 6\d\d \d{3} \d{3}|\(555\) \d{3}-\d{4}",
    "card": r"\b4\d{3} ?\d{4} ?\d{4} ?\d{4}\b",
    "iban": r"\bES\d{22}\b",
    "dni": r"\b\d{8}[A-Z]\b",
    "nie": r"\b[XYZ]\d{7}[A-Z]\b",
}


@pytest.fixture(scope="module")
def day_tables() -> dict:
    return generate_day(42, WEEKDAY, 20_000)


def test_same_seed_and_day_give_identical_tables() -> None:
    first = generate_day.__wrapped__(7, WEEKDAY, 2_000)
    second = generate_day.__wrapped__(7, WEEKDAY, 2_000)
    for name in first:
        assert first[name].equals(second[name]), name
    other = generate_day.__wrapped__(8, WEEKDAY, 2_000)
    assert not first["decision_events"].equals(other["decision_events"])


def test_volume_and_action_mix_are_realistic(day_tables: dict) -> None:
    events = day_tables["decision_events"]
    assert 18_000 <= events.num_rows <= 23_000
    counts = dict(zip(*pc.value_counts(events["action"]).flatten(), strict=True))
    shares = {str(action): count.as_py() / events.num_rows for action, count in counts.items()}
    assert shares["allow"] == pytest.approx(0.7, abs=0.03)
    for action in ("block", "redact", "escalate"):
        assert shares[action] == pytest.approx(0.1, abs=0.02)
    assert set(pc.unique(events["severity"]).to_pylist()) == set(schema.SEVERITIES)


def test_variety_of_actors_models_and_policies(day_tables: dict) -> None:
    events = day_tables["decision_events"]
    for column, minimum in [
        ("model", 4),
        ("provider", 3),
        ("team", 5),
        ("user", 20),
        ("gateway", 3),
        ("consumer_group", 4),
        ("policy", 5),
    ]:
        assert len(pc.unique(events[column])) >= minimum, column


def test_prompts_carry_each_kind_of_personal_data(day_tables: dict) -> None:
    prompts = "\n".join(day_tables["decision_events"]["input"].to_pylist())
    for kind, pattern in PII_PATTERNS.items():
        assert re.search(pattern, prompts), kind


def test_card_numbers_pass_luhn(day_tables: dict) -> None:
    prompts = day_tables["decision_events"]["input"].to_pylist()
    cards = [re.sub(r"\D", "", m) for p in prompts for m in re.findall(PII_PATTERNS["card"], p)]
    assert cards
    for card in cards[:50]:
        digits = [int(d) for d in reversed(card)]
        total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
        assert total % 10 == 0, card


def test_escalations_follow_escalated_events_through_their_lifecycle(day_tables: dict) -> None:
    events, escalations = day_tables["decision_events"], day_tables["escalations"]
    escalated = events.filter(pc.equal(events["action"], "escalate"))
    assert sorted(escalations["event_id"].to_pylist()) == sorted(escalated["event_id"].to_pylist())
    assert set(escalations["status"].to_pylist()) == set(schema.ESCALATION_STATUSES)
    for row in escalations.to_pylist():
        closed = row["status"] in ("resolved", "dismissed")
        assert (row["resolved_at"] is not None) == closed
        assert (row["resolution_note"] is not None) == closed
        if closed:
            assert row["resolved_at"] > row["opened_at"]


def test_events_run_under_config_versions_recorded_before_them() -> None:
    events = generate_day(42, date(2026, 2, 28), 500)["decision_events"]
    seen_changes = 0
    for label in set(events["config_version"].to_pylist()):
        created = datetime.strptime(label.split("@")[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        versions = generate_day(42, created.date(), 500)["config_versions"].to_pylist()
        record = next(v for v in versions if v["config_version"] == label)
        using = events.filter(pc.equal(events["config_version"], label))
        assert record["gateway"] == using["gateway"][0].as_py()
        assert record["created_at"] <= pc.min(using["timestamp"]).as_py()
        seen_changes += 1
    assert seen_changes >= 4  # at least one version per gateway


def test_conversations_have_ordered_turns_and_citations(day_tables: dict) -> None:
    events = day_tables["decision_events"]
    turns = pc.value_counts(events["conversation_id"]).field("counts")
    assert pc.max(turns).as_py() >= 4
    cited = pc.sum(pc.greater(pc.list_value_length(events["citations"]), 0)).as_py()
    assert 0.2 < cited / events.num_rows < 0.4
