//! HTML to Markdown-like text: headings become `#` lines (so the Markdown sectioner gives them
//! heading paths), block elements become paragraphs, scripts and styles are dropped.

use scraper::{ElementRef, Html, Node};

/// Elements nested deeper than this (by a cheap scan of the tags) make the file a skip: the
/// HTML parser's cost grows with depth squared (50,000 levels took 18 s), and no document
/// needs it.
pub const MAX_NESTING: usize = 1_000;

/// Returns the `<title>` and the body as text, or why the file is refused.
pub fn to_markdown(html: &str) -> Result<(Option<String>, String), String> {
    let (depth, at) = nesting(html);
    if depth > MAX_NESTING {
        return Err(format!(
            "HTML nested more than {MAX_NESTING} elements deep (at byte {at}); not parsed"
        ));
    }
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
    Ok((title, cleaned + "\n"))
}

/// Tags that are often left open (their end is implied) or never have content: not counted.
const UNCOUNTED: &[&str] = &[
    "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "option", "optgroup", "rb",
    "rt", "rp", "colgroup", "caption", "html", "head", "body", "area", "base", "br", "col",
    "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr", "keygen",
];

/// The deepest element nesting seen by a linear scan of the tags, and the byte offset where
/// it was reached. An estimate (no tree is built), good enough to refuse hostile input.
fn nesting(html: &str) -> (usize, usize) {
    let bytes = html.as_bytes();
    let (mut depth, mut max, mut at) = (0usize, 0usize, 0usize);
    let mut i = 0;
    while let Some(off) = memchr_lt(&bytes[i..]) {
        i += off + 1;
        let rest = &html[i..];
        if rest.starts_with("!--") {
            i += rest.find("-->").map_or(rest.len(), |e| e + 3);
            continue;
        }
        let closing = rest.starts_with('/');
        let name_start = i + usize::from(closing);
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
            continue;
        }
        let name = html[name_start..name_start + name_len].to_ascii_lowercase();
        let Some(close) = html[name_start..].find('>') else {
            break;
        };
        let self_closing = html[..name_start + close].ends_with('/');
        i = name_start + close + 1;
        if UNCOUNTED.contains(&name.as_str()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else if !self_closing {
            if name == "script" || name == "style" {
                // Raw text: skip to its end tag, whose `<` may be anywhere in the text.
                match end_tag(&bytes[i..], name.as_bytes()) {
                    Some(e) => i += e,
                    None => break,
                }
                continue;
            }
            depth += 1;
            if depth > max {
                (max, at) = (depth, name_start - 1);
            }
        }
    }
    (max, at)
}

/// Offset of the first `</name` (any case) in `bytes`.
fn end_tag(bytes: &[u8], name: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(off) = memchr_lt(&bytes[from..]) {
        let at = from + off;
        let tag = &bytes[at + 1..];
        if tag.first() == Some(&b'/')
            && tag.len() > name.len()
            && tag[1..=name.len()].eq_ignore_ascii_case(name)
        {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn memchr_lt(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'<')
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

/// What is left to do for a node: visit it, or close a block opened for it.
enum Step<N> {
    Visit(N),
    EndBlock,
}

/// Depth-first over the tree with an explicit stack, so no nesting can overflow the thread's
/// stack (the console syncs on a small one).
fn walk(root: ElementRef, out: &mut String) {
    let mut stack: Vec<Step<_>> = root.children().rev().map(Step::Visit).collect();
    while let Some(step) = stack.pop() {
        let node = match step {
            Step::EndBlock => {
                out.push_str("\n\n");
                continue;
            }
            Step::Visit(node) => node,
        };
        match node.value() {
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
                let Some(child) = ElementRef::wrap(node) else {
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
                    continue;
                }
                if BLOCK.contains(&name) {
                    out.push_str("\n\n");
                    if name == "li" {
                        out.push_str("- ");
                    }
                    stack.push(Step::EndBlock);
                }
                stack.extend(node.children().rev().map(Step::Visit));
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
        let (title, text) = to_markdown(html).unwrap();
        assert_eq!(title.as_deref(), Some("Quota guide"));
        assert!(text.contains("# Quotas"));
        assert!(text.contains("Each project gets 8 GPUs."), "{text}");
        assert!(text.contains("## Raising"));
        assert!(text.contains("- File a ticket"));
        assert!(!text.contains("var x"));
        assert!(!text.contains("p{}"));
    }

    fn nested(depth: usize) -> String {
        format!(
            "<html><body><h1>Deep</h1>{}text at the bottom{}<p>after</p></body></html>",
            "<div>".repeat(depth),
            "</div>".repeat(depth)
        )
    }

    /// Runs `f` on a thread with a 256 KiB stack, as small as any thread that syncs.
    fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn deep_nesting_within_the_bound_is_walked_on_a_small_stack() {
        // 1,000 levels overflowed a 256 KiB stack in the recursive walk.
        let (_, text) = on_small_stack(|| to_markdown(&nested(MAX_NESTING)).unwrap());
        assert!(text.contains("text at the bottom"), "{text}");
        assert!(text.contains("after"));
    }

    #[test]
    fn nesting_past_the_bound_is_refused_quickly_with_a_reason() {
        let started = std::time::Instant::now();
        let err = on_small_stack(|| to_markdown(&nested(50_000)).unwrap_err());
        assert!(err.contains("nested more than 1000"), "{err}");
        assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    }

    #[test]
    fn unclosed_paragraphs_and_void_tags_do_not_count_as_nesting() {
        let html = format!(
            "<body>{}<script>if (a<b) {{ x = '<div>'; }}</script></body>",
            "<p>para<br><img src=x><li>item<span/>".repeat(5_000)
        );
        assert!(nesting(&html).0 <= 1, "{:?}", nesting(&html));
        let (depth, _) = nesting("<div><section><div></div></section></div>");
        assert_eq!(depth, 3);
    }
}
