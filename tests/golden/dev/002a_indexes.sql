-- tmplmig apply: 002a_indexes — 002a: performance indexes
-- environment: dev
-- tenant: -
-- template: templates/002a_indexes.sql.j2
-- config digest: sha256:88253efee6c07bba9fb3bb0f8ccad10f8faf45d08d5b8dce451b63ed505690d5
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

BEGIN;

-- step: index idx_experiments_v1_status_created
CREATE INDEX IF NOT EXISTS "idx_experiments_v1_status_created" ON "experiments_v1"."experiments" (status, created_at DESC);

-- step: index idx_experiments_v1_user_status
CREATE INDEX IF NOT EXISTS "idx_experiments_v1_user_status" ON "experiments_v1"."experiments" (user_id, status);

-- step: index idx_evaluations_experiment
CREATE INDEX IF NOT EXISTS "idx_evaluations_experiment" ON "experiments_v1"."evaluations" (experiment_id, created_at DESC);

-- step: index idx_production_user_project
CREATE INDEX IF NOT EXISTS "idx_production_user_project" ON "production"."analysis_sessions" (user_id, project_id);

-- step: index idx_production_created_at
CREATE INDEX IF NOT EXISTS "idx_production_created_at" ON "production"."analysis_sessions" (created_at DESC);

-- step: index idx_audit_timestamp
CREATE INDEX IF NOT EXISTS "idx_audit_timestamp" ON "audits"."audit_log" (occurred_at DESC);

-- step: index idx_audit_user_action
CREATE INDEX IF NOT EXISTS "idx_audit_user_action" ON "audits"."audit_log" (user_id, action);

-- step: index idx_audit_entity
CREATE INDEX IF NOT EXISTS "idx_audit_entity" ON "audits"."audit_log" (entity_type, entity_id);

-- step: index idx_quarantine_status
CREATE INDEX IF NOT EXISTS "idx_quarantine_status" ON "quarantine"."quarantined_records" (status, quarantined_at);

-- step: index idx_provider_health_status
CREATE INDEX IF NOT EXISTS "idx_provider_health_status" ON "providers"."provider_health" (provider, status, checked_at DESC);

-- step: index idx_provider_usage_date
CREATE INDEX IF NOT EXISTS "idx_provider_usage_date" ON "providers"."provider_usage" (usage_date, provider);

COMMIT;
