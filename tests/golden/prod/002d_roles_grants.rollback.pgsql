-- tmplmig rollback: 002d_roles_grants — 002d: roles and grants
-- environment: prod
-- tenant: -
-- template: templates/002d_roles_grants.sql.j2
-- config digest: sha256:f335fdf8bfcac757459145c91dd4bd1c1d6031874fb7f8dea8d2372dac87baa2
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '2s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

BEGIN;

SET ROLE "app_owner";

-- step: default privileges on functions
DO $body$
BEGIN
    IF EXISTS (SELECT 1 FROM "system"."function_defaults_before" WHERE public_execute) THEN
        ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
    END IF;
END
$body$;
DROP TABLE IF EXISTS "system"."function_defaults_before";

-- step: grant INSERT, UPDATE, DELETE on "system"."connection_pool_settings" to app_admin
REVOKE INSERT, UPDATE, DELETE ON TABLE "system"."connection_pool_settings" FROM "app_admin";

-- step: grant SELECT on "system"."connection_pool_settings" to app_admin
REVOKE SELECT ON TABLE "system"."connection_pool_settings" FROM "app_admin";

-- step: grant SELECT on "system"."retention_policies" to app_admin
REVOKE SELECT ON TABLE "system"."retention_policies" FROM "app_admin";

-- step: grant USAGE on "system" to app_admin
REVOKE USAGE ON SCHEMA "system" FROM "app_admin";

-- step: grant SELECT on "audits"."audit_log" to app_admin
REVOKE SELECT ON TABLE "audits"."audit_log" FROM "app_admin";

-- step: grant USAGE on "audits" to app_admin
REVOKE USAGE ON SCHEMA "audits" FROM "app_admin";

-- step: columns hidden from app_admin
DO $body$
DECLARE
    hidden name[] := ARRAY['password_hash', 'api_key'];
    target text;
    visible name;
BEGIN
    FOR target IN
        SELECT DISTINCT pg_catalog.format('%I.%I', n.nspname, c.relname)
        FROM pg_catalog.pg_namespace n
        JOIN pg_catalog.pg_depend d
          ON d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid = n.oid
         AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
        JOIN pg_catalog.pg_class c ON c.oid = d.objid
        JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
        WHERE n.nspname = ANY (ARRAY['auth', 'experiments_v1', 'production', 'providers', 'quarantine']) AND c.relkind IN ('r', 'p')
          AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = ANY (hidden)
        ORDER BY 1
    LOOP
        EXECUTE pg_catalog.format('REVOKE SELECT ON TABLE %s FROM %I', target, 'app_admin');
        EXECUTE pg_catalog.format('GRANT SELECT ON TABLE %s TO %I', target, 'app_admin');
    END LOOP;
END
$body$;

-- step: privileges of app_admin in quarantine
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_admin";
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "app_admin";
DO $body$
DECLARE
    tables text;
    sequences text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind <> 'S'),
           pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind = 'S')
    INTO tables, sequences
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"quarantine"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S');
    IF tables IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE %s FROM %I', tables, 'app_admin');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE USAGE, SELECT ON SEQUENCE %s FROM %I', sequences, 'app_admin');
    END IF;
END
$body$;
REVOKE USAGE ON SCHEMA "quarantine" FROM "app_admin";

-- step: privileges of app_admin in providers
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_admin";
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "app_admin";
DO $body$
DECLARE
    tables text;
    sequences text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind <> 'S'),
           pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind = 'S')
    INTO tables, sequences
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"providers"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S');
    IF tables IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE %s FROM %I', tables, 'app_admin');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE USAGE, SELECT ON SEQUENCE %s FROM %I', sequences, 'app_admin');
    END IF;
END
$body$;
REVOKE USAGE ON SCHEMA "providers" FROM "app_admin";

-- step: privileges of app_admin in production
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_admin";
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "app_admin";
DO $body$
DECLARE
    tables text;
    sequences text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind <> 'S'),
           pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind = 'S')
    INTO tables, sequences
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"production"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S');
    IF tables IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE %s FROM %I', tables, 'app_admin');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE USAGE, SELECT ON SEQUENCE %s FROM %I', sequences, 'app_admin');
    END IF;
END
$body$;
REVOKE USAGE ON SCHEMA "production" FROM "app_admin";

