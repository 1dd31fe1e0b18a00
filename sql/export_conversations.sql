-- Conversation turns of an export, grouped by conversation (ordered by its first turn in the
-- window) and in time order within it. Parameters as in export_events.sql.
WITH turns AS (
    SELECT
        coalesce(conversation_id, 'request:' || request_id) AS conversation_id,
        event_id, "timestamp", "user", team, model, action, result, policy, severity,
        input, output, policies_evaluated, cost_tokens_input, cost_tokens_output, citations
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
)
SELECT
    conversation_id,
    row_number() OVER (PARTITION BY conversation_id ORDER BY "timestamp", event_id) AS turn,
    event_id, "timestamp", "user", team, model, action, result, policy, severity,
    input, output, policies_evaluated, cost_tokens_input, cost_tokens_output, citations
FROM turns
ORDER BY min("timestamp") OVER (PARTITION BY conversation_id), conversation_id, "timestamp", event_id
