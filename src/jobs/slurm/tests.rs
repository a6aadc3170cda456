//! The Slurm backend without Slurm: recorded 22.05 and schema-built 23.11 JSON, scontrol
//! lines, state mapping, back-off and the batch-script writer against hostile input.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::script::{self, quote, Request, Task};
use super::settings::{GpuOption, Settings};
use super::squeue::{self, Exit};
use super::state::{map, Mapped};
use super::watch::Backoff;
use super::{scontrol, sinfo};
use crate::jobs::spec::Gpus;

fn fixture(path: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/slurm");
    std::fs::read_to_string(dir.join(path)).unwrap()
}

fn find(jobs: &[squeue::SlurmJob], id: &str) -> squeue::SlurmJob {
    jobs.iter()
        .filter(|j| j.answers(id))
        .max_by_key(|j| j.array_task_id.is_some())
        .cloned()
        .unwrap_or_else(|| panic!("no record answers {id}"))
}

#[test]
fn recorded_22_05_squeue_is_read() {
    let jobs = squeue::parse(&fixture("22.05/squeue_pending_running.json")).unwrap();
    let running = find(&jobs, "3");
    assert_eq!(running.state, "RUNNING");
    assert!(matches!(
        map(&running),
        Mapped::Running {
            suspended: false,
            started_ms: Some(_)
        }
    ));
    let pending = find(&jobs, "4");
    assert_eq!(
        map(&pending),
        Mapped::Queued {
            reason: "Resources".into(),
            held: false
        }
    );
    assert_eq!(find(&jobs, "5").reason, "Dependency");
    // The array waits as one record standing for tasks 1-3.
    let task = find(&jobs, "6_2");
    assert_eq!(
        (task.array_task_id, task.reason.as_str()),
        (None, "Priority")
    );
    assert!(!jobs.iter().any(|j| j.answers("6_4")));

    let jobs = squeue::parse(&fixture("22.05/squeue_finished.json")).unwrap();
    assert!(matches!(
        map(&find(&jobs, "1")),
        Mapped::Ended {
            state: "succeeded",
            ..
        }
    ));
    // exit 3 is wait status 768.
    match map(&find(&jobs, "2")) {
        Mapped::Ended { state, exit, .. } => {
            assert_eq!(state, "failed");
            assert_eq!(
                exit,
                Exit {
                    code: Some(3),
                    signal: None
                }
            );
        }
        other => panic!("{other:?}"),
    }
    // A running job cancelled: SIGTERM (wait status 15); a pending one: 0.
    match map(&find(&jobs, "3")) {
        Mapped::Ended { state, exit, .. } => {
            assert_eq!((state, exit.signal), ("cancelled", Some(15)))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        map(&find(&jobs, "7")),
        Mapped::Ended {
            state: "cancelled",
            ..
        }
    ));
    // Array tasks that ran have their own records.
    for (id, job_id) in [("6_1", 9), ("6_2", 10), ("6_3", 6)] {
        let task = find(&jobs, id);
        assert_eq!(task.job_id, job_id, "{id}");
        assert_eq!(task.state, "COMPLETED");
    }
    assert_eq!(find(&jobs, "5").reason, "DependencyNeverSatisfied");
}

