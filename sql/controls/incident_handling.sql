-- Incident handling: high and critical escalations are acknowledged or closed.
SELECT
    count(*) FILTER (WHERE severity IN ('high', 'critical')) AS incidents,
    count(*) FILTER (WHERE severity IN ('high', 'critical') AND status = 'open') AS unhandled,
    count(*) FILTER (WHERE severity IN ('high', 'critical') AND status = 'resolved') AS resolved
FROM escalations
