-- tmplmig apply: 002e_functions — 002e: encryption functions and audit triggers
-- environment: prod
-- tenant: -
-- template: templates/002e_functions.sql.j2
-- config digest: sha256:b88f39306a7e2ec117d3b77946f93dd2eabe4c025a603778951954ccfca41a25
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '2s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

BEGIN;

-- step: extension pgcrypto
-- lock: no table lock
-- lint: allow missing-rollback: an extension is database-wide and may serve other tenants or applications
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA "public";
-- lock: not derived: the statements inside this DO block take their own locks
DO $body$
BEGIN
    IF (SELECT n.nspname FROM pg_catalog.pg_extension e
        JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pgcrypto') <> 'public' THEN
        RAISE EXCEPTION 'pgcrypto is installed outside schema %; set extensions_schema to its schema',
            'public';
    END IF;
    IF pg_catalog.has_schema_privilege('public', 'public', 'CREATE') THEN
        REVOKE CREATE ON SCHEMA "public" FROM PUBLIC;
        IF pg_catalog.has_schema_privilege('public', 'public', 'CREATE') THEN
            RAISE EXCEPTION 'PUBLIC may create objects in schema % and % cannot revoke that',
                'public', current_user
                USING HINT = 'run REVOKE CREATE ON SCHEMA ... FROM PUBLIC as the owner of the schema';
        END IF;
    END IF;
END
$body$;

SET ROLE "app_owner";

-- step: function system session_master_key
-- lock: no table lock
CREATE OR REPLACE FUNCTION "system"."session_master_key"()
RETURNS text LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    master text := pg_catalog.current_setting('tmplmig.master_key', true);
BEGIN
    IF master IS NULL OR master = '' THEN
        RAISE EXCEPTION 'tmplmig.master_key is not set for this session'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN master;
END
$body$;

-- step: revoke PUBLIC execute system session_master_key
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT COALESCE(pg_catalog.bool_or(pg_catalog.has_function_privilege('public', d.objid, 'EXECUTE')), false) AS run
FROM pg_catalog.pg_depend d
WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
  AND d.refobjid = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'system')
  AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  AND (SELECT p.proname FROM pg_catalog.pg_proc p WHERE p.oid = d.objid) = 'session_master_key'
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE ALL ON FUNCTION "system"."session_master_key"() FROM PUBLIC;
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: function system data_key
-- lock: no table lock
CREATE OR REPLACE FUNCTION "system"."data_key"(key_id uuid, for_encryption boolean)
RETURNS text LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    master text := "system"."session_master_key"();
    unwrapped text;
BEGIN
    SELECT "public".pgp_sym_decrypt(k.wrapped_key, master) INTO unwrapped
    FROM "system"."encryption_keys" k
    WHERE k.key_id = data_key.key_id AND (k.status = 'active' OR NOT for_encryption);
    IF unwrapped IS NULL THEN
        RAISE EXCEPTION 'encryption key % does not exist%', key_id,
            CASE WHEN for_encryption THEN ' or is retired' ELSE '' END
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN unwrapped;
END
$body$;

-- step: revoke PUBLIC execute system data_key
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT COALESCE(pg_catalog.bool_or(pg_catalog.has_function_privilege('public', d.objid, 'EXECUTE')), false) AS run
FROM pg_catalog.pg_depend d
WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
  AND d.refobjid = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'system')
  AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  AND (SELECT p.proname FROM pg_catalog.pg_proc p WHERE p.oid = d.objid) = 'data_key'
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE ALL ON FUNCTION "system"."data_key"(key_id uuid, for_encryption boolean) FROM PUBLIC;
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: function system encrypt_data
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "system" GRANT EXECUTE ON FUNCTIONS TO "app_readwrite", "app_admin";
-- lock: no table lock
CREATE OR REPLACE FUNCTION "system"."encrypt_data"(plaintext text, key_id uuid)
RETURNS bytea LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
    RETURN "public".pgp_sym_encrypt(
        plaintext, "system"."data_key"(key_id, true), 'cipher-algo=aes256');
END
$body$;
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "system" REVOKE EXECUTE ON FUNCTIONS FROM "app_readwrite", "app_admin";

