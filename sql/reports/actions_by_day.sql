-- Decisions per UTC day and action, for the activity chart.
SELECT CAST("timestamp" AS DATE) AS day, action, count(*) AS events
FROM events
GROUP BY ALL
ORDER BY day, action
