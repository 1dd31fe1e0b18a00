-- The gateway's tables as its PostgreSQL database holds them (also valid SQLite, which
-- stores the timestamps as RFC 3339 text and the JSONB columns as JSON text).
CREATE TABLE IF NOT EXISTS config_versions (
    config_version  TEXT PRIMARY KEY,
    gateway         TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    author          TEXT NOT NULL,
    summary         TEXT NOT NULL,
    policies        JSONB NOT NULL DEFAULT '[]',
    policy_definitions JSONB,
    sha256          CHAR(64) NOT NULL
);

CREATE TABLE IF NOT EXISTS decision_events (
    event_id            TEXT PRIMARY KEY,
    request_id          TEXT NOT NULL,
    "timestamp"         TIMESTAMPTZ NOT NULL,
    environment         TEXT NOT NULL,
    gateway             TEXT NOT NULL,
    consumer_group      TEXT,
    team                TEXT,
    "user"              TEXT,
    model               TEXT NOT NULL,
    provider            TEXT NOT NULL,
    policy              TEXT NOT NULL,
    action              TEXT NOT NULL CHECK (action IN ('allow', 'block', 'redact', 'escalate')),
    result              TEXT NOT NULL CHECK (result IN ('passed', 'blocked', 'modified', 'escalated')),
    severity            TEXT NOT NULL
                        CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
    policies_evaluated  JSONB NOT NULL DEFAULT '[]',
    input               TEXT,
    output              TEXT,
    cost_tokens_input   BIGINT,
    cost_tokens_output  BIGINT,
    latency_ms          BIGINT,
    escalation_id       TEXT,
    config_version      TEXT NOT NULL,
    conversation_id     TEXT,
    trace_id            TEXT,
    citations           JSONB NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS decision_events_timestamp ON decision_events ("timestamp");

CREATE TABLE IF NOT EXISTS escalations (
    escalation_id    TEXT PRIMARY KEY,
    event_id         TEXT NOT NULL,
    request_id       TEXT NOT NULL,
    opened_at        TIMESTAMPTZ NOT NULL,
    severity         TEXT NOT NULL
                     CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
    reason           TEXT NOT NULL,
    status           TEXT NOT NULL
                     CHECK (status IN ('open', 'acknowledged', 'resolved', 'dismissed')),
    assignee         TEXT,
    resolved_at      TIMESTAMPTZ,
    resolution_note  TEXT
);
CREATE INDEX IF NOT EXISTS escalations_opened_at ON escalations (opened_at);
