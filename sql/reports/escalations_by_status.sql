-- Escalations by lifecycle status and severity.
SELECT status, severity, count(*) AS escalations,
       round(median(date_diff('minute', opened_at, resolved_at)) / 60.0, 2) AS median_hours
FROM escalations
GROUP BY ALL
ORDER BY status, severity