-- step: revoke PUBLIC execute system encrypt_data
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT COALESCE(pg_catalog.bool_or(pg_catalog.has_function_privilege('public', d.objid, 'EXECUTE')), false) AS run
FROM pg_catalog.pg_depend d
WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
  AND d.refobjid = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'system')
  AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  AND (SELECT p.proname FROM pg_catalog.pg_proc p WHERE p.oid = d.objid) = 'encrypt_data'
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE ALL ON FUNCTION "system"."encrypt_data"(plaintext text, key_id uuid) FROM PUBLIC;
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: function system decrypt_data
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "system" GRANT EXECUTE ON FUNCTIONS TO "app_readwrite", "app_admin";
-- lock: no table lock
CREATE OR REPLACE FUNCTION "system"."decrypt_data"(ciphertext bytea, key_id uuid)
RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
    RETURN "public".pgp_sym_decrypt(ciphertext, "system"."data_key"(key_id, false));
END
$body$;
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "system" REVOKE EXECUTE ON FUNCTIONS FROM "app_readwrite", "app_admin";

-- step: revoke PUBLIC execute system decrypt_data
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT COALESCE(pg_catalog.bool_or(pg_catalog.has_function_privilege('public', d.objid, 'EXECUTE')), false) AS run
FROM pg_catalog.pg_depend d
WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
  AND d.refobjid = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'system')
  AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  AND (SELECT p.proname FROM pg_catalog.pg_proc p WHERE p.oid = d.objid) = 'decrypt_data'
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE ALL ON FUNCTION "system"."decrypt_data"(ciphertext bytea, key_id uuid) FROM PUBLIC;
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: function system add_encryption_key
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "system" GRANT EXECUTE ON FUNCTIONS TO "app_admin";
-- lock: no table lock
CREATE OR REPLACE FUNCTION "system"."add_encryption_key"()
RETURNS uuid LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    new_key_id uuid;
BEGIN
    INSERT INTO "system"."encryption_keys" (wrapped_key)
    VALUES ("public".pgp_sym_encrypt(
        pg_catalog.encode("public".gen_random_bytes(32), 'hex'), "system"."session_master_key"(), 'cipher-algo=aes256'))
    RETURNING key_id INTO new_key_id;
    RETURN new_key_id;
END
$body$;
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "system" REVOKE EXECUTE ON FUNCTIONS FROM "app_admin";

-- step: revoke PUBLIC execute system add_encryption_key
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT COALESCE(pg_catalog.bool_or(pg_catalog.has_function_privilege('public', d.objid, 'EXECUTE')), false) AS run
FROM pg_catalog.pg_depend d
WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
  AND d.refobjid = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'system')
  AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  AND (SELECT p.proname FROM pg_catalog.pg_proc p WHERE p.oid = d.objid) = 'add_encryption_key'
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE ALL ON FUNCTION "system"."add_encryption_key"() FROM PUBLIC;
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: function system retire_encryption_key
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "system" GRANT EXECUTE ON FUNCTIONS TO "app_admin";
-- lock: no table lock
CREATE OR REPLACE FUNCTION "system"."retire_encryption_key"(key_id uuid)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
    UPDATE "system"."encryption_keys" k SET status = 'retired', retired_at = pg_catalog.now()
    WHERE k.key_id = retire_encryption_key.key_id AND k.status = 'active';
    IF NOT FOUND AND NOT EXISTS (
        SELECT 1 FROM "system"."encryption_keys" k WHERE k.key_id = retire_encryption_key.key_id
    ) THEN
        RAISE EXCEPTION 'encryption key % does not exist', key_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$body$;
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "system" REVOKE EXECUTE ON FUNCTIONS FROM "app_admin";

