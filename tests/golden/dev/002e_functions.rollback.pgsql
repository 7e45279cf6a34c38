-- tmplmig rollback: 002e_functions — 002e: encryption functions and audit triggers
-- environment: dev
-- tenant: -
-- template: templates/002e_functions.sql.j2
-- config digest: sha256:e62bf56ccf7cd9705c2c9690fd0d5091407f04b8005aa737f5e632f027bfdb91
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '5s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

BEGIN;

-- steps as role "app_owner", while it exists: without it, nothing it owned is left
SELECT pg_catalog.to_regrole('"app_owner"') IS NOT NULL AS role_exists
\gset tmplmig_
\if :tmplmig_role_exists
SET ROLE "app_owner";

-- step: trigger audit_promotions_changes
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"experiments_v1"."promotions"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on experiments_v1.promotions; blocks reads and writes
DROP TRIGGER IF EXISTS "audit_promotions_changes" ON "experiments_v1"."promotions";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger audit_api_keys_changes
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"providers"."user_providers"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on providers.user_providers; blocks reads and writes
DROP TRIGGER IF EXISTS "audit_api_keys_changes" ON "providers"."user_providers";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger audit_users_changes
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"auth"."users"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on auth.users; blocks reads and writes
DROP TRIGGER IF EXISTS "audit_users_changes" ON "auth"."users";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant EXECUTE on "system"."purge_expired"(batch_size integer) to app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
-- no: this part's rollback drops "system"."purge_expired"(batch_size integer), and this grant with it
SELECT false AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE EXECUTE ON FUNCTION "system"."purge_expired"(batch_size integer) FROM "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant EXECUTE on "system"."retire_encryption_key"(key_id uuid) to app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
-- no: this part's rollback drops "system"."retire_encryption_key"(key_id uuid), and this grant with it
SELECT false AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE EXECUTE ON FUNCTION "system"."retire_encryption_key"(key_id uuid) FROM "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant EXECUTE on "system"."add_encryption_key"() to app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
-- no: this part's rollback drops "system"."add_encryption_key"(), and this grant with it
SELECT false AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE EXECUTE ON FUNCTION "system"."add_encryption_key"() FROM "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant EXECUTE on "system"."decrypt_data"(ciphertext bytea, key_id uuid) to app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
-- no: this part's rollback drops "system"."decrypt_data"(ciphertext bytea, key_id uuid), and this grant with it
SELECT false AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE EXECUTE ON FUNCTION "system"."decrypt_data"(ciphertext bytea, key_id uuid) FROM "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant EXECUTE on "system"."decrypt_data"(ciphertext bytea, key_id uuid) to app_readwrite
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
-- no: this part's rollback drops "system"."decrypt_data"(ciphertext bytea, key_id uuid), and this grant with it
SELECT false AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE EXECUTE ON FUNCTION "system"."decrypt_data"(ciphertext bytea, key_id uuid) FROM "app_readwrite";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant EXECUTE on "system"."encrypt_data"(plaintext text, key_id uuid) to app_admin
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
-- no: this part's rollback drops "system"."encrypt_data"(plaintext text, key_id uuid), and this grant with it
SELECT false AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE EXECUTE ON FUNCTION "system"."encrypt_data"(plaintext text, key_id uuid) FROM "app_admin";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: grant EXECUTE on "system"."encrypt_data"(plaintext text, key_id uuid) to app_readwrite
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
-- no: this part's rollback drops "system"."encrypt_data"(plaintext text, key_id uuid), and this grant with it
SELECT false AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: no table lock
REVOKE EXECUTE ON FUNCTION "system"."encrypt_data"(plaintext text, key_id uuid) FROM "app_readwrite";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger keep_provider_usage_usage_date_on_insert
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"providers"."provider_usage"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on providers.provider_usage; blocks reads and writes
DROP TRIGGER IF EXISTS "keep_provider_usage_usage_date_on_insert" ON "providers"."provider_usage";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger keep_provider_health_checked_at_on_insert
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"providers"."provider_health"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on providers.provider_health; blocks reads and writes
DROP TRIGGER IF EXISTS "keep_provider_health_checked_at_on_insert" ON "providers"."provider_health";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger keep_quarantined_records_quarantined_at_on_insert
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"quarantine"."quarantined_records"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on quarantine.quarantined_records; blocks reads and writes
DROP TRIGGER IF EXISTS "keep_quarantined_records_quarantined_at_on_insert" ON "quarantine"."quarantined_records";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger keep_analysis_sessions_created_at_on_insert
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"production"."analysis_sessions"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on production.analysis_sessions; blocks reads and writes
DROP TRIGGER IF EXISTS "keep_analysis_sessions_created_at_on_insert" ON "production"."analysis_sessions";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger keep_experiments_created_at_on_insert
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"experiments_v1"."experiments"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on experiments_v1.experiments; blocks reads and writes
DROP TRIGGER IF EXISTS "keep_experiments_created_at_on_insert" ON "experiments_v1"."experiments";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger keep_audit_log_occurred_at_on_insert
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"audits"."audit_log"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on audits.audit_log; blocks reads and writes
DROP TRIGGER IF EXISTS "keep_audit_log_occurred_at_on_insert" ON "audits"."audit_log";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger keep_promotions_experiment_id
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"experiments_v1"."promotions"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on experiments_v1.promotions; blocks reads and writes
DROP TRIGGER IF EXISTS "keep_promotions_experiment_id" ON "experiments_v1"."promotions";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger keep_evaluations_experiment_id
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"experiments_v1"."evaluations"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on experiments_v1.evaluations; blocks reads and writes
DROP TRIGGER IF EXISTS "keep_evaluations_experiment_id" ON "experiments_v1"."evaluations";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger keep_provider_usage_usage_date
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"providers"."provider_usage"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on providers.provider_usage; blocks reads and writes
DROP TRIGGER IF EXISTS "keep_provider_usage_usage_date" ON "providers"."provider_usage";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger keep_provider_health_checked_at
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"providers"."provider_health"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on providers.provider_health; blocks reads and writes
DROP TRIGGER IF EXISTS "keep_provider_health_checked_at" ON "providers"."provider_health";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger keep_quarantined_records_quarantined_at
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"quarantine"."quarantined_records"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on quarantine.quarantined_records; blocks reads and writes
DROP TRIGGER IF EXISTS "keep_quarantined_records_quarantined_at" ON "quarantine"."quarantined_records";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger keep_analysis_sessions_created_at
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"production"."analysis_sessions"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on production.analysis_sessions; blocks reads and writes
DROP TRIGGER IF EXISTS "keep_analysis_sessions_created_at" ON "production"."analysis_sessions";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger keep_experiments_created_at
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"experiments_v1"."experiments"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on experiments_v1.experiments; blocks reads and writes
DROP TRIGGER IF EXISTS "keep_experiments_created_at" ON "experiments_v1"."experiments";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: trigger keep_audit_log_occurred_at
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT pg_catalog.to_regclass('"audits"."audit_log"') IS NOT NULL AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on audits.audit_log; blocks reads and writes
DROP TRIGGER IF EXISTS "keep_audit_log_occurred_at" ON "audits"."audit_log";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

