//! User text to an FTS5 expression. Every term is quoted and OR-ed, so no input can be FTS5
//! syntax (quotes, `NEAR`, `*`, `-`, column filters): it is always just words to look for.

use crate::store::write::collection_token;

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
    let terms = terms(text);
    if terms.is_empty() {
        return None;
    }
    let quoted: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
    Some(format!(
        "coll : \"{}\" AND body : ({})",
        collection_token(collection_id),
        quoted.join(" OR ")
    ))
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
