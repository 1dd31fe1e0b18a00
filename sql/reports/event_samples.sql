-- A bounded, deterministic sample of interventions for the appendix: the most severe first.
SELECT event_id, "timestamp", "user", team, model, policy, action, result, severity,
       input, output
FROM events
WHERE action <> 'allow'
ORDER BY list_position(['critical', 'high', 'medium', 'low', 'info'], severity),
         "timestamp", event_id
LIMIT $limit
