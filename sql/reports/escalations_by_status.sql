-- Escalations by lifecycle status ($statuses, in lifecycle order) and severity ($severities,
-- info … critical).
SELECT status, severity, count(*) AS escalations,
       round(median(date_diff('minute', opened_at, resolved_at)) / 60.0, 2) AS median_hours
FROM escalations
GROUP BY status, severity
ORDER BY list_position($statuses::VARCHAR[], status), status,
         list_position($severities::VARCHAR[], severity)
