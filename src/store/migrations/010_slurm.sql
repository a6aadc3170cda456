-- Slurm backend: where a job runs ('local' or 'slurm') and, for a Slurm job, its Slurm id
-- ("123", or "123_4" for a task of an array job), so the watcher can ask Slurm about it.
ALTER TABLE jobs ADD COLUMN backend TEXT NOT NULL DEFAULT 'local';
ALTER TABLE jobs ADD COLUMN slurm_job_id TEXT;
CREATE INDEX jobs_backend_state ON jobs(backend, state);
