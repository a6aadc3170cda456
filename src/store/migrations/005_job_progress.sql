-- A job's latest progress reading (its main tqdm bar or the trainer's step counters), kept
-- beside its per-step metrics so that `jobs show` and the console need not re-read the logs.
CREATE TABLE job_progress (
    job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    done INTEGER NOT NULL,
    total INTEGER,
    elapsed_s REAL,
    remaining_s REAL,
    rate REAL,
    -- when the reading was stored; stall alerts compare it with the clock
    updated_ms INTEGER NOT NULL,
    -- bytes of stdout and stderr already parsed, so a restarted supervisor resumes there
    stdout_offset INTEGER NOT NULL DEFAULT 0,
    stderr_offset INTEGER NOT NULL DEFAULT 0
);

-- When the supervisor first stored each step (stall alerts use the time between steps).
ALTER TABLE job_metrics ADD COLUMN seen_ms INTEGER;

-- A job continued from its last checkpoint (`jobs resume` on an ended job): the checkpoint
-- and its step, which the next run is given and from which its metrics continue.
ALTER TABLE jobs ADD COLUMN resume_from TEXT;
ALTER TABLE jobs ADD COLUMN resume_step INTEGER;
