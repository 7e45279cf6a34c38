-- tmplmig rollback: 002a_indexes — 002a: performance indexes
-- environment: prod
-- tenant: -
-- template: templates/002a_indexes.sql.j2
-- config digest: sha256:61d8b21ce8bbf7f315b0a45925c75c00390f94adc3a7f5e49ab18b32991dd9a2
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

BEGIN;

-- step: index idx_provider_usage_date
DROP INDEX IF EXISTS "providers"."idx_provider_usage_date";

-- step: index idx_provider_health_status
DROP INDEX IF EXISTS "providers"."idx_provider_health_status";

-- step: index idx_quarantine_status
DROP INDEX IF EXISTS "quarantine"."idx_quarantine_status";

-- step: index idx_audit_entity
DROP INDEX IF EXISTS "audits"."idx_audit_entity";

-- step: index idx_audit_user_action
DROP INDEX IF EXISTS "audits"."idx_audit_user_action";

-- step: index idx_audit_timestamp
DROP INDEX IF EXISTS "audits"."idx_audit_timestamp";

-- step: index idx_production_created_at
DROP INDEX IF EXISTS "production"."idx_production_created_at";

-- step: index idx_production_user_project
DROP INDEX IF EXISTS "production"."idx_production_user_project";

-- step: index idx_evaluations_experiment
DROP INDEX IF EXISTS "experiments_v1"."idx_evaluations_experiment";

-- step: index idx_experiments_v1_user_status
DROP INDEX IF EXISTS "experiments_v1"."idx_experiments_v1_user_status";

-- step: index idx_experiments_v1_status_created
DROP INDEX IF EXISTS "experiments_v1"."idx_experiments_v1_status_created";

COMMIT;
