//! Text helpers for views: wrapping and query-term highlighting.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use rust_stemmers::{Algorithm, Stemmer};

/// Greedy word wrap to `width` columns (characters), keeping paragraph breaks.
/// Control characters in `text` come out escaped (it is often a file's or a model's).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out = Vec::new();
    for para in crate::util::safe::multi_line(text).lines() {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let needed =
                line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
            if needed > width && !line.is_empty() {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push(line);
    }
    out
}

/// `text` cut to its last `width` characters behind a leading `…` when it is longer: for
/// heading paths, whose most specific part is at the end.
pub fn tail(text: &str, width: usize) -> String {
    let text = crate::util::safe::one_line(text);
    let len = text.chars().count();
    if len <= width {
        return text.into_owned();
    }
    if width == 0 {
        return String::new();
    }
    let keep: String = text.chars().skip(len - (width - 1)).collect();
    format!("…{keep}")
}

/// A heading path (`A > B > C`) that fits `width`: whole leading sections give way first
/// (`… > C`), since the most specific section is what tells chunks apart.
pub fn heading_tail(path: &str, width: usize) -> String {
    let path = crate::util::safe::one_line(path);
    if path.chars().count() <= width {
        return path.into_owned();
    }
    let sections: Vec<&str> = path.split(" > ").collect();
    for start in 1..sections.len() {
        let shorter = format!("… > {}", sections[start..].join(" > "));
        if shorter.chars().count() <= width {
            return shorter;
        }
    }
    tail(&path, width)
}

/// Wrapped lines of `text` with words matching a query term (same Porter stem, as the keyword
/// stage matches them) in the highlight style.
pub fn highlighted(
    text: &str,
    terms: &[String],
    width: usize,
    base: Style,
    hit: Style,
) -> Vec<Line<'static>> {
    let stemmer = Stemmer::create(Algorithm::English);
    let stems: Vec<String> = terms
        .iter()
        .map(|t| stemmer.stem(&t.to_lowercase()).into_owned())
        .collect();
    wrap(text, width)
        .into_iter()
        .map(|line| {
            let mut spans = Vec::new();
            for (i, word) in line.split(' ').enumerate() {
                if i > 0 {
                    spans.push(Span::styled(" ", base));
                }
                let core: String = word
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .collect::<String>()
                    .to_lowercase();
                let matched = !core.is_empty() && stems.iter().any(|s| *s == stemmer.stem(&core));
                spans.push(Span::styled(
                    word.to_string(),
                    if matched { hit } else { base },
                ));
            }
            Line::from(spans)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_word_boundaries() {
        assert_eq!(
            wrap("one two three four", 9),
            vec!["one two", "three", "four"]
        );
        assert_eq!(wrap("a\n\nb", 10), vec!["a", "", "b"]);
    }

    #[test]
    fn tail_keeps_the_end_of_long_text() {
        assert_eq!(tail("Policy > Reviews", 20), "Policy > Reviews");
        assert_eq!(tail("Policy > Reviews", 9), "… Reviews");
        assert_eq!(tail("Policy > Reviews", 9).chars().count(), 9);
        assert_eq!(tail("abc", 1), "…");
        assert_eq!(tail("abc", 0), "");
    }

    #[test]
    fn heading_tail_drops_whole_leading_sections() {
        let path = "Expense Policy > Travel > Flights";
        assert_eq!(heading_tail(path, 40), path);
        assert_eq!(heading_tail(path, 22), "… > Travel > Flights");
        assert_eq!(heading_tail(path, 12), "… > Flights");
        assert_eq!(heading_tail(path, 6), "…ights");
    }

    #[test]
    fn highlights_words_sharing_a_stem() {
        let hit = Style::default().bg(ratatui::style::Color::Yellow);
        let lines = highlighted(
            "Draining nodes, drained.",
            &["drain".into()],
            80,
            Style::default(),
            hit,
        );
        let marked: Vec<&str> = lines[0]
            .spans
            .iter()
            .filter(|s| s.style == hit)
            .map(|s| s.content.as_ref())
            .collect();
        assert_eq!(marked, vec!["Draining", "drained."]);
    }
}
