-- tmplmig apply: 002a_indexes — 002a: performance indexes
-- environment: prod
-- tenant: -
-- template: templates/002a_indexes.sql.j2
-- config digest: sha256:b88f39306a7e2ec117d3b77946f93dd2eabe4c025a603778951954ccfca41a25
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '2s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

SET ROLE "app_owner";

-- step: index idx_experiments_v1_status_created
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"experiments_v1"."idx_experiments_v1_status_created"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.experiments; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "experiments_v1"."idx_experiments_v1_status_created";
-- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.experiments; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_experiments_v1_status_created" ON "experiments_v1"."experiments" (status, created_at DESC);
SET statement_timeout = '5min';

-- step: index idx_experiments_v1_user_status
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"experiments_v1"."idx_experiments_v1_user_status"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.experiments; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "experiments_v1"."idx_experiments_v1_user_status";
-- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.experiments; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_experiments_v1_user_status" ON "experiments_v1"."experiments" (user_id, status);
SET statement_timeout = '5min';

-- step: index idx_evaluations_experiment
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"experiments_v1"."idx_evaluations_experiment"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.evaluations; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "experiments_v1"."idx_evaluations_experiment";
-- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.evaluations; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_evaluations_experiment" ON "experiments_v1"."evaluations" (experiment_id, created_at DESC);
SET statement_timeout = '5min';

-- step: index idx_production_user_project
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"production"."idx_production_user_project"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on production.analysis_sessions; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "production"."idx_production_user_project";
-- lock: SHARE UPDATE EXCLUSIVE on production.analysis_sessions; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_production_user_project" ON "production"."analysis_sessions" (user_id, project_id);
SET statement_timeout = '5min';

-- step: index idx_production_created_at
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"production"."idx_production_created_at"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on production.analysis_sessions; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "production"."idx_production_created_at";
-- lock: SHARE UPDATE EXCLUSIVE on production.analysis_sessions; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_production_created_at" ON "production"."analysis_sessions" (created_at DESC);
SET statement_timeout = '5min';

-- step: index idx_audit_timestamp
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"audits"."idx_audit_timestamp"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on audits.audit_log; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "audits"."idx_audit_timestamp";
-- lock: SHARE UPDATE EXCLUSIVE on audits.audit_log; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_audit_timestamp" ON "audits"."audit_log" (occurred_at DESC);
SET statement_timeout = '5min';

-- step: index idx_audit_user_action
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"audits"."idx_audit_user_action"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on audits.audit_log; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "audits"."idx_audit_user_action";
-- lock: SHARE UPDATE EXCLUSIVE on audits.audit_log; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_audit_user_action" ON "audits"."audit_log" (user_id, action);
SET statement_timeout = '5min';

-- step: index idx_audit_entity
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"audits"."idx_audit_entity"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on audits.audit_log; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "audits"."idx_audit_entity";
-- lock: SHARE UPDATE EXCLUSIVE on audits.audit_log; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_audit_entity" ON "audits"."audit_log" (entity_type, entity_id);
SET statement_timeout = '5min';

-- step: index idx_quarantine_status
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"quarantine"."idx_quarantine_status"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on quarantine.quarantined_records; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "quarantine"."idx_quarantine_status";
-- lock: SHARE UPDATE EXCLUSIVE on quarantine.quarantined_records; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_quarantine_status" ON "quarantine"."quarantined_records" (status, quarantined_at);
SET statement_timeout = '5min';

-- step: index idx_provider_health_status
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"providers"."idx_provider_health_status"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on providers.provider_health; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "providers"."idx_provider_health_status";
-- lock: SHARE UPDATE EXCLUSIVE on providers.provider_health; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_provider_health_status" ON "providers"."provider_health" (provider, status, checked_at DESC);
SET statement_timeout = '5min';

-- step: index idx_provider_usage_date
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"providers"."idx_provider_usage_date"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on providers.provider_usage; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "providers"."idx_provider_usage_date";
-- lock: SHARE UPDATE EXCLUSIVE on providers.provider_usage; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_provider_usage_date" ON "providers"."provider_usage" (usage_date, provider);
SET statement_timeout = '5min';

-- step: index idx_promotions_experiment
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"experiments_v1"."idx_promotions_experiment"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.promotions; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "experiments_v1"."idx_promotions_experiment";
-- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.promotions; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_promotions_experiment" ON "experiments_v1"."promotions" (experiment_id);
SET statement_timeout = '5min';

-- step: index idx_sessions_project
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"production"."idx_sessions_project"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on production.analysis_sessions; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "production"."idx_sessions_project";
-- lock: SHARE UPDATE EXCLUSIVE on production.analysis_sessions; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_sessions_project" ON "production"."analysis_sessions" (project_id);
SET statement_timeout = '5min';

-- step: index idx_quarantine_experiment
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"quarantine"."idx_quarantine_experiment"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on quarantine.quarantined_records; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "quarantine"."idx_quarantine_experiment";
-- lock: SHARE UPDATE EXCLUSIVE on quarantine.quarantined_records; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_quarantine_experiment" ON "quarantine"."quarantined_records" (experiment_id);
SET statement_timeout = '5min';

-- step: index idx_experiments_created_at
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"experiments_v1"."idx_experiments_created_at"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.experiments; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "experiments_v1"."idx_experiments_created_at";
-- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.experiments; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_experiments_created_at" ON "experiments_v1"."experiments" (created_at);
SET statement_timeout = '5min';

-- step: index idx_quarantine_quarantined_at
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"quarantine"."idx_quarantine_quarantined_at"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on quarantine.quarantined_records; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "quarantine"."idx_quarantine_quarantined_at";
-- lock: SHARE UPDATE EXCLUSIVE on quarantine.quarantined_records; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_quarantine_quarantined_at" ON "quarantine"."quarantined_records" (quarantined_at);
SET statement_timeout = '5min';

-- step: index idx_provider_health_checked_at
SET statement_timeout = '0';
-- repair, run by hand when this query returns true:
--   SELECT EXISTS (
--       SELECT FROM pg_catalog.pg_index
--       WHERE indexrelid = pg_catalog.to_regclass('"providers"."idx_provider_health_checked_at"') AND NOT indisvalid
--   ) AS run
--   -- lock: SHARE UPDATE EXCLUSIVE on providers.provider_health; reads and writes continue
--   DROP INDEX CONCURRENTLY IF EXISTS "providers"."idx_provider_health_checked_at";
-- lock: SHARE UPDATE EXCLUSIVE on providers.provider_health; reads and writes continue (built CONCURRENTLY)
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_provider_health_checked_at" ON "providers"."provider_health" (checked_at);
SET statement_timeout = '5min';

RESET ROLE;
