-- Escalations opened and closed per UTC day of the window.
WITH opened AS (
    SELECT CAST(opened_at AS DATE) AS day, count(*) AS opened FROM escalations GROUP BY 1
), closed AS (
    SELECT CAST(resolved_at AS DATE) AS day, count(*) AS closed
    FROM escalations WHERE resolved_at IS NOT NULL AND resolved_at < $end GROUP BY 1
)
SELECT day, coalesce(opened, 0) AS opened, coalesce(closed, 0) AS closed
FROM opened FULL OUTER JOIN closed USING (day)
ORDER BY day
