-- tmplmig rollback: 002e_functions — 002e: encryption functions and audit triggers
-- environment: prod
-- tenant: -
-- template: templates/002e_functions.sql.j2
-- config digest: sha256:6aaeeedc1d24d33ad10400d72af543de47445df3958bf07631502f4cfd61704d
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '2s';

BEGIN;

-- step: trigger audit_promotions_changes
DROP TRIGGER IF EXISTS "audit_promotions_changes" ON "experiments_v1"."promotions";

-- step: trigger audit_api_keys_changes
DROP TRIGGER IF EXISTS "audit_api_keys_changes" ON "providers"."user_providers";

-- step: trigger audit_users_changes
DROP TRIGGER IF EXISTS "audit_users_changes" ON "auth"."users";

-- step: grant EXECUTE on "system".decrypt_data(ciphertext bytea, key_id uuid) to app_admin
REVOKE EXECUTE ON FUNCTION "system".decrypt_data(ciphertext bytea, key_id uuid) FROM "app_admin";

-- step: grant EXECUTE on "system".decrypt_data(ciphertext bytea, key_id uuid) to app_readwrite
REVOKE EXECUTE ON FUNCTION "system".decrypt_data(ciphertext bytea, key_id uuid) FROM "app_readwrite";

-- step: grant EXECUTE on "system".encrypt_data(plaintext text, key_id uuid) to app_admin
REVOKE EXECUTE ON FUNCTION "system".encrypt_data(plaintext text, key_id uuid) FROM "app_admin";

-- step: grant EXECUTE on "system".encrypt_data(plaintext text, key_id uuid) to app_readwrite
REVOKE EXECUTE ON FUNCTION "system".encrypt_data(plaintext text, key_id uuid) FROM "app_readwrite";

-- step: function audits log_sensitive_operation
DROP FUNCTION IF EXISTS "audits"."log_sensitive_operation"();

-- step: function system decrypt_data
DROP FUNCTION IF EXISTS "system"."decrypt_data"(ciphertext bytea, key_id uuid);

-- step: function system encrypt_data
DROP FUNCTION IF EXISTS "system"."encrypt_data"(plaintext text, key_id uuid);

COMMIT;
