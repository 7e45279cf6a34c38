-- tmplmig rollback: 001_baseline — Baseline: application schemas and tables
-- environment: prod
-- tenant: -
-- template: templates/001_baseline.sql.j2
-- config digest: sha256:07153d0fdca7cfcb79bb35947db6d72c2b7da5fd9dc4df00cfcd9f578f978178
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

-- No statement_timeout on purpose: CONCURRENTLY builds and VALIDATE scans take as long as
-- the table needs and block no writer; lock_timeout below bounds every wait that would.
-- squawk-ignore-file require-statement-timeout
SET lock_timeout = '2s';

BEGIN;

-- step: table quarantine quarantined_records
-- lock: ACCESS EXCLUSIVE on quarantine.quarantined_records, experiments_v1.experiments; blocks reads and writes (only when the foreign key exists: its triggers on this table go)
DROP TABLE IF EXISTS "quarantine"."quarantined_records";

-- step: table providers provider_usage
-- lock: ACCESS EXCLUSIVE on providers.provider_usage; blocks reads and writes
DROP TABLE IF EXISTS "providers"."provider_usage";

-- step: table providers provider_health
-- lock: ACCESS EXCLUSIVE on providers.provider_health; blocks reads and writes
DROP TABLE IF EXISTS "providers"."provider_health";

-- step: table providers user_providers
-- lock: ACCESS EXCLUSIVE on providers.user_providers; blocks reads and writes
DROP TABLE IF EXISTS "providers"."user_providers";

-- step: table audits audit_log
-- lock: ACCESS EXCLUSIVE on audits.audit_log; blocks reads and writes
DROP TABLE IF EXISTS "audits"."audit_log";

-- step: table production analysis_sessions
-- lock: ACCESS EXCLUSIVE on production.analysis_sessions, auth.users, production.projects; blocks reads and writes (only when the foreign key exists: its triggers on this table go)
DROP TABLE IF EXISTS "production"."analysis_sessions";

-- step: table experiments_v1 promotions
-- lock: ACCESS EXCLUSIVE on experiments_v1.promotions, experiments_v1.experiments; blocks reads and writes (only when the foreign key exists: its triggers on this table go)
DROP TABLE IF EXISTS "experiments_v1"."promotions";

-- step: table experiments_v1 evaluations
-- lock: ACCESS EXCLUSIVE on experiments_v1.evaluations, experiments_v1.experiments; blocks reads and writes (only when the foreign key exists: its triggers on this table go)
DROP TABLE IF EXISTS "experiments_v1"."evaluations";

-- step: table experiments_v1 experiments
-- lock: ACCESS EXCLUSIVE on experiments_v1.experiments, auth.users; blocks reads and writes (only when the foreign key exists: its triggers on this table go)
DROP TABLE IF EXISTS "experiments_v1"."experiments";

-- step: table production projects
-- lock: ACCESS EXCLUSIVE on production.projects; blocks reads and writes
DROP TABLE IF EXISTS "production"."projects";

-- step: table auth users
-- lock: ACCESS EXCLUSIVE on auth.users; blocks reads and writes
DROP TABLE IF EXISTS "auth"."users";

-- step: schema quarantine
-- lock: no table lock
DROP SCHEMA IF EXISTS "quarantine";

-- step: schema providers
-- lock: no table lock
DROP SCHEMA IF EXISTS "providers";

-- step: schema audits
-- lock: no table lock
DROP SCHEMA IF EXISTS "audits";

-- step: schema production
-- lock: no table lock
DROP SCHEMA IF EXISTS "production";

-- step: schema experiments_v1
-- lock: no table lock
DROP SCHEMA IF EXISTS "experiments_v1";

-- step: schema auth
-- lock: no table lock
DROP SCHEMA IF EXISTS "auth";

COMMIT;
