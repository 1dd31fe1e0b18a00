-- Configuration versions created in the half-open range [start, end), as the gateway database holds them.
SELECT config_version, gateway, created_at, author, summary, policies, policy_definitions, sha256
FROM config_versions
WHERE created_at >= :start AND created_at < :end
ORDER BY created_at, config_version
