//! Judge metrics and costs end to end: a run answered by an endpoint and graded by another
//! (both a small OpenAI-compatible server of this test: real sockets, HTTP and SSE), three
//! gradings per item; `eval compare` reports the judge's failures, spread and agreement with
//! the set's labels, and each configuration's cost from pricing.toml, the judge's apart.

mod common;
#[path = "common/fake_server.rs"]
mod fake_server;

use common::Env;
use fake_server::FakeServer;

/// Items and what the fake judge and the labels make of them (the system echoes the question:
/// "Echo: <question>"):
/// - q1, q2: the answer holds the reference and its F1 is 0.67: judged correct, labelled
///   correct;
/// - q3: "garble": no grading parses, so the item has no judge verdict;
/// - q4, q5: judged incorrect, F1 below 0.5;
/// - q6: holds the reference but F1 is 0.4: judged correct, labelled incorrect.
const SET: &str = r#"{"id": "q1", "question": "Paris", "answers": ["Paris"]}
{"id": "q2", "question": "blue", "answers": ["blue"]}
{"id": "q3", "question": "garble this", "answers": ["x"]}
{"id": "q4", "question": "What is two plus two", "answers": ["four"]}
{"id": "q5", "question": "seven", "answers": ["seven days of the week"]}
{"id": "q6", "question": "Rome is the capital", "answers": ["rome"]}
"#;

fn setup(env: &Env, server: &FakeServer) {
    env.write(
        "conf/endpoints.toml",
        format!(
            "[echo]\nbase_url = \"{}\"\nmodel = \"echo\"\n\n[grader]\nbase_url = \"{}\"\nmodel = \"grader\"\n\n[broken-grader]\nbase_url = \"{}\"\nmodel = \"grader\"\n",
            server.url("ok"),
            server.url("judge"),
            server.url("unauthorized"),
        ),
    );
    env.write(
        "conf/pricing.toml",
        "currency = \"EUR\"\n[models.echo]\ninput_per_mtok = 1000.0\noutput_per_mtok = 2000.0\n\n[models.grader]\ninput_per_mtok = 10.0\noutput_per_mtok = 10.0\n",
    );
    let set = env.write("judged.jsonl", SET);
    ok(
        env,
        &[
            "eval",
            "sets",
            "import",
            set.to_str().unwrap(),
            "--name",
            "judged",
        ],
    );
}

fn cmd(env: &Env) -> std::process::Command {
    let mut cmd = env.cmd();
    cmd.env("LMDECK_CONFIG_DIR", env.path("conf"));
    cmd
}

