//! Fuzz targets as property tests over structured generators (cargo-fuzz needs nightly):
//! the loaders, the chunker, the FTS query builder, chat-template rendering and the SSE
//! stream reader. `PROPTEST_CASES` sets the cases per target (64 here by default, so the CI
//! pass is short); `scripts/fuzz.sh SECONDS` runs each target for a set time.

use std::io::{BufReader, Read};

use lmdeck::generate::sse::SseEvent;
use lmdeck::generate::sse_reader::SseReader;
use lmdeck::generate::template::{ChatMessage, ChatTemplate};
use lmdeck::ingest::chunker::{self, ChunkSettings};
use lmdeck::ingest::loaders::{self, Format, Loaded};
use lmdeck::retrieve::query;
use proptest::prelude::*;
use proptest::test_runner::Config;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    Config {
        cases,
        // Findings are reported with their minimal input; no regression files in the tree.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Characters that break naive text handling: combining marks, zero-width and bidi
/// controls, NUL and other controls, CR, astral planes, markup punctuation.
fn odd_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'z'),
        2 => Just(' '),
        1 => Just('\n'),
        1 => prop::sample::select(vec![
            '\r', '\t', '\0', '\u{7}', '\u{1b}', '\u{85}', '\u{200b}', '\u{200d}', '\u{202e}',
            '\u{feff}', '\u{301}', '\u{fffd}', 'é', 'ß', 'İ', '字', '😀', '𝔘', '#', '*', '`', '<',
            '>', '&', '"', '\'', '[', ']', '(', ')', '{', '}', '|', '\\', '-', '_', '=',
        ]),
        1 => any::<char>(),
    ]
}

fn odd_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(odd_char(), 0..max).prop_map(String::from_iter)
}

fn words(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec("[a-zA-Z]{1,12}", 0..max).prop_map(|w| w.join(" "))
}

/// Markdown: headings (some very long), fences, lists, setext underlines, odd text.
fn markdown() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        3 => odd_text(120),
        2 => words(30),
        2 => (1usize..8, words(20)).prop_map(|(n, w)| format!("{} {w}", "#".repeat(n))),
        1 => (1usize..4, words(3000)).prop_map(|(n, w)| format!("{} {w}", "#".repeat(n))),
        1 => (1usize..3, odd_text(300)).prop_map(|(n, t)| format!("{} {t}", "#".repeat(n))),
        1 => Just("```".to_string()),
        1 => Just("===".to_string()),
        1 => words(8).prop_map(|w| format!("- {w}")),
        1 => Just(String::new()),
    ];
    prop::collection::vec(line, 0..60).prop_map(|l| l.join("\n"))
}

/// HTML tag soup: unbalanced tags, attributes, comments, scripts, entities, and runs of
/// deep nesting.
fn html() -> impl Strategy<Value = String> {
    let tag = prop::sample::select(vec![
        "div",
        "p",
        "h1",
        "h2",
        "h3",
        "li",
        "ul",
        "ol",
        "pre",
        "code",
        "a",
        "span",
        "table",
        "td",
        "tr",
        "br",
        "script",
        "style",
        "title",
        "b",
        "em",
        "blockquote",
    ]);
    let token = prop_oneof![
        3 => tag.clone().prop_map(|t| format!("<{t}>")),
        2 => tag.clone().prop_map(|t| format!("</{t}>")),
        1 => (tag.clone(), odd_text(20)).prop_map(|(t, v)| format!("<{t} class=\"{v}\" href='{v}'>")),
        3 => odd_text(40),
        2 => words(10),
        1 => prop::sample::select(vec!["&amp;", "&lt;", "&#x1F600;", "&#0;", "&bogus;", "<!--", "-->", "<![CDATA[", "<!DOCTYPE html>", "<", ">"]).prop_map(str::to_string),
        1 => (tag, 1usize..3000, any::<bool>()).prop_map(|(t, n, close)| {
            let mut s = format!("<{t}>").repeat(n);
            s.push_str("deep");
            if close {
                s.push_str(&format!("</{t}>").repeat(n));
            }
            s
        }),
    ];
    prop::collection::vec(token, 0..80).prop_map(|t| t.concat())
}

