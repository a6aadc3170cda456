//! A BEIR folder as a retrieval-only set: one item per query with judgements, its qrels as
//! graded gold documents (bare corpus ids: the corpus is stored as `corpus.jsonl#DOCID`).

use sha2::{Digest, Sha256};
use std::path::Path;

use super::{err, folder_name};
use crate::eval::beir;
use crate::eval::set::{Item, NewSet, SetStatus};
use crate::eval::EvalError;

/// The collection `eval retrieval --beir DIR` ingests the corpus into by default.
pub fn default_collection(dir: &Path) -> String {
    format!("beir-{}", folder_name(dir))
}

pub fn read(
    dir: &Path,
    name: &str,
    collection: Option<&str>,
    split: &str,
) -> Result<NewSet, EvalError> {
    let data = beir::load(dir, split)?;
    // The files used, in a fixed order: queries, then the split's judgements.
    let mut hash = Sha256::new();
    for file in [
        dir.join("queries.jsonl"),
        dir.join("qrels").join(format!("{split}.tsv")),
    ] {
        let bytes = std::fs::read(&file).map_err(|e| err(&file, format!("cannot read: {e}")))?;
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    let items = data
        .queries
        .iter()
        .map(|q| Item {
            key: q.id.clone(),
            question: q.text.clone(),
            answers: Vec::new(),
            gold_docs: data
                .qrels
                .get(&q.id)
                .map(|docs| docs.iter().map(|(d, g)| (d.clone(), *g)).collect())
                .unwrap_or_default(),
            gold_chunks: Vec::new(),
            unanswerable: false,
            draft: false,
        })
        .collect();
    Ok(NewSet {
        name: name.to_string(),
        source: dir.display().to_string(),
        format: "beir".into(),
        sha256: format!("{:x}", hash.finalize()),
        collection: Some(
            collection
                .map(str::to_string)
                .unwrap_or_else(|| default_collection(dir)),
        ),
        status: SetStatus::Accepted,
        meta: serde_json::json!({"kind": "retrieval", "split": split}),
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_with_graded_judgements_become_items() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tiny");
        std::fs::create_dir_all(root.join("qrels")).unwrap();
        std::fs::write(
            root.join("corpus.jsonl"),
            "{\"_id\": \"d1\", \"text\": \"x\"}\n",
        )
        .unwrap();
        std::fs::write(
            root.join("queries.jsonl"),
            "{\"_id\": \"q1\", \"text\": \"first?\"}\n{\"_id\": 2, \"text\": \"second?\"}\n{\"_id\": \"q3\", \"text\": \"no judgements\"}\n",
        )
        .unwrap();
        std::fs::write(
            root.join("qrels/test.tsv"),
            "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t1\n2\td3\t1\nq1\td4\t0\n",
        )
        .unwrap();
        let set = read(&root, "tiny", None, "test").unwrap();
        assert_eq!(set.collection.as_deref(), Some("beir-tiny"));
        assert_eq!(set.meta["kind"], "retrieval");
        assert_eq!(set.items.len(), 2);
        let q1 = &set.items[0];
        assert_eq!(q1.key, "q1");
        assert_eq!(q1.gold_docs.len(), 2);
        assert_eq!(q1.gold_docs["d1"], 2);
        assert!(q1.answers.is_empty() && !q1.unanswerable);
        assert_eq!(set.items[1].key, "2");
        let again = read(&root, "tiny", Some("c"), "test").unwrap();
        assert_eq!(again.sha256, set.sha256);
        assert_eq!(again.collection.as_deref(), Some("c"));
        assert!(read(&root, "tiny", None, "dev").is_err());
    }
}