-- step: revoke PUBLIC execute system retire_encryption_key
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT COALESCE(pg_catalog.bool_or(pg_catalog.has_function_privilege('public', d.objid, 'EXECUTE')), false) AS run
FROM pg_catalog.pg_depend d
WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
  AND d.refobjid = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'system')
  AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  AND (SELECT p.proname FROM pg_catalog.pg_proc p WHERE p.oid = d.objid) = 'retire_encryption_key'
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE ALL ON FUNCTION "system"."retire_encryption_key"(key_id uuid) FROM PUBLIC;
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: function system purge_expired
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "system" GRANT EXECUTE ON FUNCTIONS TO "app_admin";
-- lock: no table lock
CREATE OR REPLACE FUNCTION "system"."purge_expired"(batch_size integer)
RETURNS TABLE (data_class text, deleted bigint) LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    keep_days integer;
BEGIN
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be a positive integer, got %', batch_size
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT p.retain_days INTO keep_days
    FROM "system"."retention_policies" p WHERE p.data_class = 'audit_log';
    IF FOUND THEN
        DELETE FROM "audits"."audit_log" WHERE id IN (
            SELECT t.id FROM "audits"."audit_log" t
            WHERE t."occurred_at" < pg_catalog.now() - keep_days * interval '1 day'
            ORDER BY t."occurred_at"
            LIMIT batch_size
            FOR UPDATE SKIP LOCKED);
        GET DIAGNOSTICS deleted = ROW_COUNT;
        data_class := 'audit_log';
        RETURN NEXT;
    END IF;
    SELECT p.retain_days INTO keep_days
    FROM "system"."retention_policies" p WHERE p.data_class = 'experiments';
    IF FOUND THEN
        DELETE FROM "experiments_v1"."experiments" WHERE id IN (
            SELECT t.id FROM "experiments_v1"."experiments" t
            WHERE t."created_at" < pg_catalog.now() - keep_days * interval '1 day'
            ORDER BY t."created_at"
            LIMIT batch_size
            FOR UPDATE SKIP LOCKED);
        GET DIAGNOSTICS deleted = ROW_COUNT;
        data_class := 'experiments';
        RETURN NEXT;
    END IF;
    SELECT p.retain_days INTO keep_days
    FROM "system"."retention_policies" p WHERE p.data_class = 'analysis_sessions';
    IF FOUND THEN
        DELETE FROM "production"."analysis_sessions" WHERE id IN (
            SELECT t.id FROM "production"."analysis_sessions" t
            WHERE t."created_at" < pg_catalog.now() - keep_days * interval '1 day'
            ORDER BY t."created_at"
            LIMIT batch_size
            FOR UPDATE SKIP LOCKED);
        GET DIAGNOSTICS deleted = ROW_COUNT;
        data_class := 'analysis_sessions';
        RETURN NEXT;
    END IF;
    SELECT p.retain_days INTO keep_days
    FROM "system"."retention_policies" p WHERE p.data_class = 'quarantined_records';
    IF FOUND THEN
        DELETE FROM "quarantine"."quarantined_records" WHERE id IN (
            SELECT t.id FROM "quarantine"."quarantined_records" t
            WHERE t."quarantined_at" < pg_catalog.now() - keep_days * interval '1 day'
            ORDER BY t."quarantined_at"
            LIMIT batch_size
            FOR UPDATE SKIP LOCKED);
        GET DIAGNOSTICS deleted = ROW_COUNT;
        data_class := 'quarantined_records';
        RETURN NEXT;
    END IF;
    SELECT p.retain_days INTO keep_days
    FROM "system"."retention_policies" p WHERE p.data_class = 'provider_health';
    IF FOUND THEN
        DELETE FROM "providers"."provider_health" WHERE id IN (
            SELECT t.id FROM "providers"."provider_health" t
            WHERE t."checked_at" < pg_catalog.now() - keep_days * interval '1 day'
            ORDER BY t."checked_at"
            LIMIT batch_size
            FOR UPDATE SKIP LOCKED);
        GET DIAGNOSTICS deleted = ROW_COUNT;
        data_class := 'provider_health';
        RETURN NEXT;
    END IF;
    SELECT p.retain_days INTO keep_days
    FROM "system"."retention_policies" p WHERE p.data_class = 'provider_usage';
    IF FOUND THEN
        DELETE FROM "providers"."provider_usage" WHERE id IN (
            SELECT t.id FROM "providers"."provider_usage" t
            WHERE t."usage_date" < pg_catalog.now() - keep_days * interval '1 day'
            ORDER BY t."usage_date"
            LIMIT batch_size
            FOR UPDATE SKIP LOCKED);
        GET DIAGNOSTICS deleted = ROW_COUNT;
        data_class := 'provider_usage';
        RETURN NEXT;
    END IF;
END
$body$;
-- lock: no table lock
ALTER DEFAULT PRIVILEGES IN SCHEMA "system" REVOKE EXECUTE ON FUNCTIONS FROM "app_admin";

