-- Activity logging without gaps: every day of the window holds records.
WITH days AS (
    SELECT unnest(generate_series(CAST($start AS DATE), CAST($end AS DATE) - 1, INTERVAL 1 DAY))
        ::DATE AS day
), logged AS (
    SELECT DISTINCT CAST("timestamp" AS DATE) AS day FROM events
)
SELECT
    count(*) AS days,
    count(*) FILTER (WHERE logged.day IS NULL) AS days_without_records
FROM days LEFT JOIN logged USING (day)
