-- tmplmig apply: 002d_roles_grants — 002d: roles and grants
-- environment: prod
-- tenant: -
-- template: templates/002d_roles_grants.sql.j2
-- config digest: sha256:b88f39306a7e2ec117d3b77946f93dd2eabe4c025a603778951954ccfca41a25
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '2s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

BEGIN;

-- step: role app_readonly
-- lock: not derived: the statements inside this DO block take their own locks
DO $body$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'app_readonly') THEN
        CREATE ROLE "app_readonly" NOLOGIN;
        COMMENT ON ROLE "app_readonly" IS 'created by tmplmig';
    ELSIF EXISTS (
        SELECT 1 FROM pg_catalog.pg_roles
        WHERE rolname = 'app_readonly'
          AND (rolcanlogin OR rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls)
    ) AND pg_catalog.current_setting('tmplmig.replay', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'group role % may log in or holds SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS', 'app_readonly'
            USING HINT = 'a group role must be NOLOGIN without those attributes: its members are the application''s logins (docs/security.md)';
    END IF;
END
$body$;

-- step: role app_readwrite
-- lock: not derived: the statements inside this DO block take their own locks
DO $body$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'app_readwrite') THEN
        CREATE ROLE "app_readwrite" NOLOGIN;
        COMMENT ON ROLE "app_readwrite" IS 'created by tmplmig';
    ELSIF EXISTS (
        SELECT 1 FROM pg_catalog.pg_roles
        WHERE rolname = 'app_readwrite'
          AND (rolcanlogin OR rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls)
    ) AND pg_catalog.current_setting('tmplmig.replay', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'group role % may log in or holds SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS', 'app_readwrite'
            USING HINT = 'a group role must be NOLOGIN without those attributes: its members are the application''s logins (docs/security.md)';
    END IF;
END
$body$;

-- step: role app_admin
-- lock: not derived: the statements inside this DO block take their own locks
DO $body$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'app_admin') THEN
        CREATE ROLE "app_admin" NOLOGIN;
        COMMENT ON ROLE "app_admin" IS 'created by tmplmig';
    ELSIF EXISTS (
        SELECT 1 FROM pg_catalog.pg_roles
        WHERE rolname = 'app_admin'
          AND (rolcanlogin OR rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls)
    ) AND pg_catalog.current_setting('tmplmig.replay', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'group role % may log in or holds SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS', 'app_admin'
            USING HINT = 'a group role must be NOLOGIN without those attributes: its members are the application''s logins (docs/security.md)';
    END IF;
END
$body$;

SET ROLE "app_owner";

-- step: revoke PUBLIC on app schemas
-- lock: no table lock
REVOKE ALL ON SCHEMA "auth", "experiments_v1", "production", "providers", "quarantine", "audits", "system" FROM PUBLIC;

-- step: privileges of app_readonly in auth
-- lock: no table lock
REVOKE ALL ON SCHEMA "auth" FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE ALL ON TABLES FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE ALL ON SEQUENCES FROM "app_readonly";
-- lock: no table lock
GRANT USAGE ON SCHEMA "auth" TO "app_readonly";
-- lock: no table lock
REVOKE ALL ON TABLE "auth"."users" FROM "app_readonly";
-- lock: no table lock
GRANT SELECT ON TABLE "auth"."users" TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT SELECT ON TABLES TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT SELECT ON SEQUENCES TO "app_readonly";

-- step: privileges of app_readonly in experiments_v1
-- lock: no table lock
REVOKE ALL ON SCHEMA "experiments_v1" FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE ALL ON TABLES FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE ALL ON SEQUENCES FROM "app_readonly";
-- lock: no table lock
GRANT USAGE ON SCHEMA "experiments_v1" TO "app_readonly";
-- lock: no table lock
REVOKE ALL ON TABLE "experiments_v1"."evaluations", "experiments_v1"."experiments", "experiments_v1"."promotions" FROM "app_readonly";
-- lock: no table lock
GRANT SELECT ON TABLE "experiments_v1"."evaluations", "experiments_v1"."experiments", "experiments_v1"."promotions" TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT SELECT ON TABLES TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT SELECT ON SEQUENCES TO "app_readonly";

-- step: privileges of app_readonly in production
-- lock: no table lock
REVOKE ALL ON SCHEMA "production" FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE ALL ON TABLES FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE ALL ON SEQUENCES FROM "app_readonly";
-- lock: no table lock
GRANT USAGE ON SCHEMA "production" TO "app_readonly";
-- lock: no table lock
REVOKE ALL ON TABLE "production"."analysis_sessions", "production"."projects" FROM "app_readonly";
-- lock: no table lock
GRANT SELECT ON TABLE "production"."analysis_sessions", "production"."projects" TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT SELECT ON TABLES TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT SELECT ON SEQUENCES TO "app_readonly";

-- step: privileges of app_readonly in providers
-- lock: no table lock
REVOKE ALL ON SCHEMA "providers" FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE ALL ON TABLES FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE ALL ON SEQUENCES FROM "app_readonly";
-- lock: no table lock
GRANT USAGE ON SCHEMA "providers" TO "app_readonly";
-- lock: no table lock
REVOKE ALL ON TABLE "providers"."provider_health", "providers"."provider_usage", "providers"."user_providers" FROM "app_readonly";
-- lock: no table lock
GRANT SELECT ON TABLE "providers"."provider_health", "providers"."provider_usage", "providers"."user_providers" TO "app_readonly";
-- lock: no table lock
REVOKE ALL ON SEQUENCE "providers"."provider_health_id_seq", "providers"."provider_usage_id_seq" FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT SELECT ON TABLES TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT SELECT ON SEQUENCES TO "app_readonly";

-- step: privileges of app_readonly in quarantine
-- lock: no table lock
REVOKE ALL ON SCHEMA "quarantine" FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE ALL ON TABLES FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE ALL ON SEQUENCES FROM "app_readonly";
-- lock: no table lock
GRANT USAGE ON SCHEMA "quarantine" TO "app_readonly";
-- lock: no table lock
REVOKE ALL ON TABLE "quarantine"."quarantined_records" FROM "app_readonly";
-- lock: no table lock
GRANT SELECT ON TABLE "quarantine"."quarantined_records" TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT SELECT ON TABLES TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT SELECT ON SEQUENCES TO "app_readonly";

-- step: columns hidden from app_readonly
-- lock: no table lock
REVOKE SELECT ON TABLE "auth"."users" FROM "app_readonly";
-- lock: no table lock
GRANT SELECT ("id", "email", "display_name", "created_at", "updated_at") ON TABLE "auth"."users" TO "app_readonly";
-- lock: no table lock
REVOKE SELECT ON TABLE "providers"."user_providers" FROM "app_readonly";
-- lock: no table lock
GRANT SELECT ("id", "user_id", "provider", "created_at") ON TABLE "providers"."user_providers" TO "app_readonly";

-- step: grant USAGE on "audits" to app_readonly
-- lock: no table lock
GRANT USAGE ON SCHEMA "audits" TO "app_readonly";

-- step: grant SELECT on "audits"."audit_log" to app_readonly
-- lock: no table lock
GRANT SELECT ON TABLE "audits"."audit_log" TO "app_readonly";

-- step: grant USAGE on "system" to app_readonly
-- lock: no table lock
GRANT USAGE ON SCHEMA "system" TO "app_readonly";

-- step: grant SELECT on "system"."retention_policies" to app_readonly
-- lock: no table lock
GRANT SELECT ON TABLE "system"."retention_policies" TO "app_readonly";

-- step: grant SELECT on "system"."connection_pool_settings" to app_readonly
-- lock: no table lock
GRANT SELECT ON TABLE "system"."connection_pool_settings" TO "app_readonly";

-- step: privileges of app_readwrite in auth
-- lock: no table lock
REVOKE ALL ON SCHEMA "auth" FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE ALL ON TABLES FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE ALL ON SEQUENCES FROM "app_readwrite";
-- lock: no table lock
GRANT USAGE ON SCHEMA "auth" TO "app_readwrite";
-- lock: no table lock
REVOKE ALL ON TABLE "auth"."users" FROM "app_readwrite";
-- lock: no table lock
GRANT SELECT, INSERT, UPDATE ON TABLE "auth"."users" TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT SELECT, INSERT, UPDATE ON TABLES TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT USAGE, SELECT ON SEQUENCES TO "app_readwrite";

-- step: privileges of app_readwrite in experiments_v1
-- lock: no table lock
REVOKE ALL ON SCHEMA "experiments_v1" FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE ALL ON TABLES FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE ALL ON SEQUENCES FROM "app_readwrite";
-- lock: no table lock
GRANT USAGE ON SCHEMA "experiments_v1" TO "app_readwrite";
-- lock: no table lock
REVOKE ALL ON TABLE "experiments_v1"."evaluations", "experiments_v1"."experiments", "experiments_v1"."promotions" FROM "app_readwrite";
-- lock: no table lock
GRANT SELECT, INSERT, UPDATE ON TABLE "experiments_v1"."evaluations", "experiments_v1"."experiments", "experiments_v1"."promotions" TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT SELECT, INSERT, UPDATE ON TABLES TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT USAGE, SELECT ON SEQUENCES TO "app_readwrite";

-- step: privileges of app_readwrite in production
-- lock: no table lock
REVOKE ALL ON SCHEMA "production" FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE ALL ON TABLES FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE ALL ON SEQUENCES FROM "app_readwrite";
-- lock: no table lock
GRANT USAGE ON SCHEMA "production" TO "app_readwrite";
-- lock: no table lock
REVOKE ALL ON TABLE "production"."analysis_sessions", "production"."projects" FROM "app_readwrite";
-- lock: no table lock
GRANT SELECT, INSERT, UPDATE ON TABLE "production"."analysis_sessions", "production"."projects" TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT SELECT, INSERT, UPDATE ON TABLES TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT USAGE, SELECT ON SEQUENCES TO "app_readwrite";

-- step: privileges of app_readwrite in providers
-- lock: no table lock
REVOKE ALL ON SCHEMA "providers" FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE ALL ON TABLES FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE ALL ON SEQUENCES FROM "app_readwrite";
-- lock: no table lock
GRANT USAGE ON SCHEMA "providers" TO "app_readwrite";
-- lock: no table lock
REVOKE ALL ON TABLE "providers"."provider_health", "providers"."provider_usage", "providers"."user_providers" FROM "app_readwrite";
-- lock: no table lock
GRANT SELECT, INSERT, UPDATE ON TABLE "providers"."provider_health", "providers"."provider_usage", "providers"."user_providers" TO "app_readwrite";
-- lock: no table lock
REVOKE ALL ON SEQUENCE "providers"."provider_health_id_seq", "providers"."provider_usage_id_seq" FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT SELECT, INSERT, UPDATE ON TABLES TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT USAGE, SELECT ON SEQUENCES TO "app_readwrite";

-- step: privileges of app_readwrite in quarantine
-- lock: no table lock
REVOKE ALL ON SCHEMA "quarantine" FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE ALL ON TABLES FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE ALL ON SEQUENCES FROM "app_readwrite";
-- lock: no table lock
GRANT USAGE ON SCHEMA "quarantine" TO "app_readwrite";
-- lock: no table lock
REVOKE ALL ON TABLE "quarantine"."quarantined_records" FROM "app_readwrite";
-- lock: no table lock
GRANT SELECT, INSERT, UPDATE ON TABLE "quarantine"."quarantined_records" TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT SELECT, INSERT, UPDATE ON TABLES TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT USAGE, SELECT ON SEQUENCES TO "app_readwrite";

-- step: columns hidden from app_readwrite
-- lock: no table lock
REVOKE SELECT ON TABLE "auth"."users" FROM "app_readwrite";
-- lock: no table lock
GRANT SELECT ("id", "email", "display_name", "created_at", "updated_at") ON TABLE "auth"."users" TO "app_readwrite";

-- step: grant USAGE on "audits" to app_readwrite
-- lock: no table lock
GRANT USAGE ON SCHEMA "audits" TO "app_readwrite";

-- step: grant SELECT on "audits"."audit_log" to app_readwrite
-- lock: no table lock
GRANT SELECT ON TABLE "audits"."audit_log" TO "app_readwrite";

-- step: grant USAGE on "system" to app_readwrite
-- lock: no table lock
GRANT USAGE ON SCHEMA "system" TO "app_readwrite";

-- step: grant SELECT on "system"."retention_policies" to app_readwrite
-- lock: no table lock
GRANT SELECT ON TABLE "system"."retention_policies" TO "app_readwrite";

-- step: grant SELECT on "system"."connection_pool_settings" to app_readwrite
-- lock: no table lock
GRANT SELECT ON TABLE "system"."connection_pool_settings" TO "app_readwrite";

-- step: privileges of app_admin in auth
-- lock: no table lock
REVOKE ALL ON SCHEMA "auth" FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE ALL ON TABLES FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE ALL ON SEQUENCES FROM "app_admin";
-- lock: no table lock
GRANT USAGE ON SCHEMA "auth" TO "app_admin";
-- lock: no table lock
REVOKE ALL ON TABLE "auth"."users" FROM "app_admin";
-- lock: no table lock
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "auth"."users" TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT USAGE, SELECT ON SEQUENCES TO "app_admin";

-- step: privileges of app_admin in experiments_v1
-- lock: no table lock
REVOKE ALL ON SCHEMA "experiments_v1" FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE ALL ON TABLES FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE ALL ON SEQUENCES FROM "app_admin";
-- lock: no table lock
GRANT USAGE ON SCHEMA "experiments_v1" TO "app_admin";
-- lock: no table lock
REVOKE ALL ON TABLE "experiments_v1"."evaluations", "experiments_v1"."experiments", "experiments_v1"."promotions" FROM "app_admin";
-- lock: no table lock
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "experiments_v1"."evaluations", "experiments_v1"."experiments", "experiments_v1"."promotions" TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT USAGE, SELECT ON SEQUENCES TO "app_admin";

-- step: privileges of app_admin in production
-- lock: no table lock
REVOKE ALL ON SCHEMA "production" FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE ALL ON TABLES FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE ALL ON SEQUENCES FROM "app_admin";
-- lock: no table lock
GRANT USAGE ON SCHEMA "production" TO "app_admin";
-- lock: no table lock
REVOKE ALL ON TABLE "production"."analysis_sessions", "production"."projects" FROM "app_admin";
-- lock: no table lock
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "production"."analysis_sessions", "production"."projects" TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT USAGE, SELECT ON SEQUENCES TO "app_admin";

-- step: privileges of app_admin in providers
-- lock: no table lock
REVOKE ALL ON SCHEMA "providers" FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE ALL ON TABLES FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE ALL ON SEQUENCES FROM "app_admin";
-- lock: no table lock
GRANT USAGE ON SCHEMA "providers" TO "app_admin";
-- lock: no table lock
REVOKE ALL ON TABLE "providers"."provider_health", "providers"."provider_usage", "providers"."user_providers" FROM "app_admin";
-- lock: no table lock
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "providers"."provider_health", "providers"."provider_usage", "providers"."user_providers" TO "app_admin";
-- lock: no table lock
REVOKE ALL ON SEQUENCE "providers"."provider_health_id_seq", "providers"."provider_usage_id_seq" FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT USAGE, SELECT ON SEQUENCES TO "app_admin";

-- step: privileges of app_admin in quarantine
-- lock: no table lock
REVOKE ALL ON SCHEMA "quarantine" FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE ALL ON TABLES FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE ALL ON SEQUENCES FROM "app_admin";
-- lock: no table lock
GRANT USAGE ON SCHEMA "quarantine" TO "app_admin";
-- lock: no table lock
REVOKE ALL ON TABLE "quarantine"."quarantined_records" FROM "app_admin";
-- lock: no table lock
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "quarantine"."quarantined_records" TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT USAGE, SELECT ON SEQUENCES TO "app_admin";

-- step: columns hidden from app_admin
-- lock: no table lock
REVOKE SELECT ON TABLE "auth"."users" FROM "app_admin";
-- lock: no table lock
GRANT SELECT ("id", "email", "display_name", "created_at", "updated_at") ON TABLE "auth"."users" TO "app_admin";
-- lock: no table lock
REVOKE SELECT ON TABLE "providers"."user_providers" FROM "app_admin";
-- lock: no table lock
GRANT SELECT ("id", "user_id", "provider", "created_at") ON TABLE "providers"."user_providers" TO "app_admin";

-- step: grant USAGE on "audits" to app_admin
-- lock: no table lock
GRANT USAGE ON SCHEMA "audits" TO "app_admin";

-- step: grant SELECT on "audits"."audit_log" to app_admin
-- lock: no table lock
GRANT SELECT ON TABLE "audits"."audit_log" TO "app_admin";

-- step: grant USAGE on "system" to app_admin
-- lock: no table lock
GRANT USAGE ON SCHEMA "system" TO "app_admin";

-- step: grant SELECT on "system"."retention_policies" to app_admin
-- lock: no table lock
GRANT SELECT ON TABLE "system"."retention_policies" TO "app_admin";

-- step: grant SELECT on "system"."connection_pool_settings" to app_admin
-- lock: no table lock
GRANT SELECT ON TABLE "system"."connection_pool_settings" TO "app_admin";

-- step: grant INSERT, UPDATE, DELETE on "system"."connection_pool_settings" to app_admin
-- lock: no table lock
GRANT INSERT, UPDATE, DELETE ON TABLE "system"."connection_pool_settings" TO "app_admin";

-- step: function defaults before
-- lock: ACCESS EXCLUSIVE on system.function_defaults_before; blocks reads and writes (a new table, unused yet)
CREATE TABLE IF NOT EXISTS "system"."function_defaults_before" (
    one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),
    public_execute boolean NOT NULL);
-- lock: ROW EXCLUSIVE on system.function_defaults_before; reads and writes continue
INSERT INTO "system"."function_defaults_before" (public_execute)
SELECT NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_default_acl d
    WHERE d.defaclrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
      AND d.defaclnamespace = 0 AND d.defaclobjtype = 'f'
      AND NOT EXISTS (
          SELECT 1 FROM pg_catalog.aclexplode(d.defaclacl) a
          WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))
ON CONFLICT (one_row) DO NOTHING;

-- step: default privileges on functions
-- lock: no table lock
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

RESET ROLE;

COMMIT;
