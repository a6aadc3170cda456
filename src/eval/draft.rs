//! Drafting question/answer pairs from sampled chunks with a chat model, for a person to
//! review: each reply must be one `Q: ...` line and one `A: ...` line, or it is skipped (and
//! counted), never stored.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rusqlite::{params, Connection};
use serde::Serialize;
use std::collections::BTreeMap;

use super::set::{Item, NewSet, SetStatus};
use crate::generate::{
    Cancel, ChatMessage, GenerateError, GenerateEvent, GenerateRequest, Generator, SamplingParams,
};
use crate::store::StoreError;

/// Chunks with fewer words give the model too little to ask about.
pub const MIN_WORDS: usize = 40;
/// Passage characters shown to the model at most (small models have small contexts).
const MAX_PASSAGE_CHARS: usize = 2400;

#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Generate(#[from] GenerateError),
    #[error("collection `{0}` has no active chunk of {MIN_WORDS} words or more to draft questions from; ingest documents into it first (`lmdeck ingest PATH -c {0}`)")]
    NoChunks(String),
}

impl From<rusqlite::Error> for DraftError {
    fn from(e: rusqlite::Error) -> Self {
        DraftError::Store(StoreError::Sql(e))
    }
}

/// A sampled chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    pub chunk_id: i64,
    pub source_path: String,
    pub text: String,
}

/// Up to `n` chunks of the collection, in an order fixed by `seed`: not excluded, of active
/// documents, at least [`MIN_WORDS`] words long.
pub fn sample(
    conn: &Connection,
    collection: &str,
    n: usize,
    seed: u64,
) -> Result<Vec<Passage>, DraftError> {
    let mut stmt = conn.prepare(
        "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id
           JOIN collections k ON k.id = d.collection_id
         WHERE k.name = ?1 AND NOT c.excluded AND d.status = 'active' ORDER BY c.id",
    )?;
    let mut ids = stmt
        .query_map([collection], |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    ids.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    let mut read = conn.prepare(
        "SELECT c.text, d.source_path FROM chunks c JOIN documents d ON d.id = c.document_id
         WHERE c.id = ?1",
    )?;
    let mut out = Vec::new();
    for id in ids {
        if out.len() >= n {
            break;
        }
        let (text, source_path): (String, String) =
            read.query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if text.split_whitespace().count() >= MIN_WORDS {
            out.push(Passage {
                chunk_id: id,
                source_path,
                text,
            });
        }
    }
    if out.is_empty() && n > 0 {
        return Err(DraftError::NoChunks(collection.to_string()));
    }
    Ok(out)
}

/// The conversation asking for one pair about a passage.
pub fn prompt(passage: &str) -> Vec<ChatMessage> {
    let passage: String = passage.chars().take(MAX_PASSAGE_CHARS).collect();
    vec![
        ChatMessage::new(
            "system",
            "You write quiz questions about a passage. Reply with exactly two lines and nothing else:\nQ: <one question that the passage answers>\nA: <the short answer, a few words from the passage>",
        ),
        ChatMessage::new(
            "user",
            format!("Passage:\n\"\"\"\n{passage}\n\"\"\"\n\nWrite ONE question about this passage and its short answer, as:\nQ: ...\nA: ..."),
        ),
    ]
}

/// The conversation asking for the answer to a drafted question (small models often end
/// their reply after `A:`).
pub fn answer_prompt(passage: &str, question: &str) -> Vec<ChatMessage> {
    let passage: String = passage.chars().take(MAX_PASSAGE_CHARS).collect();
    vec![
        ChatMessage::new(
            "system",
            "Answer the question from the passage in a few words. Reply with the answer only.",
        ),
        ChatMessage::new(
            "user",
            format!("Passage:\n\"\"\"\n{passage}\n\"\"\"\n\nQuestion: {question}"),
        ),
    ]
}

fn field(line: &str, names: &[&str]) -> Option<String> {
    let line = line.trim().trim_start_matches(['*', '#', '-', ' ']);
    names.iter().find_map(|name| {
        let rest = line.strip_prefix(name)?;
        let rest = rest.trim_start_matches('*').trim_start();
        let value = rest.trim().trim_matches('*').trim();
        (!value.is_empty()).then(|| value.to_string())
    })
}

/// The question of a reply that has one (`Q: ...?`) but no answer line.
pub fn question_only(reply: &str) -> Option<String> {
    reply
        .lines()
        .find_map(|l| field(l, &["Q:", "Question:"]))
        .filter(|q| q.ends_with('?') && q.chars().count() <= 300)
}

/// The answer of a reply to [`answer_prompt`]: its first non-empty line, if short.
pub fn parse_answer(reply: &str) -> Option<String> {
    let line = reply.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = field(line, &["A:", "Answer:"]).unwrap_or_else(|| line.to_string());
    (line.chars().count() <= 200 && !line.ends_with('?')).then_some(line)
}

/// The question and answer of a reply, or None when it does not have the asked-for shape.
pub fn parse_reply(reply: &str) -> Option<(String, String)> {
    let lines: Vec<&str> = reply.lines().filter(|l| !l.trim().is_empty()).collect();
    let q_at = lines
        .iter()
        .position(|l| field(l, &["Q:", "Question:"]).is_some())?;
    let question = field(lines[q_at], &["Q:", "Question:"])?;
    let answer = lines[q_at + 1..]
        .iter()
        .find_map(|l| field(l, &["A:", "Answer:"]))?;
    let ok = question.ends_with('?')
        && question.chars().count() <= 300
        && answer.chars().count() <= 200
        && !answer.contains("Q:");
    ok.then_some((question, answer))
}

/// One drafted pair and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct DraftedPair {
    pub key: String,
    pub question: String,
    pub answer: String,
    pub chunk_id: i64,
    pub source_path: String,
}

