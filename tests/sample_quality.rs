//! The bundled sample corpus and its labelled questions: retrieval must find the answering
//! document near the top (a regression test for chunking, embedding and fusion together).

mod common;
use common::Env;

#[test]
fn sample_questions_retrieve_their_documents() {
    let env = Env::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
    let corpus = root.join("corpus");
    let report = env.json(&["ingest", corpus.to_str().unwrap(), "-c", "sample", "--json"]);
    assert!(report["added"].as_u64().unwrap() >= 30, "{report}");
    assert!(report["skipped"].as_array().unwrap().is_empty(), "{report}");

    let qa = std::fs::read_to_string(root.join("eval/qa.jsonl")).unwrap();
    let (mut at1, mut at5, mut n) = (0, 0, 0);
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
        let paths: Vec<String> = r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["source_path"].as_str().unwrap().to_string())
            .collect();
        let relevant = |p: &String| gold.iter().any(|g| p.ends_with(&format!("/{g}")));
        n += 1;
        if paths.first().is_some_and(relevant) {
            at1 += 1;
        }
        if paths.iter().any(relevant) {
            at5 += 1;
        } else {
            misses.push(format!("{question} -> {:?}", paths.first()));
        }
    }
    let (hit1, hit5) = (at1 as f64 / n as f64, at5 as f64 / n as f64);
    println!("sample corpus: {n} questions, hit@1 {hit1:.3}, hit@5 {hit5:.3}");
    assert!(n >= 40);
    assert!(hit5 >= 0.9, "hit@5 {hit5:.3}; misses: {misses:#?}");
    assert!(hit1 >= 0.75, "hit@1 {hit1:.3}");
}
