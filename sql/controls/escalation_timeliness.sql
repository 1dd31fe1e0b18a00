-- Escalations handled in time: none left open longer than $max_open_hours at the window's end.
SELECT
    count(*) AS escalations,
    count(*) FILTER (WHERE status IN ('resolved', 'dismissed')) AS closed,
    count(*) FILTER (
        WHERE status IN ('open', 'acknowledged')
          AND opened_at < $end - to_hours(CAST($max_open_hours AS BIGINT))
    ) AS overdue,
    round(median(date_diff('minute', opened_at, resolved_at)) / 60.0, 2) AS median_hours_to_close
FROM escalations
