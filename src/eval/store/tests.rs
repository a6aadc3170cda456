use super::*;
use crate::store::Store;

fn item(key: &str, answers: &[&str]) -> Item {
    Item {
        key: key.into(),
        question: format!("question {key}?"),
        answers: answers.iter().map(|a| a.to_string()).collect(),
        gold_docs: [("handbook/pto.md".to_string(), 2)].into_iter().collect(),
        gold_chunks: vec![7],
        unanswerable: answers.is_empty(),
        draft: false,
    }
}

fn new_set(name: &str, items: Vec<Item>) -> NewSet {
    NewSet {
        name: name.into(),
        source: "/tmp/qa.jsonl".into(),
        format: "jsonl".into(),
        sha256: "abc".into(),
        collection: Some("sample".into()),
        status: SetStatus::Accepted,
        meta: serde_json::json!({"note": 1}),
        items,
    }
}

fn config(name: &str) -> RunConfig {
    let p = crate::paths::Paths {
        config_dir: "/c".into(),
        data_dir: "/d".into(),
        cache_dir: "/k".into(),
    };
    RunConfig {
        name: name.into(),
        ..RunConfig::defaults(&crate::config::Config::defaults(&p))
    }
}

fn ok(item_id: i64, f1: f64) -> ItemResult {
    ItemResult {
        item_id,
        ok: true,
        answer: Some("x".into()),
        detail: serde_json::json!({}),
        metrics: [("f1".to_string(), f1)].into_iter().collect(),
        error: None,
        attempts: 1,
        finished_ms: 1,
    }
}

#[test]
fn sets_round_trip_and_names_are_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
    let c = store.conn();
    let id = insert_set(c, &new_set("qa", vec![item("a", &["yes"]), item("b", &[])])).unwrap();
    let e = insert_set(c, &new_set("qa", vec![]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("exists"), "{e}");
    let set = get_set(c, "qa").unwrap();
    assert_eq!((set.id, set.items, set.unanswerable), (id, 2, 1));
    assert_eq!(get_set(c, &id.to_string()).unwrap().name, "qa");
    assert_eq!(set.meta["note"], 1);
    let stored = items(c, id).unwrap();
    assert_eq!(stored[0].item, item("a", &["yes"]));
    assert!(stored[1].item.unanswerable);
    assert!(get_set(c, "nope")
        .unwrap_err()
        .to_string()
        .contains("eval sets list"));
}

#[test]
fn drafts_are_left_out_of_runs_until_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
    let c = store.conn();
    let mut draft = item("d", &["no"]);
    draft.draft = true;
    let mut set = new_set("drafted", vec![item("a", &["yes"]), draft]);
    set.status = SetStatus::Draft;
    let id = insert_set(c, &set).unwrap();
    let run = get_run(c, create_run(c, id, &config("r"), None).unwrap()).unwrap();
    assert_eq!(run.total, 1);
    assert_eq!(run_items(c, &run).unwrap().len(), 1);
    assert_eq!(accept_items(c, id, &[]).unwrap(), 1);
    assert_eq!(get_set(c, "drafted").unwrap().status, SetStatus::Accepted);
    // The run keeps the items it was created with; a new run gets the accepted draft.
    assert_eq!(run_items(c, &run).unwrap().len(), 1);
    let later = get_run(c, create_run(c, id, &config("r2"), None).unwrap()).unwrap();
    assert_eq!((later.total, run_items(c, &later).unwrap().len()), (2, 2));
}

#[test]
fn a_failed_item_is_replaced_by_its_retry_and_only_successes_count() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
    let c = store.conn();
    let set = insert_set(
        c,
        &new_set("qa", vec![item("a", &["x"]), item("b", &["y"])]),
    )
    .unwrap();
    let ids: Vec<i64> = items(c, set).unwrap().iter().map(|i| i.id).collect();
    let run = create_run(c, set, &config("base"), Some(1)).unwrap();
    assert_eq!(get_run(c, run).unwrap().total, 1);
    let mut failed = ok(ids[0], 0.0);
    failed.ok = false;
    failed.error = Some("model crashed".into());
    failed.metrics.clear();
    save_result(c, run, &failed).unwrap();
    save_result(c, run, &ok(ids[1], 0.25)).unwrap();
    let r = get_run(c, run).unwrap();
    assert_eq!((r.done, r.failed), (1, 1));
    save_result(c, run, &ok(ids[0], 0.75)).unwrap();
    let stored = results(c, run).unwrap();
    assert_eq!(stored[&ids[0]].attempts, 2);
    assert!(stored[&ids[0]].error.is_none());
    let s = summary(&stored);
    assert_eq!(s["f1"], (0.5, 2));
    mark_run(c, run, RunStatus::Succeeded, None).unwrap();
    let r = get_run(c, run).unwrap();
    assert_eq!(
        (r.status, r.config.name.as_str()),
        (RunStatus::Succeeded, "base")
    );
    assert_eq!(list_runs(c, Some(set)).unwrap().len(), 1);
    remove_set(c, set).unwrap();
    assert!(list_runs(c, None).unwrap().is_empty());
    assert!(results(c, run).unwrap().is_empty());
}
