-- The "before" picture for bench/ddl_stall.py: migration 002a/002b as the seed wrote it.
-- Plain CREATE INDEX blocks every INSERT/UPDATE/DELETE on the table for the whole build;
-- ADD FOREIGN KEY validates at once, blocking writes on both tables for the whole scan.
-- Run with: psql -v ON_ERROR_STOP=1 -f bench/seed_002ab.sql (on tables made by 001_baseline)

CREATE INDEX IF NOT EXISTS idx_experiments_v1_status_created ON experiments_v1.experiments (status, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_experiments_v1_user_status ON experiments_v1.experiments (user_id, status);
CREATE INDEX IF NOT EXISTS idx_evaluations_experiment ON experiments_v1.evaluations (experiment_id, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_production_user_project ON production.analysis_sessions (user_id, project_id);
CREATE INDEX IF NOT EXISTS idx_production_created_at ON production.analysis_sessions (created_at DESC);
CREATE INDEX IF NOT EXISTS idx_audit_timestamp ON audits.audit_log (occurred_at DESC);
CREATE INDEX IF NOT EXISTS idx_audit_user_action ON audits.audit_log (user_id, action);
CREATE INDEX IF NOT EXISTS idx_audit_entity ON audits.audit_log (entity_type, entity_id);
CREATE INDEX IF NOT EXISTS idx_quarantine_status ON quarantine.quarantined_records (status, quarantined_at);
CREATE INDEX IF NOT EXISTS idx_provider_health_status ON providers.provider_health (provider, status, checked_at DESC);
CREATE INDEX IF NOT EXISTS idx_provider_usage_date ON providers.provider_usage (usage_date, provider);

ALTER TABLE experiments_v1.experiments ADD CONSTRAINT fk_experiments_user
    FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE RESTRICT;
ALTER TABLE experiments_v1.evaluations ADD CONSTRAINT fk_evaluations_experiment
    FOREIGN KEY (experiment_id) REFERENCES experiments_v1.experiments (id) ON DELETE CASCADE;
ALTER TABLE experiments_v1.promotions ADD CONSTRAINT fk_promotions_experiment
    FOREIGN KEY (experiment_id) REFERENCES experiments_v1.experiments (id) ON DELETE CASCADE;
ALTER TABLE production.analysis_sessions ADD CONSTRAINT fk_sessions_user
    FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE CASCADE;
ALTER TABLE production.analysis_sessions ADD CONSTRAINT fk_sessions_project
    FOREIGN KEY (project_id) REFERENCES production.projects (id) ON DELETE CASCADE;
ALTER TABLE quarantine.quarantined_records ADD CONSTRAINT fk_quarantine_experiment
    FOREIGN KEY (experiment_id) REFERENCES experiments_v1.experiments (id) ON DELETE SET NULL;
