-- tmplmig rollback: 001_baseline — Baseline: application schemas and tables
-- environment: dev
-- tenant: -
-- template: templates/001_baseline.sql.j2
-- config digest: sha256:e62bf56ccf7cd9705c2c9690fd0d5091407f04b8005aa737f5e632f027bfdb91
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '5s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

BEGIN;

-- steps as role "app_owner", while it exists: without it, nothing it owned is left
SELECT pg_catalog.to_regrole('"app_owner"') IS NOT NULL AS role_exists
\gset tmplmig_
\if :tmplmig_role_exists
SET ROLE "app_owner";

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

RESET ROLE;
\endif

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

-- step: owner role app_owner
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT COALESCE(pg_catalog.bool_and(mine AND used IS NULL), false) AS run,
       pg_catalog.max(CASE WHEN mine THEN pg_catalog.format('role %s kept: it is still used elsewhere: %s', rolname, used) END) AS note
FROM (
    SELECT r.rolname, pg_catalog.shobj_description(r.oid, 'pg_authid') IS NOT DISTINCT FROM 'created by tmplmig' AS mine,
           (SELECT pg_catalog.string_agg(pg_catalog.format('%s object%s in database %s', n, CASE WHEN n > 1 THEN 's' END, datname), ', ' ORDER BY datname)
            FROM (SELECT COALESCE(db.datname, '(cluster)') AS datname, pg_catalog.count(*) AS n
                  FROM pg_catalog.pg_shdepend dep LEFT JOIN pg_catalog.pg_database db ON db.oid = dep.dbid
                  WHERE dep.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass AND dep.refobjid = r.oid
                  GROUP BY 1) per_database) AS used
    FROM pg_catalog.pg_roles r WHERE r.rolname = 'app_owner'
) role
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
DROP ROLE "app_owner";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

COMMIT;
