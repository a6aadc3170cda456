//! Small hand-made data for reducer tests and screen snapshots.

use crate::embed::ModelIdentity;
use crate::retrieve::{Hit, Mode, SearchParams, SearchResult, StageHit, Timings, Trace};
use crate::store::collections::{Collection, CollectionStats};
use crate::store::documents::{ChunkRow, DocumentRow};

use super::keymap::Keymap;
use super::msg::DocDetail;
use super::state::App;

pub const ROOT: &str = "/data/handbook";

pub fn params() -> SearchParams {
    SearchParams {
        k: 10,
        mode: Mode::Hybrid,
        candidates: 100,
        oversample: 3,
        rrf_k: 60.0,
        common_term_chunks: 5000,
    }
}

pub fn app() -> App {
    let mut app = App::new(
        "/data/lmdeck.db",
        "all-minilm-l6-v2-int8",
        "smollm2-135m-instruct",
        params(),
        Keymap::default(),
        "dark",
    );
    app.size = (100, 30);
    app
}

pub fn collection(name: &str, docs: i64) -> CollectionStats {
    CollectionStats {
        collection: Collection {
            id: 1,
            name: name.to_string(),
            model: Some(ModelIdentity {
                name: "all-minilm-l6-v2-int8".into(),
                sha256: "ec692883".into(),
                dim: 384,
            }),
            model_id: Some(1),
            chunk_target: Some(200),
            chunk_overlap: Some(32),
            last_sync: Some(1_795_897_140),
        },
        documents: docs,
        excluded: 1,
        chunks: docs * 7,
        bytes: docs * 2900,
        roots: vec![ROOT.to_string()],
    }
}

pub fn document(id: i64, path: &str, status: &str, tags: &[&str]) -> DocumentRow {
    DocumentRow {
        id,
        collection_id: 1,
        source_path: format!("{ROOT}/{path}"),
        content_sha256: format!("{id:064x}"),
        size: 1000 + id * 37,
        mtime: 1_795_000_000 + id,
        status: status.to_string(),
        title: path.to_string(),
        format: "markdown".into(),
        chunks: 3 + id % 5,
        tags: tags.iter().map(|t| t.to_string()).collect(),
    }
}

pub fn documents() -> Vec<DocumentRow> {
    vec![
        document(
            1,
            "runbooks/gpu-node-drain.md",
            "active",
            &["gpu", "oncall"],
        ),
        document(2, "runbooks/gpu-xid-errors.md", "active", &["gpu"]),
        document(3, "policies/data-retention.md", "excluded", &[]),
        document(4, "faq/quotas.md", "active", &[]),
    ]
}

pub fn detail() -> DocDetail {
    let doc = documents().remove(0);
    let chunks = (0..3)
        .map(|i| ChunkRow {
            id: 100 + i,
            document_id: doc.id,
            ordinal: i,
            text: format!(
                "Step {i}: cordon the node, wait for jobs to drain, then power it down for repair."
            ),
            byte_start: i * 120,
            byte_end: i * 120 + 110,
            heading_path: "Runbook: Draining a GPU Node > Procedure".into(),
            token_count: 20 + i,
            text_sha256: String::new(),
            excluded: i == 2,
        })
        .collect();
    DocDetail { doc, chunks }
}

pub fn search_result(query: &str) -> SearchResult {
    let paths = [
        "runbooks/gpu-node-drain.md",
        "runbooks/gpu-xid-errors.md",
        "faq/quotas.md",
    ];
    let hits = paths
        .iter()
        .enumerate()
        .map(|(i, p)| Hit {
            rank: i + 1,
            chunk_id: 100 + i as i64,
            document_id: 1 + i as i64,
            source_path: format!("{ROOT}/{p}"),
            title: p.to_string(),
            heading_path: "Runbook > Procedure".into(),
            ordinal: 0,
            byte_start: 0,
            byte_end: 100,
            text: "Drain the GPU node before maintenance: cordon it, then wait for running jobs."
                .into(),
            trace: Trace {
                vector_rank: Some(i + 1),
                vector_distance: Some(0.4 + i as f64 * 0.05),
                keyword_rank: if i == 2 { None } else { Some(2 - i) },
                bm25: if i == 2 { None } else { Some(7.5 - i as f64) },
                fused_score: 0.0325 - i as f64 * 0.001,
                formula: format!(
                    "1/(60+{}) + 1/(60+{}) = {:.5}",
                    i + 1,
                    2 - i.min(1),
                    0.0325 - i as f64 * 0.001
                ),
            },
        })
        .collect();
    let stage = |scores: [f64; 3]| {
        paths
            .iter()
            .enumerate()
            .map(|(i, p)| StageHit {
                rank: i + 1,
                chunk_id: 100 + i as i64,
                document_id: 1 + i as i64,
                source_path: format!("{ROOT}/{p}"),
                score: scores[i],
            })
            .collect::<Vec<_>>()
    };
    SearchResult {
        query: query.to_string(),
        collection: "handbook".into(),
        mode: Mode::Hybrid,
        k: 10,
        rrf_k: 60.0,
        fts_query: Some("\"drain\" OR \"gpu\"".into()),
        dropped_terms: Vec::new(),
        vector_candidates: 3,
        keyword_candidates: 2,
        hits,
        vector_ranking: stage([0.4, 0.45, 0.5]),
        keyword_ranking: stage([7.5, 6.5, 5.0])[..2].to_vec(),
        timings: Timings {
            embed_ms: 7.1,
            vector_ms: 9.6,
            keyword_ms: 0.9,
            fuse_ms: 0.3,
            total_ms: 17.4,
        },
    }
}
