-- tmplmig rollback: 002c_system_tables — 002c: system configuration tables
-- environment: prod
-- tenant: -
-- template: templates/002c_system_tables.sql.j2
-- config digest: sha256:b88f39306a7e2ec117d3b77946f93dd2eabe4c025a603778951954ccfca41a25
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '2s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

BEGIN;

-- steps as role "app_owner", while it exists: without it, nothing it owned is left
SELECT pg_catalog.to_regrole('"app_owner"') IS NOT NULL AS role_exists
\gset tmplmig_
\if :tmplmig_role_exists
SET ROLE "app_owner";

-- step: row connection_pool_settings default
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"system"."connection_pool_settings"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ROW EXCLUSIVE on system.connection_pool_settings; reads and writes continue
DELETE FROM "system"."connection_pool_settings" WHERE "pool_name" = 'default';
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: row retention_policies provider_usage
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"system"."retention_policies"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ROW EXCLUSIVE on system.retention_policies; reads and writes continue
DELETE FROM "system"."retention_policies" WHERE "data_class" = 'provider_usage';
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: row retention_policies provider_health
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"system"."retention_policies"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ROW EXCLUSIVE on system.retention_policies; reads and writes continue
DELETE FROM "system"."retention_policies" WHERE "data_class" = 'provider_health';
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: row retention_policies quarantined_records
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"system"."retention_policies"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ROW EXCLUSIVE on system.retention_policies; reads and writes continue
DELETE FROM "system"."retention_policies" WHERE "data_class" = 'quarantined_records';
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: row retention_policies analysis_sessions
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"system"."retention_policies"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ROW EXCLUSIVE on system.retention_policies; reads and writes continue
DELETE FROM "system"."retention_policies" WHERE "data_class" = 'analysis_sessions';
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: row retention_policies experiments
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"system"."retention_policies"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ROW EXCLUSIVE on system.retention_policies; reads and writes continue
DELETE FROM "system"."retention_policies" WHERE "data_class" = 'experiments';
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: row retention_policies audit_log
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"system"."retention_policies"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ROW EXCLUSIVE on system.retention_policies; reads and writes continue
DELETE FROM "system"."retention_policies" WHERE "data_class" = 'audit_log';
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: table system connection_pool_settings
-- lock: ACCESS EXCLUSIVE on system.connection_pool_settings; blocks reads and writes
DROP TABLE IF EXISTS "system"."connection_pool_settings";

-- step: table system encryption_keys
-- lock: ACCESS EXCLUSIVE on system.encryption_keys; blocks reads and writes
DROP TABLE IF EXISTS "system"."encryption_keys";

-- step: table system retention_policies
-- lock: ACCESS EXCLUSIVE on system.retention_policies; blocks reads and writes
DROP TABLE IF EXISTS "system"."retention_policies";

RESET ROLE;
\endif

-- step: schema system
-- lock: no table lock
DROP SCHEMA IF EXISTS "system";

COMMIT;