-- step: privileges of app_admin in experiments_v1
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_admin";
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "app_admin";
DO $body$
DECLARE
    tables text;
    sequences text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind <> 'S'),
           pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind = 'S')
    INTO tables, sequences
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"experiments_v1"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S');
    IF tables IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE %s FROM %I', tables, 'app_admin');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE USAGE, SELECT ON SEQUENCE %s FROM %I', sequences, 'app_admin');
    END IF;
END
$body$;
REVOKE USAGE ON SCHEMA "experiments_v1" FROM "app_admin";

-- step: privileges of app_admin in auth
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_admin";
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "app_admin";
DO $body$
DECLARE
    tables text;
    sequences text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind <> 'S'),
           pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind = 'S')
    INTO tables, sequences
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"auth"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S');
    IF tables IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE %s FROM %I', tables, 'app_admin');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE USAGE, SELECT ON SEQUENCE %s FROM %I', sequences, 'app_admin');
    END IF;
END
$body$;
REVOKE USAGE ON SCHEMA "auth" FROM "app_admin";

-- step: grant SELECT on "system"."connection_pool_settings" to app_readwrite
REVOKE SELECT ON TABLE "system"."connection_pool_settings" FROM "app_readwrite";

-- step: grant SELECT on "system"."retention_policies" to app_readwrite
REVOKE SELECT ON TABLE "system"."retention_policies" FROM "app_readwrite";

-- step: grant USAGE on "system" to app_readwrite
REVOKE USAGE ON SCHEMA "system" FROM "app_readwrite";

-- step: grant SELECT on "audits"."audit_log" to app_readwrite
REVOKE SELECT ON TABLE "audits"."audit_log" FROM "app_readwrite";

-- step: grant USAGE on "audits" to app_readwrite
REVOKE USAGE ON SCHEMA "audits" FROM "app_readwrite";

-- step: columns hidden from app_readwrite
DO $body$
DECLARE
    hidden name[] := ARRAY['password_hash'];
    target text;
    visible name;
BEGIN
    FOR target IN
        SELECT DISTINCT pg_catalog.format('%I.%I', n.nspname, c.relname)
        FROM pg_catalog.pg_namespace n
        JOIN pg_catalog.pg_depend d
          ON d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid = n.oid
         AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
        JOIN pg_catalog.pg_class c ON c.oid = d.objid
        JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
        WHERE n.nspname = ANY (ARRAY['auth', 'experiments_v1', 'production', 'providers', 'quarantine']) AND c.relkind IN ('r', 'p')
          AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = ANY (hidden)
        ORDER BY 1
    LOOP
        EXECUTE pg_catalog.format('REVOKE SELECT ON TABLE %s FROM %I', target, 'app_readwrite');
        EXECUTE pg_catalog.format('GRANT SELECT ON TABLE %s TO %I', target, 'app_readwrite');
    END LOOP;
END
$body$;

-- step: privileges of app_readwrite in quarantine
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_readwrite";
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE SELECT, INSERT, UPDATE ON TABLES FROM "app_readwrite";
DO $body$
DECLARE
    tables text;
    sequences text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind <> 'S'),
           pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind = 'S')
    INTO tables, sequences
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"quarantine"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S');
    IF tables IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT, INSERT, UPDATE ON TABLE %s FROM %I', tables, 'app_readwrite');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE USAGE, SELECT ON SEQUENCE %s FROM %I', sequences, 'app_readwrite');
    END IF;
END
$body$;
REVOKE USAGE ON SCHEMA "quarantine" FROM "app_readwrite";

-- step: privileges of app_readwrite in providers
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_readwrite";
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE SELECT, INSERT, UPDATE ON TABLES FROM "app_readwrite";
DO $body$
DECLARE
    tables text;
    sequences text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind <> 'S'),
           pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind = 'S')
    INTO tables, sequences
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"providers"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S');
    IF tables IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT, INSERT, UPDATE ON TABLE %s FROM %I', tables, 'app_readwrite');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE USAGE, SELECT ON SEQUENCE %s FROM %I', sequences, 'app_readwrite');
    END IF;
END
$body$;
REVOKE USAGE ON SCHEMA "providers" FROM "app_readwrite";