#[derive(Debug, Clone)]
pub struct Drafted {
    pub set: NewSet,
    pub pairs: Vec<DraftedPair>,
    /// Replies that did not parse.
    pub skipped: usize,
}

pub struct DraftOptions<'a> {
    pub name: &'a str,
    pub collection: &'a str,
    pub model: &'a str,
    pub seed: u64,
    pub max_new_tokens: usize,
}

/// Asks the model about each passage; `on_pair` sees each pair (or the reply that did not
/// parse) as it comes.
pub fn draft(
    generator: &dyn Generator,
    passages: &[Passage],
    options: &DraftOptions,
    on_pair: &mut dyn FnMut(&Passage, Result<&DraftedPair, &str>),
) -> Result<Drafted, DraftError> {
    let mut pairs = Vec::new();
    let mut skipped = 0;
    for passage in passages {
        let request = GenerateRequest {
            messages: prompt(&passage.text),
            sampling: SamplingParams {
                temperature: 0.0,
                top_k: 0,
                top_p: 1.0,
                repetition_penalty: 1.1,
                seed: options.seed,
            },
            max_new_tokens: options.max_new_tokens,
            stop: vec!["\n\n\n".into()],
        };
        let reply = ask(generator, &request)?;
        let mut parsed = parse_reply(&reply);
        if parsed.is_none() {
            if let Some(question) = question_only(&reply) {
                let request = GenerateRequest {
                    messages: answer_prompt(&passage.text, &question),
                    ..request
                };
                parsed = parse_answer(&ask(generator, &request)?).map(|a| (question, a));
            }
        }
        match parsed {
            Some((question, answer)) => {
                let pair = DraftedPair {
                    key: format!("d{:03}", pairs.len() + 1),
                    question,
                    answer,
                    chunk_id: passage.chunk_id,
                    source_path: passage.source_path.clone(),
                };
                on_pair(passage, Ok(&pair));
                pairs.push(pair);
            }
            None => {
                skipped += 1;
                on_pair(passage, Err(&reply));
            }
        }
    }
    let items = pairs
        .iter()
        .map(|p| Item {
            key: p.key.clone(),
            question: p.question.clone(),
            answers: vec![p.answer.clone()],
            gold_docs: BTreeMap::from([(p.source_path.clone(), 1)]),
            gold_chunks: vec![p.chunk_id],
            unanswerable: false,
            draft: true,
        })
        .collect();
    let set = NewSet {
        name: options.name.to_string(),
        source: format!("draft:{}", options.collection),
        format: "draft".into(),
        sha256: String::new(),
        collection: Some(options.collection.to_string()),
        status: SetStatus::Draft,
        meta: serde_json::json!({
            "kind": "qa",
            "model": options.model,
            "seed": options.seed,
            "skipped": skipped,
            "sampled": passages.len(),
        }),
        items,
    };
    Ok(Drafted {
        set,
        pairs,
        skipped,
    })
}

