//! Reducer tests: messages in, state and effects out.

use super::corpus::CorpusView;
use super::inspector::Pane;
use super::*;
use crate::ingest::IngestReport;
use crate::tui::effect::{ChatEffect, InspectorEffect};
use crate::tui::fixtures;
use crate::tui::msg::TaskReply;
use crate::tui::msg::{AnswerDone, Reply};
use crossterm::event::KeyCode;

fn key(app: &mut App, k: Key) -> Vec<Effect> {
    app.update(Msg::Key(k))
}

fn keys(app: &mut App, text: &str) -> Vec<Effect> {
    let mut effects = Vec::new();
    for c in text.chars() {
        effects = key(app, Key::char(c));
    }
    effects
}

fn enter(app: &mut App) -> Vec<Effect> {
    key(app, Key::plain(KeyCode::Enter))
}

fn esc(app: &mut App) -> Vec<Effect> {
    key(app, Key::plain(KeyCode::Esc))
}

fn request_id(effects: &[Effect]) -> u64 {
    match effects.first() {
        Some(Effect::Corpus(CorpusEffect::LoadCollections { id }))
        | Some(Effect::Corpus(CorpusEffect::LoadDocuments { id, .. }))
        | Some(Effect::Corpus(CorpusEffect::LoadDocument { id, .. }))
        | Some(Effect::Inspector(InspectorEffect::Search { id, .. }))
        | Some(Effect::Inspector(InspectorEffect::WhyNot { id, .. }))
        | Some(Effect::Corpus(CorpusEffect::FindDupes { id, .. }))
        | Some(Effect::Corpus(CorpusEffect::LoadHistogram { id, .. }))
        | Some(Effect::Corpus(CorpusEffect::PlanSync { id, .. })) => *id,
        other => panic!("no request in {other:?}"),
    }
}

/// An app with the collection list and the documents of `handbook` loaded. Sorted by path,
/// the first row is document 4 (faq/quotas.md).
fn with_documents() -> App {
    let mut app = fixtures::app();
    let start = app.start(None);
    let id = request_id(&start);
    app.update(Msg::reply(Reply::Corpus(CorpusReply::Collections {
        id,
        result: Ok(vec![fixtures::collection("handbook", 4)]),
    })));
    let open = enter(&mut app);
    assert!(
        matches!(&open[..], [Effect::Corpus(CorpusEffect::LoadDocuments { collection, .. })] if collection == "handbook")
    );
    let id = request_id(&open);
    app.update(Msg::reply(Reply::Corpus(CorpusReply::Documents {
        id,
        result: Ok(fixtures::documents()),
    })));
    app
}

fn toast_texts(app: &App) -> Vec<String> {
    app.toasts.iter().map(|t| t.text.clone()).collect()
}

#[test]
fn start_loads_collections_and_the_first_becomes_active() {
    let mut app = fixtures::app();
    let effects = app.start(None);
    assert!(matches!(
        effects[..],
        [Effect::Corpus(CorpusEffect::LoadCollections { .. })]
    ));
    assert_eq!(app.corpus.collections, Loadable::Loading);
    let id = request_id(&effects);
    app.update(Msg::reply(Reply::Corpus(CorpusReply::Collections {
        id,
        result: Ok(vec![fixtures::collection("handbook", 4)]),
    })));
    assert_eq!(app.collection(), Some("handbook"));
    assert!(app.dirty);
}

#[test]
fn opening_on_a_collection_loads_its_documents() {
    let mut app = fixtures::app();
    let effects = app.start(Some("sample"));
    assert!(matches!(
        effects[0],
        Effect::Corpus(CorpusEffect::LoadCollections { .. })
    ));
    assert!(
        matches!(&effects[1], Effect::Corpus(CorpusEffect::LoadDocuments { collection, .. }) if collection == "sample")
    );
    assert_eq!(app.collection(), Some("sample"));
    assert_eq!(app.corpus.view, CorpusView::Documents);
}

#[test]
fn stale_replies_are_dropped() {
    let mut app = fixtures::app();
    let first = request_id(&app.start(None));
    let second = request_id(&app.corpus.start_collections(first + 100));
    app.update(Msg::reply(Reply::Corpus(CorpusReply::Collections {
        id: first,
        result: Err("old".into()),
    })));
    assert_eq!(
        app.corpus.collections,
        Loadable::Loading,
        "an older request's reply is ignored"
    );
    app.update(Msg::reply(Reply::Corpus(CorpusReply::Collections {
        id: second,
        result: Ok(vec![]),
    })));
    assert_eq!(app.corpus.collections, Loadable::Ready(vec![]));
}

