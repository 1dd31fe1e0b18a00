-- Interventions (every action but allow) by deciding policy and severity, severities in their
-- order ($severities: info … critical).
SELECT policy, severity, action, count(*) AS events
FROM events
WHERE action <> 'allow'
GROUP BY policy, severity, action
ORDER BY policy, list_position($severities::VARCHAR[], severity), action