fn check_loaded(loaded: &Loaded, input_len: usize) -> Result<(), TestCaseError> {
    for doc in &loaded.docs {
        // Loaders only remove and reformat: output stays within a small factor of the input.
        prop_assert!(
            doc.text.len() <= 3 * input_len + 1024,
            "text {} bytes from {input_len}",
            doc.text.len()
        );
        prop_assert!(doc.title.chars().count() <= loaders::MAX_TITLE_CHARS + 1);
        for s in &doc.sections {
            prop_assert!(s.start <= s.end && s.end <= doc.text.len(), "{s:?}");
            prop_assert!(doc.text.is_char_boundary(s.start) && doc.text.is_char_boundary(s.end));
            prop_assert!(
                s.heading_path.chars().count() <= 1024,
                "heading path of {} chars",
                s.heading_path.chars().count()
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_markdown_loader(text in markdown()) {
        let len = text.len();
        let loaded = loaders::parse(Format::Markdown, "f.md", text, len as u64, 0);
        check_loaded(&loaded, len)?;
    }

    #[test]
    fn fuzz_html_loader(text in html()) {
        let len = text.len();
        let loaded = loaders::parse(Format::Html, "f.html", text, len as u64, 0);
        check_loaded(&loaded, len)?;
    }

    #[test]
    fn fuzz_text_loader(bytes in prop::collection::vec(any::<u8>(), 0..4096), utf8 in odd_text(2000)) {
        for raw in [bytes, utf8.into_bytes()] {
            if let Ok(text) = loaders::decode(raw) {
                let len = text.len();
                let loaded = loaders::parse(Format::Text, "f.txt", text, len as u64, 0);
                check_loaded(&loaded, len)?;
                for doc in &loaded.docs {
                    let covered: usize = doc.sections.iter().map(|s| s.end - s.start).sum();
                    prop_assert_eq!(covered, doc.text.len());
                }
            }
        }
    }

    #[test]
    fn fuzz_jsonl_loader(lines in prop::collection::vec(prop_oneof![
        (prop_oneof![Just(serde_json::json!(null)), any::<i64>().prop_map(|i| serde_json::json!(i % 5)), "[a-c]{0,2}".prop_map(|s| serde_json::json!(s)), Just(serde_json::json!({"x": 1}))],
         odd_text(40), odd_text(200), prop::sample::select(vec!["_id", "id", "doc_id"]), prop::sample::select(vec!["text", "content", "body"]))
            .prop_map(|(id, title, text, idk, textk)| serde_json::json!({idk: id, "title": title, textk: text}).to_string()),
        odd_text(80),
        Just("{\"_id\": 1, \"text\": ".to_string()),
        Just("[1,2,3]".to_string()),
    ], 0..40)) {
        let content = lines.join("\n");
        let loaded = loaders::parse(Format::JsonLines, "f.jsonl", content.clone(), content.len() as u64, 0);
        check_loaded(&loaded, content.len())?;
        // Every document has its own name in the collection: none overwrites another.
        let mut names = std::collections::HashSet::new();
        for doc in &loaded.docs {
            prop_assert!(names.insert(doc.source_path.clone()), "two documents named {}", doc.source_path);
        }
        prop_assert!(loaded.docs.len() + loaded.skipped.len() <= content.lines().count());
    }
}

/// The embedding model's WordPiece tokenizer when installed, else the test word tokenizer.
fn tokenizer() -> tokenizers::Tokenizer {
    let installed = std::env::var_os("HOME").map(|h| {
        std::path::PathBuf::from(h)
            .join(".local/share/lmdeck/models/all-minilm-l6-v2-int8/tokenizer.json")
    });
    match installed.filter(|p| p.is_file()) {
        Some(p) => lmdeck::embed::tokenizer::load(&p, None).unwrap(),
        None => lmdeck::embed::test_engine::HashEmbedder::tokenizer().unwrap(),
    }
}

fn chunk_text() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        4 => words(60),
        2 => odd_text(200),
        1 => (1usize..3, words(400)).prop_map(|(n, w)| format!("\n{} {w}\n", "#".repeat(n))),
        // No whitespace at all: a URL, a hash, a base64 blob.
        1 => ("[a-zA-Z0-9/+]{1,10}", 1usize..3000).prop_map(|(w, n)| w.repeat(n)),
        1 => (1usize..5000).prop_map(|n| " ".repeat(n)),
    ];
    prop::collection::vec(part, 1..12).prop_map(|p| p.join(" "))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_chunker(text in chunk_text(), target in 1usize..300, overlap in 0usize..64) {
        thread_local!(static TOKENIZER: tokenizers::Tokenizer = tokenizer());
        let len = text.len();
        let loaded = loaders::parse(Format::Markdown, "f.md", text, len as u64, 0);
        let settings = ChunkSettings { target, overlap: overlap.min(target / 2) };
        for doc in &loaded.docs {
            let pieces = TOKENIZER.with(|t| chunker::chunk(doc, t, settings)).unwrap();
            for p in &pieces {
                prop_assert_eq!(&doc.text[p.byte_start..p.byte_end], p.text.as_str());
                prop_assert!(p.token_count >= 1 && p.token_count <= target, "{} tokens", p.token_count);
                // Bounded bytes even without whitespace or across runs of it: at most 104
                // bytes a token (the chunker's cap).
                prop_assert!(p.text.len() <= target * 104, "{} bytes for {} tokens", p.text.len(), p.token_count);
            }
            // Every word of every section is in some chunk.
            for s in &doc.sections {
                for (i, c) in doc.text[s.start..s.end].char_indices() {
                    if c.is_ascii_alphanumeric() {
                        let at = s.start + i;
                        prop_assert!(pieces.iter().any(|p| p.byte_start <= at && at < p.byte_end), "byte {at} ({c:?}) in no chunk");
                    }
                }
            }
        }
    }

    #[test]
    fn fuzz_chunk_spans(lens in prop::collection::vec((1usize..40, 0usize..3), 0..200), target in 1usize..64, overlap in 0usize..32) {
        // Words of `len` one-byte tokens separated by `gap` bytes (0: the next word is glued on).
        let mut offsets = Vec::new();
        let mut pos = 0;
        for (len, gap) in &lens {
            for _ in 0..*len {
                offsets.push((pos, pos + 1));
                pos += 1;
            }
            pos += gap;
        }
        let spans = chunker::spans(&offsets, ChunkSettings { target, overlap });
        let mut covered = 0;
        for &(s, e) in &spans {
            prop_assert!(s < e && e - s <= target, "{spans:?}");
            prop_assert!(s <= covered, "gap before {s}: {spans:?}");
            covered = covered.max(e);
        }
        prop_assert_eq!(covered, offsets.len());
        prop_assert!(spans.len() <= offsets.len().max(1));
    }
}

/// Found by fuzz_chunker: whitespace between two tokens is not a token, so a run of it went
/// whole into the chunk that spans it (two tokens, 100 kB); the chunker now caps a chunk's
/// bytes by its tokens.
#[test]
fn a_whitespace_run_does_not_make_a_huge_chunk() {
    let text = format!("a{}b", " ".repeat(100_000));
    let len = text.len();
    let loaded = loaders::parse(Format::Text, "f.txt", text, len as u64, 0);
    let settings = ChunkSettings {
        target: 2,
        overlap: 0,
    };
    let pieces = chunker::chunk(&loaded.docs[0], &tokenizer(), settings).unwrap();
    for p in &pieces {
        assert!(
            p.text.len() <= 2 * 104,
            "{} bytes for {} tokens",
            p.text.len(),
            p.token_count
        );
    }
}

/// Text a user might type into search: quotes, FTS5 operators and syntax, unicode.
fn fts_input() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => words(4),
        2 => prop::sample::select(vec![
            "\"", "'", "AND", "OR", "NOT", "NEAR", "NEAR(", ")", "(", "*", "^", ":", "-", "+",
            "body:", "coll:", "{body coll}:", "\"\"", "\\", ";", "--", "/*", "%", "_", "\0",
            "ǅ", "İstanbul", "straße", "ﬁ", "Ⅻ", "٣", "🙂", "e\u{301}", "\u{200b}",
        ]).prop_map(str::to_string),
        2 => odd_text(20),
    ];
    prop::collection::vec(piece, 0..20).prop_map(|p| p.join(" "))
}

