-- Log protection: every partition read carries its content hash (its data version), so a
-- later change to the evidence is detectable.
SELECT
    count(*) AS partitions,
    count(*) FILTER (WHERE sha256 IS NULL OR length(sha256) <> 64) AS partitions_without_hash,
    count(DISTINCT table_name) AS tables
FROM partitions_read
