-- Critical findings reach a human: each critical event was blocked or escalated.
SELECT
    count(*) FILTER (WHERE severity = 'critical') AS critical_events,
    count(*) FILTER (WHERE severity = 'critical' AND action NOT IN ('block', 'escalate'))
        AS critical_not_stopped
FROM events
