-- tmplmig apply: 002d_roles_grants — 002d: roles and grants
-- environment: prod
-- tenant: -
-- template: templates/002d_roles_grants.sql.j2
-- config digest: sha256:8d11cd0439b43756232a90afe98be4df00e0bdb3ce1ea21f05e6459f24e74f52
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '2s';

BEGIN;

-- step: role app_readonly
DO $body$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'app_readonly') THEN
        CREATE ROLE "app_readonly" NOLOGIN;
        COMMENT ON ROLE "app_readonly" IS 'created by tmplmig';
    END IF;
END
$body$;

-- step: role app_readwrite
DO $body$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'app_readwrite') THEN
        CREATE ROLE "app_readwrite" NOLOGIN;
        COMMENT ON ROLE "app_readwrite" IS 'created by tmplmig';
    END IF;
END
$body$;

-- step: role app_admin
DO $body$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'app_admin') THEN
        CREATE ROLE "app_admin" NOLOGIN;
        COMMENT ON ROLE "app_admin" IS 'created by tmplmig';
    END IF;
END
$body$;

-- step: revoke PUBLIC on app schemas
REVOKE ALL ON SCHEMA "auth", "experiments_v1", "production", "providers", "quarantine", "audits", "system" FROM PUBLIC;

-- step: privileges of app_readonly in auth
GRANT USAGE ON SCHEMA "auth" TO "app_readonly";
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"auth"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{r,v,m,f,p}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %I',
            'SELECT', relations, 'app_readonly');
    END IF;
END
$body$;
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"auth"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{S}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON SEQUENCE %s TO %I',
            'SELECT', relations, 'app_readonly');
    END IF;
END
$body$;
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT SELECT ON TABLES TO "app_readonly";
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT SELECT ON SEQUENCES TO "app_readonly";

-- step: privileges of app_readonly in experiments_v1
GRANT USAGE ON SCHEMA "experiments_v1" TO "app_readonly";
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"experiments_v1"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{r,v,m,f,p}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %I',
            'SELECT', relations, 'app_readonly');
    END IF;
END
$body$;
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"experiments_v1"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{S}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON SEQUENCE %s TO %I',
            'SELECT', relations, 'app_readonly');
    END IF;
END
$body$;
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT SELECT ON TABLES TO "app_readonly";
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT SELECT ON SEQUENCES TO "app_readonly";

-- step: privileges of app_readonly in production
GRANT USAGE ON SCHEMA "production" TO "app_readonly";
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"production"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{r,v,m,f,p}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %I',
            'SELECT', relations, 'app_readonly');
    END IF;
END
$body$;
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"production"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{S}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON SEQUENCE %s TO %I',
            'SELECT', relations, 'app_readonly');
    END IF;
END
$body$;
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT SELECT ON TABLES TO "app_readonly";
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT SELECT ON SEQUENCES TO "app_readonly";

-- step: privileges of app_readonly in providers
GRANT USAGE ON SCHEMA "providers" TO "app_readonly";
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"providers"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{r,v,m,f,p}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %I',
            'SELECT', relations, 'app_readonly');
    END IF;
END
$body$;
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"providers"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{S}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON SEQUENCE %s TO %I',
            'SELECT', relations, 'app_readonly');
    END IF;
END
$body$;
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT SELECT ON TABLES TO "app_readonly";
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT SELECT ON SEQUENCES TO "app_readonly";

-- step: privileges of app_readonly in quarantine
GRANT USAGE ON SCHEMA "quarantine" TO "app_readonly";
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"quarantine"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{r,v,m,f,p}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %I',
            'SELECT', relations, 'app_readonly');
    END IF;
END
$body$;
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"quarantine"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{S}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON SEQUENCE %s TO %I',
            'SELECT', relations, 'app_readonly');
    END IF;
END
$body$;
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT SELECT ON TABLES TO "app_readonly";
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT SELECT ON SEQUENCES TO "app_readonly";

-- step: grant USAGE on "audits" to app_readonly
GRANT USAGE ON SCHEMA "audits" TO "app_readonly";

