//! HTML to Markdown-like text: headings become `#` lines (so the Markdown sectioner gives them
//! heading paths), block elements become paragraphs, scripts and styles are dropped.

use scraper::{ElementRef, Html, Node};

/// Returns the `<title>` and the body as text.
pub fn to_markdown(html: &str) -> (Option<String>, String) {
    let doc = Html::parse_document(html);
    let title = doc
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .find(|e| e.value().name() == "title")
        .map(|e| crate::util::one_line(&e.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let mut out = String::new();
    walk(doc.root_element(), &mut out);
    let cleaned = out
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    (title, cleaned + "\n")
}

const SKIP: &[&str] = &[
    "script", "style", "noscript", "head", "template", "svg", "nav",
];
const BLOCK: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "aside",
    "ul",
    "ol",
    "li",
    "table",
    "tr",
    "pre",
    "blockquote",
    "br",
    "hr",
    "dl",
    "dt",
    "dd",
    "figure",
    "body",
];

fn walk(element: ElementRef, out: &mut String) {
    for child in element.children() {
        match child.value() {
            Node::Text(text) => {
                let t = crate::util::one_line(text);
                if !t.is_empty() {
                    if !out.ends_with([' ', '\n']) && !out.is_empty() {
                        out.push(' ');
                    }
                    out.push_str(&t);
                }
            }
            Node::Element(e) => {
                let Some(child) = ElementRef::wrap(child) else {
                    continue;
                };
                let name = e.name();
                if SKIP.contains(&name) {
                    continue;
                }
                if let Some(level) = name
                    .strip_prefix('h')
                    .and_then(|l| l.parse::<usize>().ok())
                    .filter(|l| (1..=6).contains(l))
                {
                    let text = crate::util::one_line(&child.text().collect::<String>());
                    out.push_str(&format!("\n\n{} {}\n\n", "#".repeat(level), text));
                } else if BLOCK.contains(&name) {
                    out.push_str("\n\n");
                    if name == "li" {
                        out.push_str("- ");
                    }
                    walk(child, out);
                    out.push_str("\n\n");
                } else {
                    walk(child, out);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_text_and_headings_and_drops_scripts() {
        let html = "<html><head><title>Quota guide</title><style>p{}</style></head><body>
            <h1>Quotas</h1><p>Each project gets <b>8</b> GPUs.</p><script>var x = 1;</script>
            <h2>Raising</h2><ul><li>File a ticket</li><li>Wait</li></ul></body></html>";
        let (title, text) = to_markdown(html);
        assert_eq!(title.as_deref(), Some("Quota guide"));
        assert!(text.contains("# Quotas"));
        assert!(text.contains("Each project gets 8 GPUs."), "{text}");
        assert!(text.contains("## Raising"));
        assert!(text.contains("- File a ticket"));
        assert!(!text.contains("var x"));
        assert!(!text.contains("p{}"));
    }
}
