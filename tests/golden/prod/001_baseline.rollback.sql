-- tmplmig rollback: 001_baseline — Baseline: application schemas and tables
-- environment: prod
-- tenant: -
-- template: templates/001_baseline.sql.j2
-- config digest: sha256:07153d0fdca7cfcb79bb35947db6d72c2b7da5fd9dc4df00cfcd9f578f978178
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '2s';

BEGIN;

-- step: table quarantine quarantined_records
DROP TABLE IF EXISTS "quarantine"."quarantined_records";

-- step: table providers provider_usage
DROP TABLE IF EXISTS "providers"."provider_usage";

-- step: table providers provider_health
DROP TABLE IF EXISTS "providers"."provider_health";

-- step: table providers user_providers
DROP TABLE IF EXISTS "providers"."user_providers";

-- step: table audits audit_log
DROP TABLE IF EXISTS "audits"."audit_log";

-- step: table production analysis_sessions
DROP TABLE IF EXISTS "production"."analysis_sessions";

-- step: table experiments_v1 promotions
DROP TABLE IF EXISTS "experiments_v1"."promotions";

-- step: table experiments_v1 evaluations
DROP TABLE IF EXISTS "experiments_v1"."evaluations";

-- step: table experiments_v1 experiments
DROP TABLE IF EXISTS "experiments_v1"."experiments";

-- step: table production projects
DROP TABLE IF EXISTS "production"."projects";

-- step: table auth users
DROP TABLE IF EXISTS "auth"."users";

-- step: schema quarantine
DROP SCHEMA IF EXISTS "quarantine";

-- step: schema providers
DROP SCHEMA IF EXISTS "providers";

-- step: schema audits
DROP SCHEMA IF EXISTS "audits";

-- step: schema production
DROP SCHEMA IF EXISTS "production";

-- step: schema experiments_v1
DROP SCHEMA IF EXISTS "experiments_v1";

-- step: schema auth
DROP SCHEMA IF EXISTS "auth";

COMMIT;