fn fts_db() -> rusqlite::Connection {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE VIRTUAL TABLE chunks_fts USING fts5(body, coll, tokenize = 'porter unicode61 remove_diacritics 2');
         CREATE VIRTUAL TABLE chunks_fts_vocab USING fts5vocab(chunks_fts, 'row');
         CREATE TABLE documents (id INTEGER PRIMARY KEY, collection_id INTEGER NOT NULL);
         CREATE TABLE chunks (id INTEGER PRIMARY KEY);
         INSERT INTO documents (collection_id) VALUES (7), (8);
         INSERT INTO chunks DEFAULT VALUES; INSERT INTO chunks DEFAULT VALUES;
         INSERT INTO chunks DEFAULT VALUES; INSERT INTO chunks DEFAULT VALUES;
         INSERT INTO chunks_fts (body, coll) VALUES ('drain the node before upgrading', 'lmdeckcoll7'),
             ('İstanbul straße café', 'lmdeckcoll7'), ('the the the', 'lmdeckcoll7'),
             ('another collection', 'lmdeckcoll8');",
    )
    .unwrap();
    conn
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_fts_query(text in fts_input(), common in 0usize..3) {
        thread_local!(static DB: rusqlite::Connection = fts_db());
        DB.with(|conn| -> Result<(), TestCaseError> {
            let mut expressions = Vec::new();
            expressions.extend(query::fts_expression(&text, 7));
            let keyword = query::keyword_query(conn, &text, 7, common);
            prop_assert!(keyword.is_ok(), "{:?}", keyword);
            expressions.extend(keyword.unwrap().map(|k| k.expression));
            for e in expressions {
                let r: rusqlite::Result<i64> = conn.query_row(
                    "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?1",
                    [&e],
                    |r| r.get(0),
                );
                prop_assert!(r.is_ok(), "{e:?} from {text:?}: {r:?}");
            }
            Ok(())
        })?;
    }
}

