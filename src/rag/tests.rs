//! RAG end to end on a temporary store with the test engines: documents ingested through
//! the real pipeline with the hash embedder, answers from the scripted generator.

use std::path::Path;

use super::*;
use crate::embed::test_engine::HashEmbedder;
use crate::generate::test_engine::ScriptedGenerator;
use crate::generate::{Cancel, ChatMessage, FinishReason, Generator, SamplingParams};
use crate::ingest::{pipeline, ChunkSettings, IngestRequest};
use crate::retrieve::{Mode, SearchParams};
use crate::store::Store;

pub(crate) const DOCS: [(&str, &str); 3] = [
    (
        "drain.md",
        "# Draining a node\n\nTo drain a node, cordon it first, then evict its pods with kubectl drain. Wait until the pods run elsewhere before you reboot.\n",
    ),
    (
        "certs.md",
        "# Certificates\n\nRotate the cluster certificates every year with kubeadm certs renew, then restart the control plane.\n",
    ),
    (
        "backup.md",
        "# Backups\n\nEtcd snapshots are taken nightly and kept for thirty days in the backup bucket.\n",
    ),
];

/// A collection `kb` of the three documents, in a temporary folder.
pub(crate) struct Kb {
    pub _dir: tempfile::TempDir,
    pub store: Store,
    pub embedder: HashEmbedder,
}

pub(crate) fn kb() -> Kb {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    for (name, text) in DOCS {
        std::fs::write(docs.join(name), text).unwrap();
    }
    let store = Store::open(&dir.path().join("kb.db")).unwrap();
    let embedder = HashEmbedder::default();
    let request = IngestRequest {
        collection: "kb".into(),
        roots: vec![docs],
        settings: ChunkSettings {
            target: 64,
            overlap: 8,
        },
        max_file_bytes: 1 << 20,
        prune: true,
    };
    let tokenizer = HashEmbedder::tokenizer().unwrap();
    let report = pipeline::ingest(
        &store,
        &embedder,
        &tokenizer,
        &request,
        &pipeline::NoProgress,
    )
    .unwrap();
    assert_eq!(report.added, 3);
    Kb {
        _dir: dir,
        store,
        embedder,
    }
}

pub(crate) fn search() -> SearchParams {
    SearchParams {
        k: 2,
        mode: Mode::Hybrid,
        candidates: 20,
        oversample: 3,
        rrf_k: 60.0,
        common_term_chunks: 5000,
    }
}

pub(crate) fn options(history: Vec<ChatMessage>) -> AskOptions {
    AskOptions {
        rag: true,
        collection: Some("kb".into()),
        search: search(),
        sampling: SamplingParams::default(),
        max_new_tokens: 64,
        context_tokens: 4096,
        pinned: Vec::new(),
        history,
        instructions: None,
    }
}

/// What the sink saw, in order.
#[derive(Default)]
struct Seen {
    events: Vec<String>,
    cancel_after: Option<(usize, Cancel)>,
}

impl answer::AnswerSink for Seen {
    fn sources(&mut self, sources: &[Source]) {
        self.events.push(format!("sources {}", sources.len()));
    }
    fn text(&mut self, piece: &str) {
        self.events.push(piece.to_string());
        if let Some((n, cancel)) = &self.cancel_after {
            if self.events.len() > *n {
                cancel.cancel();
            }
        }
    }
}

