-- tmplmig rollback: 002c_system_tables — 002c: system configuration tables
-- environment: dev
-- tenant: -
-- template: templates/002c_system_tables.sql.j2
-- config digest: sha256:920422ab38c80594c0b1024ebdff6dd3ca4fbc87da3c0c74b169b75f2a0fa22d
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '5s';

BEGIN;

-- step: row connection_pool_settings default
DELETE FROM "system"."connection_pool_settings" WHERE "pool_name" = 'default';

-- step: row retention_policies provider_usage
DELETE FROM "system"."retention_policies" WHERE "data_class" = 'provider_usage';

-- step: row retention_policies provider_health
DELETE FROM "system"."retention_policies" WHERE "data_class" = 'provider_health';

-- step: row retention_policies quarantined_records
DELETE FROM "system"."retention_policies" WHERE "data_class" = 'quarantined_records';

-- step: row retention_policies analysis_sessions
DELETE FROM "system"."retention_policies" WHERE "data_class" = 'analysis_sessions';

-- step: row retention_policies experiments
DELETE FROM "system"."retention_policies" WHERE "data_class" = 'experiments';

-- step: row retention_policies audit_log
DELETE FROM "system"."retention_policies" WHERE "data_class" = 'audit_log';

-- step: table system connection_pool_settings
DROP TABLE IF EXISTS "system"."connection_pool_settings";

-- step: table system encryption_keys
DROP TABLE IF EXISTS "system"."encryption_keys";

-- step: table system retention_policies
DROP TABLE IF EXISTS "system"."retention_policies";

-- step: schema system
DROP SCHEMA IF EXISTS "system";

COMMIT;