#[test]
fn documents_table_filters_sorts_and_reports_bad_regex() {
    let mut app = with_documents();
    assert_eq!(app.corpus.view, CorpusView::Documents);
    assert_eq!(app.corpus.visible.len(), 4);
    key(&mut app, Key::char('/'));
    keys(&mut app, "gpu");
    assert_eq!(app.corpus.visible.len(), 2, "filters while typing");
    enter(&mut app);
    assert!(app.corpus.filter_edit.is_none());
    key(&mut app, Key::char('/'));
    key(&mut app, Key::ctrl('u'));
    keys(&mut app, "!status:excluded");
    enter(&mut app);
    assert_eq!(app.corpus.visible.len(), 3);
    key(&mut app, Key::char('/'));
    key(&mut app, Key::ctrl('u'));
    keys(&mut app, "re:gpu-x(");
    enter(&mut app);
    assert!(
        toast_texts(&app)
            .iter()
            .any(|t| t.starts_with("invalid regex `gpu-x(`")),
        "{:?}",
        app.toasts
    );
    assert_eq!(
        app.corpus.visible.len(),
        1,
        "the last good filter (re:gpu-x) stays"
    );
    esc(&mut app);
    assert!(app.corpus.filter.is_none(), "Esc clears the filter first");
    assert_eq!(app.corpus.visible.len(), 4);
    key(&mut app, Key::char('s'));
    let docs = app.corpus.docs.ready().unwrap();
    let chunks: Vec<i64> = app.corpus.visible.iter().map(|&i| docs[i].chunks).collect();
    assert!(
        chunks.windows(2).all(|w| w[0] >= w[1]),
        "sorted by chunks: {chunks:?}"
    );
}

#[test]
fn movement_keys_and_chords() {
    let mut app = with_documents();
    key(&mut app, Key::char('j'));
    key(&mut app, Key::char('j'));
    assert_eq!(app.corpus.doc_cursor.selected, 2);
    key(&mut app, Key::char('g'));
    assert_eq!(app.pending_keys, vec![Key::char('g')]);
    key(&mut app, Key::char('g'));
    assert_eq!(app.corpus.doc_cursor.selected, 0);
    assert!(app.pending_keys.is_empty());
    key(&mut app, Key::char('G'));
    assert_eq!(app.corpus.doc_cursor.selected, 3);
}

#[test]
fn curation_actions_produce_effects() {
    let mut app = with_documents();
    let effects = key(&mut app, Key::char('x'));
    assert_eq!(
        effects,
        vec![Effect::Corpus(CorpusEffect::SetDocExcluded {
            collection: "handbook".into(),
            document_id: 4,
            excluded: true
        })]
    );
    key(&mut app, Key::char('t'));
    keys(&mut app, "urgent");
    let effects = enter(&mut app);
    assert_eq!(
        effects,
        vec![Effect::Corpus(CorpusEffect::Tag {
            collection: "handbook".into(),
            document_id: 4,
            tag: "urgent".into(),
            add: true
        })]
    );
    key(&mut app, Key::char('D'));
    assert!(matches!(
        app.overlay,
        Some(Overlay::Confirm(Confirm::Delete { document_id: 4, .. }))
    ));
    let effects = key(&mut app, Key::char('n'));
    assert!(
        effects.is_empty() && app.overlay.is_none(),
        "n keeps the document"
    );
    key(&mut app, Key::char('D'));
    let effects = key(&mut app, Key::char('y'));
    assert_eq!(
        effects,
        vec![Effect::Corpus(CorpusEffect::DeleteDocument {
            collection: "handbook".into(),
            document_id: 4
        })]
    );
}

#[test]
fn chunk_exclusion_in_document_detail() {
    let mut app = with_documents();
    let effects = enter(&mut app);
    assert!(matches!(
        effects[..],
        [Effect::Corpus(CorpusEffect::LoadDocument {
            document_id: 4,
            ..
        })]
    ));
    assert_eq!(app.corpus.detail, Loadable::Loading);
    let id = request_id(&effects);
    app.update(Msg::reply(Reply::Corpus(CorpusReply::Document {
        id,
        result: Ok(fixtures::detail()),
    })));
    key(&mut app, Key::char('j'));
    key(&mut app, Key::char('j'));
    let effects = key(&mut app, Key::char('x'));
    assert_eq!(
        effects,
        vec![Effect::Corpus(CorpusEffect::SetChunkExcluded {
            chunk_id: 102,
            excluded: false
        })],
        "the third chunk was excluded"
    );
    esc(&mut app);
    assert_eq!(app.corpus.view, CorpusView::Documents);
}

