//! Answer metrics: exact match and token F1 (the official SQuAD v2.0 evaluate script's
//! definitions), abstention, and citation precision and recall.
//!
//! - `normalize`: lower case, ASCII punctuation removed, the articles "a", "an", "the"
//!   removed as whole words, white space collapsed (SQuAD's `normalize_answer`).
//! - Exact match: 1 when the normalised prediction equals a normalised gold answer.
//! - Token F1: harmonic mean of token precision and recall over the bag of normalised
//!   tokens shared with a gold answer; when either side has no tokens, 1 if both are empty
//!   else 0. Both take the best gold answer; with no gold answers both are 0.
//! - Abstention rule: an answer abstains when it is empty (or white space), or when its
//!   first sentence, or the whole answer when it has at most `SHORT_ANSWER_WORDS` words,
//!   contains one of `ABSTENTION_PHRASES` as whole words (case and apostrophe style aside:
//!   ’ counts as ').
//! - Citations: a cited source is correct when its document is a gold document
//!   (`same_document`) or its chunk a gold chunk; the same (document, chunk) cited twice
//!   counts once. Precision = correct cited / cited (None with no citations); recall = gold
//!   documents (gold chunks when no documents are given) cited at least once / gold count
//!   (None with no gold).

use std::collections::HashMap;

use regex::Regex;
use std::sync::OnceLock;

use crate::rag::sentences;

/// SQuAD's answer normalisation.
pub fn normalize(text: &str) -> String {
    let lower = text.to_lowercase();
    // string.punctuation is exactly the ASCII punctuation set.
    let no_punct: String = lower
        .chars()
        .filter(|c| !c.is_ascii_punctuation())
        .collect();
    static ARTICLES: OnceLock<Option<Regex>> = OnceLock::new();
    let no_articles = match ARTICLES.get_or_init(|| Regex::new(r"\b(a|an|the)\b").ok()) {
        Some(re) => re.replace_all(&no_punct, " ").into_owned(),
        None => no_punct,
    };
    tokens(&no_articles).join(" ")
}

