//! Chat sessions, their messages and the sources each answer was grounded in.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

use super::StoreError;
use crate::util::now_unix;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub id: i64,
    pub title: String,
    pub collection: Option<String>,
    pub created_at: i64,
    pub messages: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredMessage {
    pub id: i64,
    pub role: String,
    pub content: String,
    pub model: Option<String>,
    pub rag: bool,
    pub stats: Option<serde_json::Value>,
    /// 1 good, -1 bad, None not rated (assistant messages only).
    pub rating: Option<i64>,
    pub sources: Vec<StoredSource>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredSource {
    pub n: i64,
    pub chunk_id: i64,
    pub source_path: String,
    pub heading_path: String,
    pub cited: bool,
}

/// What to store with an assistant message.
pub struct NewMessage<'a> {
    pub role: &'a str,
    pub content: &'a str,
    pub model: Option<&'a str>,
    pub rag: bool,
    pub stats: Option<serde_json::Value>,
    pub trace: Option<serde_json::Value>,
    pub sources: &'a [StoredSource],
}

pub fn create_session(
    conn: &Connection,
    title: &str,
    collection: Option<&str>,
) -> Result<i64, StoreError> {
    conn.execute(
        "INSERT INTO chat_sessions (title, collection, created_at) VALUES (?1, ?2, ?3)",
        params![title, collection, now_unix()],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn session(conn: &Connection, id: i64) -> Result<Session, StoreError> {
    conn.query_row(
        "SELECT s.id, s.title, s.collection, s.created_at, (SELECT count(*) FROM chat_messages m WHERE m.session_id = s.id)
         FROM chat_sessions s WHERE s.id = ?1",
        [id],
        session_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::NoDocument(format!("chat session {id}")))
}

fn session_row(r: &rusqlite::Row) -> rusqlite::Result<Session> {
    Ok(Session {
        id: r.get(0)?,
        title: r.get(1)?,
        collection: r.get(2)?,
        created_at: r.get(3)?,
        messages: r.get(4)?,
    })
}

pub fn sessions(conn: &Connection) -> Result<Vec<Session>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT s.id, s.title, s.collection, s.created_at, (SELECT count(*) FROM chat_messages m WHERE m.session_id = s.id)
         FROM chat_sessions s ORDER BY s.id DESC",
    )?;
    let rows = stmt
        .query_map([], session_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Stores a message with its sources, in the caller's (the writer's) transaction.
pub fn add_message(tx: &Transaction, session_id: i64, m: &NewMessage) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO chat_messages (session_id, role, content, model, rag, stats, trace, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            session_id,
            m.role,
            m.content,
            m.model,
            m.rag,
            m.stats.as_ref().map(|v| v.to_string()),
            m.trace.as_ref().map(|v| v.to_string()),
            now_unix()
        ],
    )?;
    let id = tx.last_insert_rowid();
    for s in m.sources {
        tx.execute(
            "INSERT INTO message_sources (message_id, n, chunk_id, source_path, heading_path, cited) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, s.n, s.chunk_id, s.source_path, s.heading_path, s.cited],
        )?;
    }
    Ok(id)
}

/// Replaces the chunks pinned to a session, in the caller's (the writer's) transaction.
pub fn set_pins(tx: &Transaction, session_id: i64, chunks: &[i64]) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM session_pins WHERE session_id = ?1",
        [session_id],
    )?;
    for chunk in chunks {
        tx.execute(
            "INSERT OR IGNORE INTO session_pins (session_id, chunk_id) VALUES (?1, ?2)",
            params![session_id, chunk],
        )?;
    }
    Ok(())
}

