-- Interventions (every action but allow) by deciding policy and severity.
SELECT policy, severity, action, count(*) AS events
FROM events
WHERE action <> 'allow'
GROUP BY ALL
ORDER BY policy, severity, action