-- step: privileges of app_readwrite in production
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_readwrite";
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE SELECT, INSERT, UPDATE ON TABLES FROM "app_readwrite";
DO $body$
DECLARE
    tables text;
    sequences text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind <> 'S'),
           pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind = 'S')
    INTO tables, sequences
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"production"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S');
    IF tables IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT, INSERT, UPDATE ON TABLE %s FROM %I', tables, 'app_readwrite');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE USAGE, SELECT ON SEQUENCE %s FROM %I', sequences, 'app_readwrite');
    END IF;
END
$body$;
REVOKE USAGE ON SCHEMA "production" FROM "app_readwrite";

-- step: privileges of app_readwrite in experiments_v1
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_readwrite";
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE SELECT, INSERT, UPDATE ON TABLES FROM "app_readwrite";
DO $body$
DECLARE
    tables text;
    sequences text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind <> 'S'),
           pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind = 'S')
    INTO tables, sequences
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"experiments_v1"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S');
    IF tables IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT, INSERT, UPDATE ON TABLE %s FROM %I', tables, 'app_readwrite');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE USAGE, SELECT ON SEQUENCE %s FROM %I', sequences, 'app_readwrite');
    END IF;
END
$body$;
REVOKE USAGE ON SCHEMA "experiments_v1" FROM "app_readwrite";

-- step: privileges of app_readwrite in auth
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_readwrite";
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE SELECT, INSERT, UPDATE ON TABLES FROM "app_readwrite";
DO $body$
DECLARE
    tables text;
    sequences text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind <> 'S'),
           pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind = 'S')
    INTO tables, sequences
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"auth"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S');
    IF tables IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT, INSERT, UPDATE ON TABLE %s FROM %I', tables, 'app_readwrite');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE USAGE, SELECT ON SEQUENCE %s FROM %I', sequences, 'app_readwrite');
    END IF;
END
$body$;
REVOKE USAGE ON SCHEMA "auth" FROM "app_readwrite";

-- step: grant SELECT on "system"."connection_pool_settings" to app_readonly
REVOKE SELECT ON TABLE "system"."connection_pool_settings" FROM "app_readonly";

-- step: grant SELECT on "system"."retention_policies" to app_readonly
REVOKE SELECT ON TABLE "system"."retention_policies" FROM "app_readonly";

-- step: grant USAGE on "system" to app_readonly
REVOKE USAGE ON SCHEMA "system" FROM "app_readonly";

-- step: grant SELECT on "audits"."audit_log" to app_readonly
REVOKE SELECT ON TABLE "audits"."audit_log" FROM "app_readonly";

-- step: grant USAGE on "audits" to app_readonly
REVOKE USAGE ON SCHEMA "audits" FROM "app_readonly";

-- step: columns hidden from app_readonly
DO $body$
DECLARE
    hidden name[] := ARRAY['password_hash', 'api_key'];
    target text;
    visible name;
BEGIN
    FOR target IN
        SELECT DISTINCT pg_catalog.format('%I.%I', n.nspname, c.relname)
        FROM pg_catalog.pg_namespace n
        JOIN pg_catalog.pg_depend d
          ON d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid = n.oid
         AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
        JOIN pg_catalog.pg_class c ON c.oid = d.objid
        JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
        WHERE n.nspname = ANY (ARRAY['auth', 'experiments_v1', 'production', 'providers', 'quarantine']) AND c.relkind IN ('r', 'p')
          AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = ANY (hidden)
        ORDER BY 1
    LOOP
        EXECUTE pg_catalog.format('REVOKE SELECT ON TABLE %s FROM %I', target, 'app_readonly');
        EXECUTE pg_catalog.format('GRANT SELECT ON TABLE %s TO %I', target, 'app_readonly');
    END LOOP;
END
$body$;

-- step: privileges of app_readonly in quarantine
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE SELECT ON SEQUENCES FROM "app_readonly";
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE SELECT ON TABLES FROM "app_readonly";
DO $body$
DECLARE
    tables text;
    sequences text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind <> 'S'),
           pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind = 'S')
    INTO tables, sequences
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"quarantine"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S');
    IF tables IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT ON TABLE %s FROM %I', tables, 'app_readonly');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT ON SEQUENCE %s FROM %I', sequences, 'app_readonly');
    END IF;
