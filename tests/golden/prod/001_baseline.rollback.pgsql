-- tmplmig rollback: 001_baseline — Baseline: application schemas and tables
-- environment: prod
-- tenant: -
-- template: templates/001_baseline.sql.j2
-- config digest: sha256:f335fdf8bfcac757459145c91dd4bd1c1d6031874fb7f8dea8d2372dac87baa2
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '2s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

BEGIN;

SET ROLE "app_owner";

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

RESET ROLE;

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

-- step: owner role app_owner
DO $body$
DECLARE
    detail text;
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_roles r
        WHERE r.rolname = 'app_owner'
          AND pg_catalog.shobj_description(r.oid, 'pg_authid') = 'created by tmplmig'
    ) THEN
        DROP ROLE "app_owner";
    END IF;
EXCEPTION WHEN dependent_objects_still_exist THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE WARNING 'role % kept: it is still used elsewhere: %', 'app_owner', detail;
END
$body$;

COMMIT;
