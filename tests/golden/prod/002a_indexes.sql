-- tmplmig apply: 002a_indexes — 002a: performance indexes
-- environment: prod
-- tenant: -
-- template: templates/002a_indexes.sql.j2
-- config digest: sha256:61d8b21ce8bbf7f315b0a45925c75c00390f94adc3a7f5e49ab18b32991dd9a2
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
