-- tmplmig apply: 002c_system_tables — 002c: system configuration tables
-- environment: dev
-- tenant: -
-- template: templates/002c_system_tables.sql.j2
-- config digest: sha256:e62bf56ccf7cd9705c2c9690fd0d5091407f04b8005aa737f5e632f027bfdb91
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '5s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

BEGIN;

-- step: schema system
-- lock: no table lock
CREATE SCHEMA IF NOT EXISTS "system" AUTHORIZATION "app_owner";

SET ROLE "app_owner";

-- step: table system retention_policies
-- lock: ACCESS EXCLUSIVE on system.retention_policies; blocks reads and writes (a new table, unused yet)
CREATE TABLE IF NOT EXISTS "system"."retention_policies" (
    data_class text PRIMARY KEY,
    target_schema name NOT NULL,
    target_table name NOT NULL,
    timestamp_column name NOT NULL,
    -- a day count from config, validated far below 2^31: integer is the right size
    -- squawk-ignore prefer-bigint-over-int
    retain_days integer NOT NULL CHECK (retain_days > 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- step: table system encryption_keys
-- lock: ACCESS EXCLUSIVE on system.encryption_keys; blocks reads and writes (a new table, unused yet)
CREATE TABLE IF NOT EXISTS "system"."encryption_keys" (
    key_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    wrapped_key bytea NOT NULL,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz,
    CHECK ((status = 'retired') = (retired_at IS NOT NULL))
);

-- step: table system connection_pool_settings
-- lock: ACCESS EXCLUSIVE on system.connection_pool_settings; blocks reads and writes (a new table, unused yet)
CREATE TABLE IF NOT EXISTS "system"."connection_pool_settings" (
    pool_name text PRIMARY KEY,
    -- pool sizes and timeouts mirror settings that are 32-bit integers themselves
    -- (statement_timeout is an int of milliseconds): bigint could hold values they cannot
    -- squawk-ignore prefer-bigint-over-int
    min_size integer NOT NULL CHECK (min_size >= 0),
    -- squawk-ignore prefer-bigint-over-int
    max_size integer NOT NULL CHECK (max_size >= min_size AND max_size > 0),
    -- squawk-ignore prefer-bigint-over-int
    idle_timeout_seconds integer NOT NULL,
    -- squawk-ignore prefer-bigint-over-int
    max_lifetime_seconds integer NOT NULL,
    -- squawk-ignore prefer-bigint-over-int
    statement_timeout_ms integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- step: row retention_policies audit_log
-- lock: ROW EXCLUSIVE on system.retention_policies; reads and writes continue
INSERT INTO "system"."retention_policies" ("data_class", "target_schema", "target_table", "timestamp_column", "retain_days")
VALUES ('audit_log', 'audits', 'audit_log', 'occurred_at', 30)
ON CONFLICT ("data_class") DO UPDATE SET
    "target_schema" = EXCLUDED."target_schema",
    "target_table" = EXCLUDED."target_table",
    "timestamp_column" = EXCLUDED."timestamp_column",
    "retain_days" = EXCLUDED."retain_days"
;

-- step: row retention_policies experiments
-- lock: ROW EXCLUSIVE on system.retention_policies; reads and writes continue
INSERT INTO "system"."retention_policies" ("data_class", "target_schema", "target_table", "timestamp_column", "retain_days")
VALUES ('experiments', 'experiments_v1', 'experiments', 'created_at', 730)
ON CONFLICT ("data_class") DO UPDATE SET
    "target_schema" = EXCLUDED."target_schema",
    "target_table" = EXCLUDED."target_table",
    "timestamp_column" = EXCLUDED."timestamp_column",
    "retain_days" = EXCLUDED."retain_days"
;

-- step: row retention_policies analysis_sessions
-- lock: ROW EXCLUSIVE on system.retention_policies; reads and writes continue
INSERT INTO "system"."retention_policies" ("data_class", "target_schema", "target_table", "timestamp_column", "retain_days")
VALUES ('analysis_sessions', 'production', 'analysis_sessions', 'created_at', 180)
ON CONFLICT ("data_class") DO UPDATE SET
    "target_schema" = EXCLUDED."target_schema",
    "target_table" = EXCLUDED."target_table",
    "timestamp_column" = EXCLUDED."timestamp_column",
    "retain_days" = EXCLUDED."retain_days"
;

-- step: row retention_policies quarantined_records
-- lock: ROW EXCLUSIVE on system.retention_policies; reads and writes continue
INSERT INTO "system"."retention_policies" ("data_class", "target_schema", "target_table", "timestamp_column", "retain_days")
VALUES ('quarantined_records', 'quarantine', 'quarantined_records', 'quarantined_at', 90)
ON CONFLICT ("data_class") DO UPDATE SET
    "target_schema" = EXCLUDED."target_schema",
    "target_table" = EXCLUDED."target_table",
    "timestamp_column" = EXCLUDED."timestamp_column",
    "retain_days" = EXCLUDED."retain_days"
;

-- step: row retention_policies provider_health
-- lock: ROW EXCLUSIVE on system.retention_policies; reads and writes continue
INSERT INTO "system"."retention_policies" ("data_class", "target_schema", "target_table", "timestamp_column", "retain_days")
VALUES ('provider_health', 'providers', 'provider_health', 'checked_at', 7)
ON CONFLICT ("data_class") DO UPDATE SET
    "target_schema" = EXCLUDED."target_schema",
    "target_table" = EXCLUDED."target_table",
    "timestamp_column" = EXCLUDED."timestamp_column",
    "retain_days" = EXCLUDED."retain_days"
;

-- step: row retention_policies provider_usage
-- lock: ROW EXCLUSIVE on system.retention_policies; reads and writes continue
INSERT INTO "system"."retention_policies" ("data_class", "target_schema", "target_table", "timestamp_column", "retain_days")
VALUES ('provider_usage', 'providers', 'provider_usage', 'usage_date', 400)
ON CONFLICT ("data_class") DO UPDATE SET
    "target_schema" = EXCLUDED."target_schema",
    "target_table" = EXCLUDED."target_table",
    "timestamp_column" = EXCLUDED."timestamp_column",
    "retain_days" = EXCLUDED."retain_days"
;

-- step: row connection_pool_settings default
-- lock: ROW EXCLUSIVE on system.connection_pool_settings; reads and writes continue
INSERT INTO "system"."connection_pool_settings" ("pool_name", "min_size", "max_size", "idle_timeout_seconds", "max_lifetime_seconds", "statement_timeout_ms")
VALUES ('default', 1, 5, 300, 3600, 30000)
ON CONFLICT ("pool_name") DO UPDATE SET
    "min_size" = EXCLUDED."min_size",
    "max_size" = EXCLUDED."max_size",
    "idle_timeout_seconds" = EXCLUDED."idle_timeout_seconds",
    "max_lifetime_seconds" = EXCLUDED."max_lifetime_seconds",
    "statement_timeout_ms" = EXCLUDED."statement_timeout_ms"
;

RESET ROLE;

COMMIT;
