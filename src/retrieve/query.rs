//! User text to an FTS5 expression. Every term is quoted and OR-ed, so no input can be FTS5
//! syntax (quotes, `NEAR`, `*`, `-`, column filters): it is always just words to look for.

use rusqlite::{Connection, OptionalExtension};
use rust_stemmers::{Algorithm, Stemmer};

use crate::store::write::collection_token;
use crate::store::StoreError;

/// Function words whose posting lists span nearly every chunk: BM25 gives them almost no
/// weight, yet OR-ing them makes FTS5 visit most of the index.
const STOPWORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did",
    "do", "does", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it",
    "its", "may", "me", "my", "no", "not", "of", "on", "or", "our", "should", "so", "than", "that",
    "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "was", "we",
    "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with",
    "would", "you", "your",
];

/// Words of the query, lower-cased and de-duplicated, in order, without stopwords (unless
/// the query has nothing else).
pub fn terms(text: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let all: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| t.to_lowercase())
        .filter(|t| seen.insert(t.clone()))
        .take(64)
        .collect();
    let content: Vec<String> = all
        .iter()
        .filter(|t| !STOPWORDS.contains(&t.as_str()))
        .cloned()
        .collect();
    if content.is_empty() {
        all
    } else {
        content
    }
}

/// `coll : "lmdeckcoll3" AND body : ("gpu" OR "drain")`, or None when the text has no words.
pub fn fts_expression(text: &str, collection_id: i64) -> Option<String> {
    expression(&terms(text), Some(collection_id))
}

/// The keyword stage's query: the expression, and the terms left out as too common.
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordQuery {
    pub expression: String,
    pub dropped: Vec<String>,
}

/// Like `fts_expression`, leaving out terms found in more than `common_term_chunks` chunks
/// (0 = keep all); the rarest term is always kept. Counts come from the FTS5 vocabulary,
/// looked up by the Porter stem the index stores (a stem that is not found keeps its term).
pub fn keyword_query(
    conn: &Connection,
    text: &str,
    collection_id: i64,
    common_term_chunks: usize,
) -> Result<Option<KeywordQuery>, StoreError> {
    let all = terms(text);
    let mut dropped = Vec::new();
    let mut kept = all.clone();
    if common_term_chunks > 0 && !all.is_empty() {
        let stemmer = Stemmer::create(Algorithm::English);
        let mut lookup = conn.prepare_cached("SELECT doc FROM chunks_fts_vocab WHERE term = ?1")?;
        let mut counts = Vec::with_capacity(all.len());
        for term in &all {
            let stem = stemmer.stem(term);
            let count: i64 = lookup
                .query_row([stem.as_ref()], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            counts.push(count as usize);
        }
        let rarest = counts.iter().copied().min().unwrap_or(0);
        kept.clear();
        for (term, count) in all.iter().zip(&counts) {
            if *count > common_term_chunks {
                dropped.push(term.clone());
            } else {
                kept.push(term.clone());
            }
        }
        if kept.is_empty() {
            // every term is common: keep the rarest so the stage still ranks something
            if let Some(i) = counts.iter().position(|c| *c == rarest) {
                kept.push(all[i].clone());
                dropped.retain(|t| *t != all[i]);
            }
        }
    }
    if kept.is_empty() {
        return Ok(None);
    }
    let filter = keeps_the_token(conn, collection_id)?.then_some(collection_id);
    Ok(expression(&kept, filter).map(|expression| KeywordQuery {
        expression,
        dropped,
    }))
}

/// Whether the collection's token should stay in the match. Scores never depend on it (the
/// table's rank is `bm25(1.0, 0.0)`: the `coll` column weighs nothing), so this is about speed
/// only: FTS5 walks the token's posting list (an entry per chunk of the collection), about half
/// of the keyword stage at 100k chunks, which pays off only when it narrows the match, i.e. when
/// the collection holds at most half of the indexed chunks. Otherwise the keyword stage drops
/// other collections' rows after the match. With one collection in the store (the usual case)
/// two index probes decide it; otherwise the token's count is read.
fn keeps_the_token(conn: &Connection, collection_id: i64) -> Result<bool, StoreError> {
    let others: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM documents WHERE collection_id < ?1)
             OR EXISTS (SELECT 1 FROM documents WHERE collection_id > ?1)",
        [collection_id],
        |r| r.get(0),
    )?;
    if !others {
        return Ok(false);
    }
    let ours: i64 = conn
        .query_row(
            "SELECT doc FROM chunks_fts_vocab WHERE term = ?1",
            [collection_token(collection_id)],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    let all: i64 = conn.query_row("SELECT count(*) FROM chunks", [], |r| r.get(0))?;
    Ok(ours * 2 <= all)
}