#[test]
fn changes_toast_and_reload_views() {
    let mut app = with_documents();
    let effects = app.update(Msg::reply(Reply::Changed {
        message: "excluded".into(),
    }));
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Corpus(CorpusEffect::LoadCollections { .. }))));
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Corpus(CorpusEffect::LoadDocuments { .. }))));
    assert_eq!(toast_texts(&app), vec!["excluded".to_string()]);
    app.update(Msg::Tick { now_ms: 10_000 });
    assert!(app.toasts.is_empty(), "toasts expire");
}

#[test]
fn sync_shows_the_dry_run_then_runs() {
    let mut app = with_documents();
    let effects = key(&mut app, Key::char('S'));
    assert!(
        matches!(&effects[..], [Effect::Corpus(CorpusEffect::PlanSync { collection, .. })] if collection == "handbook")
    );
    let id = request_id(&effects);
    let report = IngestReport {
        collection: "handbook".into(),
        dry_run: true,
        added: 2,
        removed: vec!["/data/handbook/old.md".into()],
        ..Default::default()
    };
    app.update(Msg::reply(Reply::Corpus(CorpusReply::SyncPlan {
        id,
        collection: "handbook".into(),
        result: Ok(report),
    })));
    let Some(Overlay::Confirm(Confirm::Sync { lines, .. })) = &app.overlay else {
        panic!("expected the dry-run diff, got {:?}", app.overlay);
    };
    assert!(lines.iter().any(|l| l.contains("2 added")), "{lines:?}");
    assert!(
        enter(&mut app).is_empty(),
        "Enter does not confirm a destructive sync"
    );
    assert!(app.overlay.is_some());
    let effects = key(&mut app, Key::char('y'));
    let [Effect::Corpus(CorpusEffect::RunSync { id, collection })] = &effects[..] else {
        panic!("expected a sync, got {effects:?}");
    };
    assert_eq!(collection, "handbook");
    let task = *id;
    let sync = |app: &App| {
        app.task_of(crate::tui::msg::TaskKind::Sync)
            .map(|t| (t.label.clone(), t.done, t.total))
    };
    assert_eq!(sync(&app), Some(("handbook".into(), 0, 0)));
    assert!(
        key(&mut app, Key::char('S')).is_empty(),
        "one sync at a time"
    );
    app.update(Msg::reply(Reply::Task(TaskReply::Progress {
        task,
        done: 1,
        total: 3,
    })));
    assert_eq!(sync(&app), Some(("handbook".into(), 1, 3)));
    let effects = app.update(Msg::reply(Reply::Corpus(CorpusReply::SyncDone {
        collection: "handbook".into(),
        result: Ok(IngestReport::default()),
    })));
    app.update(Msg::reply(Reply::Task(TaskReply::Ended { task })));
    assert!(sync(&app).is_none());
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Corpus(CorpusEffect::LoadDocuments { .. }))));
}

#[test]
fn inspector_searches_live_and_keeps_the_latest() {
    let mut app = with_documents();
    key(&mut app, Key::char('2'));
    assert_eq!(app.screen, Screen::Inspector);
    assert!(
        app.inspector.editing,
        "an empty inspector starts in the query box"
    );
    assert!(
        keys(&mut app, "gp").is_empty(),
        "two characters do not search yet"
    );
    let first = keys(&mut app, "u");
    let second = keys(&mut app, " drain");
    assert!(
        matches!(&second[..], [Effect::Inspector(InspectorEffect::Search { query, .. })] if query == "gpu drain")
    );
    app.update(Msg::reply(Reply::Inspector(InspectorReply::Search {
        id: request_id(&first),
        result: Ok(fixtures::search_result("gpu")),
    })));
    assert!(
        app.inspector.result.ready().is_none(),
        "an older query's answer is dropped"
    );
    app.update(Msg::reply(Reply::Inspector(InspectorReply::Search {
        id: request_id(&second),
        result: Ok(fixtures::search_result("gpu drain")),
    })));
    assert_eq!(app.inspector.result.ready().unwrap().query, "gpu drain");
    let effects = enter(&mut app);
    assert!(matches!(
        &effects[..],
        [Effect::Inspector(InspectorEffect::Search { .. })]
    ));
    assert!(!app.inspector.editing);
    assert_eq!(app.inspector.history, vec!["gpu drain".to_string()]);
}

