-- tmplmig rollback: 002b_foreign_keys — 002b: foreign key constraints
-- environment: dev
-- tenant: -
-- template: templates/002b_foreign_keys.sql.j2
-- config digest: sha256:920422ab38c80594c0b1024ebdff6dd3ca4fbc87da3c0c74b169b75f2a0fa22d
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '5s';

-- step: foreign key fk_quarantine_experiment
ALTER TABLE IF EXISTS "quarantine"."quarantined_records" DROP CONSTRAINT IF EXISTS "fk_quarantine_experiment";

-- step: foreign key fk_sessions_project
ALTER TABLE IF EXISTS "production"."analysis_sessions" DROP CONSTRAINT IF EXISTS "fk_sessions_project";

-- step: foreign key fk_sessions_user
ALTER TABLE IF EXISTS "production"."analysis_sessions" DROP CONSTRAINT IF EXISTS "fk_sessions_user";

-- step: foreign key fk_promotions_experiment
ALTER TABLE IF EXISTS "experiments_v1"."promotions" DROP CONSTRAINT IF EXISTS "fk_promotions_experiment";

-- step: foreign key fk_evaluations_experiment
ALTER TABLE IF EXISTS "experiments_v1"."evaluations" DROP CONSTRAINT IF EXISTS "fk_evaluations_experiment";

-- step: foreign key fk_experiments_user
ALTER TABLE IF EXISTS "experiments_v1"."experiments" DROP CONSTRAINT IF EXISTS "fk_experiments_user";
