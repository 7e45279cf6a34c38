-- tmplmig rollback: 002b_foreign_keys — 002b: foreign key constraints
-- environment: prod
-- tenant: -
-- template: templates/002b_foreign_keys.sql.j2
-- config digest: sha256:b88f39306a7e2ec117d3b77946f93dd2eabe4c025a603778951954ccfca41a25
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '2s';
SET statement_timeout = '5min';
SET client_connection_check_interval = '2s';

-- steps as role "app_owner", while it exists: without it, nothing it owned is left
SELECT pg_catalog.to_regrole('"app_owner"') IS NOT NULL AS role_exists
\gset tmplmig_
\if :tmplmig_role_exists
SET ROLE "app_owner";

-- step: foreign key fk_quarantine_experiment
-- lock: ACCESS EXCLUSIVE on quarantine.quarantined_records, experiments_v1.experiments; blocks reads and writes (catalog update only, no scan; only when the foreign key exists: its triggers on this table go)
ALTER TABLE IF EXISTS "quarantine"."quarantined_records" DROP CONSTRAINT IF EXISTS "fk_quarantine_experiment";

-- step: foreign key fk_sessions_project
-- lock: ACCESS EXCLUSIVE on production.analysis_sessions, production.projects; blocks reads and writes (catalog update only, no scan; only when the foreign key exists: its triggers on this table go)
ALTER TABLE IF EXISTS "production"."analysis_sessions" DROP CONSTRAINT IF EXISTS "fk_sessions_project";

-- step: foreign key fk_sessions_user
-- lock: ACCESS EXCLUSIVE on production.analysis_sessions, auth.users; blocks reads and writes (catalog update only, no scan; only when the foreign key exists: its triggers on this table go)
ALTER TABLE IF EXISTS "production"."analysis_sessions" DROP CONSTRAINT IF EXISTS "fk_sessions_user";

-- step: foreign key fk_promotions_experiment
-- lock: ACCESS EXCLUSIVE on experiments_v1.promotions, experiments_v1.experiments; blocks reads and writes (catalog update only, no scan; only when the foreign key exists: its triggers on this table go)
ALTER TABLE IF EXISTS "experiments_v1"."promotions" DROP CONSTRAINT IF EXISTS "fk_promotions_experiment";

-- step: foreign key fk_evaluations_experiment
-- lock: ACCESS EXCLUSIVE on experiments_v1.evaluations, experiments_v1.experiments; blocks reads and writes (catalog update only, no scan; only when the foreign key exists: its triggers on this table go)
ALTER TABLE IF EXISTS "experiments_v1"."evaluations" DROP CONSTRAINT IF EXISTS "fk_evaluations_experiment";

-- step: foreign key fk_experiments_user
-- lock: ACCESS EXCLUSIVE on experiments_v1.experiments, auth.users; blocks reads and writes (catalog update only, no scan; only when the foreign key exists: its triggers on this table go)
ALTER TABLE IF EXISTS "experiments_v1"."experiments" DROP CONSTRAINT IF EXISTS "fk_experiments_user";

RESET ROLE;
\endif
