-- GPU scheduling: the GPUs (UUIDs, comma-separated) given to a job, and why a queued job
-- still waits (GPUs busy, dependencies, the running limit), shown by `jobs list` and `show`.
ALTER TABLE jobs ADD COLUMN gpu_uuids TEXT;
ALTER TABLE jobs ADD COLUMN wait_reason TEXT;