fn ask(generator: &dyn Generator, request: &GenerateRequest) -> Result<String, DraftError> {
    let mut reply = String::new();
    generator.generate(request, &Cancel::default(), &mut |event| {
        if let GenerateEvent::Text(piece) = event {
            reply.push_str(&piece);
        }
    })?;
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_parse_only_in_the_asked_for_shape() {
        assert_eq!(
            parse_reply("Q: When is rent due?\nA: On the first day"),
            Some(("When is rent due?".into(), "On the first day".into()))
        );
        assert_eq!(
            parse_reply("Sure!\n**Question:** Who wrote it?\n\n**Answer:** Anna Berg\nThanks"),
            Some(("Who wrote it?".into(), "Anna Berg".into()))
        );
        assert_eq!(parse_reply("Q: Not a question\nA: x"), None);
        assert_eq!(parse_reply("Q: Why?\n"), None);
        assert_eq!(parse_reply("A: first\nQ: Why?"), None);
        assert_eq!(parse_reply("The passage is about rent."), None);
        assert_eq!(parse_reply("Q: Why?\nA:   "), None);
        assert_eq!(question_only("Q: Why?\nA:"), Some("Why?".into()));
        assert_eq!(question_only("Q: No"), None);
        assert_eq!(
            parse_answer("\n A: the first day\nmore"),
            Some("the first day".into())
        );
        assert_eq!(parse_answer("Why not?"), None);
    }

    #[test]
    fn pairs_become_draft_items_and_bad_replies_are_counted() {
        let passages: Vec<Passage> = (1..=2)
            .map(|i| Passage {
                chunk_id: i,
                source_path: format!("/docs/{i}.md"),
                text: "Rent is due on the first day.".into(),
            })
            .collect();
        let options = DraftOptions {
            name: "d",
            collection: "kb",
            model: "m",
            seed: 1,
            max_new_tokens: 64,
        };
        let good = crate::generate::test_engine::ScriptedGenerator::new(
            "Q: When is rent due?\nA: the first day",
        );
        let mut seen = 0;
        let out = draft(&good, &passages, &options, &mut |_, _| seen += 1).unwrap();
        assert_eq!((out.pairs.len(), out.skipped, seen), (2, 0, 2));
        let item = &out.set.items[1];
        assert!(item.draft && item.gold_chunks == [2] && item.gold_docs.contains_key("/docs/2.md"));
        assert_eq!(out.set.status, SetStatus::Draft);
        assert_eq!(out.set.source, "draft:kb");
        let bad = crate::generate::test_engine::ScriptedGenerator::new("I like rent.");
        let out = draft(&bad, &passages, &options, &mut |_, _| {}).unwrap();
        assert_eq!((out.set.items.len(), out.skipped), (0, 2));
        assert_eq!(out.set.meta["skipped"], 2);
    }

    #[test]
    fn the_prompt_bounds_the_passage() {
        let long = "word ".repeat(2000);
        let messages = prompt(&long);
        assert_eq!(messages.len(), 2);
        assert!(messages[1].content.len() < MAX_PASSAGE_CHARS + 300);
    }
}