#[test]
fn schema_23_11_squeue_is_read() {
    let jobs = squeue::parse(&fixture("23.11/squeue.json")).unwrap();
    assert!(matches!(
        map(&find(&jobs, "101")),
        Mapped::Ended {
            state: "succeeded",
            ..
        }
    ));
    match map(&find(&jobs, "102")) {
        Mapped::Ended { exit, reason, .. } => {
            assert_eq!(exit.code, Some(3));
            assert!(reason.unwrap().contains("NonZeroExitCode"));
        }
        other => panic!("{other:?}"),
    }
    match map(&find(&jobs, "103")) {
        Mapped::Ended { state, exit, .. } => {
            assert_eq!((state, exit.signal), ("cancelled", Some(15)))
        }
        other => panic!("{other:?}"),
    }
    let running = find(&jobs, "104");
    assert_eq!(running.start_time, Some(1_796_630_700));
    // Unset numbers are None, not 0.
    assert_eq!(running.end_time, None);
    assert!(matches!(map(&running), Mapped::Running { .. }));
    assert_eq!(
        map(&find(&jobs, "105")),
        Mapped::Queued {
            reason: "Resources".into(),
            held: false
        }
    );
    assert_eq!(find(&jobs, "106").reason, "Dependency");
    // The array: task 0 runs (own record), task 1 still waits in the array's record.
    assert_eq!(find(&jobs, "107_0").job_id, 109);
    assert_eq!(find(&jobs, "107_1").reason, "Priority");
    // A list state: the base state first, flags after.
    assert_eq!(find(&jobs, "110").state, "CANCELLED");
}

