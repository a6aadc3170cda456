//! Screen snapshots: every screen's empty, loading, populated and error states, drawn with
//! `TestBackend` in the dark and the high-contrast theme. A snapshot holds the text a user
//! sees and, below it, the styled runs (so a theme change shows up as a diff too).

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Style;
use ratatui::Terminal;

use crate::curate::histogram::Histogram;
use crate::retrieve::why::{ChunkFate, WhyNot};
use crate::store::documents::ChunkInDoc;
use crate::tui::fixtures;
use crate::tui::msg::{DupPairView, DupView};
use crate::tui::state::corpus::CorpusView;
use crate::tui::state::input::LineInput;
use crate::tui::state::palette::Palette;
use crate::tui::state::{App, Confirm, Loadable, Overlay, Screen};
use crate::tui::theme::Theme;

const THEMES: [&str; 2] = ["dark", "high-contrast"];

pub(super) fn draw(app: &App, theme: &Theme) -> Buffer {
    let backend = TestBackend::new(app.size.0, app.size.1);
    let mut terminal = Terminal::new(backend).unwrap();
    terminal.draw(|f| super::render(app, theme, f)).unwrap();
    terminal.backend().buffer().clone()
}

/// The screen's text, then each run of cells whose style differs from the theme's text style.
pub(super) fn describe(buffer: &Buffer, theme: &Theme) -> String {
    let base = theme.style("text");
    let area = buffer.area;
    let mut text = String::new();
    let mut runs = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        let mut run: Option<(u16, Style)> = None;
        for x in 0..area.width {
            let cell = &buffer[(x, y)];
            line.push_str(cell.symbol());
            let style = cell.style();
            let differs =
                (style.fg, style.bg, style.add_modifier) != (base.fg, base.bg, base.add_modifier);
            match (&run, differs) {
                (Some((_, s)), true) if *s == style => {}
                (Some((start, s)), _) => {
                    runs.push_str(&format!("{y:>2} {start:>3}..{x:<3} {}\n", fmt_style(s)));
                    run = differs.then_some((x, style));
                }
                (None, true) => run = Some((x, style)),
                (None, false) => {}
            }
        }
        if let Some((start, s)) = run {
            runs.push_str(&format!(
                "{y:>2} {start:>3}..{:<3} {}\n",
                area.width,
                fmt_style(&s)
            ));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    format!("{text}--- styled runs (row start..end style) ---\n{runs}")
}

fn fmt_style(s: &Style) -> String {
    let mut parts = Vec::new();
    if let Some(fg) = s.fg {
        parts.push(format!("fg={fg}"));
    }
    if let Some(bg) = s.bg {
        parts.push(format!("bg={bg}"));
    }
    if !s.add_modifier.is_empty() {
        parts.push(format!("{:?}", s.add_modifier));
    }
    parts.join(" ")
}

fn snapshot(name: &str, app: &App) {
    for theme_name in THEMES {
        let theme = Theme::load(theme_name, None, false).unwrap();
        let shown = describe(&draw(app, &theme), &theme);
        insta::assert_snapshot!(format!("{name}@{theme_name}"), shown);
    }
}

fn corpus_ready() -> App {
    let mut app = fixtures::app();
    app.corpus.collections = Loadable::Ready(vec![
        fixtures::collection("handbook", 4),
        fixtures::collection("scifact", 5183),
    ]);
    app.corpus.active = Some("handbook".into());
    app
}

fn with_docs() -> App {
    let mut app = corpus_ready();
    app.corpus.view = CorpusView::Documents;
    app.corpus.docs = Loadable::Ready(fixtures::documents());
    let page = app.page();
    app.corpus.refresh_visible(page);
    app
}

#[test]
fn collections_screen() {
    let mut app = fixtures::app();
    app.corpus.collections = Loadable::Loading;
    snapshot("collections_loading", &app);
    app.corpus.collections = Loadable::Ready(vec![]);
    snapshot("collections_empty", &app);
    app.corpus.collections =
        Loadable::Failed("database /data/lmdeck.db: file is not a database".into());
    snapshot("collections_error", &app);
    snapshot("collections_populated", &corpus_ready());
}

#[test]
fn documents_screen() {
    let mut app = corpus_ready();
    app.corpus.view = CorpusView::Documents;
    app.corpus.docs = Loadable::Loading;
    snapshot("documents_loading", &app);
    app.corpus.docs = Loadable::Failed("no collection named `handbook`".into());
    snapshot("documents_error", &app);
    app.corpus.docs = Loadable::Ready(vec![]);
    snapshot("documents_empty", &app);
    let mut app = with_docs();
    app.corpus.doc_cursor.selected = 1;
    app.status.engine = crate::tui::state::Engine::Ready {
        provider: "CPUExecutionProvider".into(),
    };
    snapshot("documents_populated", &app);
    app.corpus.filter_edit = Some(LineInput::with("tag:gpu"));
    app.corpus.filter = crate::tui::state::filter::Filter::parse("tag:gpu").ok();
    let page = app.page();
    app.corpus.refresh_visible(page);
    snapshot("documents_filtered", &app);
}

#[test]
fn document_detail_screen() {
    let mut app = with_docs();
    app.corpus.view = CorpusView::Document;
    app.corpus.detail = Loadable::Loading;
    snapshot("document_loading", &app);
    app.corpus.detail = Loadable::Failed("no document 9".into());
    snapshot("document_error", &app);
    app.corpus.detail = Loadable::Ready(fixtures::detail());
    app.corpus.chunk_cursor.selected = 2;
    snapshot("document_populated", &app);
}

#[test]
fn duplicates_and_histogram_screens() {
    let mut app = with_docs();
    app.corpus.view = CorpusView::Dupes;
    app.corpus.dupes = Loadable::Loading;
    snapshot("dupes_loading", &app);
    app.corpus.dupes = Loadable::Ready(DupView {
        threshold: 0.95,
        pairs: vec![],
        chunks_compared: 28,
        truncated: false,
    });
    snapshot("dupes_empty", &app);
    let detail = fixtures::detail();
    let side = |i: usize| ChunkInDoc {
        chunk: detail.chunks[i].clone(),
        source_path: detail.doc.source_path.clone(),
        title: detail.doc.title.clone(),
    };
    app.corpus.dupes = Loadable::Ready(DupView {
        threshold: 0.95,
        pairs: vec![DupPairView {
            similarity: 0.981,
            a: side(0),
            b: side(2),
        }],
        chunks_compared: 28,
        truncated: false,
    });
    snapshot("dupes_populated", &app);
    app.corpus.view = CorpusView::Histogram;
    app.corpus.histogram = Loadable::Failed("no collection named `handbook`".into());
    snapshot("histogram_error", &app);
    app.corpus.histogram = Loadable::Ready(Histogram::build(
        &[12, 40, 80, 85, 90, 150, 160, 170, 180, 190, 195, 199, 200],
        8,
    ));
    snapshot("histogram_populated", &app);
}

#[test]
fn inspector_screen() {
    let mut app = corpus_ready();
    app.screen = Screen::Inspector;
    app.inspector.editing = true;
    snapshot("inspector_empty", &app);
    app.inspector.editing = false;
    app.inspector.query = LineInput::with("how do I drain a gpu node");
    app.inspector.history = vec![
        "how do I drain a gpu node".into(),
        "retention policy".into(),
    ];
    app.inspector.result = Loadable::Loading;
    snapshot("inspector_loading", &app);
    app.inspector.result =
        Loadable::Failed("hybrid search needs the embedding model, which is still loading".into());
    snapshot("inspector_error", &app);
    app.inspector.result = Loadable::Ready(fixtures::search_result("how do I drain a gpu node"));
    snapshot("inspector_populated", &app);
    app.inspector.why = Loadable::Ready(WhyNot {
        target: "faq/quotas.md".into(),
        source_path: format!("{}/faq/quotas.md", fixtures::ROOT),
        summary: "best chunk 7 (#0): cut before fusion: vector rank 412 (beyond the 100 candidates); keyword: no query term matches".into(),
        chunks: vec![ChunkFate { chunk_id: 7, ordinal: 0, vector_rank: Some(412), keyword_rank: None, fused_rank: None, verdict: "cut before fusion: vector rank 412 (beyond the 100 candidates); keyword: no query term matches".into() }],
    });
    snapshot("inspector_why_not", &app);
}

#[test]
fn overlays() {
    let mut app = with_docs();
    app.overlay = Some(Overlay::Help { scroll: 0 });
    snapshot("overlay_help", &app);
    app.overlay = Some(Overlay::Palette(Palette {
        input: LineInput::with("ex"),
        selected: 0,
    }));
    snapshot("overlay_palette", &app);
    app.overlay = Some(Overlay::Confirm(Confirm::Sync {
        collection: "handbook".into(),
        lines: vec![
            "collection `handbook` (dry run): 2 added, 1 modified, 30 unchanged, 1 removed".into(),
            "  removed: /data/handbook/old.md".into(),
        ],
    }));
    snapshot("overlay_sync_confirm", &app);
    app.overlay = None;
    app.toast("invalid regex `gpu(`: unclosed group", true);
    app.tasks.push(crate::tui::state::tasks::TaskView {
        task: 9,
        kind: crate::tui::msg::TaskKind::Sync,
        label: "handbook".into(),
        done: 12,
        total: 36,
    });
    snapshot("toast_and_sync_progress", &app);
}

#[test]
fn chat_screen() {
    use crate::tui::state::chat::Turn;
    let mut app = corpus_ready();
    app.screen = Screen::Chat;
    app.chat.sessions = Loadable::Loading;
    snapshot("chat_empty", &app);
    app.chat.sessions = Loadable::Ready(vec![crate::store::chat::Session {
        id: 3,
        title: "How do I drain a GPU node?".into(),
        collection: Some("handbook".into()),
        created_at: 0,
        messages: 2,
    }]);
    app.chat.session = Some(3);
    let source = |n: usize, path: &str| crate::rag::Source {
        n,
        chunk_id: 100 + n as i64,
        document_id: 1,
        source_path: format!("{}/{path}", fixtures::ROOT),
        title: String::new(),
        heading_path: "Runbook > Procedure".into(),
        text: String::new(),
    };
    let mut turn = Turn {
        question: "How do I drain a GPU node?".into(),
        answer: "## Steps\n- Cordon the node [1]\n- Wait for jobs to finish\n```\ntgctl node drain gpu-07\n```".into(),
        model: "smollm2-135m-instruct".into(),
        rag: true,
        sources: vec![source(1, "runbooks/gpu-node-drain.md"), source(2, "runbooks/gpu-xid-errors.md")],
        cited: vec![],
        attribution: None,
        stats: None,
        error: None,
        live: true,
        phase: None,
        sent_ms: 0,
        first_text_ms: None,
        message_id: None,
        rating: None,
    };
    app.chat.turns = vec![turn.clone()];
    app.chat.editing = false;
    snapshot("chat_streaming", &app);
    turn.live = false;
    turn.cited = vec![1];
    // Source 1 is cited (*); source 2 only backs a sentence by similarity (~).
    let support =
        |sentence: &str, source: Option<usize>, similarity: f32| crate::rag::SentenceSupport {
            sentence: sentence.into(),
            source,
            similarity,
        };
    turn.attribution = Some(crate::rag::Attribution {
        sentences: vec![
            support("Cordon the node", Some(1), 0.71),
            support("Wait for jobs to finish", Some(2), 0.62),
            support("tgctl node drain gpu-07", None, 0.41),
        ],
        grounded_share: 2.0 / 3.0,
        attributed: vec![1, 2],
        threshold: 0.55,
    });
    turn.stats = Some(crate::generate::GenerateStats {
        prompt_tokens: 612,
        completion_tokens: 31,
        time_to_first_token_ms: 980.0,
        decode_tokens_per_s: 41.5,
        total_ms: 1700.0,
        finish: crate::generate::FinishReason::Stop,
        step_ms: Default::default(),
    });
    app.chat.turns = vec![turn.clone()];
    app.chat.source_cursor.selected = 1;
    snapshot("chat_answered", &app);
    let mut rated = turn.clone();
    rated.rating = Some(crate::store::chat::Rating::Good);
    app.chat.turns = vec![rated.clone()];
    snapshot("chat_rated_good", &app);
    rated.rating = Some(crate::store::chat::Rating::Bad);
    app.chat.turns = vec![rated];
    snapshot("chat_rated_bad", &app);
    turn.error =
        Some("endpoint `vllm` (http://gpu:8000/v1): cannot connect: Connection refused".into());
    turn.stats = None;
    app.chat.turns = vec![turn];
    snapshot("chat_error", &app);
}

#[test]
fn a_long_confirmation_keeps_its_key_hint_on_a_small_terminal() {
    let mut app = corpus_ready();
    app.size = (60, 16);
    let long = "a plan line long enough to wrap several times on a narrow terminal, ".repeat(3);
    app.overlay = Some(Overlay::Confirm(Confirm::Sync {
        collection: "handbook".into(),
        lines: (0..12).map(|i| format!("  {i}: {long}")).collect(),
    }));
    let theme = Theme::load("dark", None, false).unwrap();
    let buffer = draw(&app, &theme);
    let text: String = buffer
        .content()
        .chunks(buffer.area.width as usize)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n")
        .collect();
    assert!(text.contains("y: apply   n / Esc: cancel"), "{text}");
    assert!(text.contains('…'), "lines that do not fit give way: {text}");
}
