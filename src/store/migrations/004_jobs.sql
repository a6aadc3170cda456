-- Fine-tune jobs: the queue, with each job's frozen snapshot and the processes that run it.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    -- queued | starting | running | succeeded | failed | cancelled | lost
    state TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    started_ms INTEGER,
    ended_ms INTEGER,
    pid INTEGER,
    -- /proc/<pid>/stat field 22, so a reused pid is not mistaken for the job
    pid_start INTEGER,
    supervisor_pid INTEGER,
    supervisor_start INTEGER,
    exit_code INTEGER,
    signal INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    paused INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    -- why it failed or was lost (the last log lines for a lost job)
    reason TEXT,
    log_dir TEXT NOT NULL,
    stdout_path TEXT NOT NULL,
    stderr_path TEXT NOT NULL
);
CREATE INDEX jobs_state ON jobs(state, priority DESC, id);

CREATE TABLE job_metrics (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (job_id, step, name)
);