-- step: revoke PUBLIC execute system purge_expired
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT COALESCE(pg_catalog.bool_or(pg_catalog.has_function_privilege('public', d.objid, 'EXECUTE')), false) AS run
FROM pg_catalog.pg_depend d
WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
  AND d.refobjid = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'system')
  AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  AND (SELECT p.proname FROM pg_catalog.pg_proc p WHERE p.oid = d.objid) = 'purge_expired'
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE ALL ON FUNCTION "system"."purge_expired"(batch_size integer) FROM PUBLIC;
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: function audits log_sensitive_operation
-- lock: no table lock
CREATE OR REPLACE FUNCTION "audits"."log_sensitive_operation"()
RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN pg_catalog.to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN pg_catalog.to_jsonb(NEW) END;
    app_user text := NULLIF(pg_catalog.current_setting('tmplmig.app_user_id', true), '');
    primary_key text := COALESCE(new_row, old_row) ->> TG_ARGV[0];
    masked text;
BEGIN
    FOREACH masked IN ARRAY ARRAY['password_hash', 'api_key']::text[] LOOP
        IF old_row ? masked AND old_row -> masked <> 'null'::jsonb THEN
            old_row := pg_catalog.jsonb_set(old_row, ARRAY[masked], '"***"'::jsonb);
        END IF;
        IF new_row ? masked AND new_row -> masked <> 'null'::jsonb THEN
            new_row := pg_catalog.jsonb_set(new_row, ARRAY[masked], '"***"'::jsonb);
        END IF;
    END LOOP;
    INSERT INTO "audits"."audit_log"
        (operation, table_schema, table_name, entity_type, entity_id, action,
         user_id, app_user_id, db_user, txid, old_row, new_row)
    VALUES (
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_TABLE_NAME,
        primary_key, pg_catalog.lower(TG_OP),
        CASE WHEN app_user ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' THEN app_user::uuid END,
        app_user, session_user, pg_catalog.txid_current(), old_row, new_row);
    RETURN NULL;
END
$body$;

-- step: revoke PUBLIC execute audits log_sensitive_operation
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT COALESCE(pg_catalog.bool_or(pg_catalog.has_function_privilege('public', d.objid, 'EXECUTE')), false) AS run
FROM pg_catalog.pg_depend d
WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
  AND d.refobjid = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'audits')
  AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  AND (SELECT p.proname FROM pg_catalog.pg_proc p WHERE p.oid = d.objid) = 'log_sensitive_operation'
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE ALL ON FUNCTION "audits"."log_sensitive_operation"() FROM PUBLIC;
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

RESET ROLE;

-- step: function tmplmig keep_column
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT p.oid FROM pg_catalog.pg_proc p WHERE p.proname = 'keep_column' AND p.proargtypes = ''::pg_catalog.oidvector
       AND p.pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'tmplmig')
       AND p.proowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
       AND NOT p.prosecdef AND p.prosrc = '
BEGIN
    IF TG_OP = ''INSERT'' THEN
        RAISE EXCEPTION ''permission denied to insert %.%.% = %: more than % ahead, the retention purge would keep the row'',
            TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[0], pg_catalog.to_jsonb(NEW) ->> TG_ARGV[0], TG_ARGV[1]
            USING ERRCODE = ''insufficient_privilege'';
    ELSIF pg_catalog.to_jsonb(NEW) -> TG_ARGV[0] IS DISTINCT FROM pg_catalog.to_jsonb(OLD) -> TG_ARGV[0] THEN
        RAISE EXCEPTION ''permission denied to change %.%.%: the retention purge relies on it'',
            TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[0]
            USING ERRCODE = ''insufficient_privilege'';
    END IF;
    RETURN NEW;
END
'
       AND p.proconfig = ARRAY['search_path=pg_catalog, pg_temp']) AS run
FROM (SELECT pg_catalog.pg_advisory_xact_lock_shared(pg_catalog.hashtextextended('"tmplmig"."keep_column"', 0))) until_commit
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
CREATE SCHEMA IF NOT EXISTS "tmplmig";
-- lock: not derived: the statements inside this DO block take their own locks
DO $body$
BEGIN
    IF (SELECT nspowner FROM pg_catalog.pg_namespace WHERE nspname = 'tmplmig')
        <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'schema % belongs to another role; tmplmig keeps its shared functions there',
            'tmplmig';
    END IF;
