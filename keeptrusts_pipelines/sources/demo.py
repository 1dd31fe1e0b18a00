"""Deterministic synthetic gateway traffic, generated a day at a time with vectorised NumPy/Arrow.

The same (seed, day) always gives the same rows, whatever else was generated before, so any
single partition can be rebuilt on its own.
"""

from __future__ import annotations

import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from keeptrusts_pipelines.model import schema
from keeptrusts_pipelines.model.days import day_bounds
from keeptrusts_pipelines.sources import demo_catalog as catalog
from keeptrusts_pipelines.sources.batch import SourceBatch

DEFAULT_SEED = 42
DEFAULT_EVENTS_PER_DAY = 20_000
# Every gateway gets a new configuration on these days at the latest, so the version in
# effect is always found within this many days.
CONFIG_EPOCH_DAYS = 30
MICROS_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class DemoSource:
    """The embedded demo gateway (`demo://?seed=N&events_per_day=M`)."""

    seed: int = DEFAULT_SEED
    events_per_day: int = DEFAULT_EVENTS_PER_DAY

    def read(self, table: str, day: date) -> SourceBatch:
        tables = generate_day(self.seed, day, self.events_per_day)
        return SourceBatch(raw=tables[table], rejects=[])

    def describe(self) -> str:
        return f"demo://?seed={self.seed}&events_per_day={self.events_per_day}"


@lru_cache(maxsize=4)
def generate_day(seed: int, day: date, events_per_day: int) -> dict[str, pa.Table]:
    """All three canonical tables of one day; cached because each asset asks for one."""
    rng = np.random.default_rng([seed, day.toordinal()])
    pools = _pii_pools(seed)
    events = _decision_events(rng, seed, day, events_per_day, pools)
    return {
        "decision_events": events,
        "escalations": _escalations(rng, day, events),
        "config_versions": _config_versions(seed, day),
    }


def _choice(rng: np.random.Generator, weights: tuple[float, ...], size: int) -> np.ndarray:
    cumulative = np.cumsum(weights) / np.sum(weights)
    return np.searchsorted(cumulative, rng.random(size), side="right").clip(0, len(weights) - 1)


def _hex_ids(rng: np.random.Generator, prefix: str, count: int, nbytes: int = 12) -> pa.Array:
    """`count` random ids such as `evt_3f2a…`, built from one hexlified buffer, no Python loop."""
    width = nbytes * 2
    data = binascii.hexlify(rng.bytes(count * nbytes))
    offsets = np.arange(0, (count + 1) * width, width, dtype=np.int32)
    ids = pa.StringArray.from_buffers(count, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))
    return pc.binary_join_element_wise(pa.scalar(prefix), ids, "")


def _take(values: tuple | list, indices: np.ndarray) -> pa.Array:
    return pa.array(values).take(pa.array(indices))


@lru_cache(maxsize=4)
def _pii_pools(seed: int) -> dict[str, list[str]]:
    """A few hundred realistic personal-data values of each kind, valid checksums included."""
    rng = np.random.default_rng([seed, 1])
    size = 200
    first = rng.choice(catalog.FIRST_NAMES, size)
    last = rng.choice(catalog.LAST_NAMES, size)
    domains = ("gmail.com", "outlook.es", "example.org", "correo.es")
    digits = rng.integers(0, 10, size=(size, 24))
    pools: dict[str, list[str]] = {
        "email": [
            f"{f}.{surname}{n}@{domains[n % 4]}"
            for f, surname, n in zip(first, last, rng.integers(1, 99, size), strict=True)
        ],
        "phone": [
            f"+34 6{d[0]}{d[1]} {d[2]}{d[3]}{d[4]} {d[5]}{d[6]}{d[7]}"
            if i % 2
            else f"(555) {d[0]}{d[1]}{d[2]}-{d[3]}{d[4]}{d[5]}{d[6]}"
            for i, d in enumerate(digits)
        ],
        "card": [_card_number(d, spaced=bool(i % 2)) for i, d in enumerate(digits)],
        "iban": [_spanish_iban(d) for d in digits],
        "dni": [_dni_letter("".join(map(str, d[:8]))) for d in digits],
        "nie": [_nie(d[0] % 3, "".join(map(str, d[1:8]))) for d in digits],
        "api_key": [f"sk-live-{binascii.hexlify(rng.bytes(16)).decode()}" for _ in range(size)],
        "ip": [f"{d[0] + 80}.{d[1] * 20 + d[2]}.{d[3] * 25}.{d[4] * 20 + 1}" for d in digits],
    }
    return pools