-- step: grant SELECT on "audits"."audit_log" to app_readonly
GRANT SELECT ON TABLE "audits"."audit_log" TO "app_readonly";

-- step: grant USAGE on "system" to app_readonly
GRANT USAGE ON SCHEMA "system" TO "app_readonly";

-- step: grant SELECT on "system"."retention_policies" to app_readonly
GRANT SELECT ON TABLE "system"."retention_policies" TO "app_readonly";

-- step: grant SELECT on "system"."connection_pool_settings" to app_readonly
GRANT SELECT ON TABLE "system"."connection_pool_settings" TO "app_readonly";

-- step: privileges of app_readwrite in auth
GRANT USAGE ON SCHEMA "auth" TO "app_readwrite";
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"auth"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{r,v,m,f,p}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %I',
            'SELECT, INSERT, UPDATE', relations, 'app_readwrite');
    END IF;
END
$body$;
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"auth"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{S}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON SEQUENCE %s TO %I',
            'USAGE, SELECT', relations, 'app_readwrite');
    END IF;
END
$body$;
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT SELECT, INSERT, UPDATE ON TABLES TO "app_readwrite";
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT USAGE, SELECT ON SEQUENCES TO "app_readwrite";

-- step: privileges of app_readwrite in experiments_v1
GRANT USAGE ON SCHEMA "experiments_v1" TO "app_readwrite";
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"experiments_v1"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{r,v,m,f,p}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %I',
            'SELECT, INSERT, UPDATE', relations, 'app_readwrite');
    END IF;
END
$body$;
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"experiments_v1"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{S}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON SEQUENCE %s TO %I',
            'USAGE, SELECT', relations, 'app_readwrite');
    END IF;
END
$body$;
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT SELECT, INSERT, UPDATE ON TABLES TO "app_readwrite";
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT USAGE, SELECT ON SEQUENCES TO "app_readwrite";

-- step: privileges of app_readwrite in production
GRANT USAGE ON SCHEMA "production" TO "app_readwrite";
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"production"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{r,v,m,f,p}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %I',
            'SELECT, INSERT, UPDATE', relations, 'app_readwrite');
    END IF;
END
$body$;
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"production"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{S}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON SEQUENCE %s TO %I',
            'USAGE, SELECT', relations, 'app_readwrite');
    END IF;
END
$body$;
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT SELECT, INSERT, UPDATE ON TABLES TO "app_readwrite";
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT USAGE, SELECT ON SEQUENCES TO "app_readwrite";

-- step: privileges of app_readwrite in providers
GRANT USAGE ON SCHEMA "providers" TO "app_readwrite";
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"providers"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{r,v,m,f,p}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %I',
            'SELECT, INSERT, UPDATE', relations, 'app_readwrite');
    END IF;
END
$body$;
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"providers"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{S}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON SEQUENCE %s TO %I',
            'USAGE, SELECT', relations, 'app_readwrite');
    END IF;
END
$body$;
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT SELECT, INSERT, UPDATE ON TABLES TO "app_readwrite";
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT USAGE, SELECT ON SEQUENCES TO "app_readwrite";

-- step: privileges of app_readwrite in quarantine
GRANT USAGE ON SCHEMA "quarantine" TO "app_readwrite";
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"quarantine"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{r,v,m,f,p}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %I',
            'SELECT, INSERT, UPDATE', relations, 'app_readwrite');
    END IF;
END
$body$;
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"quarantine"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{S}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON SEQUENCE %s TO %I',
            'USAGE, SELECT', relations, 'app_readwrite');
    END IF;
END
$body$;
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT SELECT, INSERT, UPDATE ON TABLES TO "app_readwrite";
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT USAGE, SELECT ON SEQUENCES TO "app_readwrite";

-- step: grant USAGE on "audits" to app_readwrite
GRANT USAGE ON SCHEMA "audits" TO "app_readwrite";

-- step: grant SELECT on "audits"."audit_log" to app_readwrite
GRANT SELECT ON TABLE "audits"."audit_log" TO "app_readwrite";

-- step: grant USAGE on "system" to app_readwrite
GRANT USAGE ON SCHEMA "system" TO "app_readwrite";

