//! Hostile strings (file names, document text, answers, server messages) never put a control
//! character or a bidi override into the drawn buffer: they are shown escaped (`\e`, `\a`).

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;

use crate::tui::fixtures;
use crate::tui::state::corpus::CorpusView;
use crate::tui::state::{App, Loadable, Screen};
use crate::tui::theme::Theme;
use crate::util::safe::is_unsafe;

const NAME: &str = "esc-\x1b[31mred\x1b[0m-\x1b]0;TITLE\x07.md";
const TEXT: &str =
    "clears \x1b[2J the screen\x07, \u{202e}reversed\u{202c}, bare\rreturn \u{9b}31m";

fn draw(app: &App) -> String {
    let theme = Theme::load("dark", None, false).unwrap();
    let mut terminal = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    terminal.draw(|f| super::render(app, &theme, f)).unwrap();
    let buffer: &Buffer = terminal.backend().buffer();
    let shown: String = buffer.content.iter().map(|c| c.symbol()).collect();
    let raw: Vec<char> = shown.chars().filter(|&c| is_unsafe(c)).collect();
    assert!(raw.is_empty(), "raw control characters {raw:?} in\n{shown}");
    shown
}

fn hostile_docs() -> App {
    let mut app = fixtures::app();
    app.corpus.collections = Loadable::Ready(vec![fixtures::collection("kb\x1b[5m", 2)]);
    app.corpus.active = Some("kb\x1b[5m".into());
    app.corpus.view = CorpusView::Documents;
    app.corpus.docs = Loadable::Ready(vec![
        fixtures::document(1, NAME, "active", &["t\x07g"]),
        fixtures::document(2, "split\nname.md", "active", &[]),
    ]);
    let page = app.page();
    app.corpus.refresh_visible(page);
    app
}

#[test]
fn corpus_views_escape_names_and_text() {
    let mut app = hostile_docs();
    let shown = draw(&app);
    assert!(shown.contains("esc-\\e[31mred"), "{shown}");
    assert!(shown.contains("split\\nname.md"), "{shown}");

    let mut detail = fixtures::detail();
    detail.doc = fixtures::document(1, NAME, "active", &[]);
    for chunk in &mut detail.chunks {
        chunk.text = TEXT.into();
        chunk.heading_path = format!("Top > {NAME}");
    }
    app.corpus.view = CorpusView::Document;
    app.corpus.detail = Loadable::Ready(detail);
    let shown = draw(&app);
    assert!(
        shown.contains("\\e[2J") && shown.contains("\\u{202e}"),
        "{shown}"
    );
    assert!(shown.contains("\\e]0;TITLE\\a"), "{shown}");
}

#[test]
fn inspector_escapes_hits_and_why_not() {
    let mut app = hostile_docs();
    app.screen = Screen::Inspector;
    app.inspector.editing = false;
    let mut result = fixtures::search_result("drain");
    for hit in &mut result.hits {
        hit.source_path = format!("{}/{NAME}", fixtures::ROOT);
        hit.heading_path = NAME.into();
        hit.text = TEXT.into();
    }
    app.inspector.result = Loadable::Ready(result);
    app.inspector.history = vec![TEXT.into()];
    let shown = draw(&app);
    assert!(shown.contains("\\e[31m"), "{shown}");
    app.inspector.result = Loadable::Failed(format!("search failed on {NAME}"));
    draw(&app);
}

#[test]
fn chat_escapes_answers_sources_errors_and_toasts() {
    use crate::tui::state::chat::Turn;
    let mut app = hostile_docs();
    app.screen = Screen::Chat;
    app.chat.sessions = Loadable::Ready(vec![crate::store::chat::Session {
        id: 1,
        title: format!("about {NAME}"),
        collection: None,
        created_at: 0,
        messages: 2,
    }]);
    let source = crate::rag::Source {
        n: 1,
        chunk_id: 1,
        document_id: 1,
        source_path: format!("{}/{NAME}", fixtures::ROOT),
        title: NAME.into(),
        heading_path: NAME.into(),
        text: TEXT.into(),
    };
    let turn = Turn {
        question: format!("what is {NAME}?"),
        answer: format!("# {TEXT}\n- {TEXT}\n```\n{TEXT}\n```\n{TEXT}"),
        model: "m\x1b]0;x\x07".into(),
        rag: true,
        sources: vec![source],
        cited: vec![1],
        attribution: None,
        stats: None,
        error: Some(format!("HTTP 500: {TEXT}")),
        live: false,
        phase: None,
        sent_ms: 0,
        first_text_ms: None,
        message_id: None,
        rating: None,
    };
    app.chat.turns = vec![turn];
    app.chat.editing = false;
    app.toast(format!("sync failed on {NAME}"), true);
    let shown = draw(&app);
    assert!(shown.contains("\\e[2J"), "{shown}");
}

#[test]
fn the_buffer_is_scrubbed_whatever_a_view_forgot() {
    let mut buf = Buffer::empty(ratatui::layout::Rect::new(0, 0, 20, 1));
    let line = ratatui::text::Line::from("a\x1b]0;T\x07b\u{202e}c");
    ratatui::widgets::Widget::render(line, buf.area, &mut buf);
    super::scrub(&mut buf);
    let shown: String = buf.content.iter().map(|c| c.symbol()).collect();
    assert!(!shown.contains(is_unsafe), "{shown:?}");
    // ESC and BEL take a cell of their own (blanked); the override rides on `b` (dropped).
    assert!(shown.starts_with("a ]0;T bc"), "{shown:?}");
}