/// Python's `str.split()`: white space, including the separators \x1c-\x1f.
fn tokens(text: &str) -> Vec<&str> {
    text.split(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
        .filter(|t| !t.is_empty())
        .collect()
}

/// 1.0 when the prediction matches a gold answer after normalisation.
pub fn exact_match(prediction: &str, golds: &[String]) -> f64 {
    let p = normalize(prediction);
    if golds.iter().any(|g| normalize(g) == p) {
        1.0
    } else {
        0.0
    }
}

/// The best token F1 of the prediction against the gold answers.
pub fn token_f1(prediction: &str, golds: &[String]) -> f64 {
    let p = normalize(prediction);
    golds
        .iter()
        .map(|g| f1(&p, &normalize(g)))
        .fold(0.0, f64::max)
}

fn f1(prediction: &str, gold: &str) -> f64 {
    let (p, g) = (tokens(prediction), tokens(gold));
    if p.is_empty() || g.is_empty() {
        return if p.is_empty() && g.is_empty() {
            1.0
        } else {
            0.0
        };
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in &g {
        *counts.entry(t).or_default() += 1;
    }
    let mut same = 0;
    for t in &p {
        if let Some(c) = counts.get_mut(t).filter(|c| **c > 0) {
            *c -= 1;
            same += 1;
        }
    }
    if same == 0 {
        return 0.0;
    }
    let precision = same as f64 / p.len() as f64;
    let recall = same as f64 / g.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// Phrases that mark an answer as declining to answer (lower case, ' apostrophes). "cannot
/// find" and the like are left out: runbook answers use them ("if kubectl cannot find the
/// node, ...").
pub const ABSTENTION_PHRASES: &[&str] = &[
    "i don't know",
    "i do not know",
    "i'm not sure",
    "i am not sure",
    "not in the sources",
    "not in the provided sources",
    "not in the context",
    "not in the provided context",
    "the sources do not",
    "the sources don't",
    "the provided sources do not",
    "the context does not",
    "the context doesn't",
    "the provided context does not",
    "no information",
    "no relevant information",
    "not enough information",
    "insufficient information",
    "cannot answer",
    "can't answer",
    "cannot be answered",
    "unable to answer",
    "not able to answer",
    "not mentioned",
    "not provided",
    "does not say",
    "doesn't say",
    "do not say",
    "don't say",
    "no answer",
    "unanswerable",
];

/// Answers of at most this many words are searched whole, not only their first sentence
/// ("Sorry. I don't know." abstains).
pub const SHORT_ANSWER_WORDS: usize = 25;

/// Whether the answer declines to answer (the rule in the module doc).
pub fn abstains(text: &str) -> bool {
    if text.trim().is_empty() {
        return true;
    }
    let scope = if sentences::word_count(text) <= SHORT_ANSWER_WORDS {
        text.to_string()
    } else {
        sentences::split(text)
            .into_iter()
            .next()
            .unwrap_or_default()
    };
    let words = phrase_words(&scope);
    ABSTENTION_PHRASES
        .iter()
        .any(|p| words.contains(&format!(" {p} ")))
}

/// Lower case, ’ as ', every run of other non-alphanumeric characters one space, padded
/// with spaces so that phrases match whole words.
fn phrase_words(text: &str) -> String {
    let mut out = String::from(" ");
    for c in text.to_lowercase().chars() {
        let c = if matches!(c, '’' | '‘' | 'ʼ' | '`') {
            '\''
        } else {
            c
        };
        if c.is_alphanumeric() || c == '\'' {
            out.push(c);
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

/// 1.0 when the answer abstains exactly when the question is unanswerable.
pub fn abstention_correct(text: &str, unanswerable: bool) -> f64 {
    if abstains(text) == unanswerable {
        1.0
    } else {
        0.0
    }
}

/// A source the answer cited.
#[derive(Debug, Clone, PartialEq)]
pub struct CitedRef {
    pub document: String,
    pub chunk_id: i64,
}

/// The sources that answer a question: documents, or chunks when no documents are given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoldRefs {
    pub documents: Vec<String>,
    pub chunks: Vec<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CitationScores {
    pub precision: Option<f64>,
    pub recall: Option<f64>,
}

/// Whether a stored document path names the gold document: equal, or ending in "/" + gold
/// (a relative path) or "#" + gold (a BEIR corpus id, stored as `.../corpus.jsonl#ID`).
pub fn same_document(stored_path: &str, gold: &str) -> bool {
    !gold.is_empty()
        && (stored_path == gold
            || stored_path
                .strip_suffix(gold)
                .is_some_and(|head| head.ends_with('/') || head.ends_with('#')))
}

/// Citation precision and recall (the rule in the module doc).
pub fn citation_scores(cited: &[CitedRef], gold: &GoldRefs) -> CitationScores {
    let mut unique: Vec<&CitedRef> = Vec::new();
    for c in cited {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    let correct = unique
        .iter()
        .filter(|c| {
            gold.documents.iter().any(|g| same_document(&c.document, g))
                || gold.chunks.contains(&c.chunk_id)
        })
        .count();
    let precision = (!unique.is_empty()).then(|| correct as f64 / unique.len() as f64);
    let recall = if !gold.documents.is_empty() {
        let mut docs: Vec<&String> = gold.documents.iter().collect();
        docs.sort();
        docs.dedup();
        let found = docs
            .iter()
            .filter(|g| unique.iter().any(|c| same_document(&c.document, g)))
            .count();
        Some(found as f64 / docs.len() as f64)
    } else if !gold.chunks.is_empty() {
        let mut chunks = gold.chunks.clone();
        chunks.sort_unstable();
        chunks.dedup();
        let found = chunks
            .iter()
            .filter(|g| unique.iter().any(|c| c.chunk_id == **g))
            .count();
        Some(found as f64 / chunks.len() as f64)
    } else {
        None
    };
    CitationScores { precision, recall }
}

#[cfg(test)]
mod tests;
