-- The policies a report's events name (deciding or evaluated), one row per version of each
-- that the events ran under or that is in force at the window's end, with its description and
-- the configuration version that defined it: the earliest history row whose
-- policy_definitions carries that policy and version. Without one, `defined` is false and the
-- earliest row listing the version ("name@v3" in `policies`) is given instead. A policy no
-- history row lists still has a row, its version null.
WITH named AS (
    SELECT policy AS name FROM events
    UNION
    SELECT unnest(list_transform(policies_evaluated, lambda p: p.name)) FROM events
), definitions AS (
    SELECT config_version, gateway, created_at, d.policy, d.version, d.description
    FROM (SELECT config_version, gateway, created_at, unnest(policy_definitions) AS d
          FROM config_versions)
), listed AS (
    SELECT config_version, gateway, created_at,
           CASE WHEN contains(entry, '@') THEN regexp_extract(entry, '^(.*)@[^@]*$', 1)
                ELSE entry END AS policy,
           CASE WHEN contains(entry, '@') THEN regexp_extract(entry, '@([^@]*)$', 1) END
               AS version
    FROM (SELECT config_version, gateway, created_at, unnest(policies) AS entry
          FROM config_versions)
    UNION
    SELECT config_version, gateway, created_at, policy, version FROM definitions
), ran AS (
    SELECT config_version, count(*) AS events FROM events GROUP BY config_version
), used AS (
    SELECT policy, version, sum(ran.events) AS events
    FROM listed JOIN ran USING (config_version)
    WHERE policy IN (SELECT name FROM named)
    GROUP BY ALL
), latest AS (
    -- Each gateway of the events: its last configuration before the window's end.
    SELECT config_version, gateway
    FROM config_versions
    WHERE gateway IN (SELECT gateway FROM events)
    QUALIFY row_number() OVER (PARTITION BY gateway ORDER BY created_at DESC,
                                                             config_version DESC) = 1
), in_force AS (
    SELECT policy, version, list_sort(list(DISTINCT latest.gateway)) AS gateways
    FROM listed JOIN latest USING (config_version)
    WHERE policy IN (SELECT name FROM named)
    GROUP BY ALL
), versions AS (
    SELECT policy, version FROM used
    UNION
    SELECT policy, version FROM in_force
), defined_first AS (
    SELECT *
    FROM definitions
    QUALIFY row_number() OVER (PARTITION BY policy, version ORDER BY created_at,
                                                                     config_version) = 1
), listed_first AS (
    SELECT *
    FROM listed
    QUALIFY row_number() OVER (PARTITION BY policy, version ORDER BY created_at,
                                                                     config_version) = 1
)
SELECT named.name AS policy,
       versions.version,
       defined_first.description,
       defined_first.config_version IS NOT NULL AS defined,
       coalesce(defined_first.config_version, listed_first.config_version) AS config_version,
       coalesce(defined_first.gateway, listed_first.gateway) AS gateway,
       coalesce(defined_first.created_at, listed_first.created_at) AS created_at,
       coalesce(used.events, 0) AS events,
       coalesce(in_force.gateways, []) AS in_force_at_end
FROM named
LEFT JOIN versions ON versions.policy = named.name
LEFT JOIN used ON used.policy = versions.policy AND used.version IS NOT DISTINCT FROM versions.version
LEFT JOIN in_force ON in_force.policy = versions.policy
                  AND in_force.version IS NOT DISTINCT FROM versions.version
LEFT JOIN defined_first ON defined_first.policy = versions.policy
                       AND defined_first.version IS NOT DISTINCT FROM versions.version
LEFT JOIN listed_first ON listed_first.policy = versions.policy
                      AND listed_first.version IS NOT DISTINCT FROM versions.version
ORDER BY policy, created_at NULLS LAST, version