#[test]
fn inspector_parameters_rerun_the_query() {
    let mut app = with_documents();
    key(&mut app, Key::char('2'));
    keys(&mut app, "gpu");
    enter(&mut app);
    let effects = key(&mut app, Key::char('m'));
    assert!(
        matches!(&effects[..], [Effect::Inspector(InspectorEffect::Search { params, .. })] if params.mode == crate::retrieve::Mode::Vector)
    );
    let effects = key(&mut app, Key::char('+'));
    assert!(
        matches!(&effects[..], [Effect::Inspector(InspectorEffect::Search { params, .. })] if params.k == 15)
    );
    let effects = key(&mut app, Key::char(']'));
    assert!(
        matches!(&effects[..], [Effect::Inspector(InspectorEffect::Search { params, .. })] if params.rrf_k == 70.0)
    );
    let effects = key(&mut app, Key::char('<'));
    assert!(
        matches!(&effects[..], [Effect::Inspector(InspectorEffect::Search { params, .. })] if params.candidates == 50)
    );
    key(&mut app, Key::plain(KeyCode::Tab));
    assert_eq!(app.inspector.pane, Pane::Vector);
}

#[test]
fn why_not_asks_for_a_target_and_needs_a_query() {
    let mut app = with_documents();
    key(&mut app, Key::char('2'));
    esc(&mut app);
    key(&mut app, Key::char('w'));
    assert!(app.overlay.is_none());
    assert!(toast_texts(&app)
        .iter()
        .any(|t| t.contains("run a query first")));
    key(&mut app, Key::char('i'));
    keys(&mut app, "gpu");
    let id = request_id(&enter(&mut app));
    app.update(Msg::reply(Reply::Inspector(InspectorReply::Search {
        id,
        result: Ok(fixtures::search_result("gpu")),
    })));
    key(&mut app, Key::char('w'));
    assert!(matches!(
        app.overlay,
        Some(Overlay::Prompt {
            kind: PromptKind::WhyNot,
            ..
        })
    ));
    keys(&mut app, "faq/quotas.md");
    let effects = enter(&mut app);
    assert!(
        matches!(&effects[..], [Effect::Inspector(InspectorEffect::WhyNot { target, query, .. })] if target == "faq/quotas.md" && query == "gpu")
    );
    assert_eq!(app.inspector.why, Loadable::Loading);
}

#[test]
fn opening_a_hit_shows_its_document_in_the_corpus_screen() {
    let mut app = with_documents();
    key(&mut app, Key::char('2'));
    keys(&mut app, "gpu");
    let id = request_id(&enter(&mut app));
    app.update(Msg::reply(Reply::Inspector(InspectorReply::Search {
        id,
        result: Ok(fixtures::search_result("gpu")),
    })));
    key(&mut app, Key::char('j'));
    let (chunk, _) = app.inspector.selected().unwrap();
    let effects = enter(&mut app);
    // The hit's own chunk opens, selected in its document (not the document's first).
    assert!(
        matches!(effects[..], [Effect::Corpus(CorpusEffect::LoadChunk { chunk_id, .. })] if chunk_id == chunk),
        "{effects:?}"
    );
    assert_eq!(
        (app.screen, app.corpus.view),
        (Screen::Corpus, CorpusView::Document)
    );
    // Esc goes back where the user came from: the inspector, not the documents list.
    esc(&mut app);
    assert_eq!(app.screen, Screen::Inspector);
    assert!(app.jumps.is_empty());
    // Esc in the document view opened from the corpus itself still goes to the list.
    enter(&mut app);
    key(&mut app, Key::char('1'));
    assert!(app.jumps.is_empty(), "a screen key starts a new path");
    esc(&mut app);
    assert_eq!(app.corpus.view, CorpusView::Documents);
}

