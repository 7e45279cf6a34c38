-- tmplmig rollback: 002d_roles_grants — 002d: roles and grants
-- environment: dev
-- tenant: -
-- template: templates/002d_roles_grants.sql.j2
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

-- step: default privileges on functions
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT CASE WHEN pg_catalog.to_regclass('"system"."function_defaults_before"') IS NULL THEN false
       ELSE pg_catalog.query_to_xml('SELECT FROM "system"."function_defaults_before" WHERE public_execute', false, true, '')::text <> ''
       END AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: function defaults before
-- lock: ACCESS EXCLUSIVE on system.function_defaults_before; blocks reads and writes
DROP TABLE IF EXISTS "system"."function_defaults_before";

-- step: grant INSERT, UPDATE, DELETE on "system"."connection_pool_settings" to app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_admin"') IS NOT NULL
   AND pg_catalog.to_regclass('"system"."connection_pool_settings"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE INSERT, UPDATE, DELETE ON TABLE "system"."connection_pool_settings" FROM "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant SELECT on "system"."connection_pool_settings" to app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_admin"') IS NOT NULL
   AND pg_catalog.to_regclass('"system"."connection_pool_settings"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE SELECT ON TABLE "system"."connection_pool_settings" FROM "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant SELECT on "system"."retention_policies" to app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_admin"') IS NOT NULL
   AND pg_catalog.to_regclass('"system"."retention_policies"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE SELECT ON TABLE "system"."retention_policies" FROM "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant USAGE on "system" to app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_admin"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"system"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE USAGE ON SCHEMA "system" FROM "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant SELECT on "audits"."audit_log" to app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_admin"') IS NOT NULL
   AND pg_catalog.to_regclass('"audits"."audit_log"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE SELECT ON TABLE "audits"."audit_log" FROM "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant USAGE on "audits" to app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_admin"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"audits"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE USAGE ON SCHEMA "audits" FROM "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: columns hidden from app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_admin"') IS NOT NULL
   AND pg_catalog.to_regclass('"auth"."users"') IS NOT NULL
   AND pg_catalog.to_regclass('"providers"."user_providers"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE SELECT ON TABLE "auth"."users" FROM "app_admin";
-- lock: no table lock
GRANT SELECT ON TABLE "auth"."users" TO "app_admin";
-- lock: no table lock
REVOKE SELECT ON TABLE "providers"."user_providers" FROM "app_admin";
-- lock: no table lock
GRANT SELECT ON TABLE "providers"."user_providers" TO "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: privileges of app_admin in quarantine
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_admin"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"quarantine"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "app_admin";
-- lock: no table lock
REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE "quarantine"."quarantined_records" FROM "app_admin";
-- lock: no table lock
REVOKE USAGE ON SCHEMA "quarantine" FROM "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: privileges of app_admin in providers
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_admin"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"providers"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "app_admin";
-- lock: no table lock
REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE "providers"."provider_health", "providers"."provider_usage", "providers"."user_providers" FROM "app_admin";
-- lock: no table lock
REVOKE USAGE ON SCHEMA "providers" FROM "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: privileges of app_admin in production
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_admin"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"production"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "app_admin";
-- lock: no table lock
REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE "production"."analysis_sessions", "production"."projects" FROM "app_admin";
-- lock: no table lock
REVOKE USAGE ON SCHEMA "production" FROM "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: privileges of app_admin in experiments_v1
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_admin"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"experiments_v1"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "app_admin";
-- lock: no table lock
REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE "experiments_v1"."evaluations", "experiments_v1"."experiments", "experiments_v1"."promotions" FROM "app_admin";
-- lock: no table lock
REVOKE USAGE ON SCHEMA "experiments_v1" FROM "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: privileges of app_admin in auth
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_admin"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"auth"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "app_admin";
-- lock: no table lock
REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE "auth"."users" FROM "app_admin";
-- lock: no table lock
REVOKE USAGE ON SCHEMA "auth" FROM "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant SELECT on "system"."connection_pool_settings" to app_readwrite
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readwrite"') IS NOT NULL
   AND pg_catalog.to_regclass('"system"."connection_pool_settings"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE SELECT ON TABLE "system"."connection_pool_settings" FROM "app_readwrite";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant SELECT on "system"."retention_policies" to app_readwrite
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readwrite"') IS NOT NULL
   AND pg_catalog.to_regclass('"system"."retention_policies"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE SELECT ON TABLE "system"."retention_policies" FROM "app_readwrite";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant USAGE on "system" to app_readwrite
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readwrite"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"system"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE USAGE ON SCHEMA "system" FROM "app_readwrite";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant SELECT on "audits"."audit_log" to app_readwrite
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readwrite"') IS NOT NULL
   AND pg_catalog.to_regclass('"audits"."audit_log"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE SELECT ON TABLE "audits"."audit_log" FROM "app_readwrite";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant USAGE on "audits" to app_readwrite
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readwrite"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"audits"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE USAGE ON SCHEMA "audits" FROM "app_readwrite";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: columns hidden from app_readwrite
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readwrite"') IS NOT NULL
   AND pg_catalog.to_regclass('"auth"."users"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE SELECT ON TABLE "auth"."users" FROM "app_readwrite";
-- lock: no table lock
GRANT SELECT ON TABLE "auth"."users" TO "app_readwrite";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: privileges of app_readwrite in quarantine
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readwrite"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"quarantine"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE SELECT, INSERT, UPDATE ON TABLES FROM "app_readwrite";
-- lock: no table lock
REVOKE SELECT, INSERT, UPDATE ON TABLE "quarantine"."quarantined_records" FROM "app_readwrite";
-- lock: no table lock
REVOKE USAGE ON SCHEMA "quarantine" FROM "app_readwrite";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: privileges of app_readwrite in providers
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readwrite"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"providers"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE SELECT, INSERT, UPDATE ON TABLES FROM "app_readwrite";
-- lock: no table lock
REVOKE SELECT, INSERT, UPDATE ON TABLE "providers"."provider_health", "providers"."provider_usage", "providers"."user_providers" FROM "app_readwrite";
-- lock: no table lock
REVOKE USAGE ON SCHEMA "providers" FROM "app_readwrite";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: privileges of app_readwrite in production
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readwrite"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"production"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE SELECT, INSERT, UPDATE ON TABLES FROM "app_readwrite";
-- lock: no table lock
REVOKE SELECT, INSERT, UPDATE ON TABLE "production"."analysis_sessions", "production"."projects" FROM "app_readwrite";
-- lock: no table lock
REVOKE USAGE ON SCHEMA "production" FROM "app_readwrite";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: privileges of app_readwrite in experiments_v1
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readwrite"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"experiments_v1"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE SELECT, INSERT, UPDATE ON TABLES FROM "app_readwrite";
-- lock: no table lock
REVOKE SELECT, INSERT, UPDATE ON TABLE "experiments_v1"."evaluations", "experiments_v1"."experiments", "experiments_v1"."promotions" FROM "app_readwrite";
-- lock: no table lock
REVOKE USAGE ON SCHEMA "experiments_v1" FROM "app_readwrite";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: privileges of app_readwrite in auth
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readwrite"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"auth"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE SELECT, INSERT, UPDATE ON TABLES FROM "app_readwrite";
-- lock: no table lock
REVOKE SELECT, INSERT, UPDATE ON TABLE "auth"."users" FROM "app_readwrite";
-- lock: no table lock
REVOKE USAGE ON SCHEMA "auth" FROM "app_readwrite";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant SELECT on "system"."connection_pool_settings" to app_readonly
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readonly"') IS NOT NULL
   AND pg_catalog.to_regclass('"system"."connection_pool_settings"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE SELECT ON TABLE "system"."connection_pool_settings" FROM "app_readonly";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant SELECT on "system"."retention_policies" to app_readonly
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readonly"') IS NOT NULL
   AND pg_catalog.to_regclass('"system"."retention_policies"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE SELECT ON TABLE "system"."retention_policies" FROM "app_readonly";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant USAGE on "system" to app_readonly
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readonly"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"system"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE USAGE ON SCHEMA "system" FROM "app_readonly";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant SELECT on "audits"."audit_log" to app_readonly
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readonly"') IS NOT NULL
   AND pg_catalog.to_regclass('"audits"."audit_log"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE SELECT ON TABLE "audits"."audit_log" FROM "app_readonly";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant USAGE on "audits" to app_readonly
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readonly"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"audits"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE USAGE ON SCHEMA "audits" FROM "app_readonly";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: columns hidden from app_readonly
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readonly"') IS NOT NULL
   AND pg_catalog.to_regclass('"auth"."users"') IS NOT NULL
   AND pg_catalog.to_regclass('"providers"."user_providers"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE SELECT ON TABLE "auth"."users" FROM "app_readonly";
-- lock: no table lock
GRANT SELECT ON TABLE "auth"."users" TO "app_readonly";
-- lock: no table lock
REVOKE SELECT ON TABLE "providers"."user_providers" FROM "app_readonly";
-- lock: no table lock
GRANT SELECT ON TABLE "providers"."user_providers" TO "app_readonly";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: privileges of app_readonly in quarantine
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readonly"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"quarantine"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE SELECT ON SEQUENCES FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE SELECT ON TABLES FROM "app_readonly";
-- lock: no table lock
REVOKE SELECT ON TABLE "quarantine"."quarantined_records" FROM "app_readonly";
-- lock: no table lock
REVOKE USAGE ON SCHEMA "quarantine" FROM "app_readonly";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: privileges of app_readonly in providers
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readonly"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"providers"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE SELECT ON SEQUENCES FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE SELECT ON TABLES FROM "app_readonly";
-- lock: no table lock
REVOKE SELECT ON TABLE "providers"."provider_health", "providers"."provider_usage", "providers"."user_providers" FROM "app_readonly";
-- lock: no table lock
REVOKE USAGE ON SCHEMA "providers" FROM "app_readonly";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: privileges of app_readonly in production
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readonly"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"production"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE SELECT ON SEQUENCES FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE SELECT ON TABLES FROM "app_readonly";
-- lock: no table lock
REVOKE SELECT ON TABLE "production"."analysis_sessions", "production"."projects" FROM "app_readonly";
-- lock: no table lock
REVOKE USAGE ON SCHEMA "production" FROM "app_readonly";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: privileges of app_readonly in experiments_v1
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readonly"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"experiments_v1"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE SELECT ON SEQUENCES FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE SELECT ON TABLES FROM "app_readonly";
-- lock: no table lock
REVOKE SELECT ON TABLE "experiments_v1"."evaluations", "experiments_v1"."experiments", "experiments_v1"."promotions" FROM "app_readonly";
-- lock: no table lock
REVOKE USAGE ON SCHEMA "experiments_v1" FROM "app_readonly";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: privileges of app_readonly in auth
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regrole('"app_readonly"') IS NOT NULL
   AND pg_catalog.to_regnamespace('"auth"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE SELECT ON SEQUENCES FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE SELECT ON TABLES FROM "app_readonly";
-- lock: no table lock
REVOKE SELECT ON TABLE "auth"."users" FROM "app_readonly";
-- lock: no table lock
REVOKE USAGE ON SCHEMA "auth" FROM "app_readonly";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

RESET ROLE;
\endif

-- step: role app_admin
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
    FROM pg_catalog.pg_roles r WHERE r.rolname = 'app_admin'
) role
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
DROP ROLE "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: role app_readwrite
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
    FROM pg_catalog.pg_roles r WHERE r.rolname = 'app_readwrite'
) role
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
DROP ROLE "app_readwrite";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: role app_readonly
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
    FROM pg_catalog.pg_roles r WHERE r.rolname = 'app_readonly'
) role
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
DROP ROLE "app_readonly";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

COMMIT;
