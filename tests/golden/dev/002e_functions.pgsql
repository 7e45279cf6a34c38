-- tmplmig apply: 002e_functions — 002e: encryption functions and audit triggers
-- environment: dev
-- tenant: -
-- template: templates/002e_functions.sql.j2
-- config digest: sha256:2434a10c5ec3547bb33586fa62f4b2651fec3bea0c0513e4af7e6bd22c5762e7
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '5s';

BEGIN;

-- step: extension pgcrypto
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA "public";
DO $body$
BEGIN
    IF (SELECT n.nspname FROM pg_catalog.pg_extension e
        JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pgcrypto') <> 'public' THEN
        RAISE EXCEPTION 'pgcrypto is installed outside schema %; set extensions_schema to its schema',
            'public';
    END IF;
END
$body$;

-- step: function system encrypt_data
CREATE OR REPLACE FUNCTION "system"."encrypt_data"(plaintext text, key_id uuid)
RETURNS bytea LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    master text := pg_catalog.current_setting('tmplmig.master_key', true);
    data_key text;
BEGIN
    IF master IS NULL OR master = '' THEN
        RAISE EXCEPTION 'tmplmig.master_key is not set for this session'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT "public".pgp_sym_decrypt(k.wrapped_key, master) INTO data_key
    FROM "system"."encryption_keys" k
    WHERE k.key_id = encrypt_data.key_id AND k.status = 'active';
    IF data_key IS NULL THEN
        RAISE EXCEPTION 'encryption key % does not exist or is retired', key_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN "public".pgp_sym_encrypt(plaintext, data_key, 'cipher-algo=aes256');
END
$body$;
REVOKE ALL ON FUNCTION "system"."encrypt_data"(plaintext text, key_id uuid) FROM PUBLIC;

-- step: function system decrypt_data
CREATE OR REPLACE FUNCTION "system"."decrypt_data"(ciphertext bytea, key_id uuid)
RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    master text := pg_catalog.current_setting('tmplmig.master_key', true);
    data_key text;
BEGIN
    IF master IS NULL OR master = '' THEN
        RAISE EXCEPTION 'tmplmig.master_key is not set for this session'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT "public".pgp_sym_decrypt(k.wrapped_key, master) INTO data_key
    FROM "system"."encryption_keys" k
    WHERE k.key_id = decrypt_data.key_id;
    IF data_key IS NULL THEN
        RAISE EXCEPTION 'encryption key % does not exist', key_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN "public".pgp_sym_decrypt(ciphertext, data_key);
END
$body$;
REVOKE ALL ON FUNCTION "system"."decrypt_data"(ciphertext bytea, key_id uuid) FROM PUBLIC;

-- step: function audits log_sensitive_operation
CREATE OR REPLACE FUNCTION "audits"."log_sensitive_operation"()
RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN pg_catalog.to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN pg_catalog.to_jsonb(NEW) END;
    app_user text := NULLIF(pg_catalog.current_setting('tmplmig.app_user_id', true), '');
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
        COALESCE(new_row ->> 'id', old_row ->> 'id'), pg_catalog.lower(TG_OP),
        CASE WHEN app_user ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' THEN app_user::uuid END,
        app_user, session_user, pg_catalog.txid_current(), old_row, new_row);
    RETURN NULL;
END
$body$;
REVOKE ALL ON FUNCTION "audits"."log_sensitive_operation"() FROM PUBLIC;

-- step: grant EXECUTE on "system".encrypt_data(plaintext text, key_id uuid) to app_readwrite
GRANT EXECUTE ON FUNCTION "system".encrypt_data(plaintext text, key_id uuid) TO "app_readwrite";

-- step: grant EXECUTE on "system".encrypt_data(plaintext text, key_id uuid) to app_admin
GRANT EXECUTE ON FUNCTION "system".encrypt_data(plaintext text, key_id uuid) TO "app_admin";

-- step: grant EXECUTE on "system".decrypt_data(ciphertext bytea, key_id uuid) to app_readwrite
GRANT EXECUTE ON FUNCTION "system".decrypt_data(ciphertext bytea, key_id uuid) TO "app_readwrite";

-- step: grant EXECUTE on "system".decrypt_data(ciphertext bytea, key_id uuid) to app_admin
GRANT EXECUTE ON FUNCTION "system".decrypt_data(ciphertext bytea, key_id uuid) TO "app_admin";

-- step: trigger audit_users_changes
CREATE OR REPLACE TRIGGER "audit_users_changes"
    AFTER INSERT OR UPDATE OR DELETE ON "auth"."users"
    FOR EACH ROW EXECUTE FUNCTION "audits"."log_sensitive_operation"();

-- step: trigger audit_api_keys_changes
CREATE OR REPLACE TRIGGER "audit_api_keys_changes"
    AFTER INSERT OR UPDATE OR DELETE ON "providers"."user_providers"
    FOR EACH ROW EXECUTE FUNCTION "audits"."log_sensitive_operation"();

-- step: trigger audit_promotions_changes
CREATE OR REPLACE TRIGGER "audit_promotions_changes"
    AFTER INSERT OR UPDATE OR DELETE ON "experiments_v1"."promotions"
    FOR EACH ROW EXECUTE FUNCTION "audits"."log_sensitive_operation"();

COMMIT;