#[test]
fn palette_runs_commands_and_rejects_unknown_ones() {
    let mut app = with_documents();
    key(&mut app, Key::char(':'));
    keys(&mut app, "hist");
    let effects = enter(&mut app);
    assert!(
        matches!(&effects[..], [Effect::Corpus(CorpusEffect::LoadHistogram { collection, .. })] if collection == "handbook")
    );
    assert_eq!(app.corpus.view, CorpusView::Histogram);
    key(&mut app, Key::char(':'));
    keys(&mut app, "fly away");
    let effects = enter(&mut app);
    assert!(effects.is_empty());
    assert!(toast_texts(&app)
        .iter()
        .any(|t| t.contains("unknown command `:fly`")));
    key(&mut app, Key::char(':'));
    keys(&mut app, "theme light");
    assert_eq!(
        enter(&mut app),
        vec![Effect::Shell(ShellEffect::SetTheme {
            name: "light".into()
        })]
    );
    key(&mut app, Key::char(':'));
    keys(&mut app, "dupes 0.9");
    let effects = enter(&mut app);
    assert!(
        matches!(&effects[..], [Effect::Corpus(CorpusEffect::FindDupes { threshold, .. })] if (*threshold - 0.9).abs() < 1e-6)
    );
}

#[test]
fn help_opens_and_any_key_closes_it_and_q_quits() {
    let mut app = with_documents();
    key(&mut app, Key::char('?'));
    assert!(matches!(app.overlay, Some(Overlay::Help { scroll: 0 })));
    key(&mut app, Key::char('j'));
    assert!(matches!(app.overlay, Some(Overlay::Help { scroll: 1 })));
    key(&mut app, Key::char('x'));
    assert!(app.overlay.is_none());
    assert!(!app.quit);
    key(&mut app, Key::char('q'));
    assert!(app.quit);
}

#[test]
fn resize_keeps_the_selection_visible() {
    let mut app = with_documents();
    key(&mut app, Key::char('G'));
    app.update(Msg::Resize {
        width: 80,
        height: 9,
    });
    let page = app.page();
    let c = app.corpus.doc_cursor;
    assert!(
        c.selected >= c.offset && c.selected < c.offset + page,
        "{c:?} page {page}"
    );
}

fn chat_ready() -> App {
    let mut app = with_documents();
    key(&mut app, Key::char('3'));
    assert_eq!(app.screen, Screen::Chat);
    assert!(app.chat.editing, "the question box has focus at first");
    app
}

/// The answer `id` gets one source: chunk 101 of document 2.
fn send_one_source(app: &mut App, id: u64) {
    let source = crate::rag::Source {
        n: 1,
        chunk_id: 101,
        document_id: 2,
        source_path: "/data/handbook/x.md".into(),
        title: String::new(),
        heading_path: String::new(),
        text: String::new(),
    };
    app.update(Msg::reply(Reply::Chat(ChatReply::ChatSources {
        id,
        sources: vec![source],
    })));
}

#[test]
fn chat_sends_streams_and_finishes() {
    let mut app = chat_ready();
    keys(&mut app, "How do I drain a node?");
    let effects = enter(&mut app);
    let [Effect::Chat(ChatEffect::Ask {
        id,
        question,
        collection,
        model,
        session,
        ..
    })] = &effects[..]
    else {
        panic!("{effects:?}");
    };
    assert_eq!(
        (question.as_str(), collection.as_deref(), session),
        ("How do I drain a node?", Some("handbook"), &None)
    );
    assert_eq!(model, "smollm2-135m-instruct", "the configured chat model");
    let id = *id;
    assert!(app.chat.input.lines().join("").is_empty(), "the box clears");
    let source = crate::rag::Source {
        n: 1,
        chunk_id: 100,
        document_id: 1,
        source_path: "/data/handbook/runbooks/gpu-node-drain.md".into(),
        title: "Drain".into(),
        heading_path: "Drain > Steps".into(),
        text: "cordon".into(),
    };
    app.update(Msg::reply(Reply::Chat(ChatReply::ChatSources {
        id,
        sources: vec![source],
    })));
    app.update(Msg::reply(Reply::Chat(ChatReply::ChatText {
        id,
        text: "Cordon it first ".into(),
    })));
    app.update(Msg::reply(Reply::Chat(ChatReply::ChatText {
        id: id + 99,
        text: "stale".into(),
    })));
    app.update(Msg::reply(Reply::Chat(ChatReply::ChatText {
        id,
        text: "[1].".into(),
    })));
    assert_eq!(app.chat.turns[0].answer, "Cordon it first [1].");
    assert!(app.chat.turns[0].live);
    let stats = crate::generate::GenerateStats {
        prompt_tokens: 50,
        completion_tokens: 6,
        time_to_first_token_ms: 80.0,
        decode_tokens_per_s: 40.0,
        total_ms: 200.0,
        finish: crate::generate::FinishReason::Stop,
        step_ms: Default::default(),
    };
    let effects = app.update(Msg::reply(Reply::Chat(ChatReply::ChatDone {
        id,
        result: Ok(AnswerDone {
            stats,
            cited: vec![1],
            attribution: Some(crate::rag::Attribution {
                attributed: vec![2],
                ..Default::default()
            }),
            session: 7,
        }),
    })));
    assert!(
        matches!(
            effects[..],
            [Effect::Chat(ChatEffect::LoadChatSessions { .. })]
        ),
        "the sessions list refreshes"
    );
    assert_eq!(app.chat.session, Some(7));
    assert_eq!(app.chat.turns[0].cited, vec![1]);
    let attribution = app.chat.turns[0].attribution.as_ref();
    assert_eq!(attribution.map(|a| a.attributed.clone()), Some(vec![2]));
    assert!(app.chat.running.is_none());
    // The next question goes to the same session.
    keys(&mut app, "And then?");
    let effects = enter(&mut app);
    assert!(matches!(
        &effects[..],
        [Effect::Chat(ChatEffect::Ask {
            session: Some(7),
            ..
        })]
    ));
}