END
$body$;
-- lock: no table lock
-- lint: allow grant-to-public: the schema holds only functions every tenant's triggers use
GRANT USAGE ON SCHEMA "tmplmig" TO PUBLIC;
-- lock: no table lock
CREATE OR REPLACE FUNCTION "tmplmig"."keep_column"()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
    IF TG_OP = 'INSERT' THEN
        RAISE EXCEPTION 'permission denied to insert %.%.% = %: more than % ahead, the retention purge would keep the row',
            TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[0], pg_catalog.to_jsonb(NEW) ->> TG_ARGV[0], TG_ARGV[1]
            USING ERRCODE = 'insufficient_privilege';
    ELSIF pg_catalog.to_jsonb(NEW) -> TG_ARGV[0] IS DISTINCT FROM pg_catalog.to_jsonb(OLD) -> TG_ARGV[0] THEN
        RAISE EXCEPTION 'permission denied to change %.%.%: the retention purge relies on it',
            TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[0]
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$body$;
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

SET ROLE "app_owner";

-- step: trigger keep_audit_log_occurred_at
-- lock: SHARE ROW EXCLUSIVE on audits.audit_log; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "keep_audit_log_occurred_at"
    BEFORE UPDATE OF "occurred_at" ON "audits"."audit_log"
    FOR EACH ROW EXECUTE FUNCTION "tmplmig"."keep_column"('occurred_at');

-- step: trigger keep_experiments_created_at
-- lock: SHARE ROW EXCLUSIVE on experiments_v1.experiments; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "keep_experiments_created_at"
    BEFORE UPDATE OF "created_at" ON "experiments_v1"."experiments"
    FOR EACH ROW EXECUTE FUNCTION "tmplmig"."keep_column"('created_at');

-- step: trigger keep_analysis_sessions_created_at
-- lock: SHARE ROW EXCLUSIVE on production.analysis_sessions; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "keep_analysis_sessions_created_at"
    BEFORE UPDATE OF "created_at" ON "production"."analysis_sessions"
    FOR EACH ROW EXECUTE FUNCTION "tmplmig"."keep_column"('created_at');

-- step: trigger keep_quarantined_records_quarantined_at
-- lock: SHARE ROW EXCLUSIVE on quarantine.quarantined_records; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "keep_quarantined_records_quarantined_at"
    BEFORE UPDATE OF "quarantined_at" ON "quarantine"."quarantined_records"
    FOR EACH ROW EXECUTE FUNCTION "tmplmig"."keep_column"('quarantined_at');

-- step: trigger keep_provider_health_checked_at
-- lock: SHARE ROW EXCLUSIVE on providers.provider_health; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "keep_provider_health_checked_at"
    BEFORE UPDATE OF "checked_at" ON "providers"."provider_health"
    FOR EACH ROW EXECUTE FUNCTION "tmplmig"."keep_column"('checked_at');

-- step: trigger keep_provider_usage_usage_date
-- lock: SHARE ROW EXCLUSIVE on providers.provider_usage; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "keep_provider_usage_usage_date"
    BEFORE UPDATE OF "usage_date" ON "providers"."provider_usage"
    FOR EACH ROW EXECUTE FUNCTION "tmplmig"."keep_column"('usage_date');

-- step: trigger keep_evaluations_experiment_id
-- lock: SHARE ROW EXCLUSIVE on experiments_v1.evaluations; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "keep_evaluations_experiment_id"
    BEFORE UPDATE OF "experiment_id" ON "experiments_v1"."evaluations"
    FOR EACH ROW EXECUTE FUNCTION "tmplmig"."keep_column"('experiment_id');

-- step: trigger keep_promotions_experiment_id
-- lock: SHARE ROW EXCLUSIVE on experiments_v1.promotions; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "keep_promotions_experiment_id"
    BEFORE UPDATE OF "experiment_id" ON "experiments_v1"."promotions"
    FOR EACH ROW EXECUTE FUNCTION "tmplmig"."keep_column"('experiment_id');

-- step: trigger keep_audit_log_occurred_at_on_insert
-- lock: SHARE ROW EXCLUSIVE on audits.audit_log; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "keep_audit_log_occurred_at_on_insert"
    BEFORE INSERT ON "audits"."audit_log"
    FOR EACH ROW WHEN (NEW."occurred_at" > pg_catalog.clock_timestamp() + '5 minutes'::pg_catalog.interval)
    EXECUTE FUNCTION "tmplmig"."keep_column"('occurred_at', '5 minutes');

