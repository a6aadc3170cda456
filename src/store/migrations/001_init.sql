-- Collections carry the index manifest: which embedding model and chunker built them.
CREATE TABLE embed_models (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    dim         INTEGER NOT NULL,
    -- Mean vector the binary codes are taken around, and how many vectors it was computed on.
    center      BLOB,
    center_n    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (name, sha256)
);

CREATE TABLE collections (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL,
    model_id       INTEGER REFERENCES embed_models(id),
    chunk_target   INTEGER,
    chunk_overlap  INTEGER,
    last_sync      INTEGER
);

-- Folders or files a collection was ingested from, so it can be re-synced.
CREATE TABLE collection_roots (
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    root          TEXT NOT NULL,
    PRIMARY KEY (collection_id, root)
);

CREATE TABLE documents (
    id             INTEGER PRIMARY KEY,
    collection_id  INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    source_path    TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    size           INTEGER NOT NULL,
    mtime          INTEGER NOT NULL,
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'excluded')),
    title          TEXT NOT NULL DEFAULT '',
    format         TEXT NOT NULL,
    ingested_at    INTEGER NOT NULL,
    UNIQUE (collection_id, source_path)
);
CREATE INDEX documents_by_hash ON documents (collection_id, content_sha256);

CREATE TABLE document_tags (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    tag         TEXT NOT NULL,
    PRIMARY KEY (document_id, tag)
);

CREATE TABLE chunks (
    id           INTEGER PRIMARY KEY,
    document_id  INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal      INTEGER NOT NULL,
    text         TEXT NOT NULL,
    byte_start   INTEGER NOT NULL,
    byte_end     INTEGER NOT NULL,
    heading_path TEXT NOT NULL DEFAULT '',
    token_count  INTEGER NOT NULL,
    text_sha256  TEXT NOT NULL,
    excluded     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (document_id, ordinal)
);

-- Standalone FTS5 index keyed by chunk id. `coll` holds a per-collection token so the
-- collection filter runs inside the full-text match instead of after it.
CREATE VIRTUAL TABLE chunks_fts USING fts5(body, coll, tokenize = 'porter unicode61 remove_diacritics 2');
-- Rank by BM25 over the body only, as the table's default, so `ORDER BY rank LIMIT n` takes
-- FTS5's fast top-n path.
INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('rank', 'bm25(1.0, 0.0)');
-- Per-term document counts, to drop terms too common to rank by from large collections.
CREATE VIRTUAL TABLE chunks_fts_vocab USING fts5vocab(chunks_fts, 'row');