#[test]
fn chat_toggles_rag_stops_copies_and_opens_a_citation() {
    let mut app = chat_ready();
    keys(&mut app, "hello");
    let effects = enter(&mut app);
    let Effect::Chat(ChatEffect::Ask { id, .. }) = effects[0].clone() else {
        panic!()
    };
    esc(&mut app);
    assert_eq!(
        key(&mut app, Key::char('s')),
        vec![Effect::Chat(ChatEffect::StopGeneration { id })]
    );
    send_one_source(&mut app, id);
    app.update(Msg::reply(Reply::Chat(ChatReply::ChatText {
        id,
        text: "Hi".into(),
    })));
    app.update(Msg::reply(Reply::Chat(ChatReply::ChatDone {
        id,
        result: Err("cancelled".into()),
    })));
    assert_eq!(app.chat.turns[0].error.as_deref(), Some("cancelled"));
    let effects = key(&mut app, Key::char('y'));
    assert_eq!(
        effects,
        vec![Effect::Shell(ShellEffect::Copy { text: "Hi".into() })]
    );
    key(&mut app, Key::char('r'));
    assert!(!app.chat.rag);
    key(&mut app, Key::char('i'));
    keys(&mut app, "plain");
    assert_eq!(
        key(&mut app, Key::char('?')),
        vec![],
        "typing goes to the box, not the keymap"
    );
    assert!(app.overlay.is_none());
    assert!(
        matches!(
            &enter(&mut app)[..],
            [Effect::Chat(ChatEffect::Ask {
                collection: None,
                ..
            })]
        ),
        "RAG off asks the model alone"
    );
}

#[test]
fn chat_opens_a_citation_in_the_corpus_screen() {
    let mut app = chat_ready();
    keys(&mut app, "q?");
    let Effect::Chat(ChatEffect::Ask { id, .. }) = enter(&mut app)[0].clone() else {
        panic!()
    };
    send_one_source(&mut app, id);
    esc(&mut app);
    let effects = enter(&mut app);
    assert!(
        matches!(
            effects[..],
            [Effect::Corpus(CorpusEffect::LoadChunk {
                chunk_id: 101,
                ..
            })]
        ),
        "{effects:?}"
    );
    assert_eq!(app.screen, Screen::Corpus);
    let Effect::Corpus(CorpusEffect::LoadChunk { id, .. }) = effects[0] else {
        panic!()
    };
    app.update(Msg::reply(Reply::Corpus(CorpusReply::Document {
        id,
        result: Ok(fixtures::detail()),
    })));
    assert_eq!(
        app.corpus.chunk_cursor.selected, 1,
        "chunk 101 is selected in its document"
    );
}