-- step: trigger keep_experiments_created_at_on_insert
-- lock: SHARE ROW EXCLUSIVE on experiments_v1.experiments; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "keep_experiments_created_at_on_insert"
    BEFORE INSERT ON "experiments_v1"."experiments"
    FOR EACH ROW WHEN (NEW."created_at" > pg_catalog.clock_timestamp() + '5 minutes'::pg_catalog.interval)
    EXECUTE FUNCTION "tmplmig"."keep_column"('created_at', '5 minutes');

-- step: trigger keep_analysis_sessions_created_at_on_insert
-- lock: SHARE ROW EXCLUSIVE on production.analysis_sessions; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "keep_analysis_sessions_created_at_on_insert"
    BEFORE INSERT ON "production"."analysis_sessions"
    FOR EACH ROW WHEN (NEW."created_at" > pg_catalog.clock_timestamp() + '5 minutes'::pg_catalog.interval)
    EXECUTE FUNCTION "tmplmig"."keep_column"('created_at', '5 minutes');

-- step: trigger keep_quarantined_records_quarantined_at_on_insert
-- lock: SHARE ROW EXCLUSIVE on quarantine.quarantined_records; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "keep_quarantined_records_quarantined_at_on_insert"
    BEFORE INSERT ON "quarantine"."quarantined_records"
    FOR EACH ROW WHEN (NEW."quarantined_at" > pg_catalog.clock_timestamp() + '5 minutes'::pg_catalog.interval)
    EXECUTE FUNCTION "tmplmig"."keep_column"('quarantined_at', '5 minutes');

-- step: trigger keep_provider_health_checked_at_on_insert
-- lock: SHARE ROW EXCLUSIVE on providers.provider_health; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "keep_provider_health_checked_at_on_insert"
    BEFORE INSERT ON "providers"."provider_health"
    FOR EACH ROW WHEN (NEW."checked_at" > pg_catalog.clock_timestamp() + '5 minutes'::pg_catalog.interval)
    EXECUTE FUNCTION "tmplmig"."keep_column"('checked_at', '5 minutes');

-- step: trigger keep_provider_usage_usage_date_on_insert
-- lock: SHARE ROW EXCLUSIVE on providers.provider_usage; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "keep_provider_usage_usage_date_on_insert"
    BEFORE INSERT ON "providers"."provider_usage"
    FOR EACH ROW WHEN (NEW."usage_date" > pg_catalog.clock_timestamp() + '5 minutes'::pg_catalog.interval)
    EXECUTE FUNCTION "tmplmig"."keep_column"('usage_date', '5 minutes');

-- step: grant EXECUTE on "system"."encrypt_data"(plaintext text, key_id uuid) to app_readwrite
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_proc p WHERE p.proname = 'encrypt_data' AND p.proargtypes = pg_catalog.array_to_string(ARRAY['text', 'uuid']::pg_catalog.regtype[]::pg_catalog.oid[], ' ')::pg_catalog.oidvector
       AND p.pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'system')
       AND EXISTS (SELECT FROM pg_catalog.aclexplode(p.proacl) a WHERE a.privilege_type = 'EXECUTE'
                   AND a.grantee = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'app_readwrite'))) AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
GRANT EXECUTE ON FUNCTION "system"."encrypt_data"(plaintext text, key_id uuid) TO "app_readwrite";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant EXECUTE on "system"."encrypt_data"(plaintext text, key_id uuid) to app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_proc p WHERE p.proname = 'encrypt_data' AND p.proargtypes = pg_catalog.array_to_string(ARRAY['text', 'uuid']::pg_catalog.regtype[]::pg_catalog.oid[], ' ')::pg_catalog.oidvector
       AND p.pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'system')
       AND EXISTS (SELECT FROM pg_catalog.aclexplode(p.proacl) a WHERE a.privilege_type = 'EXECUTE'
                   AND a.grantee = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'app_admin'))) AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
