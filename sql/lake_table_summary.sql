-- What one lake table holds: rows, days and time span. $files: the table's partition files.
SELECT
    count(*) AS rows,
    count(DISTINCT "date") AS days,
    min("date") AS first_day,
    max("date") AS last_day
FROM read_parquet($files, hive_partitioning = true)
