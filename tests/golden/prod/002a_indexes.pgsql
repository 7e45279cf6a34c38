-- tmplmig apply: 002a_indexes — 002a: performance indexes
-- environment: prod
-- tenant: -
-- template: templates/002a_indexes.sql.j2
-- config digest: sha256:f335fdf8bfcac757459145c91dd4bd1c1d6031874fb7f8dea8d2372dac87baa2
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '2s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

SET ROLE "app_owner";

-- step: index idx_experiments_v1_status_created
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"experiments_v1"."idx_experiments_v1_status_created"') AND NOT indisvalid
    ) THEN
        DROP INDEX "experiments_v1"."idx_experiments_v1_status_created";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_experiments_v1_status_created" ON "experiments_v1"."experiments" (status, created_at DESC);
SET statement_timeout = '5min';

-- step: index idx_experiments_v1_user_status
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"experiments_v1"."idx_experiments_v1_user_status"') AND NOT indisvalid
    ) THEN
        DROP INDEX "experiments_v1"."idx_experiments_v1_user_status";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_experiments_v1_user_status" ON "experiments_v1"."experiments" (user_id, status);
SET statement_timeout = '5min';

-- step: index idx_evaluations_experiment
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"experiments_v1"."idx_evaluations_experiment"') AND NOT indisvalid
    ) THEN
        DROP INDEX "experiments_v1"."idx_evaluations_experiment";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_evaluations_experiment" ON "experiments_v1"."evaluations" (experiment_id, created_at DESC);
SET statement_timeout = '5min';

-- step: index idx_production_user_project
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"production"."idx_production_user_project"') AND NOT indisvalid
    ) THEN
        DROP INDEX "production"."idx_production_user_project";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_production_user_project" ON "production"."analysis_sessions" (user_id, project_id);
SET statement_timeout = '5min';

-- step: index idx_production_created_at
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"production"."idx_production_created_at"') AND NOT indisvalid
    ) THEN
        DROP INDEX "production"."idx_production_created_at";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_production_created_at" ON "production"."analysis_sessions" (created_at DESC);
SET statement_timeout = '5min';

-- step: index idx_audit_timestamp
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"audits"."idx_audit_timestamp"') AND NOT indisvalid
    ) THEN
        DROP INDEX "audits"."idx_audit_timestamp";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_audit_timestamp" ON "audits"."audit_log" (occurred_at DESC);
SET statement_timeout = '5min';

-- step: index idx_audit_user_action
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"audits"."idx_audit_user_action"') AND NOT indisvalid
    ) THEN
        DROP INDEX "audits"."idx_audit_user_action";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_audit_user_action" ON "audits"."audit_log" (user_id, action);
SET statement_timeout = '5min';

-- step: index idx_audit_entity
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"audits"."idx_audit_entity"') AND NOT indisvalid
    ) THEN
        DROP INDEX "audits"."idx_audit_entity";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_audit_entity" ON "audits"."audit_log" (entity_type, entity_id);
SET statement_timeout = '5min';

-- step: index idx_quarantine_status
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"quarantine"."idx_quarantine_status"') AND NOT indisvalid
    ) THEN
        DROP INDEX "quarantine"."idx_quarantine_status";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_quarantine_status" ON "quarantine"."quarantined_records" (status, quarantined_at);
SET statement_timeout = '5min';

-- step: index idx_provider_health_status
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"providers"."idx_provider_health_status"') AND NOT indisvalid
    ) THEN
        DROP INDEX "providers"."idx_provider_health_status";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_provider_health_status" ON "providers"."provider_health" (provider, status, checked_at DESC);
SET statement_timeout = '5min';

-- step: index idx_provider_usage_date
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"providers"."idx_provider_usage_date"') AND NOT indisvalid
    ) THEN
        DROP INDEX "providers"."idx_provider_usage_date";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_provider_usage_date" ON "providers"."provider_usage" (usage_date, provider);
SET statement_timeout = '5min';

-- step: index idx_promotions_experiment
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"experiments_v1"."idx_promotions_experiment"') AND NOT indisvalid
    ) THEN
        DROP INDEX "experiments_v1"."idx_promotions_experiment";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_promotions_experiment" ON "experiments_v1"."promotions" (experiment_id);
SET statement_timeout = '5min';

-- step: index idx_sessions_project
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"production"."idx_sessions_project"') AND NOT indisvalid
    ) THEN
        DROP INDEX "production"."idx_sessions_project";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_sessions_project" ON "production"."analysis_sessions" (project_id);
SET statement_timeout = '5min';

-- step: index idx_quarantine_experiment
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"quarantine"."idx_quarantine_experiment"') AND NOT indisvalid
    ) THEN
        DROP INDEX "quarantine"."idx_quarantine_experiment";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_quarantine_experiment" ON "quarantine"."quarantined_records" (experiment_id);
SET statement_timeout = '5min';

-- step: index idx_experiments_created_at
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"experiments_v1"."idx_experiments_created_at"') AND NOT indisvalid
    ) THEN
        DROP INDEX "experiments_v1"."idx_experiments_created_at";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_experiments_created_at" ON "experiments_v1"."experiments" (created_at);
SET statement_timeout = '5min';

-- step: index idx_quarantine_quarantined_at
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"quarantine"."idx_quarantine_quarantined_at"') AND NOT indisvalid
    ) THEN
        DROP INDEX "quarantine"."idx_quarantine_quarantined_at";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_quarantine_quarantined_at" ON "quarantine"."quarantined_records" (quarantined_at);
SET statement_timeout = '5min';

-- step: index idx_provider_health_checked_at
SET statement_timeout = '0';
DO $body$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_index
        WHERE indexrelid = pg_catalog.to_regclass('"providers"."idx_provider_health_checked_at"') AND NOT indisvalid
    ) THEN
        DROP INDEX "providers"."idx_provider_health_checked_at";
    END IF;
END
$body$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_provider_health_checked_at" ON "providers"."provider_health" (checked_at);
SET statement_timeout = '5min';

RESET ROLE;
