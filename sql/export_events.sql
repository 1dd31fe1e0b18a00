-- Decision events of an export: the seeds' columns first, then every other field.
-- No ORDER BY: it reads one lake partition at a time, and partitions are stored sorted by
-- (time, id), an order DuckDB keeps (preserve_insertion_order); sorting again would cost
-- a third of the export.
-- $files: the lake partitions to read; $start/$end: the half-open window; each filter is a
-- list (empty = no filter) matched OR within itself, AND across filters.
SELECT
    event_id AS id, "timestamp", model, policy, action, result,
    coalesce(cost_tokens_input, 0) + coalesce(cost_tokens_output, 0) AS tokens,
    latency_ms, request_id, environment, gateway, consumer_group, team, "user", provider,
    severity, policies_evaluated, input, output, cost_tokens_input, cost_tokens_output,
    escalation_id, config_version, conversation_id, trace_id, citations
FROM read_parquet($files)
WHERE "timestamp" >= $start AND "timestamp" < $end
    AND (len($policy) = 0 OR list_contains($policy, policy)
        OR len(list_intersect($policy, list_transform(policies_evaluated, lambda p: p.name))) > 0)
    AND (len($action) = 0 OR list_contains($action, action))
    AND (len($result) = 0 OR list_contains($result, result))
    AND (len($gateway) = 0 OR list_contains($gateway, gateway))
    AND (len($consumer_group) = 0 OR list_contains($consumer_group, consumer_group))
    AND (len($team) = 0 OR list_contains($team, team))
    AND (len($user) = 0 OR list_contains($user, "user"))
    AND (len($model) = 0 OR list_contains($model, model))
    AND list_position($severities, severity) >= $min_severity_rank
