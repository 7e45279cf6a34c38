-- tmplmig rollback: 002e_functions — 002e: encryption functions and audit triggers
-- environment: prod
-- tenant: -
-- template: templates/002e_functions.sql.j2
-- config digest: sha256:f335fdf8bfcac757459145c91dd4bd1c1d6031874fb7f8dea8d2372dac87baa2
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '2s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

BEGIN;

SET ROLE "app_owner";

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

-- step: trigger keep_promotions_experiment_id
DROP TRIGGER IF EXISTS "keep_promotions_experiment_id" ON "experiments_v1"."promotions";

-- step: trigger keep_evaluations_experiment_id
DROP TRIGGER IF EXISTS "keep_evaluations_experiment_id" ON "experiments_v1"."evaluations";

-- step: trigger keep_provider_usage_usage_date
DROP TRIGGER IF EXISTS "keep_provider_usage_usage_date" ON "providers"."provider_usage";

-- step: trigger keep_provider_health_checked_at
DROP TRIGGER IF EXISTS "keep_provider_health_checked_at" ON "providers"."provider_health";

-- step: trigger keep_quarantined_records_quarantined_at
DROP TRIGGER IF EXISTS "keep_quarantined_records_quarantined_at" ON "quarantine"."quarantined_records";

-- step: trigger keep_analysis_sessions_created_at
DROP TRIGGER IF EXISTS "keep_analysis_sessions_created_at" ON "production"."analysis_sessions";

-- step: trigger keep_experiments_created_at
DROP TRIGGER IF EXISTS "keep_experiments_created_at" ON "experiments_v1"."experiments";

-- step: trigger keep_audit_log_occurred_at
DROP TRIGGER IF EXISTS "keep_audit_log_occurred_at" ON "audits"."audit_log";

-- step: function system keep_column
DROP FUNCTION IF EXISTS "system"."keep_column"();

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

RESET ROLE;

COMMIT;
