-- tmplmig apply: 002b_foreign_keys — 002b: foreign key constraints
-- environment: dev
-- tenant: -
-- template: templates/002b_foreign_keys.sql.j2
-- config digest: sha256:b676e6eaf7187bf2c991676b30d5f1ef9a7c6468cc612eef5eb0f98d1bb83e5a
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '5s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

SET ROLE "app_owner";

-- step: foreign key fk_experiments_user
DO $body$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_constraint
        WHERE conrelid = '"experiments_v1"."experiments"'::regclass AND conname = 'fk_experiments_user'
    ) THEN
        ALTER TABLE "experiments_v1"."experiments"
            ADD CONSTRAINT "fk_experiments_user" FOREIGN KEY ("user_id")
            REFERENCES "auth"."users" ("id")
            ON DELETE RESTRICT NOT VALID;
    END IF;
END
$body$;

-- step: validate fk_experiments_user
SET statement_timeout = '0';
ALTER TABLE "experiments_v1"."experiments" VALIDATE CONSTRAINT "fk_experiments_user";
SET statement_timeout = '5min';

-- step: foreign key fk_evaluations_experiment
DO $body$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_constraint
        WHERE conrelid = '"experiments_v1"."evaluations"'::regclass AND conname = 'fk_evaluations_experiment'
    ) THEN
        ALTER TABLE "experiments_v1"."evaluations"
            ADD CONSTRAINT "fk_evaluations_experiment" FOREIGN KEY ("experiment_id")
            REFERENCES "experiments_v1"."experiments" ("id")
            ON DELETE CASCADE NOT VALID;
    END IF;
END
$body$;

-- step: validate fk_evaluations_experiment
SET statement_timeout = '0';
ALTER TABLE "experiments_v1"."evaluations" VALIDATE CONSTRAINT "fk_evaluations_experiment";
SET statement_timeout = '5min';

-- step: foreign key fk_promotions_experiment
DO $body$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_constraint
        WHERE conrelid = '"experiments_v1"."promotions"'::regclass AND conname = 'fk_promotions_experiment'
    ) THEN
        ALTER TABLE "experiments_v1"."promotions"
            ADD CONSTRAINT "fk_promotions_experiment" FOREIGN KEY ("experiment_id")
            REFERENCES "experiments_v1"."experiments" ("id")
            ON DELETE CASCADE NOT VALID;
    END IF;
END
$body$;

-- step: validate fk_promotions_experiment
SET statement_timeout = '0';
ALTER TABLE "experiments_v1"."promotions" VALIDATE CONSTRAINT "fk_promotions_experiment";
SET statement_timeout = '5min';

-- step: foreign key fk_sessions_user
DO $body$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_constraint
        WHERE conrelid = '"production"."analysis_sessions"'::regclass AND conname = 'fk_sessions_user'
    ) THEN
        ALTER TABLE "production"."analysis_sessions"
            ADD CONSTRAINT "fk_sessions_user" FOREIGN KEY ("user_id")
            REFERENCES "auth"."users" ("id")
            ON DELETE CASCADE NOT VALID;
    END IF;
END
$body$;

-- step: validate fk_sessions_user
SET statement_timeout = '0';
ALTER TABLE "production"."analysis_sessions" VALIDATE CONSTRAINT "fk_sessions_user";
SET statement_timeout = '5min';

-- step: foreign key fk_sessions_project
DO $body$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_constraint
        WHERE conrelid = '"production"."analysis_sessions"'::regclass AND conname = 'fk_sessions_project'
    ) THEN
        ALTER TABLE "production"."analysis_sessions"
            ADD CONSTRAINT "fk_sessions_project" FOREIGN KEY ("project_id")
            REFERENCES "production"."projects" ("id")
            ON DELETE CASCADE NOT VALID;
    END IF;
END
$body$;

-- step: validate fk_sessions_project
SET statement_timeout = '0';
ALTER TABLE "production"."analysis_sessions" VALIDATE CONSTRAINT "fk_sessions_project";
SET statement_timeout = '5min';

-- step: foreign key fk_quarantine_experiment
DO $body$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_constraint
        WHERE conrelid = '"quarantine"."quarantined_records"'::regclass AND conname = 'fk_quarantine_experiment'
    ) THEN
        ALTER TABLE "quarantine"."quarantined_records"
            ADD CONSTRAINT "fk_quarantine_experiment" FOREIGN KEY ("experiment_id")
            REFERENCES "experiments_v1"."experiments" ("id")
            ON DELETE SET NULL NOT VALID;
    END IF;
END
$body$;

-- step: validate fk_quarantine_experiment
SET statement_timeout = '0';
ALTER TABLE "quarantine"."quarantined_records" VALIDATE CONSTRAINT "fk_quarantine_experiment";
SET statement_timeout = '5min';

RESET ROLE;
