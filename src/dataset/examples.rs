//! Building training conversations from an evaluation set, the corpus and rated chat answers.

use std::collections::HashSet;

use super::{DatasetError, Example, Format, Skipped};
use crate::eval::answer::normalize;
use crate::eval::qa_set::QaItem;
use crate::generate::ChatMessage;
use crate::rag::context::Source;
use crate::rag::prompt;
use crate::retrieve::Hit;
use crate::store::chat::RatedAnswer;
use crate::store::documents::{ChunkRow, DocumentRow};

/// Retrieval for RAG examples: a question in, ranked candidate chunks out.
pub type Retrieve<'a> = dyn FnMut(&str) -> Result<Vec<Hit>, DatasetError> + 'a;

/// Chunks shorter than this teach nothing worth a training step.
const MIN_CHUNK_CHARS: usize = 80;
/// Longest answer taken from a chunk, cut at a sentence end where one is near.
const MAX_ANSWER_CHARS: usize = 600;

/// Appends the citation before a closing full stop: `... month [1].`
pub fn cite(answer: &str, n: usize) -> String {
    let answer = answer.trim();
    match answer.strip_suffix('.') {
        Some(body) => format!("{body} [{n}]."),
        None => format!("{answer} [{n}]"),
    }
}

/// The sources for a RAG example: the first `k` candidates, with the first candidate that
/// holds the answer (`holds`) brought in last if retrieval ranked it lower. Returns the
/// sources and the number of the one that holds the answer, or `None` when no candidate does.
fn sources_with_answer(
    candidates: &[Hit],
    k: usize,
    holds: impl Fn(&Hit) -> bool,
    fallback: Option<Hit>,
) -> Option<(Vec<Source>, usize)> {
    let k = k.max(1);
    let mut chosen: Vec<&Hit> = candidates.iter().take(k).collect();
    let extra;
    if !chosen.iter().any(|h| holds(h)) {
        let found = candidates.iter().skip(k).find(|h| holds(h));
        let answer_hit = match (found, &fallback) {
            (Some(hit), _) => hit,
            (None, Some(hit)) => {
                extra = hit.clone();
                &extra
            }
            (None, None) => return None,
        };
        if chosen.len() == k {
            chosen.pop();
        }
        chosen.push(answer_hit);
    }
    let sources: Vec<Source> = chosen
        .iter()
        .enumerate()
        .map(|(i, h)| Source::from_hit(i + 1, h))
        .collect();
    let n = chosen.iter().position(|h| holds(h))? + 1;
    Some((sources, n))
}

/// The retrieved chunk of the item's document that the answer was read from: the one sharing
/// the most of the answer's words (SQuAD-normalised), the better-ranked one on a tie. Citing
/// the document's first-ranked chunk instead would teach the model to cite, and read, a
/// source that does not hold the answer whenever the document has several chunks.
fn answer_chunk(candidates: &[Hit], item: &QaItem) -> Option<i64> {
    let answer = normalize(&item.answer);
    let words: HashSet<&str> = answer.split(' ').filter(|w| !w.is_empty()).collect();
    let mut best: Option<(usize, i64)> = None;
    for hit in candidates
        .iter()
        .filter(|h| item.names_document(&h.source_path))
    {
        let text = normalize(&hit.text);
        let have: HashSet<&str> = text.split(' ').collect();
        let shared = words.iter().filter(|w| have.contains(*w)).count();
        if best.is_none_or(|(most, _)| shared > most) {
            best = Some((shared, hit.chunk_id));
        }
    }
    best.map(|(_, chunk_id)| chunk_id)
}

fn conversation(question: &str, sources: &[Source], answer: String) -> Vec<ChatMessage> {
    let mut messages = prompt::messages(question, &[], sources);
    messages.push(ChatMessage::new("assistant", answer));
    messages
}

/// One example per evaluation item (the caller has already held out the evaluation split).
pub fn from_qa(
    items: &[QaItem],
    format: Format,
    k: usize,
    retrieve: &mut Retrieve,
    skipped: &mut Skipped,
) -> Result<Vec<Example>, DatasetError> {
    let mut out = Vec::new();
    for item in items {
        let origin = format!("eval:{}", item.id);
        let messages = match format {
            Format::Chat => conversation(&item.question, &[], item.answer.trim().to_string()),
            Format::Rag => {
                let candidates = retrieve(&item.question)?;
                let Some(answer_chunk) = answer_chunk(&candidates, item) else {
                    skipped.source_not_retrieved += 1;
                    continue;
                };
                let holds = |h: &Hit| h.chunk_id == answer_chunk;
                let Some((sources, n)) = sources_with_answer(&candidates, k, holds, None) else {
                    skipped.source_not_retrieved += 1;
                    continue;
                };
                conversation(&item.question, &sources, cite(&item.answer, n))
            }
        };
        out.push(Example { messages, origin });
    }
    Ok(out)
}

