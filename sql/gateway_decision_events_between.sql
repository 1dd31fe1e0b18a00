-- Decision events in the half-open range [start, end), as the gateway database holds them.
SELECT
    event_id, request_id, "timestamp", environment, gateway, consumer_group, team, "user",
    model, provider, policy, action, result, severity, policies_evaluated, input, output,
    cost_tokens_input, cost_tokens_output, latency_ms, escalation_id, config_version,
    conversation_id, trace_id, citations
FROM decision_events
WHERE "timestamp" >= :start AND "timestamp" < :end
ORDER BY "timestamp", event_id
