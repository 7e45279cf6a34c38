-- tmplmig rollback: 002d_roles_grants — 002d: roles and grants
-- environment: dev
-- tenant: -
-- template: templates/002d_roles_grants.sql.j2
-- config digest: sha256:b676e6eaf7187bf2c991676b30d5f1ef9a7c6468cc612eef5eb0f98d1bb83e5a
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '5s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

BEGIN;

SET ROLE "app_owner";

-- step: default privileges on functions
-- lock: not derived: the statements inside this DO block take their own locks
DO $body$
BEGIN
    IF EXISTS (SELECT 1 FROM "system"."function_defaults_before" WHERE public_execute) THEN
        ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
    END IF;
END
$body$;
-- lock: ACCESS EXCLUSIVE on system.function_defaults_before; blocks reads and writes
DROP TABLE IF EXISTS "system"."function_defaults_before";

-- step: grant INSERT, UPDATE, DELETE on "system"."connection_pool_settings" to app_admin
-- lock: no table lock
REVOKE INSERT, UPDATE, DELETE ON TABLE "system"."connection_pool_settings" FROM "app_admin";

-- step: grant SELECT on "system"."connection_pool_settings" to app_admin
-- lock: no table lock
REVOKE SELECT ON TABLE "system"."connection_pool_settings" FROM "app_admin";

-- step: grant SELECT on "system"."retention_policies" to app_admin
-- lock: no table lock
REVOKE SELECT ON TABLE "system"."retention_policies" FROM "app_admin";

-- step: grant USAGE on "system" to app_admin
-- lock: no table lock
REVOKE USAGE ON SCHEMA "system" FROM "app_admin";

-- step: grant SELECT on "audits"."audit_log" to app_admin
-- lock: no table lock
REVOKE SELECT ON TABLE "audits"."audit_log" FROM "app_admin";

-- step: grant USAGE on "audits" to app_admin
-- lock: no table lock
REVOKE USAGE ON SCHEMA "audits" FROM "app_admin";

-- step: columns hidden from app_admin
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "app_admin";
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
REVOKE USAGE ON SCHEMA "quarantine" FROM "app_admin";

-- step: privileges of app_admin in providers
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "app_admin";
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
REVOKE USAGE ON SCHEMA "providers" FROM "app_admin";

-- step: privileges of app_admin in production
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "app_admin";
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
REVOKE USAGE ON SCHEMA "production" FROM "app_admin";

-- step: privileges of app_admin in experiments_v1
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "app_admin";
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
REVOKE USAGE ON SCHEMA "experiments_v1" FROM "app_admin";

-- step: privileges of app_admin in auth
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "app_admin";
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
REVOKE USAGE ON SCHEMA "auth" FROM "app_admin";

-- step: grant SELECT on "system"."connection_pool_settings" to app_readwrite
-- lock: no table lock
REVOKE SELECT ON TABLE "system"."connection_pool_settings" FROM "app_readwrite";

-- step: grant SELECT on "system"."retention_policies" to app_readwrite
-- lock: no table lock
REVOKE SELECT ON TABLE "system"."retention_policies" FROM "app_readwrite";

-- step: grant USAGE on "system" to app_readwrite
-- lock: no table lock
REVOKE USAGE ON SCHEMA "system" FROM "app_readwrite";

-- step: grant SELECT on "audits"."audit_log" to app_readwrite
-- lock: no table lock
REVOKE SELECT ON TABLE "audits"."audit_log" FROM "app_readwrite";

-- step: grant USAGE on "audits" to app_readwrite
-- lock: no table lock
REVOKE USAGE ON SCHEMA "audits" FROM "app_readwrite";

-- step: columns hidden from app_readwrite
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE SELECT, INSERT, UPDATE ON TABLES FROM "app_readwrite";
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
REVOKE USAGE ON SCHEMA "quarantine" FROM "app_readwrite";

-- step: privileges of app_readwrite in providers
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE SELECT, INSERT, UPDATE ON TABLES FROM "app_readwrite";
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
REVOKE USAGE ON SCHEMA "providers" FROM "app_readwrite";

-- step: privileges of app_readwrite in production
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE SELECT, INSERT, UPDATE ON TABLES FROM "app_readwrite";
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
REVOKE USAGE ON SCHEMA "production" FROM "app_readwrite";

-- step: privileges of app_readwrite in experiments_v1
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE SELECT, INSERT, UPDATE ON TABLES FROM "app_readwrite";
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
REVOKE USAGE ON SCHEMA "experiments_v1" FROM "app_readwrite";

-- step: privileges of app_readwrite in auth
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE USAGE, SELECT ON SEQUENCES FROM "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE SELECT, INSERT, UPDATE ON TABLES FROM "app_readwrite";
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
REVOKE USAGE ON SCHEMA "auth" FROM "app_readwrite";

-- step: grant SELECT on "system"."connection_pool_settings" to app_readonly
-- lock: no table lock
REVOKE SELECT ON TABLE "system"."connection_pool_settings" FROM "app_readonly";

-- step: grant SELECT on "system"."retention_policies" to app_readonly
-- lock: no table lock
REVOKE SELECT ON TABLE "system"."retention_policies" FROM "app_readonly";

-- step: grant USAGE on "system" to app_readonly
-- lock: no table lock
REVOKE USAGE ON SCHEMA "system" FROM "app_readonly";

-- step: grant SELECT on "audits"."audit_log" to app_readonly
-- lock: no table lock
REVOKE SELECT ON TABLE "audits"."audit_log" FROM "app_readonly";

-- step: grant USAGE on "audits" to app_readonly
-- lock: no table lock
REVOKE USAGE ON SCHEMA "audits" FROM "app_readonly";

-- step: columns hidden from app_readonly
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE SELECT ON SEQUENCES FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" REVOKE SELECT ON TABLES FROM "app_readonly";
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
REVOKE USAGE ON SCHEMA "quarantine" FROM "app_readonly";

-- step: privileges of app_readonly in providers
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE SELECT ON SEQUENCES FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "providers" REVOKE SELECT ON TABLES FROM "app_readonly";
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
REVOKE USAGE ON SCHEMA "providers" FROM "app_readonly";

-- step: privileges of app_readonly in production
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE SELECT ON SEQUENCES FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "production" REVOKE SELECT ON TABLES FROM "app_readonly";
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
REVOKE USAGE ON SCHEMA "production" FROM "app_readonly";

-- step: privileges of app_readonly in experiments_v1
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE SELECT ON SEQUENCES FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "experiments_v1" REVOKE SELECT ON TABLES FROM "app_readonly";
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
REVOKE USAGE ON SCHEMA "experiments_v1" FROM "app_readonly";

-- step: privileges of app_readonly in auth
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE SELECT ON SEQUENCES FROM "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "auth" REVOKE SELECT ON TABLES FROM "app_readonly";
-- lock: not derived: the statements inside this DO block take their own locks
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
-- lock: no table lock
REVOKE USAGE ON SCHEMA "auth" FROM "app_readonly";

RESET ROLE;

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
