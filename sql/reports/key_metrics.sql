-- The executive summary's figures over a report's events.
SELECT
    count(*) AS events,
    count(DISTINCT "user") AS users,
    count(DISTINCT team) AS teams,
    count(DISTINCT model) AS models,
    count(*) FILTER (WHERE action = 'allow') AS allowed,
    count(*) FILTER (WHERE action = 'block') AS blocked,
    count(*) FILTER (WHERE action = 'redact') AS redacted,
    count(*) FILTER (WHERE action = 'escalate') AS escalated,
    count(*) FILTER (WHERE severity IN ('high', 'critical')) AS high_or_critical,
    coalesce(sum(cost_tokens_input), 0) + coalesce(sum(cost_tokens_output), 0) AS tokens,
    CAST(round(quantile_cont(latency_ms, 0.5)) AS BIGINT) AS latency_p50_ms,
    CAST(round(quantile_cont(latency_ms, 0.95)) AS BIGINT) AS latency_p95_ms
FROM events
