-- Evaluation: labelled sets, runs of a configuration over a set, and one result per item.

-- A labelled set, imported from a file or folder (its sha256 says which content), or drafted
-- by a model from a collection's chunks (status 'draft' until a person accepts it).
CREATE TABLE eval_sets (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    source      TEXT NOT NULL,
    format      TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    -- The collection the gold document ids refer to (SQuAD contexts are ingested into one).
    collection  TEXT,
    status      TEXT NOT NULL DEFAULT 'accepted' CHECK (status IN ('accepted', 'draft')),
    created_ms  INTEGER NOT NULL,
    meta        TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE eval_items (
    id            INTEGER PRIMARY KEY,
    set_id        INTEGER NOT NULL REFERENCES eval_sets(id) ON DELETE CASCADE,
    ordinal       INTEGER NOT NULL,
    item_key      TEXT NOT NULL,
    question      TEXT NOT NULL,
    -- JSON: ["answer", ...]; empty for an unanswerable item.
    answers       TEXT NOT NULL DEFAULT '[]',
    -- JSON: {"document id or path": grade, ...} (grade > 0 is relevant).
    gold_docs     TEXT NOT NULL DEFAULT '{}',
    -- JSON: [chunk id, ...]
    gold_chunks   TEXT NOT NULL DEFAULT '[]',
    unanswerable  INTEGER NOT NULL DEFAULT 0,
    draft         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (set_id, item_key)
);
CREATE INDEX eval_items_set ON eval_items(set_id, ordinal);

-- One configuration evaluated on a set; executed by a job (job_id) or in process.
CREATE TABLE eval_runs (
    id          INTEGER PRIMARY KEY,
    set_id      INTEGER NOT NULL REFERENCES eval_sets(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    -- JSON: the frozen configuration (collection, model, rag, retrieval, prompt, sampling).
    config      TEXT NOT NULL,
    item_limit  INTEGER,
    total       INTEGER NOT NULL,
    job_id      INTEGER,
    status      TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    error       TEXT,
    created_ms  INTEGER NOT NULL,
    started_ms  INTEGER,
    ended_ms    INTEGER
);
CREATE INDEX eval_runs_set ON eval_runs(set_id);

-- An item's outcome in a run. A failed item is stored as 'error' (never as a result) and is
-- evaluated again when the run is resumed or retried.
CREATE TABLE eval_results (
    run_id       INTEGER NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
    item_id      INTEGER NOT NULL REFERENCES eval_items(id) ON DELETE CASCADE,
    status       TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    answer       TEXT,
    -- JSON: the outcome's details (sources, citations, attribution, ranking, timings).
    detail       TEXT NOT NULL DEFAULT '{}',
    -- JSON: {"metric": value, ...}; a metric that does not apply is absent.
    metrics      TEXT NOT NULL DEFAULT '{}',
    error        TEXT,
    attempts     INTEGER NOT NULL DEFAULT 1,
    finished_ms  INTEGER NOT NULL,
    PRIMARY KEY (run_id, item_id)
);
-- Removing a set's items cascades here by item.
CREATE INDEX eval_results_item ON eval_results(item_id);