fn file(s: &Source) -> &str {
    Path::new(&s.source_path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
}

#[test]
fn ask_chooses_sources_streams_and_parses_citations() {
    let kb = kb();
    let g = ScriptedGenerator::new("Cordon it, then run kubectl drain [1]. Not [3] or [9].");
    let mut seen = Seen::default();
    let question = "How do I drain a node with kubectl?";
    let a = ask(
        &kb.store,
        Some(&kb.embedder),
        &g,
        question,
        &options(vec![]),
        &Cancel::default(),
        &mut seen,
    )
    .unwrap();
    assert_eq!(a.sources.len(), 2);
    assert_eq!(file(&a.sources[0]), "drain.md");
    assert_eq!(a.cited, vec![1]); // [3] and [9] name no source
    assert_eq!(seen.events[0], "sources 2");
    assert_eq!(seen.events[1..].concat(), a.text);
    assert_eq!(seen.events.len(), 1 + a.stats.completion_tokens);
    assert_eq!(a.stats.finish, FinishReason::Stop);
    assert!(a.retrieval.is_some() && a.dropped.is_empty());
    let sent = g.last_messages().unwrap();
    assert_eq!(sent[0], ChatMessage::new("system", prompt::INSTRUCTIONS));
    assert!(
        sent[1]
            .content
            .starts_with("Sources:\n\n[1] Draining a node\n"),
        "{}",
        sent[1].content
    );
    assert!(sent[1].content.ends_with(&format!("Question: {question}")));
    assert_eq!(a.stats.prompt_tokens, g.prompt_tokens(&sent).unwrap());
}

#[test]
fn history_goes_between_the_instructions_and_the_question() {
    let kb = kb();
    let g = ScriptedGenerator::echo();
    let history = vec![
        ChatMessage::new("user", "How long are etcd snapshots kept?"),
        ChatMessage::new("assistant", "Thirty days [1]."),
    ];
    let mut seen = Seen::default();
    ask(
        &kb.store,
        Some(&kb.embedder),
        &g,
        "And when are they taken?",
        &options(history.clone()),
        &Cancel::default(),
        &mut seen,
    )
    .unwrap();
    let sent = g.last_messages().unwrap();
    assert_eq!(sent.len(), 4);
    assert_eq!(sent[1..3], history[..]);
    assert!(sent[3]
        .content
        .ends_with("Question: And when are they taken?"));
}

#[test]
fn without_rag_the_question_goes_bare_after_the_history() {
    let kb = kb();
    let g = ScriptedGenerator::echo();
    let history = vec![
        ChatMessage::new("user", "Hi"),
        ChatMessage::new("assistant", "Hello"),
    ];
    let options = AskOptions {
        rag: false,
        collection: None,
        ..options(history.clone())
    };
    let a = ask(
        &kb.store,
        None,
        &g,
        "Say hi again",
        &options,
        &Cancel::default(),
        &mut Seen::default(),
    )
    .unwrap();
    assert_eq!(a.text, "Say hi again");
    assert!(a.sources.is_empty() && a.retrieval.is_none());
    let mut expected = history;
    expected.push(ChatMessage::new("user", "Say hi again"));
    assert_eq!(g.last_messages().unwrap(), expected);
}

#[test]
fn a_pinned_chunk_is_source_one_and_cancel_stops_the_stream() {
    let kb = kb();
    let backup: i64 = kb
        .store
        .conn()
        .query_row(
            "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.source_path LIKE '%backup.md'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let g = ScriptedGenerator::new("one two three four five");
    let cancel = Cancel::default();
    let mut seen = Seen {
        cancel_after: Some((2, cancel.clone())),
        ..Seen::default()
    };
    let options = AskOptions {
        pinned: vec![backup],
        ..options(vec![])
    };
    let a = ask(
        &kb.store,
        Some(&kb.embedder),
        &g,
        "How do I drain a node?",
        &options,
        &cancel,
        &mut seen,
    )
    .unwrap();
    assert_eq!((a.sources[0].n, a.sources[0].chunk_id), (1, backup));
    assert_eq!(file(&a.sources[1]), "drain.md");
    assert_eq!(a.stats.finish, FinishReason::Cancelled);
    assert_eq!(a.text, "one two");
}

#[test]
fn rag_answers_carry_an_attribution_and_bare_ones_none() {
    let kb = kb();
    let g = ScriptedGenerator::new(
        "Etcd snapshots are taken nightly and kept for thirty days in the backup bucket. \
         Penguins enjoy cold swimming water.",
    );
    let question = "How long are etcd snapshots kept?";
    let opts = options(vec![]);
    let a = ask(
        &kb.store,
        Some(&kb.embedder),
        &g,
        question,
        &opts,
        &Cancel::default(),
        &mut Seen::default(),
    )
    .unwrap();
    let backup = a.sources.iter().find(|s| file(s) == "backup.md").unwrap().n;
    let at = a.attribution.as_ref().unwrap();
    assert_eq!(at.sentences.len(), 2, "{at:?}");
    assert_eq!(at.sentences[0].source, Some(backup), "{at:?}");
    assert_eq!(at.sentences[1].source, None, "{at:?}");
    assert_eq!(at.attributed, vec![backup]);
    assert_eq!(at.threshold, attribution::DEFAULT_THRESHOLD);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["attribution"]["grounded_share"], 0.5);
    // Without an embedder, or without RAG, there is nothing to attribute to.
    let none = ask(
        &kb.store,
        None,
        &g,
        question,
        &AskOptions {
            search: SearchParams {
                mode: Mode::Keyword,
                ..search()
            },
            ..opts.clone()
        },
        &Cancel::default(),
        &mut Seen::default(),
    )
    .unwrap();
    assert!(none.attribution.is_none());
    let bare = AskOptions {
        rag: false,
        collection: None,
        ..opts
    };
    let b = ask(
        &kb.store,
        Some(&kb.embedder),
        &g,
        question,
        &bare,
        &Cancel::default(),
        &mut Seen::default(),
    )
    .unwrap();
    assert!(b.attribution.is_none());
    assert!(serde_json::to_value(&b)
        .unwrap()
        .get("attribution")
        .is_none());
}
