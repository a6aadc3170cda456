//! Markdown structure: ATX headings (outside fenced code) split the text into sections that
//! carry their heading path ("Runbooks > GPU nodes > Draining").

use crate::ingest::types::Section;

/// Longest heading kept, in characters; a longer one ends with `…`.
pub const MAX_HEADING_CHARS: usize = 200;
/// Longest heading path kept: its deepest headings, after a leading `…`.
pub const MAX_PATH_CHARS: usize = 300;

/// Returns the first level-1 heading (the title) and the sections with their byte ranges.
pub fn sections(text: &str) -> (Option<String>, Vec<Section>) {
    let mut title = None;
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut sections = Vec::new();
    let mut current_path = String::new();
    let mut start = 0;
    let mut in_fence = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        }
        if let Some((level, heading)) = (!in_fence).then(|| heading(trimmed)).flatten() {
            push(&mut sections, &current_path, start, offset, text);
            if level == 1 && title.is_none() {
                title = Some(heading.clone());
            }
            stack.retain(|(l, _)| *l < level);
            stack.push((level, heading));
            current_path = bounded_path(
                &stack
                    .iter()
                    .map(|(_, h)| h.as_str())
                    .collect::<Vec<_>>()
                    .join(" > "),
            );
            start = offset + line.len();
        }
        offset += line.len();
    }
    push(&mut sections, &current_path, start, text.len(), text);
    (title, sections)
}

/// `text` cut to at most `max` characters, the last of them `…` when it was cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    crate::util::truncate_chars(text, max.saturating_sub(1))
}

/// `path` cut to its last MAX_PATH_CHARS characters, marked with a leading `…`.
pub fn bounded_path(path: &str) -> String {
    let n = path.chars().count();
    if n <= MAX_PATH_CHARS {
        return path.to_string();
    }
    let tail: String = path.chars().skip(n - (MAX_PATH_CHARS - 1)).collect();
    format!("…{tail}")
}

fn push(sections: &mut Vec<Section>, path: &str, start: usize, end: usize, text: &str) {
    if text[start..end].trim().is_empty() {
        return;
    }
    sections.push(Section {
        heading_path: path.to_string(),
        start,
        end,
    });
}

fn heading(line: &str) -> Option<(usize, String)> {
    let level = line.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &line[level..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) && !rest.starts_with(['\n', '\r']) {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim();
    // Every chunk of the section carries its headings (stored, indexed and embedded), so a
    // long one is cut: a 200 KB heading made a 400 KB file a 99 MB database.
    let text = cut(text, MAX_HEADING_CHARS);
    (!text.is_empty()).then_some((level, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_build_paths_and_fenced_code_is_not_a_heading() {
        let text = "# Runbook\nintro\n## Drain\nsteps\n```\n# not a heading\n```\n### Verify\ncheck\n## Undrain\nback\n";
        let (title, sections) = sections(text);
        assert_eq!(title.as_deref(), Some("Runbook"));
        let paths: Vec<_> = sections.iter().map(|s| s.heading_path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "Runbook",
                "Runbook > Drain",
                "Runbook > Drain > Verify",
                "Runbook > Undrain"
            ]
        );
        assert!(text[sections[1].start..sections[1].end].contains("# not a heading"));
        assert_eq!(&text[sections[3].start..sections[3].end], "back\n");
    }

    #[test]
    fn text_before_any_heading_has_an_empty_path() {
        let (title, sections) = sections("preface\n#hashtag is text\n");
        assert_eq!(title, None);
        assert_eq!(sections.len(), 1);
        assert_eq!(sections[0].heading_path, "");
    }

    #[test]
    fn long_headings_and_paths_are_bounded() {
        let long = "word ".repeat(40_000);
        let text = format!("# {long}\nbody\n## {long}\n### short\nmore\n");
        let (title, sections) = sections(&text);
        let title = title.unwrap();
        assert_eq!(title.chars().count(), MAX_HEADING_CHARS);
        assert!(title.ends_with('…'));
        for s in &sections {
            assert!(s.heading_path.chars().count() <= MAX_PATH_CHARS, "{s:?}");
        }
        assert!(sections[1].heading_path.starts_with('…'));
        assert!(sections[1].heading_path.ends_with(" > short"));
    }
}