fn ok(env: &Env, args: &[&str]) -> String {
    let out = cmd(env).args(args).output().expect("run lmdeck");
    assert!(
        out.status.success(),
        "lmdeck {args:?} failed\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn run(env: &Env, extra: &[&str]) -> i64 {
    let mut args = vec![
        "eval",
        "run",
        "--set",
        "judged",
        "--set",
        "model=echo",
        "--set",
        "rag=off",
        "--inline",
        "--json",
    ];
    args.extend_from_slice(extra);
    let out: serde_json::Value = serde_json::from_str(&ok(env, &args)).unwrap();
    out[0]["id"].as_i64().expect("run id")
}

#[test]
fn a_judge_grades_each_answer_n_times_and_compare_reports_its_reliability_and_costs() {
    let env = Env::new();
    let server = FakeServer::start();
    setup(&env, &server);
    let judged = run(
        &env,
        &[
            "--set",
            "judge=grader",
            "--set",
            "judge_runs=3",
            "--set",
            "name=judged",
        ],
    );
    let once = run(
        &env,
        &[
            "--set",
            "judge=grader",
            "--set",
            "judge_runs=1",
            "--set",
            "name=once",
        ],
    );

    // Per item: every grading kept; the garbled item has no score, only its failure.
    let show: serde_json::Value =
        serde_json::from_str(&ok(&env, &["eval", "show", &judged.to_string(), "--json"])).unwrap();
    let text = show.to_string();
    assert!(text.contains("I would rather not say."), "{text}");
    assert!(text.contains("VERDICT: correct"), "{text}");

    let out = ok(
        &env,
        &[
            "eval",
            "compare",
            &judged.to_string(),
            &once.to_string(),
            "--json",
        ],
    );
    let c: serde_json::Value = serde_json::from_str(&out).unwrap();
    let judge = &c["runs"][0]["judge"];
    assert_eq!(judge["name"], "grader");
    assert_eq!(judge["runs_per_item"], 3);
    assert_eq!(
        (judge["items"].as_u64(), judge["failed_items"].as_u64()),
        (Some(6), Some(1))
    );
    // 3 of 18 gradings did not parse.
    assert!(
        (judge["parse_failures"].as_f64().unwrap() - 1.0 / 6.0).abs() < 1e-9,
        "{judge}"
    );
    // Judge vs labels on the 5 items with a verdict: 4 agree (q6 does not).
    assert_eq!(judge["agreement_items"], 5);
    assert!(
        (judge["agreement"].as_f64().unwrap() - 0.8).abs() < 1e-9,
        "{judge}"
    );
    // Rates of "correct": judge 3/5, labels 2/5; chance 0.48; kappa (0.8 - 0.48) / 0.52.
    let kappa = judge["kappa"].as_f64().unwrap();
    assert!((kappa - 0.32 / 0.52).abs() < 1e-9, "{kappa}");
    // Incorrect answers get scores 1 and 2 by seed: three gradings spread, one cannot.
    assert!(judge["spread"].as_f64().unwrap() > 0.0, "{judge}");
    assert!(c["runs"][1]["judge"]["spread"].is_null());

    // Costs: the system's from its tokens at 1000/2000 EUR per million, the judge's apart
    // and three times the single grading's.
    let (cost, judge_cost) = (
        c["runs"][0]["cost"].as_f64().unwrap(),
        c["runs"][0]["judge_cost"].as_f64().unwrap(),
    );
    assert!(cost > 0.0 && judge_cost > 0.0, "{c}");
    assert_eq!(c["runs"][0]["currency"], "EUR");
    assert!((c["runs"][1]["cost"].as_f64().unwrap() - cost).abs() < 1e-12);
    let single = c["runs"][1]["judge_cost"].as_f64().unwrap();
    assert!(
        (judge_cost - 3.0 * single).abs() < 1e-12,
        "{judge_cost} vs {single}"
    );

    // Judge metrics are rows of the table; a failed judge is a warning, never a silent NaN.
    let metrics: Vec<&str> = c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["metric"].as_str().unwrap())
        .collect();
    for m in [
        "judge_correct",
        "judge_score",
        "judge_agrees",
        "judge_failed",
    ] {
        assert!(metrics.contains(&m), "{m} missing from {metrics:?}");
    }
    let warnings = c["warnings"].to_string();
    assert!(
        warnings.contains("judge grader gave no verdict that parsed on 1 of 6 items"),
        "{warnings}"
    );
    assert!(!out.contains("NaN"), "{out}");

    let table = ok(
        &env,
        &["eval", "compare", &judged.to_string(), &once.to_string()],
    );
    assert!(table.contains("judges:"), "{table}");
    assert!(
        table.contains("judged by grader: 3 gradings per item"),
        "{table}"
    );
    assert!(table.contains("EUR"), "{table}");

    // A pricing file with a typo is named with its line, not ignored.
    env.write(
        "conf/pricing.toml",
        "[models.echo]\ninput_per_mtok = 1\nper_hr = 3\n",
    );
    let out = cmd(&env)
        .args(["eval", "compare", &judged.to_string(), &once.to_string()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("pricing.toml:3") && stderr.contains("per_hr"),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_judge_is_an_error_of_the_item_never_a_result() {
    let env = Env::new();
    let server = FakeServer::start();
    setup(&env, &server);
    let out = cmd(&env)
        .args([
            "eval",
            "run",
            "--set",
            "judged",
            "--set",
            "model=echo",
            "--set",
            "rag=off",
            "--set",
            "judge=broken-grader",
            "--inline",
            "--limit",
            "2",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("judge broken-grader") && stderr.contains("401"),
        "{stderr}"
    );

    // An unknown judge is refused before anything runs.
    let out = cmd(&env)
        .args([
            "eval",
            "run",
            "--set",
            "judged",
            "--set",
            "model=echo",
            "--set",
            "rag=off",
            "--set",
            "judge=nobody",
            "--inline",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("nobody"),
        "{stderr}"
    );
}
