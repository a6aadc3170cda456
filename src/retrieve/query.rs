//! User text to an FTS5 expression. Every term is quoted and OR-ed, so no input can be FTS5
//! syntax (quotes, `NEAR`, `*`, `-`, column filters): it is always just words to look for.

use crate::store::write::collection_token;

/// Words of the query, lower-cased and de-duplicated, in order.
pub fn terms(text: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| t.to_lowercase())
        .filter(|t| seen.insert(t.clone()))
        .take(64)
        .collect()
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
            "coll : \"lmdeckcoll2\" AND body : (\"drain\" OR \"near\" OR \"gpu\" OR \"node\" OR \"body\" OR \"x\" OR \"and\")"
        );
        assert_eq!(fts_expression("?!  ***", 1), None);
    }

    #[test]
    fn unicode_words_survive() {
        assert_eq!(terms("Ça va? naïve GPU-Knoten"), ["ça", "va", "naïve", "gpu", "knoten"]);
    }
}
