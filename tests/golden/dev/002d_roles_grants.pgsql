-- tmplmig apply: 002d_roles_grants — 002d: roles and grants
-- environment: dev
-- tenant: -
-- template: templates/002d_roles_grants.sql.j2
-- config digest: sha256:b676e6eaf7187bf2c991676b30d5f1ef9a7c6468cc612eef5eb0f98d1bb83e5a
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '5s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

BEGIN;

-- step: role app_readonly
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'app_readonly') AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
CREATE ROLE "app_readonly" NOLOGIN;
-- lock: no table lock
COMMENT ON ROLE "app_readonly" IS 'created by tmplmig';
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: role app_readwrite
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'app_readwrite') AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
CREATE ROLE "app_readwrite" NOLOGIN;
-- lock: no table lock
COMMENT ON ROLE "app_readwrite" IS 'created by tmplmig';
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: role app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'app_admin') AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
CREATE ROLE "app_admin" NOLOGIN;
-- lock: no table lock
COMMENT ON ROLE "app_admin" IS 'created by tmplmig';
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

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
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', tables, 'app_readonly');
        EXECUTE pg_catalog.format('GRANT SELECT ON TABLE %s TO %I', tables, 'app_readonly');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %I', sequences, 'app_readonly');
        EXECUTE pg_catalog.format('GRANT SELECT ON SEQUENCE %s TO %I', sequences, 'app_readonly');
    END IF;
END
$body$;
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
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', tables, 'app_readonly');
        EXECUTE pg_catalog.format('GRANT SELECT ON TABLE %s TO %I', tables, 'app_readonly');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %I', sequences, 'app_readonly');
        EXECUTE pg_catalog.format('GRANT SELECT ON SEQUENCE %s TO %I', sequences, 'app_readonly');
    END IF;
END
$body$;
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
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', tables, 'app_readonly');
        EXECUTE pg_catalog.format('GRANT SELECT ON TABLE %s TO %I', tables, 'app_readonly');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %I', sequences, 'app_readonly');
        EXECUTE pg_catalog.format('GRANT SELECT ON SEQUENCE %s TO %I', sequences, 'app_readonly');
    END IF;
END
$body$;
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
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', tables, 'app_readonly');
        EXECUTE pg_catalog.format('GRANT SELECT ON TABLE %s TO %I', tables, 'app_readonly');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %I', sequences, 'app_readonly');
        EXECUTE pg_catalog.format('GRANT SELECT ON SEQUENCE %s TO %I', sequences, 'app_readonly');
    END IF;
END
$body$;
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
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', tables, 'app_readonly');
        EXECUTE pg_catalog.format('GRANT SELECT ON TABLE %s TO %I', tables, 'app_readonly');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %I', sequences, 'app_readonly');
        EXECUTE pg_catalog.format('GRANT SELECT ON SEQUENCE %s TO %I', sequences, 'app_readonly');
    END IF;
END
$body$;
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT SELECT ON TABLES TO "app_readonly";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT SELECT ON SEQUENCES TO "app_readonly";

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
        FOR visible IN
            SELECT a.attname FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = target::regclass AND a.attnum > 0 AND NOT a.attisdropped
              AND a.attname <> ALL (hidden)
            ORDER BY a.attnum
        LOOP
            EXECUTE pg_catalog.format('GRANT SELECT (%I) ON TABLE %s TO %I', visible, target, 'app_readonly');
        END LOOP;
    END LOOP;
END
$body$;

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
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', tables, 'app_readwrite');
        EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE ON TABLE %s TO %I', tables, 'app_readwrite');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %I', sequences, 'app_readwrite');
        EXECUTE pg_catalog.format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', sequences, 'app_readwrite');
    END IF;
END
$body$;
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
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', tables, 'app_readwrite');
        EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE ON TABLE %s TO %I', tables, 'app_readwrite');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %I', sequences, 'app_readwrite');
        EXECUTE pg_catalog.format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', sequences, 'app_readwrite');
    END IF;
END
$body$;
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
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', tables, 'app_readwrite');
        EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE ON TABLE %s TO %I', tables, 'app_readwrite');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %I', sequences, 'app_readwrite');
        EXECUTE pg_catalog.format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', sequences, 'app_readwrite');
    END IF;
END
$body$;
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
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', tables, 'app_readwrite');
        EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE ON TABLE %s TO %I', tables, 'app_readwrite');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %I', sequences, 'app_readwrite');
        EXECUTE pg_catalog.format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', sequences, 'app_readwrite');
    END IF;
END
$body$;
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
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', tables, 'app_readwrite');
        EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE ON TABLE %s TO %I', tables, 'app_readwrite');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %I', sequences, 'app_readwrite');
        EXECUTE pg_catalog.format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', sequences, 'app_readwrite');
    END IF;
END
$body$;
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT SELECT, INSERT, UPDATE ON TABLES TO "app_readwrite";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT USAGE, SELECT ON SEQUENCES TO "app_readwrite";

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
        FOR visible IN
            SELECT a.attname FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = target::regclass AND a.attnum > 0 AND NOT a.attisdropped
              AND a.attname <> ALL (hidden)
            ORDER BY a.attnum
        LOOP
            EXECUTE pg_catalog.format('GRANT SELECT (%I) ON TABLE %s TO %I', visible, target, 'app_readwrite');
        END LOOP;
    END LOOP;
END
$body$;

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
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', tables, 'app_admin');
        EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s TO %I', tables, 'app_admin');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %I', sequences, 'app_admin');
        EXECUTE pg_catalog.format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', sequences, 'app_admin');
    END IF;
END
$body$;
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
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', tables, 'app_admin');
        EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s TO %I', tables, 'app_admin');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %I', sequences, 'app_admin');
        EXECUTE pg_catalog.format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', sequences, 'app_admin');
    END IF;
END
$body$;
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
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', tables, 'app_admin');
        EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s TO %I', tables, 'app_admin');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %I', sequences, 'app_admin');
        EXECUTE pg_catalog.format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', sequences, 'app_admin');
    END IF;
END
$body$;
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
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', tables, 'app_admin');
        EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s TO %I', tables, 'app_admin');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %I', sequences, 'app_admin');
        EXECUTE pg_catalog.format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', sequences, 'app_admin');
    END IF;
END
$body$;
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
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', tables, 'app_admin');
        EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s TO %I', tables, 'app_admin');
    END IF;
    IF sequences IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %I', sequences, 'app_admin');
        EXECUTE pg_catalog.format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', sequences, 'app_admin');
    END IF;
END
$body$;
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "app_admin";
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "quarantine" GRANT USAGE, SELECT ON SEQUENCES TO "app_admin";

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
        FOR visible IN
            SELECT a.attname FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = target::regclass AND a.attnum > 0 AND NOT a.attisdropped
              AND a.attname <> ALL (hidden)
            ORDER BY a.attnum
        LOOP
            EXECUTE pg_catalog.format('GRANT SELECT (%I) ON TABLE %s TO %I', visible, target, 'app_admin');
        END LOOP;
    END LOOP;
END
$body$;

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

-- step: default privileges on functions
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
-- lock: no table lock
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

RESET ROLE;

COMMIT;