GRANT EXECUTE ON FUNCTION "system"."encrypt_data"(plaintext text, key_id uuid) TO "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant EXECUTE on "system"."decrypt_data"(ciphertext bytea, key_id uuid) to app_readwrite
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_proc p WHERE p.proname = 'decrypt_data' AND p.proargtypes = pg_catalog.array_to_string(ARRAY['bytea', 'uuid']::pg_catalog.regtype[]::pg_catalog.oid[], ' ')::pg_catalog.oidvector
       AND p.pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'system')
       AND EXISTS (SELECT FROM pg_catalog.aclexplode(p.proacl) a WHERE a.privilege_type = 'EXECUTE'
                   AND a.grantee = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'app_readwrite'))) AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
GRANT EXECUTE ON FUNCTION "system"."decrypt_data"(ciphertext bytea, key_id uuid) TO "app_readwrite";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant EXECUTE on "system"."decrypt_data"(ciphertext bytea, key_id uuid) to app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_proc p WHERE p.proname = 'decrypt_data' AND p.proargtypes = pg_catalog.array_to_string(ARRAY['bytea', 'uuid']::pg_catalog.regtype[]::pg_catalog.oid[], ' ')::pg_catalog.oidvector
       AND p.pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'system')
       AND EXISTS (SELECT FROM pg_catalog.aclexplode(p.proacl) a WHERE a.privilege_type = 'EXECUTE'
                   AND a.grantee = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'app_admin'))) AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
GRANT EXECUTE ON FUNCTION "system"."decrypt_data"(ciphertext bytea, key_id uuid) TO "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant EXECUTE on "system"."add_encryption_key"() to app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_proc p WHERE p.proname = 'add_encryption_key' AND p.proargtypes = ''::pg_catalog.oidvector
       AND p.pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'system')
       AND EXISTS (SELECT FROM pg_catalog.aclexplode(p.proacl) a WHERE a.privilege_type = 'EXECUTE'
                   AND a.grantee = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'app_admin'))) AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
GRANT EXECUTE ON FUNCTION "system"."add_encryption_key"() TO "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant EXECUTE on "system"."retire_encryption_key"(key_id uuid) to app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_proc p WHERE p.proname = 'retire_encryption_key' AND p.proargtypes = pg_catalog.array_to_string(ARRAY['uuid']::pg_catalog.regtype[]::pg_catalog.oid[], ' ')::pg_catalog.oidvector
       AND p.pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'system')
       AND EXISTS (SELECT FROM pg_catalog.aclexplode(p.proacl) a WHERE a.privilege_type = 'EXECUTE'
                   AND a.grantee = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'app_admin'))) AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
GRANT EXECUTE ON FUNCTION "system"."retire_encryption_key"(key_id uuid) TO "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant EXECUTE on "system"."purge_expired"(batch_size integer) to app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_proc p WHERE p.proname = 'purge_expired' AND p.proargtypes = pg_catalog.array_to_string(ARRAY['integer']::pg_catalog.regtype[]::pg_catalog.oid[], ' ')::pg_catalog.oidvector
       AND p.pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'system')
       AND EXISTS (SELECT FROM pg_catalog.aclexplode(p.proacl) a WHERE a.privilege_type = 'EXECUTE'
                   AND a.grantee = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'app_admin'))) AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
GRANT EXECUTE ON FUNCTION "system"."purge_expired"(batch_size integer) TO "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger audit_users_changes
-- lock: SHARE ROW EXCLUSIVE on auth.users; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "audit_users_changes"
    AFTER INSERT OR UPDATE OR DELETE ON "auth"."users"
    FOR EACH ROW EXECUTE FUNCTION "audits"."log_sensitive_operation"('id');

-- step: trigger audit_api_keys_changes
-- lock: SHARE ROW EXCLUSIVE on providers.user_providers; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "audit_api_keys_changes"
    AFTER INSERT OR UPDATE OR DELETE ON "providers"."user_providers"
    FOR EACH ROW EXECUTE FUNCTION "audits"."log_sensitive_operation"('id');

-- step: trigger audit_promotions_changes
-- lock: SHARE ROW EXCLUSIVE on experiments_v1.promotions; blocks writes; reads continue
CREATE OR REPLACE TRIGGER "audit_promotions_changes"
    AFTER INSERT OR UPDATE OR DELETE ON "experiments_v1"."promotions"
    FOR EACH ROW EXECUTE FUNCTION "audits"."log_sensitive_operation"('id');

RESET ROLE;

COMMIT;
