-- tmplmig rollback: 002a_indexes — 002a: performance indexes
-- environment: prod
-- tenant: -
-- template: templates/002a_indexes.sql.j2
-- config digest: sha256:f335fdf8bfcac757459145c91dd4bd1c1d6031874fb7f8dea8d2372dac87baa2
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '2s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

SET ROLE "app_owner";

-- step: index idx_provider_health_checked_at
DROP INDEX CONCURRENTLY IF EXISTS "providers"."idx_provider_health_checked_at";

-- step: index idx_quarantine_quarantined_at
DROP INDEX CONCURRENTLY IF EXISTS "quarantine"."idx_quarantine_quarantined_at";

-- step: index idx_experiments_created_at
DROP INDEX CONCURRENTLY IF EXISTS "experiments_v1"."idx_experiments_created_at";

-- step: index idx_quarantine_experiment
DROP INDEX CONCURRENTLY IF EXISTS "quarantine"."idx_quarantine_experiment";

-- step: index idx_sessions_project
DROP INDEX CONCURRENTLY IF EXISTS "production"."idx_sessions_project";

-- step: index idx_promotions_experiment
DROP INDEX CONCURRENTLY IF EXISTS "experiments_v1"."idx_promotions_experiment";

-- step: index idx_provider_usage_date
DROP INDEX CONCURRENTLY IF EXISTS "providers"."idx_provider_usage_date";

-- step: index idx_provider_health_status
DROP INDEX CONCURRENTLY IF EXISTS "providers"."idx_provider_health_status";

-- step: index idx_quarantine_status
DROP INDEX CONCURRENTLY IF EXISTS "quarantine"."idx_quarantine_status";

-- step: index idx_audit_entity
DROP INDEX CONCURRENTLY IF EXISTS "audits"."idx_audit_entity";

-- step: index idx_audit_user_action
DROP INDEX CONCURRENTLY IF EXISTS "audits"."idx_audit_user_action";

-- step: index idx_audit_timestamp
DROP INDEX CONCURRENTLY IF EXISTS "audits"."idx_audit_timestamp";

-- step: index idx_production_created_at
DROP INDEX CONCURRENTLY IF EXISTS "production"."idx_production_created_at";

-- step: index idx_production_user_project
DROP INDEX CONCURRENTLY IF EXISTS "production"."idx_production_user_project";

-- step: index idx_evaluations_experiment
DROP INDEX CONCURRENTLY IF EXISTS "experiments_v1"."idx_evaluations_experiment";

-- step: index idx_experiments_v1_user_status
DROP INDEX CONCURRENTLY IF EXISTS "experiments_v1"."idx_experiments_v1_user_status";

-- step: index idx_experiments_v1_status_created
DROP INDEX CONCURRENTLY IF EXISTS "experiments_v1"."idx_experiments_v1_status_created";

RESET ROLE;