#[test]
fn squeue_errors_and_garbage_are_errors() {
    let err =
        squeue::parse(r#"{"errors":[{"error":"Unable to contact slurm controller"}],"jobs":[]}"#)
            .unwrap_err();
    assert!(err.to_string().contains("Unable to contact"), "{err}");
    assert!(squeue::parse("not json").is_err());
    assert!(squeue::parse("{}").is_err());
    // Lenient: odd fields are skipped, a job without an id is dropped.
    let jobs = squeue::parse(
        r#"{"jobs":[{"job_state":7},{"job_id":5,"job_state":"RUNNING","exit_code":null}]}"#,
    )
    .unwrap();
    assert_eq!(jobs.len(), 1);
}

#[test]
fn wait_status_is_decoded() {
    assert_eq!(
        Exit::from_wait_status(0),
        Exit {
            code: Some(0),
            signal: None
        }
    );
    assert_eq!(
        Exit::from_wait_status(768),
        Exit {
            code: Some(3),
            signal: None
        }
    );
    assert_eq!(
        Exit::from_wait_status(9),
        Exit {
            code: None,
            signal: Some(9)
        }
    );
    assert_eq!(
        Exit::from_wait_status(0x8b),
        Exit {
            code: None,
            signal: Some(11)
        }
    );
}

#[test]
fn scontrol_lines_are_read() {
    let text = fixture("22.05/scontrol_finished.txt");
    let jobs: Vec<_> = text.lines().filter_map(scontrol::parse).collect();
    assert_eq!(jobs.len(), 4);
    let failed = jobs.iter().find(|j| j.job_id == 2).unwrap();
    assert_eq!(
        (failed.state.as_str(), failed.exit),
        (
            "FAILED",
            Some(Exit {
                code: Some(3),
                signal: None
            })
        )
    );
    let cancelled = jobs.iter().find(|j| j.job_id == 3).unwrap();
    assert_eq!(cancelled.exit.unwrap().signal, Some(15));
    let pending = scontrol::parse(&fixture("22.05/scontrol_pending.txt")).unwrap();
    assert_eq!(
        (pending.state.as_str(), pending.reason.as_str()),
        ("PENDING", "Resources")
    );
    assert!(scontrol::parse("garbage").is_none());
}

#[test]
fn sinfo_both_schemas() {
    let nodes = sinfo::parse(&fixture("22.05/sinfo_busy.json")).unwrap();
    assert_eq!(nodes.len(), 1);
    assert_eq!(
        (
            nodes[0].state.as_str(),
            nodes[0].gpus_total,
            nodes[0].gpus_used
        ),
        ("allocated", 2, 1)
    );
    let parts = sinfo::partitions(&nodes);
    assert_eq!((parts[0].name.as_str(), parts[0].gpus_free), ("debug", 1));

    let nodes = sinfo::parse(&fixture("23.11/sinfo.json")).unwrap();
    assert_eq!(
        nodes.len(),
        3,
        "gpu01 is listed once per partition but is one node"
    );
    let gpu02 = nodes.iter().find(|n| n.name == "gpu02").unwrap();
    assert_eq!(gpu02.state, "idle+drain");
    let parts = sinfo::partitions(&nodes);
    let gpu = parts.iter().find(|p| p.name == "gpu").unwrap();
    // gpu02 is drained: its idle GPUs are not free for a new job.
    assert_eq!((gpu.nodes, gpu.gpus_total, gpu.gpus_free), (2, 8, 3));
    assert_eq!(gpu02.gpus_free(), 0);
    assert_eq!(
        sinfo::gpu_count("gpu:a100:2(IDX:0,1),tmpsize:7T,gpu:v100:1"),
        3
    );
    assert!(sinfo::parse(r#"{"x":1}"#).is_err());
}

#[test]
fn backoff_doubles_when_quiet_and_resets_on_change() {
    let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
    let seq: Vec<u64> = (0..7).map(|_| b.next(false).as_secs()).collect();
    assert_eq!(seq, [2, 4, 8, 16, 30, 30, 30]);
    assert_eq!(b.next(true), Duration::from_secs(1));
}

fn task(argv: &[&str], env: &[(&str, &str)]) -> Task {
    Task {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        workdir: PathBuf::from("/tmp/it's here"),
    }
}

fn request() -> Request {
    Request {
        name: "train $(rm -rf /)".into(),
        gpus: Some(Gpus::Count(2)),
        cpus: Some(4),
        memory: Some("16G".into()),
        time_limit_secs: Some(5400),
        after_ok: vec!["12".into(), "13_1".into()],
        output: "/shared/jobs/7/stdout.log".into(),
        error: "/shared/jobs/7/stderr.log".into(),
    }
}

const HOSTILE: &[&str] = &[
    "it's",
    "$(touch /tmp/pwned)",
    "`touch /tmp/pwned`",
    "a\nb; touch /tmp/pwned",
    "\"double\" \\ back",
    "${HOME}",
    "'",
    "",
    "-- --",
];

#[test]
fn script_quotes_hostile_argv_so_sh_sees_it_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("pwned");
    let mut argv = vec!["printf", "%s\\0"];
    let hostile: Vec<String> = HOSTILE
        .iter()
        .map(|h| h.replace("/tmp/pwned", canary.to_str().unwrap()))
        .collect();
    argv.extend(hostile.iter().map(String::as_str));
    let mut t = task(&argv, &[("EVIL", "$(touch /tmp/pwned)'\n`x`")]);
    t.workdir = dir.path().to_path_buf();
    let text = script::write(&request(), &Settings::default(), &[t], &[7]).unwrap();
    // Run the body with sh: each argument arrives exactly as given, nothing runs.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&text)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<String> = out
        .stdout
        .split(|&b| b == 0)
        .map(|s| String::from_utf8(s.to_vec()).unwrap())
        .collect();
    assert_eq!(&got[..hostile.len()], &hostile[..]);
    assert!(!canary.exists(), "a hostile argument ran");
    let env = std::process::Command::new("sh")
        .arg("-c")
        .arg(text.replace("exec 'printf'", "printf '%s' \"$EVIL\" #"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&env.stdout),
        "$(touch /tmp/pwned)'\n`x`"
    );
    // Every #SBATCH line is one option without spaces.
    for line in text.lines().filter(|l| l.starts_with("#SBATCH")) {
        assert_eq!(line.split_whitespace().count(), 2, "{line}");
    }
    assert!(
        text.contains("#SBATCH --job-name=lmdeck-train___rm_-rf___\n"),
        "{text}"
    );
    assert!(text.contains("#SBATCH --gres=gpu:2\n"));
    assert!(text.contains("#SBATCH --cpus-per-task=4\n#SBATCH --mem=16G\n"));
    assert!(text.contains("#SBATCH --time=1:30:00\n"));
    assert!(text.contains("#SBATCH --dependency=afterok:12:13_1\n"));
    assert!(text.contains("export LMDECK_JOB_ID='7'\n"));
}

#[test]
fn sbatch_values_with_newlines_or_spaces_are_refused() {
    let t = task(&["true"], &[]);
    for bad in ["debug\n#SBATCH --uid=0", "a b", "x\"y", ""] {
        let s = Settings {
            partition: Some(bad.into()),
            ..Settings::default()
        };
        assert!(
            script::write(&request(), &s, std::slice::from_ref(&t), &[1]).is_err(),
            "{bad:?}"
        );
    }
    let s = Settings {
        extra: vec!["constraint=a100".into()],
        ..Settings::default()
    };
    assert!(script::write(&request(), &s, std::slice::from_ref(&t), &[1]).is_err());
    let mut r = request();
    r.output = "/shared/my jobs/out.log".into();
    assert!(script::write(&r, &Settings::default(), std::slice::from_ref(&t), &[1]).is_err());
    let bad_env = task(&["true"], &[("A;rm", "1")]);
    assert!(script::write(&request(), &Settings::default(), &[bad_env], &[1]).is_err());
    assert!(script::write(
        &request(),
        &Settings::default(),
        &[task(&["a\0b"], &[])],
        &[1]
    )
    .is_err());
    let mut uuids = request();
    uuids.gpus = Some(Gpus::Uuids(vec!["GPU-1".into()]));
    assert!(script::write(&uuids, &Settings::default(), &[t], &[1]).is_err());
}

#[test]
fn config_settings_and_array_script() {
    let s = Settings {
        partition: Some("gpu".into()),
        account: Some("proj".into()),
        qos: Some("high".into()),
        time_limit: Some("2:00:00".into()),
        extra: vec!["--constraint=a100".into()],
        shared_dir: None,
        gpu_option: Some(GpuOption::Gpus),
    };
    let mut r = request();
    r.time_limit_secs = None;
    let tasks = [
        task(&["echo", "a"], &[]),
        task(&["echo", "b"], &[]),
        task(&["echo", "c"], &[]),
    ];
    let text = script::write(&r, &s, &tasks, &[4, 5, 6]).unwrap();
    for line in [
        "#SBATCH --partition=gpu",
        "#SBATCH --account=proj",
        "#SBATCH --qos=high",
        "#SBATCH --time=2:00:00",
        "#SBATCH --gpus=2",
        "#SBATCH --array=0-2",
        "#SBATCH --constraint=a100",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    // Task 1 runs the second configuration as lmdeck job 5.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(text.replace("cd -- '/tmp/it'\\''s here' || exit 1", ":"))
        .env("SLURM_ARRAY_TASK_ID", "1")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "b\n");
    assert!(text.contains("export LMDECK_JOB_ID='5'"));
    assert_eq!(quote("it's"), r"'it'\''s'");
}

#[test]
fn slurm_messages_are_named() {
    use super::cli::classify;
    use super::SlurmError;
    let e = classify(
        "squeue",
        "slurm_load_jobs error: Unable to contact slurm controller (connect failure)",
        None,
    );
    assert!(matches!(e, SlurmError::ControllerDown { .. }), "{e}");
    let e = classify(
        "sbatch",
        "sbatch: error: invalid partition specified: nope\nsbatch: error: Batch job submission failed: Invalid partition name specified",
        Some("nope"),
    );
    assert!(
        matches!(e, SlurmError::UnknownPartition { ref partition, .. } if partition == "nope"),
        "{e}"
    );
    let e = classify(
        "sbatch",
        "sbatch: error: Batch job submission failed: Requested node configuration is not available",
        None,
    );
    assert!(
        e.to_string()
            .contains("Requested node configuration is not available"),
        "{e}"
    );
    assert!(matches!(e, SlurmError::Refused { .. }));
}
