-- Conversation turns of an export, grouped by conversation (conversations ordered by their
-- first turn in the window), in time order and numbered within each conversation.
-- $turns: Parquet files holding the export's already filtered events.
WITH turns AS (
    SELECT coalesce(conversation_id, 'request:' || request_id) AS conversation_id, *
        EXCLUDE (conversation_id)
    FROM read_parquet($turns)
)
SELECT
    conversation_id,
    row_number() OVER (PARTITION BY conversation_id ORDER BY "timestamp", id) AS turn,
    id AS event_id, "timestamp", "user", team, model, action, result, policy, severity,
    input, output, policies_evaluated, cost_tokens_input, cost_tokens_output, citations
FROM turns
ORDER BY min("timestamp") OVER (PARTITION BY conversation_id), conversation_id, "timestamp", id
