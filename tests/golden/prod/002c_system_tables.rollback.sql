-- tmplmig rollback: 002c_system_tables — 002c: system configuration tables
-- environment: prod
-- tenant: -
-- template: templates/002c_system_tables.sql.j2
-- config digest: sha256:f335fdf8bfcac757459145c91dd4bd1c1d6031874fb7f8dea8d2372dac87baa2
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '2s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

BEGIN;

SET ROLE "app_owner";

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

RESET ROLE;

-- step: schema system
DROP SCHEMA IF EXISTS "system";

COMMIT;
