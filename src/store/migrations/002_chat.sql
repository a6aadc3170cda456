-- Generation models (lineage for fine-tuned ones), chat sessions, messages and the sources
-- each answer was given and cited.

CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- 'onnx': a local model folder (Optimum text-generation-with-past layout)
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    -- The model this one was derived from (fine-tune lineage), by name.
    base_model TEXT,
    source TEXT NOT NULL DEFAULT '',
    added_at INTEGER NOT NULL
);

CREATE TABLE chat_sessions (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    collection TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE chat_messages (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES chat_sessions(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content TEXT NOT NULL,
    model TEXT,
    rag INTEGER NOT NULL DEFAULT 0,
    -- JSON: tokens, time to first token, tokens/s, finish reason
    stats TEXT,
    -- JSON: the retrieval result the answer was grounded in
    trace TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX chat_messages_session ON chat_messages(session_id, id);

-- The numbered sources of an answer. chunk_id is kept as a plain number: chunks are rewritten
-- when their document changes, and the path still says where the source was.
CREATE TABLE message_sources (
    message_id INTEGER NOT NULL REFERENCES chat_messages(id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    chunk_id INTEGER NOT NULL,
    source_path TEXT NOT NULL,
    heading_path TEXT NOT NULL DEFAULT '',
    cited INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (message_id, n)
);
