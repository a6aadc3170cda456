//! Splitting an answer into sentences, for attributed support and the abstention rule.
//!
//! Rules: `[n]` citation markers are removed first; every line is its own run of text (list
//! items, headings); a run ends a sentence at `.`, `!` or `?` (with any closing quotes or
//! brackets) followed by white space, unless the word ending in `.` is a known abbreviation
//! ("e.g.", "Dr.") or an initial ("U.S.", "J."), or the next word starts lower case. A
//! decimal point ("3.5") is never followed by white space, so it never splits.

use regex::Regex;
use std::sync::OnceLock;

/// Abbreviations that do not end a sentence even before a capital letter.
const ABBREVIATIONS: &[&str] = &[
    "e.g.", "i.e.", "vs.", "cf.", "dr.", "mr.", "mrs.", "ms.", "prof.", "st.", "no.", "fig.",
    "approx.", "al.", "jr.", "sr.", "inc.", "ltd.", "co.",
];

/// The sentences of `text`, trimmed, without citation markers or list bullets.
pub fn split(text: &str) -> Vec<String> {
    let clean = strip_citations(text);
    let mut out = Vec::new();
    for line in clean.lines() {
        split_line(strip_bullet(line.trim()), &mut out);
    }
    out
}

/// `text` without `[2]`, `[1, 3]` or `[2; 4]` markers (and the space before them).
pub fn strip_citations(text: &str) -> String {
    static PATTERN: OnceLock<Option<Regex>> = OnceLock::new();
    match PATTERN.get_or_init(|| Regex::new(r"[ \t]*\[\d+(?:\s*[,;]\s*\d+)*\]").ok()) {
        Some(re) => re.replace_all(text, "").into_owned(),
        None => text.to_string(),
    }
}

/// Number of words (white-space separated runs holding a letter or digit).
pub fn word_count(sentence: &str) -> usize {
    sentence
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

fn strip_bullet(line: &str) -> &str {
    let line = line.trim_start_matches('#').trim_start();
    for bullet in ["- ", "* ", "+ ", "• "] {
        if let Some(rest) = line.strip_prefix(bullet) {
            return rest.trim_start();
        }
    }
    // "1. " or "2) " numbered items
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0 {
        let rest = &line[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return r.trim_start();
        }
    }
    line
}

fn split_line(line: &str, out: &mut Vec<String>) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut start = 0; // byte offset of the current sentence
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if !matches!(c, '.' | '!' | '?') {
            i += 1;
            continue;
        }
        // The run of terminators and closers: "?!", ".)", ".\"".
        let mut j = i;
        while j < chars.len()
            && matches!(
                chars[j].1,
                '.' | '!' | '?' | ')' | ']' | '"' | '\'' | '”' | '’'
            )
        {
            j += 1;
        }
        let end = chars.get(j).map_or(line.len(), |&(b, _)| b);
        let next = chars[j..].iter().find(|(_, ch)| !ch.is_whitespace());
        let spaced = j == chars.len() || chars[j].1.is_whitespace();
        let lower_next = next.is_some_and(|(_, ch)| ch.is_lowercase());
        if spaced && !lower_next && !(c == '.' && abbreviation(&line[start..=at])) {
            push(&line[start..end], out);
            start = next.map_or(line.len(), |&(b, _)| b);
        }
        i = j.max(i + 1);
    }
    push(&line[start..], out);
}

/// Whether the last word of `upto` (which ends in '.') is an abbreviation or an initial.
fn abbreviation(upto: &str) -> bool {
    let word = upto
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or("")
        .trim_start_matches(['(', '"', '\'', '“', '‘'])
        .to_lowercase();
    if ABBREVIATIONS.contains(&word.as_str()) {
        return true;
    }
    // "j." or "u.s.": single letters each followed by a period.
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() >= 2
        && parts[parts.len() - 1].is_empty()
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| p.chars().count() == 1 && p.chars().all(char::is_alphabetic))
}

fn push(sentence: &str, out: &mut Vec<String>) {
    let s = sentence.trim();
    if !s.is_empty() {
        out.push(s.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_terminators_followed_by_space() {
        assert_eq!(
            split("Drain the node first. Then reboot it! Is it back? Yes."),
            vec![
                "Drain the node first.",
                "Then reboot it!",
                "Is it back?",
                "Yes."
            ]
        );
    }

    #[test]
    fn abbreviations_numbers_and_initials_do_not_split() {
        assert_eq!(
            split("Use a tool, e.g. Kubernetes. Version 3.5 is out. The U.S. team owns it."),
            vec![
                "Use a tool, e.g. Kubernetes.",
                "Version 3.5 is out.",
                "The U.S. team owns it."
            ]
        );
        // A lower-case word after a period is taken as the same sentence.
        assert_eq!(
            split("Costs approx. ten dollars, etc. and more."),
            vec!["Costs approx. ten dollars, etc. and more."]
        );
    }

    #[test]
    fn citations_are_removed_and_lines_and_bullets_split() {
        assert_eq!(
            split("Cordon it first [2]. Then drain [1, 3].\n- Wait for the pods.\n2. Reboot (carefully)."),
            vec!["Cordon it first.", "Then drain.", "Wait for the pods.", "Reboot (carefully)."]
        );
        assert_eq!(
            split("He said \"stop.\" Then left."),
            vec!["He said \"stop.\"", "Then left."]
        );
        assert!(split("  \n [1] \n").is_empty());
    }

    #[test]
    fn counts_words_with_letters_or_digits() {
        assert_eq!(word_count("Yes - it is 5 ."), 4);
        assert_eq!(word_count(""), 0);
    }
}
