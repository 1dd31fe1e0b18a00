-- Human oversight: every request the gateway escalated has an escalation record.
SELECT
    count(*) AS escalated_events,
    count(*) FILTER (WHERE s.escalation_id IS NULL) AS escalated_without_record
FROM events AS e
LEFT JOIN escalations AS s ON s.event_id = e.event_id
WHERE e.action = 'escalate'
