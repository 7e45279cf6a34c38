-- tmplmig rollback: 002b_foreign_keys — 002b: foreign key constraints
-- environment: prod
-- tenant: -
-- template: templates/002b_foreign_keys.sql.j2
-- config digest: sha256:9985cac23435ba8d06c49925d44d6acfde2f8af0fca973eefe08e14629a0c3dd
-- run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET lock_timeout = '2s';

SET ROLE "app_owner";

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

RESET ROLE;
