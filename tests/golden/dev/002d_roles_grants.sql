-- tmplmig apply: 002d_roles_grants — 002d: roles and grants
-- environment: dev
-- tenant: -
-- template: templates/002d_roles_grants.sql.j2
-- config digest: sha256:feeb95ab3e30d2c2c5a6dcf2beefe4afefbcfd1935e1df46db1cdee17551ec21
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

-- No statement_timeout on purpose: CONCURRENTLY builds and VALIDATE scans take as long as
-- the table needs and block no writer; lock_timeout below bounds every wait that would.
-- squawk-ignore-file require-statement-timeout
SET lock_timeout = '5s';

BEGIN;

-- step: role app_readonly
-- guard (yoyo asks the same): the statement runs when this returns true
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'app_readonly') AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
CREATE ROLE "app_readonly" NOLOGIN;
-- lock: no table lock
COMMENT ON ROLE "app_readonly" IS 'created by tmplmig';
\endif

-- step: role app_readwrite
-- guard (yoyo asks the same): the statement runs when this returns true
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'app_readwrite') AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
CREATE ROLE "app_readwrite" NOLOGIN;
-- lock: no table lock
COMMENT ON ROLE "app_readwrite" IS 'created by tmplmig';
\endif

-- step: role app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'app_admin') AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
CREATE ROLE "app_admin" NOLOGIN;
-- lock: no table lock
COMMENT ON ROLE "app_admin" IS 'created by tmplmig';
\endif

-- step: revoke PUBLIC on app schemas
-- lock: no table lock
REVOKE ALL ON SCHEMA "auth", "experiments_v1", "production", "providers", "quarantine", "audits", "system" FROM PUBLIC;

-- step: privileges of app_readonly in auth
-- lock: no table lock
GRANT USAGE ON SCHEMA "auth" TO "app_readonly";
-- lock: no table lock
GRANT SELECT ON ALL TABLES IN SCHEMA "auth" TO "app_readonly";
-- lock: no table lock
GRANT SELECT ON ALL SEQUENCES IN SCHEMA "auth" TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT SELECT ON TABLES TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT SELECT ON SEQUENCES TO "app_readonly";

-- step: privileges of app_readonly in experiments_v1
-- lock: no table lock
GRANT USAGE ON SCHEMA "experiments_v1" TO "app_readonly";
-- lock: no table lock
GRANT SELECT ON ALL TABLES IN SCHEMA "experiments_v1" TO "app_readonly";
-- lock: no table lock
GRANT SELECT ON ALL SEQUENCES IN SCHEMA "experiments_v1" TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT SELECT ON TABLES TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT SELECT ON SEQUENCES TO "app_readonly";

-- step: privileges of app_readonly in production
-- lock: no table lock
GRANT USAGE ON SCHEMA "production" TO "app_readonly";
-- lock: no table lock
GRANT SELECT ON ALL TABLES IN SCHEMA "production" TO "app_readonly";
-- lock: no table lock
GRANT SELECT ON ALL SEQUENCES IN SCHEMA "production" TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT SELECT ON TABLES TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT SELECT ON SEQUENCES TO "app_readonly";

-- step: privileges of app_readonly in providers
-- lock: no table lock
GRANT USAGE ON SCHEMA "providers" TO "app_readonly";
-- lock: no table lock
GRANT SELECT ON ALL TABLES IN SCHEMA "providers" TO "app_readonly";
-- lock: no table lock
GRANT SELECT ON ALL SEQUENCES IN SCHEMA "providers" TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT SELECT ON TABLES TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT SELECT ON SEQUENCES TO "app_readonly";

-- step: privileges of app_readonly in quarantine
-- lock: no table lock
GRANT USAGE ON SCHEMA "quarantine" TO "app_readonly";
-- lock: no table lock
GRANT SELECT ON ALL TABLES IN SCHEMA "quarantine" TO "app_readonly";
-- lock: no table lock
GRANT SELECT ON ALL SEQUENCES IN SCHEMA "quarantine" TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT SELECT ON TABLES TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT SELECT ON SEQUENCES TO "app_readonly";

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
GRANT USAGE ON SCHEMA "auth" TO "app_readwrite";
-- lock: no table lock
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA "auth" TO "app_readwrite";
-- lock: no table lock
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "auth" TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT SELECT, INSERT, UPDATE ON TABLES TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT USAGE, SELECT ON SEQUENCES TO "app_readwrite";