def _card_number(digits: np.ndarray, spaced: bool) -> str:
    body = "4" + "".join(map(str, digits[:14]))
    total = 0
    for position, char in enumerate(reversed(body)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            value -= 9 if value > 9 else 0
        total += value
    number = body + str((10 - total % 10) % 10)
    return " ".join(number[i : i + 4] for i in range(0, 16, 4)) if spaced else number


def _spanish_iban(digits: np.ndarray) -> str:
    bban = "".join(map(str, digits[:20]))
    check = 98 - int(bban + "142800") % 97  # "ES" -> 14 28, then "00"
    return f"ES{check:02d}{bban}"


DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def _dni_letter(number: str) -> str:
    return number + DNI_LETTERS[int(number) % 23]


def _nie(prefix: int, number: str) -> str:
    """A foreigner's id: X/Y/Z stand for 0/1/2 in the check-letter computation."""
    return "XYZ"[prefix] + number + DNI_LETTERS[int(f"{prefix}{number}") % 23]


def _users() -> tuple[list[str], np.ndarray, np.ndarray]:
    """User ids with their fixed team and consumer group."""
    names = [
        f"{catalog.FIRST_NAMES[i % len(catalog.FIRST_NAMES)]}."
        f"{catalog.LAST_NAMES[(i * 7) % len(catalog.LAST_NAMES)]}@{catalog.COMPANY_DOMAIN}"
        for i in range(catalog.USER_COUNT)
    ]
    teams = np.arange(catalog.USER_COUNT) % len(catalog.TEAMS)
    groups = (np.arange(catalog.USER_COUNT) * 3) % len(catalog.CONSUMER_GROUPS)
    return names, teams, groups


def _decision_events(
    rng: np.random.Generator,
    seed: int,
    day: date,
    events_per_day: int,
    pools: dict[str, list[str]],
) -> pa.Table:
    weekday_factor = 1.0 if day.weekday() < 5 else 0.55
    target = max(1, int(events_per_day * weekday_factor * rng.uniform(0.92, 1.08)))

    # Conversations of 1-6 turns; each keeps its user, model and gateway.
    turn_weights = (0.45, 0.2, 0.15, 0.1, 0.06, 0.04)
    mean_turns = float(np.dot(np.arange(1, 7), turn_weights))
    conversations = max(1, round(target / mean_turns))
    turns = _choice(rng, turn_weights, conversations) + 1
    count = int(turns.sum())
    conversation_of = np.repeat(np.arange(conversations), turns)
    turn_index = np.arange(count) - np.repeat(np.cumsum(turns) - turns, turns)

    users, user_teams, user_groups = _users()
    conversation_user = rng.integers(0, len(users), conversations)
    conversation_model = _choice(rng, catalog.MODEL_WEIGHTS, conversations)
    conversation_gateway = _choice(rng, catalog.GATEWAY_WEIGHTS, conversations)
    # Office hours are busier: starts drawn from a mixture peaking mid-day.
    start_hours = (
        np.where(
            rng.random(conversations) < 0.75,
            rng.normal(13.0, 3.0, conversations),
            rng.uniform(0.0, 24.0, conversations),
        )
        % 23.0
    )
    gaps = rng.exponential(90.0, count) * 1_000_000
    gaps[turn_index == 0] = 0
    cumulative = np.cumsum(gaps)
    elapsed = cumulative - np.repeat(cumulative[np.cumsum(turns) - turns], turns)
    offsets = np.repeat((start_hours * 3600e6).astype(np.int64), turns) + elapsed.astype(np.int64)
    offsets = offsets.clip(0, MICROS_PER_DAY - 1)
    day_start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000
    timestamps = day_start + offsets

    user_of = conversation_user[conversation_of]
    model_of = conversation_model[conversation_of]
    gateway_of = conversation_gateway[conversation_of]

    action_of = _choice(rng, catalog.ACTION_WEIGHTS, count)
    severity_of = np.zeros(count, dtype=np.int64)
    policy_of = np.zeros(count, dtype=np.int64)
    for index, action in enumerate(schema.ACTIONS):
        mask = action_of == index
        size = int(mask.sum())
        severity_of[mask] = _choice(rng, catalog.SEVERITY_WEIGHTS[action], size)
        candidates = np.array(catalog.DECIDING_POLICIES[action])
        policy_of[mask] = candidates[rng.integers(0, len(candidates), size)]

    inputs, has_pii = _prompts(rng, action_of, policy_of, pools, count)
    outputs = _take(
        (
            *catalog.ANSWERS,
            catalog.BLOCKED_OUTPUT,
            catalog.REDACTED_OUTPUT,
            catalog.ESCALATED_OUTPUT,
        ),
        np.where(
            action_of == 0,
            rng.integers(0, len(catalog.ANSWERS), count),
            len(catalog.ANSWERS) - 1 + action_of,
        ),
    )
    input_tokens = (pc.utf8_length(inputs).to_numpy() // 4 + rng.integers(8, 400, count)).astype(
        np.int64
    )
    output_tokens = np.where(action_of == 1, 0, rng.lognormal(5.0, 0.7, count).astype(np.int64))
    latency = (
        np.array(catalog.MODEL_LATENCY_MS)[model_of] * rng.lognormal(0.0, 0.35, count)
    ).astype(np.int64) + np.where(has_pii, 12, 3)

    event_ids = _hex_ids(rng, "evt_", count)
    request_ids = _hex_ids(rng, "req_", count)
    conversation_ids = _hex_ids(rng, "conv_", conversations, 10).take(pa.array(conversation_of))
    trace_ids = _hex_ids(rng, "", count, 16)
    trace_ids = pc.if_else(
        pa.array(rng.random(count) < 0.92), trace_ids, pa.nulls(count, pa.string())
    )
    escalation_ids = pc.if_else(
        pa.array(action_of == 3),
        pc.replace_substring(event_ids, "evt_", "esc_"),
        pa.nulls(count, pa.string()),
    )

    gateway_names = [name for name, _ in catalog.GATEWAYS]
    environments = [environment for _, environment in catalog.GATEWAYS]
    config_version = _config_version_in_effect(seed, day, gateway_of, offsets)

    columns = {
        "event_id": event_ids,
        "request_id": request_ids,
        "timestamp": pa.array(timestamps, type=schema.TIMESTAMP),
        "environment": _take(environments, gateway_of),
        "gateway": _take(gateway_names, gateway_of),
        "consumer_group": _take(catalog.CONSUMER_GROUPS, user_groups[user_of]),
        "team": _take(catalog.TEAMS, user_teams[user_of]),
        "user": _take(users, user_of),
        "model": _take([m for m, _ in catalog.MODELS], model_of),
        "provider": _take([p for _, p in catalog.MODELS], model_of),
        "policy": _take(catalog.POLICIES, policy_of),
        "action": _take(schema.ACTIONS, action_of),
        "result": _take(schema.RESULTS, action_of),
        "severity": _take(schema.SEVERITIES, severity_of),
        "policies_evaluated": _policies_evaluated(action_of, policy_of, severity_of, count),
        "input": inputs,
        "output": outputs,
        "cost_tokens_input": pa.array(input_tokens),
        "cost_tokens_output": pa.array(output_tokens),
        "latency_ms": pa.array(latency),
        "escalation_id": escalation_ids,
        "config_version": config_version,
        "conversation_id": conversation_ids,
        "trace_id": trace_ids,
        "citations": _citations(rng, count),
    }
    table = pa.table(columns).cast(schema.DECISION_EVENTS)
    return table  # in conversation order; the lake sorts by (timestamp, event_id)


def _prompts(
    rng: np.random.Generator,
    action_of: np.ndarray,
    policy_of: np.ndarray,
    pools: dict[str, list[str]],
    count: int,
) -> tuple[pa.Array, np.ndarray]:
    """Prompts; those the pii-filter or dlp-secrets acted on always carry personal data."""
    acted_on_data = (action_of != 0) & np.isin(policy_of, (0, 3))
    injection = (action_of == 1) & (policy_of == 1)
    has_pii = acted_on_data | (~injection & (rng.random(count) < 0.06))

    template = rng.integers(0, len(catalog.PII_PROMPTS), count)
    before = _take([t[0] for t in catalog.PII_PROMPTS], template)
    after = _take([t[2] for t in catalog.PII_PROMPTS], template)
    kinds = [t[1] for t in catalog.PII_PROMPTS]
    pool_size = len(pools["email"])
    flat_pool = [value for kind in kinds for value in pools[kind]]
    values = _take(flat_pool, template * pool_size + rng.integers(0, pool_size, count))
    with_pii = pc.binary_join_element_wise(before, values, after, "")

    plain = _take(catalog.PLAIN_PROMPTS, rng.integers(0, len(catalog.PLAIN_PROMPTS), count))
    attacks = _take(catalog.INJECTION_PROMPTS, rng.integers(0, 2, count))
    prompts = pc.if_else(
        pa.array(has_pii), with_pii, pc.if_else(pa.array(injection), attacks, plain)
    )
    return prompts, has_pii


def _policies_evaluated(
    action_of: np.ndarray, policy_of: np.ndarray, severity_of: np.ndarray, count: int
) -> pa.Array:
    """Every policy's verdict per event: the deciding one carries the action, the rest pass."""
    width = len(catalog.POLICIES)
    names = np.tile(np.arange(width), count)
    deciding = names == np.repeat(policy_of, width)
    verdict_index = np.where(deciding, np.repeat(action_of, width), 0)
    verdicts = [catalog.VERDICT_OF_ACTION[action] for action in schema.ACTIONS]
    severities = np.where(deciding, np.repeat(severity_of, width), 0)
    children = pa.StructArray.from_arrays(
        [
            _take(catalog.POLICIES, names),
            _take(verdicts, verdict_index),
            _take(schema.SEVERITIES, severities),
        ],
        fields=list(schema.POLICY_EVALUATION),
    )
    offsets = pa.array(np.arange(0, (count + 1) * width, width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, children)


def _citations(rng: np.random.Generator, count: int) -> pa.Array:
    """About a third of answers cite one or two knowledge assets."""
    lengths = np.where(rng.random(count) < 0.3, rng.integers(1, 3, count), 0)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    picks = rng.integers(0, len(catalog.CITATION_ASSETS), int(lengths.sum()))
    children = pa.StructArray.from_arrays(
        [
            _take([asset for asset, _ in catalog.CITATION_ASSETS], picks),
            _take([version for _, version in catalog.CITATION_ASSETS], picks),
        ],
        fields=list(schema.CITATION),
    )
    return pa.ListArray.from_arrays(pa.array(offsets), children)


def _escalations(rng: np.random.Generator, day: date, events: pa.Table) -> pa.Table:
    """One escalation per escalated event, each at a stage of its lifecycle."""
    escalated = events.filter(pc.equal(events["action"], "escalate"))
    count = escalated.num_rows
    status_of = _choice(rng, catalog.ESCALATION_STATUS_WEIGHTS, count)
    statuses = np.array(schema.ESCALATION_STATUSES)[status_of]
    # Opened seconds after the event, but never after its day ends.
    day_end = int(day_bounds(day)[1].timestamp()) * 1_000_000
    opened = pc.cast(escalated["timestamp"], pa.int64()).to_numpy() + rng.integers(
        200_000, 5_000_000, count
    )
    closes = np.isin(statuses, ("resolved", "dismissed"))
    resolved_at = opened + (rng.lognormal(1.5, 1.0, count).clip(0.1, 72.0) * 3600e6).astype(
        np.int64
    )
    reasons = [
        catalog.ESCALATION_REASONS.get(policy, catalog.ESCALATION_REASONS["high-risk-use-review"])
        for policy in catalog.POLICIES
    ]
    policy_index = pc.index_in(escalated["policy"], pa.array(catalog.POLICIES)).to_numpy()
    resolved_notes = catalog.RESOLUTION_NOTES["resolved"]
    dismissed_notes = catalog.RESOLUTION_NOTES["dismissed"]
    note_pick = rng.integers(0, 6, count)
    notes = [
        resolved_notes[pick % len(resolved_notes)]
        if status == "resolved"
        else dismissed_notes[pick % len(dismissed_notes)]
        if status == "dismissed"
        else None
        for status, pick in zip(statuses, note_pick, strict=True)
    ]
    assignees = _take(catalog.REVIEWERS, rng.integers(0, len(catalog.REVIEWERS), count))
    table = pa.table(
        {
            "escalation_id": escalated["escalation_id"],
            "event_id": escalated["event_id"],
            "request_id": escalated["request_id"],
            "opened_at": pa.array(opened.clip(None, day_end - 1), schema.TIMESTAMP),
            "severity": escalated["severity"],
            "reason": _take(reasons, policy_index),
            "status": pa.array(statuses, pa.string()),
            "assignee": pc.if_else(
                pa.array(status_of > 0), assignees, pa.nulls(count, pa.string())
            ),
            "resolved_at": pc.if_else(
                pa.array(closes),
                pa.array(resolved_at, schema.TIMESTAMP),
                pa.nulls(count, schema.TIMESTAMP),
            ),
            "resolution_note": pa.array(notes, pa.string()),
        }
    ).cast(schema.ESCALATIONS)
    return table


def _config_changes(seed: int, day: date) -> list[tuple[int, int]]:
    """(gateway index, microsecond of the day) of each configuration change on `day`."""
    rng = np.random.default_rng([seed, 7, day.toordinal()])
    changes = rng.random(len(catalog.GATEWAYS)) < 0.2
    if day.toordinal() % CONFIG_EPOCH_DAYS == 0:
        changes[:] = True
    moments = rng.integers(7 * 3600, 19 * 3600, len(catalog.GATEWAYS)) * 1_000_000
    return [(g, int(moments[g])) for g in range(len(catalog.GATEWAYS)) if changes[g]]


def _version_label(gateway: int, day: date, micros: int) -> str:
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(microseconds=micros)
    return f"{catalog.GATEWAYS[gateway][0]}@{moment:%Y%m%dT%H%M%S}"


def _config_version_in_effect(
    seed: int, day: date, gateway_of: np.ndarray, offsets: np.ndarray
) -> pa.Array:
    """The configuration each event ran under: its gateway's latest change before it."""
    labels: list[str] = []
    label_of = np.full(len(gateway_of), -1, dtype=np.int64)
    for gateway in range(len(catalog.GATEWAYS)):
        previous = next(
            _version_label(gateway, earlier, micros)
            for back in range(1, CONFIG_EPOCH_DAYS + 1)
            for earlier in [day - timedelta(days=back)]
            for g, micros in sorted(_config_changes(seed, earlier), key=lambda c: -c[1])
            if g == gateway
        )
        today = sorted(micros for g, micros in _config_changes(seed, day) if g == gateway)
        boundaries = np.array(today, dtype=np.int64)
        versions = [previous] + [_version_label(gateway, day, m) for m in today]
        mask = gateway_of == gateway
        which = np.searchsorted(boundaries, offsets[mask], side="right")
        label_of[mask] = len(labels) + which
        labels.extend(versions)
    return _take(labels, label_of)


def _config_versions(seed: int, day: date) -> pa.Table:
    rows = []
    for gateway, micros in sorted(_config_changes(seed, day), key=lambda c: (c[1], c[0])):
        created = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
            microseconds=micros
        )
        pick = (day.toordinal() + gateway) % len(catalog.CONFIG_SUMMARIES)
        version = f"v{(day.toordinal() // 45) % 9 + 1}"
        policies = [f"{name}@{version}" for name in catalog.POLICIES]
        definitions = [
            {"policy": name, "version": version, "description": catalog.POLICY_DESCRIPTIONS[name]}
            for name in catalog.POLICIES
        ]
        document = {
            "gateway": catalog.GATEWAYS[gateway][0],
            "created_at": created.isoformat(),
            "summary": catalog.CONFIG_SUMMARIES[pick],
            "policies": policies,
            "policy_definitions": definitions,
        }
        rows.append(
            {
                "config_version": _version_label(gateway, day, micros),
                "gateway": catalog.GATEWAYS[gateway][0],
                "created_at": created,
                "author": catalog.CONFIG_AUTHORS[pick % len(catalog.CONFIG_AUTHORS)],
                "summary": catalog.CONFIG_SUMMARIES[pick],
                "policies": policies,
                "policy_definitions": definitions,
                "sha256": hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest(),
            }
        )
    table = pa.Table.from_pylist(rows, schema=schema.CONFIG_VERSIONS)
    return table
