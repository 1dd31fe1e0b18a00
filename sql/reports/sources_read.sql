-- The lake's daily partitions a report read, by table ($tables gives their order): how many,
-- and the first and last day.
SELECT table_name, count(*) AS partitions, min(day) AS first_day, max(day) AS last_day
FROM partitions_read
GROUP BY table_name
ORDER BY list_position($tables::VARCHAR[], table_name), table_name
