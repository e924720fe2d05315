-- A cap on an application's concurrent calls; 0 takes the node default
-- (--max-calls-per-application).
ALTER TABLE voice_applications ADD COLUMN max_concurrent_calls INTEGER NOT NULL DEFAULT 0;