#[test]
fn pinning_a_chunk_from_its_document_offers_it_to_the_next_answer() {
    let mut app = with_documents();
    let id = request_id(&enter(&mut app));
    app.update(Msg::reply(Reply::Corpus(CorpusReply::Document {
        id,
        result: Ok(fixtures::detail()),
    })));
    key(&mut app, Key::char('j'));
    key(&mut app, Key::char('p'));
    assert_eq!(app.chat.pinned, vec![101]);
    assert!(toast_texts(&app)
        .iter()
        .any(|t| t.contains("chunk 101 pinned")));
    key(&mut app, Key::char('3'));
    keys(&mut app, "why?");
    assert!(
        matches!(&enter(&mut app)[..], [Effect::Chat(ChatEffect::Ask { pinned, .. })] if pinned == &vec![101])
    );
    esc(&mut app);
    key(&mut app, Key::char('n'));
    assert!(
        app.chat.pinned.is_empty(),
        "a new session starts without pins"
    );
}

#[test]
fn a_new_session_during_an_answer_does_not_block_the_next_question() {
    let mut app = chat_ready();
    keys(&mut app, "first?");
    let Effect::Chat(ChatEffect::Ask { id, .. }) = enter(&mut app)[0].clone() else {
        panic!()
    };
    esc(&mut app);
    key(&mut app, Key::char('n'));
    app.update(Msg::reply(Reply::Chat(ChatReply::ChatText {
        id,
        text: "late".into(),
    })));
    app.update(Msg::reply(Reply::Chat(ChatReply::ChatDone {
        id,
        result: Err("cancelled".into()),
    })));
    assert!(app.chat.running.is_none());
    keys(&mut app, "second?");
    assert!(
        matches!(&enter(&mut app)[..], [Effect::Chat(ChatEffect::Ask { question, .. })] if question == "second?")
    );
}

fn ask(app: &mut App, question: &str) -> u64 {
    keys(app, question);
    match enter(app).first() {
        Some(Effect::Chat(ChatEffect::Ask { id, .. })) => *id,
        other => panic!("expected a question to be sent, got {other:?}"),
    }
}

#[test]
fn s_alone_stops_a_streaming_answer_and_the_stop_shows() {
    let mut app = chat_ready();
    let id = ask(&mut app, "hello");
    // No Esc needed: while the answer streams, keys are commands.
    assert_eq!(
        key(&mut app, Key::char('s')),
        vec![Effect::Chat(ChatEffect::StopGeneration { id })]
    );
    // Esc then s typed fast arrives as Alt+s, which stops too.
    key(&mut app, Key::char('i'));
    let alt_s = Key {
        alt: true,
        ..Key::char('s')
    };
    assert_eq!(
        key(&mut app, alt_s),
        vec![Effect::Chat(ChatEffect::StopGeneration { id })]
    );
    let stats = crate::generate::GenerateStats {
        prompt_tokens: 3,
        completion_tokens: 1,
        time_to_first_token_ms: 5.0,
        decode_tokens_per_s: 1.0,
        total_ms: 9.0,
        finish: crate::generate::FinishReason::Cancelled,
        step_ms: Default::default(),
    };
    app.update(Msg::reply(Reply::Chat(ChatReply::ChatDone {
        id,
        result: Ok(AnswerDone {
            stats,
            cited: vec![],
            attribution: None,
            session: 7,
        }),
    })));
    assert!(app.chat.turns[0].stopped(), "a stopped answer is marked so");
}

#[test]
fn time_to_first_token_counts_from_enter_and_loading_shows() {
    let mut app = chat_ready();
    app.update(Msg::Tick { now_ms: 1_000 });
    let id = ask(&mut app, "hello");
    app.update(Msg::reply(Reply::Chat(ChatReply::ChatPhase {
        id,
        phase: "loading model…".into(),
    })));
    assert_eq!(app.chat.turns[0].phase.as_deref(), Some("loading model…"));
    app.update(Msg::Tick { now_ms: 10_900 });
    app.update(Msg::reply(Reply::Chat(ChatReply::ChatText {
        id,
        text: "Hi".into(),
    })));
    assert_eq!(app.chat.turns[0].phase, None);
    assert_eq!(app.chat.turns[0].waited_ms(), Some(9_900));
}

#[test]
fn the_chat_transcript_scrolls_and_sources_take_j_k_after_tab() {
    let mut app = chat_ready();
    let id = ask(&mut app, "hello");
    send_one_source(&mut app, id);
    for k in [
        Key::char('k'),
        Key::plain(KeyCode::Up),
        Key::plain(KeyCode::PageUp),
    ] {
        let before = app.chat.scroll;
        key(&mut app, k);
        assert!(app.chat.scroll > before, "{k:?} scrolls up");
    }
    keys(&mut app, "gg");
    assert!(app.chat.scroll > 1000, "gg goes to the start");
    key(&mut app, Key::char('G'));
    assert_eq!(app.chat.scroll, 0, "G follows the newest answer again");
    key(&mut app, Key::plain(KeyCode::Tab));
    assert!(app.chat.sources_focus);
    key(&mut app, Key::char('k'));
    assert_eq!(
        app.chat.scroll, 0,
        "with the sources focused, j/k move among them"
    );
}

