-- tmplmig apply: 002b_foreign_keys — 002b: foreign key constraints
-- environment: dev
-- tenant: -
-- template: templates/002b_foreign_keys.sql.j2
-- config digest: sha256:e62bf56ccf7cd9705c2c9690fd0d5091407f04b8005aa737f5e632f027bfdb91
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '5s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

SET ROLE "app_owner";

-- step: foreign key fk_experiments_user
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT EXISTS (SELECT FROM pg_catalog.pg_constraint
    WHERE conrelid = pg_catalog.to_regclass('"experiments_v1"."experiments"') AND conname = 'fk_experiments_user' AND NOT convalidated) AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on experiments_v1.experiments, auth.users; blocks reads and writes (catalog update only, no scan; only when the foreign key exists: its triggers on this table go)
-- left NOT VALID by an interrupted run: added again below as the template says
-- squawk-ignore ban-drop-constraint
ALTER TABLE "experiments_v1"."experiments" DROP CONSTRAINT IF EXISTS "fk_experiments_user";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_constraint
    WHERE conrelid = pg_catalog.to_regclass('"experiments_v1"."experiments"') AND conname = 'fk_experiments_user') AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: SHARE ROW EXCLUSIVE on experiments_v1.experiments, auth.users; blocks writes; reads continue (catalog update only: NOT VALID, no scan)
ALTER TABLE "experiments_v1"."experiments"
    ADD CONSTRAINT "fk_experiments_user" FOREIGN KEY ("user_id")
    REFERENCES "auth"."users" ("id")
    ON DELETE RESTRICT NOT VALID;
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: validate fk_experiments_user
SET statement_timeout = '0';
-- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.experiments; reads and writes continue (while the rows are checked)
-- lock: ROW SHARE on auth.users; reads and writes continue
ALTER TABLE "experiments_v1"."experiments" VALIDATE CONSTRAINT "fk_experiments_user";
SET statement_timeout = '5min';

-- step: foreign key fk_evaluations_experiment
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT EXISTS (SELECT FROM pg_catalog.pg_constraint
    WHERE conrelid = pg_catalog.to_regclass('"experiments_v1"."evaluations"') AND conname = 'fk_evaluations_experiment' AND NOT convalidated) AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on experiments_v1.evaluations, experiments_v1.experiments; blocks reads and writes (catalog update only, no scan; only when the foreign key exists: its triggers on this table go)
-- left NOT VALID by an interrupted run: added again below as the template says
-- squawk-ignore ban-drop-constraint
ALTER TABLE "experiments_v1"."evaluations" DROP CONSTRAINT IF EXISTS "fk_evaluations_experiment";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_constraint
    WHERE conrelid = pg_catalog.to_regclass('"experiments_v1"."evaluations"') AND conname = 'fk_evaluations_experiment') AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: SHARE ROW EXCLUSIVE on experiments_v1.evaluations, experiments_v1.experiments; blocks writes; reads continue (catalog update only: NOT VALID, no scan)
ALTER TABLE "experiments_v1"."evaluations"
    ADD CONSTRAINT "fk_evaluations_experiment" FOREIGN KEY ("experiment_id")
    REFERENCES "experiments_v1"."experiments" ("id")
    ON DELETE CASCADE NOT VALID;
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: validate fk_evaluations_experiment
SET statement_timeout = '0';
-- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.evaluations; reads and writes continue (while the rows are checked)
-- lock: ROW SHARE on experiments_v1.experiments; reads and writes continue
ALTER TABLE "experiments_v1"."evaluations" VALIDATE CONSTRAINT "fk_evaluations_experiment";
SET statement_timeout = '5min';

-- step: foreign key fk_promotions_experiment
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT EXISTS (SELECT FROM pg_catalog.pg_constraint
    WHERE conrelid = pg_catalog.to_regclass('"experiments_v1"."promotions"') AND conname = 'fk_promotions_experiment' AND NOT convalidated) AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on experiments_v1.promotions, experiments_v1.experiments; blocks reads and writes (catalog update only, no scan; only when the foreign key exists: its triggers on this table go)
-- left NOT VALID by an interrupted run: added again below as the template says
-- squawk-ignore ban-drop-constraint
ALTER TABLE "experiments_v1"."promotions" DROP CONSTRAINT IF EXISTS "fk_promotions_experiment";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_constraint
    WHERE conrelid = pg_catalog.to_regclass('"experiments_v1"."promotions"') AND conname = 'fk_promotions_experiment') AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: SHARE ROW EXCLUSIVE on experiments_v1.promotions, experiments_v1.experiments; blocks writes; reads continue (catalog update only: NOT VALID, no scan)
ALTER TABLE "experiments_v1"."promotions"
    ADD CONSTRAINT "fk_promotions_experiment" FOREIGN KEY ("experiment_id")
    REFERENCES "experiments_v1"."experiments" ("id")
    ON DELETE CASCADE NOT VALID;
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: validate fk_promotions_experiment
SET statement_timeout = '0';
-- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.promotions; reads and writes continue (while the rows are checked)
-- lock: ROW SHARE on experiments_v1.experiments; reads and writes continue
ALTER TABLE "experiments_v1"."promotions" VALIDATE CONSTRAINT "fk_promotions_experiment";
SET statement_timeout = '5min';