fn model_template() -> Option<ChatTemplate> {
    let home = std::env::var_os("HOME")?;
    let path = std::path::PathBuf::from(home)
        .join(".local/share/lmdeck/models/smollm2-135m-instruct/tokenizer_config.json");
    let config: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let template = config["chat_template"].as_str()?.to_string();
    ChatTemplate::new(Some(template), None, None).ok()
}

fn message() -> impl Strategy<Value = ChatMessage> {
    let role = prop_oneof![
        4 => prop::sample::select(vec!["user", "assistant", "system"]).prop_map(str::to_string),
        1 => odd_text(12),
    ];
    let content = prop_oneof![
        3 => odd_text(200),
        1 => prop::sample::select(vec![
            "{{ 7*7 }}", "{% for x in range(99999999) %}x{% endfor %}", "{{ raise_exception('x') }}",
            "<|im_end|>", "<|im_start|>system\n", "{#", "#}", "{%", "%}", "}}",
        ]).prop_map(str::to_string),
    ];
    (role, content).prop_map(|(role, content)| ChatMessage { role, content })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_chat_template(messages in prop::collection::vec(message(), 0..12), gen in any::<bool>()) {
        thread_local!(static MODEL: Option<ChatTemplate> = model_template());
        let budget: usize = messages.iter().map(|m| m.role.len() + m.content.len() + 64).sum::<usize>() + 256;
        let chatml = ChatTemplate::chatml().render(&messages, gen);
        prop_assert!(chatml.is_ok(), "{chatml:?}");
        let out = chatml.unwrap();
        prop_assert!(out.len() <= budget);
        // Message text is data, never template code.
        for m in &messages {
            prop_assert!(out.contains(&m.content), "{:?} not rendered verbatim", m.content);
        }
        MODEL.with(|t| -> Result<(), TestCaseError> {
            if let Some(t) = t {
                if let Ok(out) = t.render(&messages, gen) {
                    prop_assert!(out.len() <= budget);
                    for m in &messages {
                        prop_assert!(out.contains(&m.content));
                    }
                }
            }
            Ok(())
        })?;
    }
}

/// A reader that hands out a byte stream in the given pieces, as a network would.
struct Pieces {
    data: Vec<u8>,
    cuts: Vec<usize>,
    at: usize,
}

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let next = self
            .cuts
            .iter()
            .copied()
            .find(|&c| c > self.at)
            .unwrap_or(self.data.len())
            .min(self.at + buf.len());
        let n = next - self.at;
        buf[..n].copy_from_slice(&self.data[self.at..next]);
        self.at = next;
        Ok(n)
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Sent {
    text: String,
    finish: Option<String>,
}

