//! Job specs, overrides, durations and snapshot display (no processes).

use super::snapshot::{diff, is_secret, Snapshot};
use super::spec::{load, load_for, parse_duration, Gpus, SpecError};

fn write(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("job.toml");
    std::fs::write(&path, text).unwrap();
    path
}

const BASE: &str = "name = \"t\"\ncommand = [\"python3\", \"-c\", \"print(1)\"]\n";

#[test]
fn durations_read_units_and_plain_seconds() {
    assert_eq!(parse_duration("2h"), Some(7200));
    assert_eq!(parse_duration("1h30m"), Some(5400));
    assert_eq!(parse_duration("45"), Some(45));
    assert_eq!(parse_duration("soon"), None);
    assert_eq!(parse_duration("5x"), None);
    assert_eq!(parse_duration("10"), Some(10));
    assert_eq!(parse_duration("1h5"), None);
}

#[test]
fn a_full_spec_resolves_paths_against_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{BASE}workdir = \"w\"\ngpus = [\"GPU-1\"]\npriority = 3\ndepends_on = [1, 2]\n\
         time_limit = \"2h\"\nbackend = \"local\"\nenv = {{ A = \"1\" }}\n"
    );
    let spec = load(&write(&dir, &text), &[]).unwrap();
    assert!(spec.workdir.ends_with("w") && spec.workdir.is_absolute());
    assert_eq!(spec.gpus, Some(Gpus::Uuids(vec!["GPU-1".into()])));
    assert_eq!(spec.time_limit_secs, Some(7200));
    assert_eq!(spec.depends_on, vec![1, 2]);
}

#[test]
fn overrides_take_dotted_keys_and_typed_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, BASE);
    let sets = ["priority=5", "env.SEED=7", "gpus=2", "base_model=qwen"].map(String::from);
    let spec = load(&path, &sets).unwrap();
    assert_eq!(spec.priority, 5);
    assert_eq!(spec.env["SEED"], "7");
    assert_eq!(spec.gpus, Some(Gpus::Count(2)));
    assert_eq!(spec.base_model.as_deref(), Some("qwen"));
    let err = load(&path, &["nope=1".to_string()]).unwrap_err();
    assert!(matches!(err, SpecError::Override { .. }), "{err}");
}

#[test]
fn errors_carry_the_line_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let err = load(&write(&dir, &format!("{BASE}backend = \"pbs\"\n")), &[]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("job.toml:3") && text.contains("use \"local\" or \"slurm\""),
        "{text}"
    );
    let spec = load(&write(&dir, &format!("{BASE}backend = \"slurm\"\n")), &[]).unwrap();
    assert_eq!(spec.backend, "slurm");
    // No backend in the spec: the caller's default (the config's jobs.backend) applies.
    let spec = load_for(&write(&dir, BASE), &[], "slurm").unwrap();
    assert_eq!(spec.backend, "slurm");
    assert_eq!(load(&write(&dir, BASE), &[]).unwrap().backend, "local");
    let err = load(&write(&dir, "name = \"t\"\ncommand = []\n"), &[]).unwrap_err();
    assert!(err.to_string().contains("job.toml:2"), "{err}");
    let err = load(&write(&dir, "name = \"t\"\n"), &[]).unwrap_err();
    assert!(err.to_string().contains("command"), "{err}");
}

#[test]
fn secrets_are_redacted_for_display_only_and_diffs_list_changed_leaves() {
    assert!(is_secret("HF_TOKEN") && is_secret("api_key") && is_secret("DB_PASSWORD"));
    assert!(!is_secret("SEED"));
    assert!(is_secret("APIKEY") && is_secret("aws-secret-access-key") && is_secret("GH_PASSWD"));
    assert!(!is_secret("TOKENIZERS_PARALLELISM") && !is_secret("KEYBOARD_LAYOUT"));
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        &format!("{BASE}env = {{ HF_TOKEN = \"x\", SEED = \"1\" }}\n"),
    );
    let a = Snapshot::take(&path, load(&path, &[]).unwrap()).unwrap();
    assert_eq!(a.env["HF_TOKEN"], "x");
    assert_eq!(a.env_redacted()["HF_TOKEN"], "<redacted>");
    let b = Snapshot::take(&path, load(&path, &["env.SEED=2".into()]).unwrap()).unwrap();
    assert_eq!(
        diff(&a, &b),
        vec!["env.SEED: \"1\" -> \"2\"", "spec.env.SEED: \"1\" -> \"2\""]
    );
    assert!(a.git_commit.is_none(), "a temp dir is not a git repository");
}
