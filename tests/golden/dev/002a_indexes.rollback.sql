-- tmplmig rollback: 002a_indexes — 002a: performance indexes
-- environment: dev
-- tenant: -
-- template: templates/002a_indexes.sql.j2
-- config digest: sha256:88253efee6c07bba9fb3bb0f8ccad10f8faf45d08d5b8dce451b63ed505690d5
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