/// `coll : "lmdeckcoll3" AND body : ("gpu" OR "drain")`, or without the collection part.
fn expression(terms: &[String], collection_id: Option<i64>) -> Option<String> {
    if terms.is_empty() {
        return None;
    }
    let quoted: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
    let body = format!("body : ({})", quoted.join(" OR "));
    Some(match collection_id {
        Some(id) => format!("coll : \"{}\" AND {body}", collection_token(id)),
        None => body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_becomes_quoted_words() {
        let expr = fts_expression("\"drain* NEAR(gpu) -node body:x AND", 2).unwrap();
        assert_eq!(
            expr,
            "coll : \"lmdeckcoll2\" AND body : (\"drain\" OR \"near\" OR \"gpu\" OR \"node\" OR \"body\" OR \"x\")"
        );
        assert_eq!(fts_expression("?!  ***", 1), None);
    }

    #[test]
    fn common_terms_are_left_out_but_never_all() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE chunks_fts USING fts5(body, coll, tokenize = 'porter unicode61 remove_diacritics 2');
             CREATE VIRTUAL TABLE chunks_fts_vocab USING fts5vocab(chunks_fts, 'row');
             CREATE TABLE documents (id INTEGER PRIMARY KEY, collection_id INTEGER NOT NULL);
             CREATE TABLE chunks (id INTEGER PRIMARY KEY);
             INSERT INTO documents (collection_id) VALUES (1), (2);",
        )
        .unwrap();
        for i in 0..10 {
            let body = if i == 0 {
                "gpu nodes draining"
            } else {
                "gpu nodes"
            };
            // collection 1 holds three of the ten chunks, collection 2 seven
            let coll = if i < 3 { "lmdeckcoll1" } else { "lmdeckcoll2" };
            conn.execute(
                "INSERT INTO chunks_fts (body, coll) VALUES (?1, ?2)",
                [body, coll],
            )
            .unwrap();
            conn.execute("INSERT INTO chunks DEFAULT VALUES", [])
                .unwrap();
        }
        let q = keyword_query(&conn, "draining GPU nodes", 1, 5)
            .unwrap()
            .unwrap();
        assert_eq!(q.dropped, ["gpu", "nodes"]);
        assert!(q.expression.ends_with("(\"draining\")"), "{}", q.expression);
        let q = keyword_query(&conn, "GPU nodes", 1, 5).unwrap().unwrap();
        assert_eq!(q.dropped, ["nodes"]);
        let q = keyword_query(&conn, "GPU nodes", 1, 0).unwrap().unwrap();
        assert!(q.dropped.is_empty());
        assert!(q.expression.starts_with("coll : \"lmdeckcoll1\" AND "));

        // A collection with most of the chunks is filtered after the match instead, as is
        // the only collection of a store.
        let q = keyword_query(&conn, "GPU nodes", 2, 0).unwrap().unwrap();
        assert_eq!(q.expression, "body : (\"gpu\" OR \"nodes\")");
        conn.execute("DELETE FROM documents WHERE collection_id = 2", [])
            .unwrap();
        let q = keyword_query(&conn, "GPU nodes", 1, 0).unwrap().unwrap();
        assert_eq!(q.expression, "body : (\"gpu\" OR \"nodes\")");
        assert_eq!(keyword_query(&conn, "?!", 1, 0).unwrap(), None);
    }

    #[test]
    fn stopwords_are_dropped_unless_nothing_else_is_left() {
        assert_eq!(terms("How do I drain the node?"), ["drain", "node"]);
        assert_eq!(terms("to be or not to be"), ["to", "be", "or", "not"]);
    }

    #[test]
    fn unicode_words_survive() {
        assert_eq!(
            terms("Ça va? naïve GPU-Knoten"),
            ["ça", "va", "naïve", "gpu", "knoten"]
        );
    }
}