END
$body$;
REVOKE USAGE ON SCHEMA "quarantine" FROM "app_readonly";

-- step: privileges of app_readonly in providers
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE SELECT ON SEQUENCES FROM "app_readonly";
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE SELECT ON TABLES FROM "app_readonly";
DO $body$
DECLARE
    tables text;
    sequences text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind <> 'S'),
           pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind = 'S')
    INTO tables, sequences
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"providers"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S');
    IF tables IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT ON TABLE %s FROM %I', tables, 'app_readonly');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT ON SEQUENCE %s FROM %I', sequences, 'app_readonly');
    END IF;
END
$body$;
REVOKE USAGE ON SCHEMA "providers" FROM "app_readonly";

-- step: privileges of app_readonly in production
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE SELECT ON SEQUENCES FROM "app_readonly";
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE SELECT ON TABLES FROM "app_readonly";
DO $body$
DECLARE
    tables text;
    sequences text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind <> 'S'),
           pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind = 'S')
    INTO tables, sequences
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"production"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S');
    IF tables IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT ON TABLE %s FROM %I', tables, 'app_readonly');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT ON SEQUENCE %s FROM %I', sequences, 'app_readonly');
    END IF;
END
$body$;
REVOKE USAGE ON SCHEMA "production" FROM "app_readonly";

-- step: privileges of app_readonly in experiments_v1
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE SELECT ON SEQUENCES FROM "app_readonly";
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE SELECT ON TABLES FROM "app_readonly";
DO $body$
DECLARE
    tables text;
    sequences text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind <> 'S'),
           pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind = 'S')
    INTO tables, sequences
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"experiments_v1"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S');
    IF tables IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT ON TABLE %s FROM %I', tables, 'app_readonly');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT ON SEQUENCE %s FROM %I', sequences, 'app_readonly');
    END IF;
END
$body$;
REVOKE USAGE ON SCHEMA "experiments_v1" FROM "app_readonly";

-- step: privileges of app_readonly in auth
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE SELECT ON SEQUENCES FROM "app_readonly";
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE SELECT ON TABLES FROM "app_readonly";
DO $body$
DECLARE
    tables text;
    sequences text;
BEGIN
    SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind <> 'S'),
           pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY c.relname)
               FILTER (WHERE c.relkind = 'S')
    INTO tables, sequences
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND d.refobjid = '"auth"'::pg_catalog.regnamespace
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S');
    IF tables IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT ON TABLE %s FROM %I', tables, 'app_readonly');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE SELECT ON SEQUENCE %s FROM %I', sequences, 'app_readonly');
    END IF;
END
$body$;
REVOKE USAGE ON SCHEMA "auth" FROM "app_readonly";

RESET ROLE;

-- step: role app_admin
DO $body$
DECLARE
    detail text;
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_roles r
        WHERE r.rolname = 'app_admin'
          AND pg_catalog.shobj_description(r.oid, 'pg_authid') = 'created by tmplmig'
    ) THEN
        DROP ROLE "app_admin";
    END IF;
EXCEPTION WHEN dependent_objects_still_exist THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE WARNING 'role % kept: it is still used elsewhere: %', 'app_admin', detail;
END
$body$;

-- step: role app_readwrite
DO $body$
DECLARE
    detail text;
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_roles r
        WHERE r.rolname = 'app_readwrite'
          AND pg_catalog.shobj_description(r.oid, 'pg_authid') = 'created by tmplmig'
    ) THEN
        DROP ROLE "app_readwrite";
    END IF;
EXCEPTION WHEN dependent_objects_still_exist THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE WARNING 'role % kept: it is still used elsewhere: %', 'app_readwrite', detail;
END
$body$;

-- step: role app_readonly
DO $body$
DECLARE
    detail text;
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_roles r
        WHERE r.rolname = 'app_readonly'
          AND pg_catalog.shobj_description(r.oid, 'pg_authid') = 'created by tmplmig'
    ) THEN
        DROP ROLE "app_readonly";
    END IF;
EXCEPTION WHEN dependent_objects_still_exist THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE WARNING 'role % kept: it is still used elsewhere: %', 'app_readonly', detail;
END
$body$;

COMMIT;
