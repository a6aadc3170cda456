//! Configuration, doctor and device selection through the real binary.

mod common;
use common::Env;

#[test]
fn config_show_names_the_source_of_every_value() {
    let env = Env::new();
    env.write(
        "config.toml",
        "[search]\nk = 7\n\n[chunk]\ntarget_tokens = 120\n",
    );
    let out = env
        .cmd()
        .env("LMDECK_SEARCH_RRF_K", "30")
        .args(["--device", "cpu", "config", "show"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} =")))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        line("search.k").contains("= 7") && line("search.k").contains("# file"),
        "{text}"
    );
    assert!(line("chunk.target_tokens").contains("= 120"), "{text}");
    assert!(
        line("search.rrf_k").contains("= 30.0")
            && line("search.rrf_k").contains("env LMDECK_SEARCH_RRF_K"),
        "{text}"
    );
    assert!(line("runtime.device").contains("flag --device"), "{text}");
    assert!(line("store.db").contains("env LMDECK_DB"), "{text}");
    assert!(line("search.candidates").contains("# default"), "{text}");
}

#[test]
fn a_broken_config_file_names_the_line_and_the_key() {
    let env = Env::new();
    env.write("config.toml", "[search]\nk = 5\nmode = = \"x\"\n");
    let err = env.fails(&["config", "show"]);
    assert!(
        err.contains("config.toml") && err.contains("line 3"),
        "{err}"
    );

    env.write("config.toml", "[search]\ntopk = 5\n");
    let err = env.fails(&["collections"]);
    assert!(err.contains("unknown key `search.topk`"), "{err}");

    env.write("config.toml", "[search]\nk = \"many\"\n");
    let err = env.fails(&["collections"]);
    assert!(err.contains("`search.k` must be an integer"), "{err}");

    env.write("config.toml", "[search]\nk = 3\n");
    let out = env
        .cmd()
        .env("LMDECK_SEARCH_K", "lots")
        .args(["collections"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("environment variable LMDECK_SEARCH_K"),
        "{err}"
    );
}

#[test]
fn config_init_prints_a_valid_documented_file() {
    let env = Env::new();
    let text = env.ok(&["config", "init"]);
    assert!(text.contains("[search]") && text.contains("rrf_k"));
    env.write("config.toml", &text);
    env.ok(&["config", "show"]);
}

#[test]
fn doctor_reports_runtime_provider_models_and_database() {
    let env = Env::new();
    let report = env.json(&["doctor", "--json"]);
    let rt = &report["onnx_runtime"];
    assert!(
        rt["library"].as_str().unwrap().contains("libonnxruntime"),
        "{report}"
    );
    assert!(
        rt["version"].as_str().unwrap().starts_with("1."),
        "{report}"
    );
    assert!(rt["available_providers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "CPUExecutionProvider"));
    assert!(
        rt["effective_provider"]
            .as_str()
            .unwrap()
            .contains("ExecutionProvider"),
        "{report}"
    );
    let models = report["models"].as_array().unwrap();
    assert!(
        models
            .iter()
            .any(|m| m["name"] == "all-minilm-l6-v2-int8" && m["verified"] == "ok"),
        "{report}"
    );
    assert!(report["database"]["path"]
        .as_str()
        .unwrap()
        .ends_with("test.db"));
    let human = env.ok(&["doctor"]);
    assert!(
        human.contains("effective_provider: CPUExecutionProvider"),
        "{human}"
    );
}

#[test]
fn an_explicit_cuda_request_that_cannot_be_met_is_an_error() {
    if std::path::Path::new("/dev/nvidia0").exists() {
        return; // on a GPU host the request can be met; covered by the GPU checks instead
    }
    let env = Env::new();
    let docs = common::write_corpus(&env);
    let out = env
        .cmd()
        .env("LMDECK_RUNTIME_DEVICE", "cuda")
        .args(["ingest", docs.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CUDA was requested (cuda:0)"), "{err}");
    assert_eq!(env.sql_count("SELECT count(*) FROM documents"), 0);
    let err = env.fails(&["--device", "tpu", "doctor"]);
    assert!(err.contains("invalid device `tpu`"), "{err}");
}

#[test]
fn a_missing_runtime_path_is_a_clear_error() {
    let env = Env::new();
    let docs = common::write_corpus(&env);
    let err = env.fails(&[
        "--ort-dylib",
        "/nonexistent/libonnxruntime.so",
        "ingest",
        docs.to_str().unwrap(),
    ]);
    assert!(
        err.contains("/nonexistent/libonnxruntime.so (from --ort-dylib flag) does not exist"),
        "{err}"
    );
}