pub fn pins(conn: &Connection, session_id: i64) -> Result<Vec<i64>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT chunk_id FROM session_pins WHERE session_id = ?1 ORDER BY rowid")?;
    let rows = stmt
        .query_map([session_id], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn messages(conn: &Connection, session_id: i64) -> Result<Vec<StoredMessage>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, role, content, model, rag, stats, rating FROM chat_messages WHERE session_id = ?1 ORDER BY id",
    )?;
    let mut out: Vec<StoredMessage> = stmt
        .query_map([session_id], |r| {
            let stats: Option<String> = r.get(5)?;
            Ok(StoredMessage {
                id: r.get(0)?,
                role: r.get(1)?,
                content: r.get(2)?,
                model: r.get(3)?,
                rag: r.get(4)?,
                stats: stats.and_then(|s| serde_json::from_str(&s).ok()),
                rating: r.get(6)?,
                sources: Vec::new(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for m in &mut out {
        m.sources = message_sources(conn, m.id)?;
    }
    Ok(out)
}

fn message_sources(conn: &Connection, message_id: i64) -> Result<Vec<StoredSource>, StoreError> {
    let mut src = conn.prepare_cached(
        "SELECT n, chunk_id, source_path, heading_path, cited FROM message_sources WHERE message_id = ?1 ORDER BY n",
    )?;
    let rows = src
        .query_map([message_id], |r| {
            Ok(StoredSource {
                n: r.get(0)?,
                chunk_id: r.get(1)?,
                source_path: r.get(2)?,
                heading_path: r.get(3)?,
                cited: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A user's verdict on an answer; stored as 1 (good) and -1 (bad).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating {
    Good,
    Bad,
}

impl Rating {
    pub fn value(self) -> i64 {
        match self {
            Rating::Good => 1,
            Rating::Bad => -1,
        }
    }

    pub fn from_value(v: i64) -> Option<Rating> {
        match v {
            1 => Some(Rating::Good),
            -1 => Some(Rating::Bad),
            _ => None,
        }
    }
}

/// Rates an assistant message (None clears the rating), in the caller's (the writer's)
/// transaction. Only answers carry a rating: rating a question or a missing id is an error.
pub fn set_rating(
    tx: &Transaction,
    message_id: i64,
    rating: Option<Rating>,
) -> Result<(), StoreError> {
    let changed = tx.execute(
        "UPDATE chat_messages SET rating = ?2 WHERE id = ?1 AND role = 'assistant'",
        params![message_id, rating.map(Rating::value)],
    )?;
    if changed == 0 {
        return Err(StoreError::NoAnswer(message_id));
    }
    Ok(())
}

/// The newest answer of `session` with this text: how the console finds an answer it saved
/// itself (its stream never learns the message id).
pub fn answer_id(conn: &Connection, session: i64, content: &str) -> Result<i64, StoreError> {
    conn.query_row(
        "SELECT id FROM chat_messages WHERE session_id = ?1 AND role = 'assistant' AND content = ?2
         ORDER BY id DESC LIMIT 1",
        params![session, content],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| StoreError::NoDocument(format!("answer in chat session {session}")))
}

/// A source of a rated answer, with the chunk it points at when that chunk still exists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatedSource {
    pub source: StoredSource,
    /// (document id, document title, chunk text), None once the chunk was rewritten or removed.
    pub chunk: Option<(i64, String, String)>,
}

/// A rated answer with the question it answered (the user message before it in its session).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatedAnswer {
    pub message_id: i64,
    pub session_id: i64,
    pub question: Option<String>,
    pub answer: String,
    pub rating: i64,
    pub rag: bool,
    pub sources: Vec<RatedSource>,
}

/// Answers rated `rating`, oldest first.
pub fn rated_answers(conn: &Connection, rating: Rating) -> Result<Vec<RatedAnswer>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT m.id, m.session_id, m.content, m.rag, m.rating,
                (SELECT q.content FROM chat_messages q
                  WHERE q.session_id = m.session_id AND q.id < m.id AND q.role = 'user'
                  ORDER BY q.id DESC LIMIT 1)
         FROM chat_messages m WHERE m.role = 'assistant' AND m.rating = ?1 ORDER BY m.id",
    )?;
    let mut out = stmt
        .query_map([rating.value()], |r| {
            Ok(RatedAnswer {
                message_id: r.get(0)?,
                session_id: r.get(1)?,
                answer: r.get(2)?,
                rag: r.get(3)?,
                rating: r.get(4)?,
                question: r.get(5)?,
                sources: Vec::new(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for a in &mut out {
        for source in message_sources(conn, a.message_id)? {
            let chunk = match super::documents::chunk(conn, source.chunk_id) {
                Ok(c) => Some((c.chunk.document_id, c.title, c.chunk.text)),
                Err(StoreError::NoDocument(_)) => None,
                Err(e) => return Err(e),
            };
            a.sources.push(RatedSource { source, chunk });
        }
    }
    Ok(out)
}
