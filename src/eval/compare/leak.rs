//! Leakage: a fine-tuned model whose training data holds the set's questions. The CLI reads the
//! training file its lineage names; this module only parses and matches text.

use std::collections::BTreeSet;

/// Lowercase, punctuation dropped, whitespace collapsed: "What is X?" and "what is  x" match.
pub fn normalise(text: &str) -> String {
    let kept: String = text
        .chars()
        .filter(|c| !c.is_ascii_punctuation() && !matches!(c, '“' | '”' | '‘' | '’'))
        .flat_map(char::to_lowercase)
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The questions of a chat-format training file (`{"messages": [...]}` per line), normalised:
/// each user message whole, its last line, and the text after its last `Question:` (RAG
/// examples put the sources first). Lines that are not such JSON are skipped.
pub fn training_questions(jsonl: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in jsonl.lines() {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(messages) = value.get("messages").and_then(|m| m.as_array()) else {
            continue;
        };
        for m in messages {
            if m.get("role").and_then(|r| r.as_str()) != Some("user") {
                continue;
            }
            let Some(text) = m.get("content").and_then(|c| c.as_str()) else {
                continue;
            };
            let last_line = text.lines().rev().find(|l| !l.trim().is_empty());
            let after = text.rsplit_once("Question:").map(|(_, q)| q);
            for candidate in [Some(text), last_line, after].into_iter().flatten() {
                let n = normalise(candidate);
                if !n.is_empty() {
                    out.insert(n);
                }
            }
        }
    }
    out
}

/// How many of the set's questions the training data holds.
pub fn overlap<'a>(questions: impl Iterator<Item = &'a str>, trained: &BTreeSet<String>) -> usize {
    questions
        .filter(|q| trained.contains(&normalise(q)))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_match_whatever_their_case_spacing_and_punctuation() {
        assert_eq!(
            normalise("  What's the  PTO\tpolicy? "),
            "whats the pto policy"
        );
    }

    #[test]
    fn plain_and_rag_examples_both_yield_their_question() {
        let jsonl = concat!(
            r#"{"messages":[{"role":"user","content":"How many days of PTO?"},{"role":"assistant","content":"25"}]}"#,
            "\n",
            r#"{"messages":[{"role":"system","content":"Use the sources."},{"role":"user","content":"Sources:\n\n[1] x\n\nQuestion: Who approves leave?"}]}"#,
            "\nnot json\n",
        );
        let trained = training_questions(jsonl);
        let set = [
            "how many days of pto",
            "Who approves leave?",
            "Unseen question?",
        ];
        assert_eq!(overlap(set.into_iter(), &trained), 2);
        assert!(!trained.contains("use the sources"));
    }
}