-- step: foreign key fk_sessions_user
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT EXISTS (SELECT FROM pg_catalog.pg_constraint
    WHERE conrelid = pg_catalog.to_regclass('"production"."analysis_sessions"') AND conname = 'fk_sessions_user' AND NOT convalidated) AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on production.analysis_sessions, auth.users; blocks reads and writes (catalog update only, no scan; only when the foreign key exists: its triggers on this table go)
-- left NOT VALID by an interrupted run: added again below as the template says
-- squawk-ignore ban-drop-constraint
ALTER TABLE "production"."analysis_sessions" DROP CONSTRAINT IF EXISTS "fk_sessions_user";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_constraint
    WHERE conrelid = pg_catalog.to_regclass('"production"."analysis_sessions"') AND conname = 'fk_sessions_user') AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: SHARE ROW EXCLUSIVE on production.analysis_sessions, auth.users; blocks writes; reads continue (catalog update only: NOT VALID, no scan)
ALTER TABLE "production"."analysis_sessions"
    ADD CONSTRAINT "fk_sessions_user" FOREIGN KEY ("user_id")
    REFERENCES "auth"."users" ("id")
    ON DELETE CASCADE NOT VALID;
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: validate fk_sessions_user
SET statement_timeout = '0';
-- lock: SHARE UPDATE EXCLUSIVE on production.analysis_sessions; reads and writes continue (while the rows are checked)
-- lock: ROW SHARE on auth.users; reads and writes continue
ALTER TABLE "production"."analysis_sessions" VALIDATE CONSTRAINT "fk_sessions_user";
SET statement_timeout = '5min';

-- step: foreign key fk_sessions_project
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT EXISTS (SELECT FROM pg_catalog.pg_constraint
    WHERE conrelid = pg_catalog.to_regclass('"production"."analysis_sessions"') AND conname = 'fk_sessions_project' AND NOT convalidated) AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on production.analysis_sessions, production.projects; blocks reads and writes (catalog update only, no scan; only when the foreign key exists: its triggers on this table go)
-- left NOT VALID by an interrupted run: added again below as the template says
-- squawk-ignore ban-drop-constraint
ALTER TABLE "production"."analysis_sessions" DROP CONSTRAINT IF EXISTS "fk_sessions_project";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_constraint
    WHERE conrelid = pg_catalog.to_regclass('"production"."analysis_sessions"') AND conname = 'fk_sessions_project') AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: SHARE ROW EXCLUSIVE on production.analysis_sessions, production.projects; blocks writes; reads continue (catalog update only: NOT VALID, no scan)
ALTER TABLE "production"."analysis_sessions"
    ADD CONSTRAINT "fk_sessions_project" FOREIGN KEY ("project_id")
    REFERENCES "production"."projects" ("id")
    ON DELETE CASCADE NOT VALID;
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: validate fk_sessions_project
SET statement_timeout = '0';
-- lock: SHARE UPDATE EXCLUSIVE on production.analysis_sessions; reads and writes continue (while the rows are checked)
-- lock: ROW SHARE on production.projects; reads and writes continue
ALTER TABLE "production"."analysis_sessions" VALIDATE CONSTRAINT "fk_sessions_project";
SET statement_timeout = '5min';

-- step: foreign key fk_quarantine_experiment
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT EXISTS (SELECT FROM pg_catalog.pg_constraint
    WHERE conrelid = pg_catalog.to_regclass('"quarantine"."quarantined_records"') AND conname = 'fk_quarantine_experiment' AND NOT convalidated) AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: ACCESS EXCLUSIVE on quarantine.quarantined_records, experiments_v1.experiments; blocks reads and writes (catalog update only, no scan; only when the foreign key exists: its triggers on this table go)
-- left NOT VALID by an interrupted run: added again below as the template says
-- squawk-ignore ban-drop-constraint
ALTER TABLE "quarantine"."quarantined_records" DROP CONSTRAINT IF EXISTS "fk_quarantine_experiment";
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif
-- guard (yoyo asks the same): the statement runs when this returns true
\unset tmplmig_note
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_constraint
    WHERE conrelid = pg_catalog.to_regclass('"quarantine"."quarantined_records"') AND conname = 'fk_quarantine_experiment') AS run
\gset tmplmig_
\if :tmplmig_run
-- lock: SHARE ROW EXCLUSIVE on quarantine.quarantined_records, experiments_v1.experiments; blocks writes; reads continue (catalog update only: NOT VALID, no scan)
ALTER TABLE "quarantine"."quarantined_records"
    ADD CONSTRAINT "fk_quarantine_experiment" FOREIGN KEY ("experiment_id")
    REFERENCES "experiments_v1"."experiments" ("id")
    ON DELETE SET NULL NOT VALID;
\elif :{?tmplmig_note}
\warn :tmplmig_note
\endif

-- step: validate fk_quarantine_experiment
SET statement_timeout = '0';
-- lock: SHARE UPDATE EXCLUSIVE on quarantine.quarantined_records; reads and writes continue (while the rows are checked)
-- lock: ROW SHARE on experiments_v1.experiments; reads and writes continue
ALTER TABLE "quarantine"."quarantined_records" VALIDATE CONSTRAINT "fk_quarantine_experiment";
SET statement_timeout = '5min';

RESET ROLE;