/// The endpoint client's read loop (generate/http.rs): lines, then `parse_line`.
fn read_stream(reader: impl Read, capacity: usize) -> (Vec<Sent>, bool, Option<String>) {
    // The endpoint client's own reader (generate::sse_reader), over a small buffer so lines
    // and events arrive cut at arbitrary points.
    let mut reader = SseReader::new(BufReader::with_capacity(capacity, reader));
    let (mut got, mut done) = (Vec::new(), false);
    for _ in 0..100_000 {
        let event = match reader.next_event() {
            Ok(None) => break,
            Ok(Some(event)) => event,
            Err(e) => return (got, done, Some(e.to_string())),
        };
        match event {
            Ok(SseEvent::Skip) | Ok(SseEvent::Usage(_)) => {}
            Ok(SseEvent::Done) => {
                done = true;
                break;
            }
            Ok(SseEvent::Delta { text, finish, .. }) => got.push(Sent { text, finish }),
            Err(e) => return (got, done, Some(e)),
        }
    }
    (got, done, None)
}

fn sse_stream() -> impl Strategy<Value = (Vec<Sent>, Vec<u8>)> {
    let event = (
        odd_text(30),
        prop::option::of(prop::sample::select(vec!["stop", "length"])),
    )
        .prop_map(|(text, finish)| Sent {
            text,
            finish: finish.map(str::to_string),
        });
    let noise = prop::sample::select(vec![
        ": keep-alive",
        "event: message",
        "id: 7",
        "retry: 100",
        "",
        ":",
    ]);
    let frame = (event, prop::option::of(noise), any::<bool>(), any::<bool>());
    prop::collection::vec(frame, 0..30).prop_map(|frames| {
        let mut sent = Vec::new();
        let mut out = String::new();
        for (e, noise, crlf, space) in frames {
            let nl = if crlf { "\r\n" } else { "\n" };
            if let Some(n) = noise {
                out.push_str(n);
                out.push_str(nl);
            }
            let json = serde_json::json!({"id": "x", "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {"content": e.text}, "finish_reason": e.finish}]});
            out.push_str(if space { "data: " } else { "data:" });
            out.push_str(&json.to_string());
            out.push_str(nl);
            out.push_str(nl);
            sent.push(e);
        }
        out.push_str("data: [DONE]\n\n");
        (sent, out.into_bytes())
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_sse_stream_split_anywhere(
        (sent, bytes) in sse_stream(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
        capacity in 1usize..128,
    ) {
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let (got, done, err) = read_stream(Pieces { data: bytes, cuts, at: 0 }, capacity);
        prop_assert_eq!(err, None);
        prop_assert!(done);
        prop_assert_eq!(got, sent);
    }

    #[test]
    fn fuzz_sse_stream_cut_short((sent, bytes) in sse_stream(), cut in any::<prop::sample::Index>()) {
        let end = cut.index(bytes.len() + 1);
        let (got, done, err) = read_stream(&bytes[..end], 16);
        // A stream that breaks off yields the complete events before the break, in order,
        // never a garbled or repeated one; a partial last line is an error or nothing.
        prop_assert!(got.len() <= sent.len());
        prop_assert_eq!(&got[..], &sent[..got.len()]);
        if done {
            prop_assert_eq!(got.len(), sent.len());
        }
        if err.is_some() {
            prop_assert!(!done);
        }
    }
}

/// Found by fuzzing: SSE allows lines to end in CR alone, and an event's data to span several
/// `data:` lines (joined with a newline); the endpoint client used to read LF-ended lines and
/// parse each `data:` line alone. It now reads the stream as the spec defines it.
#[test]
fn sse_cr_line_ends_and_multi_line_data() {
    let event = r#"{"choices":[{"delta":{"content":"hi"},"finish_reason":null}]}"#;
    let cr = format!("data: {event}\r\rdata: [DONE]\r\r");
    let (got, done, err) = read_stream(cr.as_bytes(), 16);
    assert_eq!((got.len(), done, err), (1, true, None));
    let split =
        "data: {\"choices\":[{\"delta\":\ndata: {\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n";
    let (got, done, err) = read_stream(split.as_bytes(), 16);
    assert_eq!((got.len(), done, err), (1, true, None));
}
