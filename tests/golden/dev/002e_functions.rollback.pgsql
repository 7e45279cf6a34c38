-- tmplmig rollback: 002e_functions — 002e: encryption functions and audit triggers
-- environment: dev
-- tenant: -
-- template: templates/002e_functions.sql.j2
-- config digest: sha256:95b48163945753c269159b59bb1a46fee5e14b47658a506798edc9481968065c
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '5s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

BEGIN;

-- step: trigger audit_promotions_changes
DROP TRIGGER IF EXISTS "audit_promotions_changes" ON "experiments_v1"."promotions";

-- step: trigger audit_api_keys_changes
DROP TRIGGER IF EXISTS "audit_api_keys_changes" ON "providers"."user_providers";

-- step: trigger audit_users_changes
DROP TRIGGER IF EXISTS "audit_users_changes" ON "auth"."users";

-- step: grant EXECUTE on "system"."purge_expired"(batch_size integer) to app_admin
REVOKE EXECUTE ON FUNCTION "system"."purge_expired"(batch_size integer) FROM "app_admin";

-- step: grant EXECUTE on "system"."retire_encryption_key"(key_id uuid) to app_admin
REVOKE EXECUTE ON FUNCTION "system"."retire_encryption_key"(key_id uuid) FROM "app_admin";

-- step: grant EXECUTE on "system"."add_encryption_key"() to app_admin
REVOKE EXECUTE ON FUNCTION "system"."add_encryption_key"() FROM "app_admin";

-- step: grant EXECUTE on "system"."decrypt_data"(ciphertext bytea, key_id uuid) to app_admin
REVOKE EXECUTE ON FUNCTION "system"."decrypt_data"(ciphertext bytea, key_id uuid) FROM "app_admin";

-- step: grant EXECUTE on "system"."decrypt_data"(ciphertext bytea, key_id uuid) to app_readwrite
REVOKE EXECUTE ON FUNCTION "system"."decrypt_data"(ciphertext bytea, key_id uuid) FROM "app_readwrite";

-- step: grant EXECUTE on "system"."encrypt_data"(plaintext text, key_id uuid) to app_admin
REVOKE EXECUTE ON FUNCTION "system"."encrypt_data"(plaintext text, key_id uuid) FROM "app_admin";

-- step: grant EXECUTE on "system"."encrypt_data"(plaintext text, key_id uuid) to app_readwrite
REVOKE EXECUTE ON FUNCTION "system"."encrypt_data"(plaintext text, key_id uuid) FROM "app_readwrite";

-- step: function audits log_sensitive_operation
DROP FUNCTION IF EXISTS "audits"."log_sensitive_operation"();

-- step: function system purge_expired
DROP FUNCTION IF EXISTS "system"."purge_expired"(batch_size integer);

-- step: function system retire_encryption_key
DROP FUNCTION IF EXISTS "system"."retire_encryption_key"(key_id uuid);

-- step: function system add_encryption_key
DROP FUNCTION IF EXISTS "system"."add_encryption_key"();

-- step: function system decrypt_data
DROP FUNCTION IF EXISTS "system"."decrypt_data"(ciphertext bytea, key_id uuid);

-- step: function system encrypt_data
DROP FUNCTION IF EXISTS "system"."encrypt_data"(plaintext text, key_id uuid);

-- step: function system data_key
DROP FUNCTION IF EXISTS "system"."data_key"(key_id uuid, for_encryption boolean);

-- step: function system session_master_key
DROP FUNCTION IF EXISTS "system"."session_master_key"();

COMMIT;
