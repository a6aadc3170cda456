//! The bundled sample corpus and its labelled questions: retrieval must find the answering
//! document near the top (a regression test for chunking, embedding and fusion together).

mod common;
use common::Env;
use lmdeck::eval::metrics;

#[test]
fn sample_questions_retrieve_their_documents() {
    let env = Env::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
    let corpus = root.join("corpus");
    let report = env.json(&["ingest", corpus.to_str().unwrap(), "-c", "sample", "--json"]);
    assert!(report["added"].as_u64().unwrap() >= 30, "{report}");
    assert!(report["skipped"].as_array().unwrap().is_empty(), "{report}");

    let qa = std::fs::read_to_string(root.join("eval/qa.jsonl")).unwrap();
    let (mut at1, mut at5, mut mrr, mut n) = (0.0, 0.0, 0.0, 0);
    let mut misses = Vec::new();
    for line in qa.lines().filter(|l| !l.trim().is_empty()) {
        let q: serde_json::Value = serde_json::from_str(line).unwrap();
        let question = q["question"].as_str().unwrap();
        let gold: Vec<&str> = q["doc_paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let r = env.json(&["search", question, "-c", "sample", "-k", "5", "--json"]);
        // A hit is judged by its document: the gold path it ends with, else its own path.
        let ranked: Vec<String> = r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let path = h["source_path"].as_str().unwrap();
                gold.iter()
                    .find(|g| path.ends_with(&format!("/{g}")))
                    .map_or(path.to_string(), |g| g.to_string())
            })
            .collect();
        let qrels = metrics::binary(&gold.iter().map(|g| g.to_string()).collect::<Vec<_>>());
        n += 1;
        at1 += metrics::hit_rate_at(&ranked, &qrels, 1);
        at5 += metrics::hit_rate_at(&ranked, &qrels, 5);
        mrr += metrics::mrr_at(&ranked, &qrels, 5);
        if metrics::hit_rate_at(&ranked, &qrels, 5) == 0.0 {
            misses.push(format!("{question} -> {:?}", ranked.first()));
        }
    }
    let (hit1, hit5, mrr5) = (at1 / n as f64, at5 / n as f64, mrr / n as f64);
    println!("sample corpus: {n} questions, hit@1 {hit1:.3}, hit@5 {hit5:.3}, MRR@5 {mrr5:.3}");
    assert!(n >= 40);
    assert!(hit5 >= 0.9, "hit@5 {hit5:.3}; misses: {misses:#?}");
    assert!(hit1 >= 0.75, "hit@1 {hit1:.3}");
}