/// A question a chunk answers, from its document's title and the chunk's heading path.
pub fn question_for(title: &str, heading_path: &str) -> String {
    let title = title.trim();
    let heading = heading_path
        .rsplit(" > ")
        .next()
        .map(str::trim)
        .filter(|h| !h.is_empty() && *h != title);
    match heading {
        Some(h) => format!("What does \"{title}\" say about {h}?"),
        None => format!("What does \"{title}\" say?"),
    }
}

/// The start of `text`, at most [`MAX_ANSWER_CHARS`], ending at a sentence end when there
/// is one in its second half.
pub fn excerpt(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_ANSWER_CHARS {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX_ANSWER_CHARS).collect();
    match cut.rfind(". ") {
        Some(end) if end > cut.len() / 2 => cut[..=end].to_string(),
        _ => format!("{}...", cut.trim_end()),
    }
}

fn chunk_hit(doc: &DocumentRow, chunk: &ChunkRow) -> Hit {
    Hit {
        rank: 0,
        chunk_id: chunk.id,
        document_id: doc.id,
        source_path: doc.source_path.clone(),
        title: doc.title.clone(),
        heading_path: chunk.heading_path.clone(),
        ordinal: chunk.ordinal,
        byte_start: chunk.byte_start,
        byte_end: chunk.byte_end,
        text: chunk.text.clone(),
        trace: Default::default(),
    }
}

/// One example per usable chunk of `documents` (with their chunks), leaving out the
/// documents that `eval_items` ask about.
pub fn from_corpus(
    documents: &[(DocumentRow, Vec<ChunkRow>)],
    eval_items: &[QaItem],
    format: Format,
    k: usize,
    limit: Option<usize>,
    retrieve: &mut Retrieve,
    skipped: &mut Skipped,
) -> Result<Vec<Example>, DatasetError> {
    let mut out = Vec::new();
    for (doc, chunks) in documents {
        if eval_items
            .iter()
            .any(|i| i.names_document(&doc.source_path))
        {
            skipped.eval_documents += chunks.iter().filter(|c| !c.excluded).count();
            continue;
        }
        for chunk in chunks.iter().filter(|c| !c.excluded) {
            if limit.is_some_and(|n| out.len() >= n) {
                return Ok(out);
            }
            if chunk.text.trim().chars().count() < MIN_CHUNK_CHARS {
                skipped.too_short += 1;
                continue;
            }
            let question = question_for(&doc.title, &chunk.heading_path);
            let answer = excerpt(&chunk.text);
            let messages = match format {
                Format::Chat => conversation(&question, &[], answer),
                Format::Rag => {
                    let candidates = retrieve(&question)?;
                    let own = chunk_hit(doc, chunk);
                    let holds = |h: &Hit| h.chunk_id == chunk.id;
                    let Some((sources, n)) = sources_with_answer(&candidates, k, holds, Some(own))
                    else {
                        skipped.source_not_retrieved += 1;
                        continue;
                    };
                    conversation(&question, &sources, cite(&answer, n))
                }
            };
            out.push(Example {
                messages,
                origin: format!("corpus:{}#{}", doc.source_path, chunk.ordinal),
            });
        }
    }
    Ok(out)
}

