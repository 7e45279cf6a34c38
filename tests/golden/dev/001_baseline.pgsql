-- tmplmig apply: 001_baseline — Baseline: application schemas and tables
-- environment: dev
-- tenant: -
-- template: templates/001_baseline.sql.j2
-- config digest: sha256:e62bf56ccf7cd9705c2c9690fd0d5091407f04b8005aa737f5e632f027bfdb91
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '5s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

BEGIN;

-- step: owner role app_owner
-- lock: not derived: the statements inside this DO block take their own locks
DO $body$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'app_owner') THEN
        CREATE ROLE "app_owner" NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
        COMMENT ON ROLE "app_owner" IS 'created by tmplmig';
    ELSIF EXISTS (
        SELECT 1 FROM pg_catalog.pg_roles
        WHERE rolname = 'app_owner'
          AND (rolcanlogin OR rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls)
    ) AND pg_catalog.current_setting('tmplmig.replay', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'owner role % may log in or holds SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS', 'app_owner'
            USING HINT = 'an owner role must be NOLOGIN without those attributes (docs/ownership.md)';
    END IF;
END
$body$;
-- lock: no table lock
GRANT "app_owner" TO CURRENT_USER;

-- step: schema auth
-- lock: no table lock
CREATE SCHEMA IF NOT EXISTS "auth" AUTHORIZATION "app_owner";

-- step: schema experiments_v1
-- lock: no table lock
CREATE SCHEMA IF NOT EXISTS "experiments_v1" AUTHORIZATION "app_owner";

-- step: schema production
-- lock: no table lock
CREATE SCHEMA IF NOT EXISTS "production" AUTHORIZATION "app_owner";

-- step: schema audits
-- lock: no table lock
CREATE SCHEMA IF NOT EXISTS "audits" AUTHORIZATION "app_owner";

-- step: schema providers
-- lock: no table lock
CREATE SCHEMA IF NOT EXISTS "providers" AUTHORIZATION "app_owner";

-- step: schema quarantine
-- lock: no table lock
CREATE SCHEMA IF NOT EXISTS "quarantine" AUTHORIZATION "app_owner";

SET ROLE "app_owner";

-- step: table auth users
-- lock: ACCESS EXCLUSIVE on auth.users; blocks reads and writes (a new table, unused yet)
CREATE TABLE IF NOT EXISTS "auth"."users" (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL UNIQUE,
    password_hash text,
    display_name text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- step: table production projects
-- lock: ACCESS EXCLUSIVE on production.projects; blocks reads and writes (a new table, unused yet)
CREATE TABLE IF NOT EXISTS "production"."projects" (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    owner_id uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- step: table experiments_v1 experiments
-- lock: ACCESS EXCLUSIVE on experiments_v1.experiments; blocks reads and writes (a new table, unused yet)
CREATE TABLE IF NOT EXISTS "experiments_v1"."experiments" (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    name text NOT NULL,
    status text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'running', 'completed', 'failed', 'archived')),
    config jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- step: table experiments_v1 evaluations
-- lock: ACCESS EXCLUSIVE on experiments_v1.evaluations; blocks reads and writes (a new table, unused yet)
CREATE TABLE IF NOT EXISTS "experiments_v1"."evaluations" (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    experiment_id uuid NOT NULL,
    metric text NOT NULL,
    score double precision,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- step: table experiments_v1 promotions
-- lock: ACCESS EXCLUSIVE on experiments_v1.promotions; blocks reads and writes (a new table, unused yet)
CREATE TABLE IF NOT EXISTS "experiments_v1"."promotions" (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    experiment_id uuid NOT NULL,
    promoted_by uuid,
    target text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- step: table production analysis_sessions
-- lock: ACCESS EXCLUSIVE on production.analysis_sessions; blocks reads and writes (a new table, unused yet)
CREATE TABLE IF NOT EXISTS "production"."analysis_sessions" (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    project_id uuid NOT NULL,
    status text NOT NULL DEFAULT 'open',
    created_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz
);

-- step: table audits audit_log
-- lock: ACCESS EXCLUSIVE on audits.audit_log; blocks reads and writes (a new table, unused yet)
CREATE TABLE IF NOT EXISTS "audits"."audit_log" (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    operation text NOT NULL,
    table_schema name NOT NULL,
    table_name name NOT NULL,
    entity_type text NOT NULL,
    entity_id text,
    action text NOT NULL,
    user_id uuid,
    app_user_id text,
    db_user name NOT NULL DEFAULT session_user,
    txid bigint NOT NULL DEFAULT txid_current(),
    old_row jsonb,
    new_row jsonb
);

-- step: table providers user_providers
-- lock: ACCESS EXCLUSIVE on providers.user_providers; blocks reads and writes (a new table, unused yet)
CREATE TABLE IF NOT EXISTS "providers"."user_providers" (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    provider text NOT NULL,
    api_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, provider)
);

-- step: table providers provider_health
-- lock: ACCESS EXCLUSIVE on providers.provider_health; blocks reads and writes (a new table, unused yet)
CREATE TABLE IF NOT EXISTS "providers"."provider_health" (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider text NOT NULL,
    status text NOT NULL,
    -- a probe's latency in milliseconds: 2^31 ms is 24 days
    -- squawk-ignore prefer-bigint-over-int
    latency_ms integer,
    checked_at timestamptz NOT NULL DEFAULT now()
);

-- step: table providers provider_usage
-- lock: ACCESS EXCLUSIVE on providers.provider_usage; blocks reads and writes (a new table, unused yet)
CREATE TABLE IF NOT EXISTS "providers"."provider_usage" (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id uuid NOT NULL,
    provider text NOT NULL,
    usage_date date NOT NULL DEFAULT current_date,
    tokens bigint NOT NULL DEFAULT 0,
    cost numeric(12, 4) NOT NULL DEFAULT 0
);

-- step: table quarantine quarantined_records
-- lock: ACCESS EXCLUSIVE on quarantine.quarantined_records; blocks reads and writes (a new table, unused yet)
CREATE TABLE IF NOT EXISTS "quarantine"."quarantined_records" (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    experiment_id uuid,
    source_table text NOT NULL,
    record jsonb NOT NULL,
    reason text NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'released', 'purged')),
    quarantined_at timestamptz NOT NULL DEFAULT now()
);

RESET ROLE;

COMMIT;
