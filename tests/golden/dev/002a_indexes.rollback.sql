-- tmplmig rollback: 002a_indexes — 002a: performance indexes
-- environment: dev
-- tenant: -
-- template: templates/002a_indexes.sql.j2
-- config digest: sha256:e62bf56ccf7cd9705c2c9690fd0d5091407f04b8005aa737f5e632f027bfdb91
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '5s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

-- steps as role "app_owner", while it exists: without it, nothing it owned is left
SELECT pg_catalog.to_regrole('"app_owner"') IS NOT NULL AS role_exists
\gset tmplmig_
\if :tmplmig_role_exists
SET ROLE "app_owner";

-- step: index idx_provider_health_checked_at
-- lock: SHARE UPDATE EXCLUSIVE on providers.provider_health; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "providers"."idx_provider_health_checked_at";

-- step: index idx_quarantine_quarantined_at
-- lock: SHARE UPDATE EXCLUSIVE on quarantine.quarantined_records; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "quarantine"."idx_quarantine_quarantined_at";

-- step: index idx_experiments_created_at
-- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.experiments; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "experiments_v1"."idx_experiments_created_at";

-- step: index idx_quarantine_experiment
-- lock: SHARE UPDATE EXCLUSIVE on quarantine.quarantined_records; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "quarantine"."idx_quarantine_experiment";

-- step: index idx_sessions_project
-- lock: SHARE UPDATE EXCLUSIVE on production.analysis_sessions; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "production"."idx_sessions_project";

-- step: index idx_promotions_experiment
-- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.promotions; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "experiments_v1"."idx_promotions_experiment";

-- step: index idx_provider_usage_date
-- lock: SHARE UPDATE EXCLUSIVE on providers.provider_usage; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "providers"."idx_provider_usage_date";

-- step: index idx_provider_health_status
-- lock: SHARE UPDATE EXCLUSIVE on providers.provider_health; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "providers"."idx_provider_health_status";

-- step: index idx_quarantine_status
-- lock: SHARE UPDATE EXCLUSIVE on quarantine.quarantined_records; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "quarantine"."idx_quarantine_status";

-- step: index idx_audit_entity
-- lock: SHARE UPDATE EXCLUSIVE on audits.audit_log; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "audits"."idx_audit_entity";

-- step: index idx_audit_user_action
-- lock: SHARE UPDATE EXCLUSIVE on audits.audit_log; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "audits"."idx_audit_user_action";

-- step: index idx_audit_timestamp
-- lock: SHARE UPDATE EXCLUSIVE on audits.audit_log; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "audits"."idx_audit_timestamp";

-- step: index idx_production_created_at
-- lock: SHARE UPDATE EXCLUSIVE on production.analysis_sessions; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "production"."idx_production_created_at";

-- step: index idx_production_user_project
-- lock: SHARE UPDATE EXCLUSIVE on production.analysis_sessions; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "production"."idx_production_user_project";

-- step: index idx_evaluations_experiment
-- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.evaluations; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "experiments_v1"."idx_evaluations_experiment";

-- step: index idx_experiments_v1_user_status
-- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.experiments; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "experiments_v1"."idx_experiments_v1_user_status";

-- step: index idx_experiments_v1_status_created
-- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.experiments; reads and writes continue
DROP INDEX CONCURRENTLY IF EXISTS "experiments_v1"."idx_experiments_v1_status_created";

RESET ROLE;
\endif