-- step: privileges of app_readwrite in experiments_v1
-- lock: no table lock
GRANT USAGE ON SCHEMA "experiments_v1" TO "app_readwrite";
-- lock: no table lock
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA "experiments_v1" TO "app_readwrite";
-- lock: no table lock
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "experiments_v1" TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT SELECT, INSERT, UPDATE ON TABLES TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT USAGE, SELECT ON SEQUENCES TO "app_readwrite";

-- step: privileges of app_readwrite in production
-- lock: no table lock
GRANT USAGE ON SCHEMA "production" TO "app_readwrite";
-- lock: no table lock
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA "production" TO "app_readwrite";
-- lock: no table lock
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "production" TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT SELECT, INSERT, UPDATE ON TABLES TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT USAGE, SELECT ON SEQUENCES TO "app_readwrite";

-- step: privileges of app_readwrite in providers
-- lock: no table lock
GRANT USAGE ON SCHEMA "providers" TO "app_readwrite";
-- lock: no table lock
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA "providers" TO "app_readwrite";
-- lock: no table lock
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "providers" TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT SELECT, INSERT, UPDATE ON TABLES TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT USAGE, SELECT ON SEQUENCES TO "app_readwrite";

-- step: privileges of app_readwrite in quarantine
-- lock: no table lock
GRANT USAGE ON SCHEMA "quarantine" TO "app_readwrite";
-- lock: no table lock
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA "quarantine" TO "app_readwrite";
-- lock: no table lock
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "quarantine" TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT SELECT, INSERT, UPDATE ON TABLES TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT USAGE, SELECT ON SEQUENCES TO "app_readwrite";

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
GRANT USAGE, CREATE ON SCHEMA "auth" TO "app_admin";
-- lock: no table lock
GRANT ALL ON ALL TABLES IN SCHEMA "auth" TO "app_admin";
-- lock: no table lock
GRANT ALL ON ALL SEQUENCES IN SCHEMA "auth" TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT ALL ON TABLES TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT ALL ON SEQUENCES TO "app_admin";

-- step: privileges of app_admin in experiments_v1
-- lock: no table lock
GRANT USAGE, CREATE ON SCHEMA "experiments_v1" TO "app_admin";
-- lock: no table lock
GRANT ALL ON ALL TABLES IN SCHEMA "experiments_v1" TO "app_admin";
-- lock: no table lock
GRANT ALL ON ALL SEQUENCES IN SCHEMA "experiments_v1" TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT ALL ON TABLES TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT ALL ON SEQUENCES TO "app_admin";

-- step: privileges of app_admin in production
-- lock: no table lock
GRANT USAGE, CREATE ON SCHEMA "production" TO "app_admin";
-- lock: no table lock
GRANT ALL ON ALL TABLES IN SCHEMA "production" TO "app_admin";
-- lock: no table lock
GRANT ALL ON ALL SEQUENCES IN SCHEMA "production" TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT ALL ON TABLES TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT ALL ON SEQUENCES TO "app_admin";

-- step: privileges of app_admin in providers
-- lock: no table lock
GRANT USAGE, CREATE ON SCHEMA "providers" TO "app_admin";
-- lock: no table lock
GRANT ALL ON ALL TABLES IN SCHEMA "providers" TO "app_admin";
-- lock: no table lock
GRANT ALL ON ALL SEQUENCES IN SCHEMA "providers" TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT ALL ON TABLES TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT ALL ON SEQUENCES TO "app_admin";

-- step: privileges of app_admin in quarantine
-- lock: no table lock
GRANT USAGE, CREATE ON SCHEMA "quarantine" TO "app_admin";
-- lock: no table lock
GRANT ALL ON ALL TABLES IN SCHEMA "quarantine" TO "app_admin";
-- lock: no table lock
GRANT ALL ON ALL SEQUENCES IN SCHEMA "quarantine" TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT ALL ON TABLES TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT ALL ON SEQUENCES TO "app_admin";

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

COMMIT;
