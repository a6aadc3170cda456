-- Chunks pinned to a session: offered as sources to every answer in it, before retrieved ones.
CREATE TABLE session_pins (
    session_id INTEGER NOT NULL REFERENCES chat_sessions(id) ON DELETE CASCADE,
    chunk_id INTEGER NOT NULL,
    PRIMARY KEY (session_id, chunk_id)
);