-- step: grant SELECT on "system"."retention_policies" to app_readwrite
GRANT SELECT ON TABLE "system"."retention_policies" TO "app_readwrite";

-- step: grant SELECT on "system"."connection_pool_settings" to app_readwrite
GRANT SELECT ON TABLE "system"."connection_pool_settings" TO "app_readwrite";

-- step: privileges of app_admin in auth
GRANT USAGE, CREATE ON SCHEMA "auth" TO "app_admin";
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"auth"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{r,v,m,f,p}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %I',
            'ALL', relations, 'app_admin');
    END IF;
END
$body$;
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"auth"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{S}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON SEQUENCE %s TO %I',
            'ALL', relations, 'app_admin');
    END IF;
END
$body$;
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT ALL ON TABLES TO "app_admin";
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" GRANT ALL ON SEQUENCES TO "app_admin";

-- step: privileges of app_admin in experiments_v1
GRANT USAGE, CREATE ON SCHEMA "experiments_v1" TO "app_admin";
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"experiments_v1"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{r,v,m,f,p}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %I',
            'ALL', relations, 'app_admin');
    END IF;
END
$body$;
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"experiments_v1"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{S}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON SEQUENCE %s TO %I',
            'ALL', relations, 'app_admin');
    END IF;
END
$body$;
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT ALL ON TABLES TO "app_admin";
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" GRANT ALL ON SEQUENCES TO "app_admin";

-- step: privileges of app_admin in production
GRANT USAGE, CREATE ON SCHEMA "production" TO "app_admin";
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"production"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{r,v,m,f,p}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %I',
            'ALL', relations, 'app_admin');
    END IF;
END
$body$;
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"production"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{S}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON SEQUENCE %s TO %I',
            'ALL', relations, 'app_admin');
    END IF;
END
$body$;
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT ALL ON TABLES TO "app_admin";
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" GRANT ALL ON SEQUENCES TO "app_admin";

-- step: privileges of app_admin in providers
GRANT USAGE, CREATE ON SCHEMA "providers" TO "app_admin";
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"providers"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{r,v,m,f,p}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %I',
            'ALL', relations, 'app_admin');
    END IF;
END
$body$;
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"providers"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{S}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON SEQUENCE %s TO %I',
            'ALL', relations, 'app_admin');
    END IF;
END
$body$;
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT ALL ON TABLES TO "app_admin";
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" GRANT ALL ON SEQUENCES TO "app_admin";

-- step: privileges of app_admin in quarantine
GRANT USAGE, CREATE ON SCHEMA "quarantine" TO "app_admin";
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"quarantine"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{r,v,m,f,p}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %I',
            'ALL', relations, 'app_admin');
    END IF;
END
$body$;
DO $body$
DECLARE
    relations text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
    INTO relations
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"quarantine"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind = ANY ('{S}'::"char"[]);
    IF relations IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT %s ON SEQUENCE %s TO %I',
            'ALL', relations, 'app_admin');
    END IF;
END
$body$;
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT ALL ON TABLES TO "app_admin";
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT ALL ON SEQUENCES TO "app_admin";

-- step: grant USAGE on "audits" to app_admin
GRANT USAGE ON SCHEMA "audits" TO "app_admin";

-- step: grant SELECT on "audits"."audit_log" to app_admin
GRANT SELECT ON TABLE "audits"."audit_log" TO "app_admin";

-- step: grant USAGE on "system" to app_admin
GRANT USAGE ON SCHEMA "system" TO "app_admin";

-- step: grant SELECT on "system"."retention_policies" to app_admin
GRANT SELECT ON TABLE "system"."retention_policies" TO "app_admin";

-- step: grant SELECT on "system"."connection_pool_settings" to app_admin
GRANT SELECT ON TABLE "system"."connection_pool_settings" TO "app_admin";

-- step: grant INSERT, UPDATE, DELETE on "system"."connection_pool_settings" to app_admin
GRANT INSERT, UPDATE, DELETE ON TABLE "system"."connection_pool_settings" TO "app_admin";

COMMIT;