RESET ROLE;
\endif

-- step: function tmplmig keep_column
-- lock: not derived: the statements inside this DO block take their own locks
DO $body$
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('"tmplmig"."keep_column"', 0));
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                   WHERE d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                     AND d.refobjid = (SELECT p.oid FROM pg_catalog.pg_proc p WHERE p.proname = 'keep_column' AND p.proargtypes = ''::pg_catalog.oidvector
           AND p.pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'tmplmig'))
                     AND d.classid = 'pg_catalog.pg_trigger'::pg_catalog.regclass) THEN
        DROP FUNCTION IF EXISTS "tmplmig"."keep_column"();
        DROP SCHEMA IF EXISTS "tmplmig";
    END IF;
END
$body$;

-- steps as role "app_owner", while it exists: without it, nothing it owned is left
SELECT pg_catalog.to_regrole('"app_owner"') IS NOT NULL AS role_exists
\gset tmplmig_
\if :tmplmig_role_exists
SET ROLE "app_owner";

-- step: function audits log_sensitive_operation
-- lock: no table lock
DROP FUNCTION IF EXISTS "audits"."log_sensitive_operation"();

-- step: function system purge_expired
-- lock: no table lock
DROP FUNCTION IF EXISTS "system"."purge_expired"(batch_size integer);

-- step: function system retire_encryption_key
-- lock: no table lock
DROP FUNCTION IF EXISTS "system"."retire_encryption_key"(key_id uuid);

-- step: function system add_encryption_key
-- lock: no table lock
DROP FUNCTION IF EXISTS "system"."add_encryption_key"();

-- step: function system decrypt_data
-- lock: no table lock
DROP FUNCTION IF EXISTS "system"."decrypt_data"(ciphertext bytea, key_id uuid);

-- step: function system encrypt_data
-- lock: no table lock
DROP FUNCTION IF EXISTS "system"."encrypt_data"(plaintext text, key_id uuid);

-- step: function system data_key
-- lock: no table lock
DROP FUNCTION IF EXISTS "system"."data_key"(key_id uuid, for_encryption boolean);

-- step: function system session_master_key
-- lock: no table lock
DROP FUNCTION IF EXISTS "system"."session_master_key"();

RESET ROLE;
\endif

COMMIT;