#[test]
fn messages_stay_in_the_log_and_tasks_can_be_cancelled() {
    let mut app = with_documents();
    app.toast("first error", true);
    app.update(Msg::Tick { now_ms: 60_000 });
    assert!(app.toasts.is_empty(), "toasts expire");
    key(&mut app, Key::char('!'));
    assert!(matches!(app.overlay, Some(Overlay::Log { .. })));
    assert!(app.log.iter().any(|e| e.text == "first error" && e.error));
    esc(&mut app);
    app.update(Msg::reply(Reply::Task(TaskReply::Started {
        task: 42,
        kind: crate::tui::msg::TaskKind::Dupes,
        label: "handbook".into(),
    })));
    key(&mut app, Key::ctrl('t'));
    assert_eq!(
        key(&mut app, Key::char('x')),
        vec![Effect::Task(TaskEffect::Cancel { task: 42 })]
    );
    app.update(Msg::reply(Reply::Task(TaskReply::Ended { task: 42 })));
    assert!(app.tasks.is_empty());
}

#[test]
fn rating_keys_toggle_the_last_answer_and_save_it_through_the_change_lane() {
    use crate::store::chat::{Rating, StoredMessage};
    let mut app = chat_ready();
    key(&mut app, Key::char('+'));
    // Typed into the question box while it has focus, not a rating.
    assert_eq!(app.chat.input.lines().join(""), "+");
    esc(&mut app);
    assert!(
        key(&mut app, Key::char('+')).is_empty(),
        "nothing to rate yet"
    );
    key(&mut app, Key::char('i'));
    app.chat.input = tui_textarea::TextArea::default();
    keys(&mut app, "How?");
    let effects = enter(&mut app);
    let [Effect::Chat(ChatEffect::Ask { id, .. })] = effects[..] else {
        panic!("{effects:?}");
    };
    app.update(Msg::reply(Reply::Chat(ChatReply::ChatText {
        id,
        text: "Like so.".into(),
    })));
    let rate = |rating| {
        vec![Effect::Chat(ChatEffect::Rate {
            session: 7,
            message_id: None,
            answer: "Like so.".into(),
            rating,
        })]
    };
    let stats = crate::generate::GenerateStats {
        prompt_tokens: 5,
        completion_tokens: 3,
        time_to_first_token_ms: 8.0,
        decode_tokens_per_s: 40.0,
        total_ms: 20.0,
        finish: crate::generate::FinishReason::Stop,
        step_ms: Default::default(),
    };
    app.update(Msg::reply(Reply::Chat(ChatReply::ChatDone {
        id,
        result: Ok(AnswerDone {
            stats,
            cited: vec![],
            attribution: None,
            session: 7,
        }),
    })));
    esc(&mut app);
    assert_eq!(key(&mut app, Key::char('+')), rate(Some(Rating::Good)));
    assert_eq!(app.chat.turns[0].rating, Some(Rating::Good));
    assert_eq!(key(&mut app, Key::char('+')), rate(None), "again clears");
    assert_eq!(app.chat.turns[0].rating, None);
    assert_eq!(key(&mut app, Key::char('-')), rate(Some(Rating::Bad)));
    assert_eq!(app.chat.turns[0].rating, Some(Rating::Bad));

    // A stored session brings its answers' ids and ratings.
    let message = |id, role: &str, content: &str, rating| StoredMessage {
        id,
        role: role.into(),
        content: content.into(),
        model: None,
        rag: false,
        stats: None,
        rating,
        sources: Vec::new(),
    };
    let loaded = vec![
        message(41, "user", "Q?", None),
        message(42, "assistant", "A.", Some(1)),
    ];
    app.chat.on_session(0, Ok((9, loaded, Vec::new())));
    assert_eq!(app.chat.turns[0].rating, Some(Rating::Good));
    assert_eq!(
        key(&mut app, Key::char('-')),
        vec![Effect::Chat(ChatEffect::Rate {
            session: 9,
            message_id: Some(42),
            answer: "A.".into(),
            rating: Some(Rating::Bad),
        })]
    );
}
