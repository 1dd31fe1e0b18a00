-- How many rows one lake table holds. $files: the table's partition files.
SELECT count(*) AS rows
FROM read_parquet($files)
