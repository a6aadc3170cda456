//! Markdown structure: ATX headings (outside fenced code) split the text into sections that
//! carry their heading path ("Runbooks > GPU nodes > Draining").

use crate::ingest::types::Section;

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
            current_path = stack
                .iter()
                .map(|(_, h)| h.as_str())
                .collect::<Vec<_>>()
                .join(" > ");
            start = offset + line.len();
        }
        offset += line.len();
    }
    push(&mut sections, &current_path, start, text.len(), text);
    (title, sections)
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
    let text = rest.trim().trim_end_matches('#').trim().to_string();
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
}