/// A question as compared with evaluation questions: lower case, whitespace collapsed.
pub fn normalise_question(q: &str) -> String {
    q.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// One example per answer rated good, leaving out those whose question is one of
/// `held_questions` (normalised with [`normalise_question`]). Rag examples give the answer
/// the numbered sources it was given, so they need every source chunk to still exist.
pub fn from_chats(
    answers: &[RatedAnswer],
    held_questions: &[String],
    format: Format,
    skipped: &mut Skipped,
) -> Vec<Example> {
    let mut out = Vec::new();
    for a in answers {
        let Some(question) = a.question.as_deref().filter(|q| !q.trim().is_empty()) else {
            skipped.no_question += 1;
            continue;
        };
        if held_questions.contains(&normalise_question(question)) {
            skipped.eval_questions += 1;
            continue;
        }
        let answer = a.answer.trim().to_string();
        let messages = match format {
            Format::Chat => conversation(question, &[], answer),
            Format::Rag => {
                let sources: Option<Vec<Source>> = a
                    .sources
                    .iter()
                    .map(|s| {
                        let (document_id, title, text) = s.chunk.clone()?;
                        Some(Source {
                            n: usize::try_from(s.source.n).ok()?,
                            chunk_id: s.source.chunk_id,
                            document_id,
                            source_path: s.source.source_path.clone(),
                            title,
                            heading_path: s.source.heading_path.clone(),
                            text,
                        })
                    })
                    .collect();
                let Some(sources) = sources else {
                    skipped.sources_gone += 1;
                    continue;
                };
                conversation(question, &sources, answer)
            }
        };
        out.push(Example {
            messages,
            origin: format!("chat:{}#{}", a.session_id, a.message_id),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(chunk_id: i64, path: &str) -> Hit {
        Hit {
            rank: chunk_id as usize,
            chunk_id,
            document_id: chunk_id,
            source_path: path.into(),
            title: format!("doc {chunk_id}"),
            heading_path: String::new(),
            ordinal: 0,
            byte_start: 0,
            byte_end: 1,
            text: format!("text of chunk {chunk_id}"),
            trace: Default::default(),
        }
    }

    fn item() -> QaItem {
        QaItem {
            id: "q1".into(),
            question: "What is the hotel limit in London?".into(),
            answer: "$375 per night.".into(),
            doc_paths: vec!["handbook/expenses.md".into()],
        }
    }

    #[test]
    fn rag_examples_use_the_inference_prompt_and_cite_the_source_with_the_answer() {
        let candidates = vec![
            hit(1, "/c/handbook/pto.md"),
            hit(2, "/c/handbook/expenses.md"),
            hit(3, "/c/faq/travel.md"),
        ];
        let mut retrieve = |_: &str| Ok(candidates.clone());
        let mut skipped = Skipped::default();
        let out = from_qa(&[item()], Format::Rag, 3, &mut retrieve, &mut skipped).unwrap();
        assert_eq!(out.len(), 1);
        let m = &out[0].messages;
        let sources: Vec<Source> = candidates
            .iter()
            .enumerate()
            .map(|(i, h)| Source::from_hit(i + 1, h))
            .collect();
        let expected_prompt = prompt::messages(&item().question, &[], &sources);
        assert_eq!(&m[..m.len() - 1], &expected_prompt[..]);
        assert_eq!(m.last().unwrap().role, "assistant");
        assert_eq!(m.last().unwrap().content, "$375 per night [2].");
        assert_eq!(out[0].origin, "eval:q1");
    }

    #[test]
    fn a_lower_ranked_answer_source_is_brought_in_and_a_missing_one_is_skipped() {
        let candidates = vec![
            hit(1, "/c/a.md"),
            hit(2, "/c/b.md"),
            hit(3, "/c/handbook/expenses.md"),
        ];
        let mut retrieve = |_: &str| Ok(candidates.clone());
        let mut skipped = Skipped::default();
        let out = from_qa(&[item()], Format::Rag, 2, &mut retrieve, &mut skipped).unwrap();
        let user = &out[0].messages[1].content;
        assert!(
            user.contains("text of chunk 1") && user.contains("text of chunk 3"),
            "{user}"
        );
        assert!(!user.contains("text of chunk 2"), "{user}");
        assert!(out[0].messages[2].content.ends_with("[2]."));

        let mut nothing = |_: &str| Ok(vec![hit(1, "/c/a.md")]);
        let out = from_qa(&[item()], Format::Rag, 2, &mut nothing, &mut skipped).unwrap();
        assert!(out.is_empty());
        assert_eq!(skipped.source_not_retrieved, 1);
    }

    #[test]
    fn the_cited_source_is_the_chunk_of_the_document_that_holds_the_answer() {
        let mut intro = hit(1, "/c/handbook/expenses.md");
        intro.text = "Expenses: how to submit them and when they are paid.".into();
        let mut hotels = hit(3, "/c/handbook/expenses.md");
        hotels.text = "Hotels: $375 per night in London, $275 elsewhere.".into();
        let mut meals = hit(9, "/c/handbook/expenses.md");
        meals.text = "Meals: $75 per day.".into();
        let candidates = vec![intro, hit(2, "/c/a.md"), meals, hotels.clone()];
        let mut retrieve = |_: &str| Ok(candidates.clone());
        let mut skipped = Skipped::default();
        let out = from_qa(&[item()], Format::Rag, 3, &mut retrieve, &mut skipped).unwrap();
        let user = &out[0].messages[1].content;
        assert!(
            user.contains("$375 per night in London"),
            "brought in: {user}"
        );
        assert_eq!(out[0].messages[2].content, "$375 per night [3].");

        // Equally good chunks: the better-ranked one.
        let mut twin = hotels.clone();
        twin.chunk_id = 4;
        let candidates = vec![hit(2, "/c/a.md"), hotels, twin];
        let mut retrieve = |_: &str| Ok(candidates.clone());
        let out = from_qa(&[item()], Format::Rag, 3, &mut retrieve, &mut skipped).unwrap();
        assert_eq!(out[0].messages[2].content, "$375 per night [2].");
    }

    #[test]
    fn chat_examples_are_the_question_and_the_answer() {
        let mut retrieve = |_: &str| -> Result<Vec<Hit>, DatasetError> { unreachable!() };
        let mut skipped = Skipped::default();
        let out = from_qa(&[item()], Format::Chat, 3, &mut retrieve, &mut skipped).unwrap();
        let roles: Vec<&str> = out[0].messages.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["user", "assistant"]);
        assert_eq!(out[0].messages[1].content, "$375 per night.");
    }

    fn rated(question: &str, chunk: Option<(i64, String, String)>) -> RatedAnswer {
        use crate::store::chat::{RatedSource, StoredSource};
        RatedAnswer {
            message_id: 7,
            session_id: 3,
            question: Some(question.into()),
            answer: " Run nodectl drain [1]. ".into(),
            rating: 1,
            rag: true,
            sources: vec![RatedSource {
                source: StoredSource {
                    n: 1,
                    chunk_id: 42,
                    source_path: "/c/gpu-drain.md".into(),
                    heading_path: "Drain > Steps".into(),
                    cited: true,
                },
                chunk,
            }],
        }
    }

    #[test]
    fn good_chat_answers_become_examples_with_the_sources_they_were_given() {
        let chunk = Some((
            5,
            "Drain".to_string(),
            "nodectl drain --grace 300".to_string(),
        ));
        let answers = [
            rated("How do I drain a node?", chunk.clone()),
            rated("  WHEN are   invoices issued? ", chunk),
            rated("Where did the source go?", None),
        ];
        let held = vec![normalise_question("When are invoices issued?")];
        let mut skipped = Skipped::default();
        let chat = from_chats(&answers, &held, Format::Chat, &mut skipped);
        assert_eq!(chat.len(), 2);
        assert_eq!(skipped.eval_questions, 1);
        let roles: Vec<&str> = chat[0].messages.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["user", "assistant"]);
        assert_eq!(chat[0].messages[1].content, "Run nodectl drain [1].");
        assert_eq!(chat[0].origin, "chat:3#7");

        let mut skipped = Skipped::default();
        let rag = from_chats(&answers, &held, Format::Rag, &mut skipped);
        assert_eq!(rag.len(), 1);
        assert_eq!(skipped.sources_gone, 1);
        let source = Source {
            n: 1,
            chunk_id: 42,
            document_id: 5,
            source_path: "/c/gpu-drain.md".into(),
            title: "Drain".into(),
            heading_path: "Drain > Steps".into(),
            text: "nodectl drain --grace 300".into(),
        };
        let m = &rag[0].messages;
        let expected = prompt::messages("How do I drain a node?", &[], &[source]);
        assert_eq!(&m[..m.len() - 1], &expected[..]);
        assert_eq!(m.last().unwrap().content, "Run nodectl drain [1].");

        let mut nobody = rated("x", None);
        nobody.question = None;
        let mut skipped = Skipped::default();
        assert!(from_chats(&[nobody], &[], Format::Chat, &mut skipped).is_empty());
        assert_eq!(skipped.no_question, 1);
    }

    #[test]
    fn questions_and_excerpts_read_well() {
        assert_eq!(
            question_for("Travel and expenses", "Travel and expenses > Hotels"),
            "What does \"Travel and expenses\" say about Hotels?"
        );
        assert_eq!(question_for("PTO", ""), "What does \"PTO\" say?");
        let long = "One sentence here. ".repeat(60);
        let e = excerpt(&long);
        assert!(e.len() <= MAX_ANSWER_CHARS && e.ends_with('.'), "{e}");
        assert_eq!(cite("no full stop", 3), "no full stop [3]");
    }
}
