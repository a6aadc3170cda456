//! Recorded lines of each trainer format, the `\r`-split stream, derivations and alerts.

use super::derive::{eta_s, fraction};
use super::parse::*;

fn metrics(events: &[Event]) -> Vec<&Metric> {
    events
        .iter()
        .filter_map(|e| {
            if let Event::Metric(m) = e {
                Some(m)
            } else {
                None
            }
        })
        .collect()
}

fn progresses(events: &[Event]) -> Vec<&Progress> {
    events
        .iter()
        .filter_map(|e| {
            if let Event::Progress(p) = e {
                Some(p)
            } else {
                None
            }
        })
        .collect()
}

fn one_metric(line: &str) -> Metric {
    let ev = parse_line(line);
    let ms = metrics(&ev);
    assert_eq!(ms.len(), 1, "{line:?} gave {ev:?}");
    ms[0].clone()
}

#[test]
fn transformers4_numbers() {
    let m =
        one_metric("{'loss': 1.2345, 'grad_norm': 3.1, 'learning_rate': 4.5e-05, 'epoch': 0.5}");
    assert_eq!(m.get(LOSS), Some(1.2345));
    assert_eq!(m.get(GRAD_NORM), Some(3.1));
    assert_eq!(m.get(LEARNING_RATE), Some(4.5e-05));
    assert_eq!(m.epoch, Some(0.5));
    assert_eq!(m.step, None);
}

#[test]
fn transformers5_strings_nan_inf() {
    let m = one_metric(
        "{'loss': '4.778', 'grad_norm': '1.047', 'learning_rate': '0', 'epoch': '0.02083'}",
    );
    assert_eq!(m.get(LOSS), Some(4.778));
    assert_eq!(m.get(LEARNING_RATE), Some(0.0));
    assert_eq!(m.epoch, Some(0.02083));

    let m =
        one_metric("{'loss': 'nan', 'grad_norm': 'inf', 'learning_rate': '2e-05', 'epoch': '1.5'}");
    assert!(m.get(LOSS).is_some_and(f64::is_nan));
    assert_eq!(m.get(GRAD_NORM), Some(f64::INFINITY));
    // transformers 4 prints bare nan/inf.
    let m = one_metric("{'loss': nan, 'grad_norm': -inf, 'learning_rate': 0.0, 'epoch': 2.0}");
    assert!(m.get(LOSS).is_some_and(f64::is_nan));
    assert_eq!(m.get(GRAD_NORM), Some(f64::NEG_INFINITY));
}

#[test]
fn hf_eval_and_summary() {
    let m = one_metric(
        "{'eval_loss': '2.101', 'eval_runtime': '3.2', 'eval_samples_per_second': '9.375', \
         'eval_steps_per_second': '1.25', 'epoch': '1'}",
    );
    assert_eq!(m.get(EVAL_LOSS), Some(2.101));
    let m = one_metric(
        "{'train_runtime': '115.6', 'train_samples_per_second': '1.038', 'train_steps_per_second': '0.26', \
         'total_flos': '1.5e+13', 'train_loss': '3.908', 'epoch': '0.625'}",
    );
    assert_eq!(m.get("train_loss"), Some(3.908));
    assert_eq!(m.get("train_samples_per_second"), Some(1.038));
}

#[test]
fn json_lines() {
    let m = one_metric(
        r#"{"step": 10, "loss": 1.2, "learning_rate": 1e-4, "tokens_per_second": 512.5}"#,
    );
    assert_eq!(m.step, Some(10));
    assert_eq!(m.get(TOKENS_PER_SECOND), Some(512.5));
    // Structured logs that are not metrics, and nested values, are skipped.
    assert!(parse_line(r#"{"level": "info", "msg": "saving checkpoint", "n": 3}"#).is_empty());
    let m =
        one_metric(r#"{"step": 3, "loss": 0.9, "extra": {"a": [1, "}"]}, "ok": true, "t": null}"#);
    assert_eq!(m.get(LOSS), Some(0.9));
    assert_eq!(m.values.len(), 1);
}

#[test]
fn llama_factory_trainer_log() {
    let line = r#"{"current_steps": 10, "total_steps": 100, "loss": 1.2, "lr": 4.9e-05, "epoch": 0.3, "percentage": 10.0, "elapsed_time": "0:01:02", "remaining_time": "0:09:18", "throughput": 1234.56, "total_tokens": 40960}"#;
    let ev = parse_line(line);
    let m = metrics(&ev)[0];
    assert_eq!((m.step, m.total_steps), (Some(10), Some(100)));
    assert_eq!(m.get(LEARNING_RATE), Some(4.9e-05));
    assert_eq!(m.get("percentage"), None);
    assert_eq!(m.get(TOKENS_PER_SECOND), Some(1234.56));
    let p = progresses(&ev)[0];
    assert_eq!((p.done, p.total), (10, Some(100)));
    assert_eq!((p.elapsed_s, p.remaining_s), (Some(62.0), Some(558.0)));
    assert_eq!(fraction(p), Some(0.1));
    assert_eq!(eta_s(p), Some(558.0));
}

#[test]
fn torchtune_lines() {
    let m = one_metric(
        "Step 10 | loss:1.2345 lr:2e-05 tokens_per_second_per_gpu:1234.5 peak_memory_alloc:12.3 ",
    );
    assert_eq!(m.step, Some(10));
    assert_eq!(m.get(LOSS), Some(1.2345));
    assert_eq!(m.get(LEARNING_RATE), Some(2e-05));
    assert_eq!(m.get("tokens_per_second_per_gpu"), Some(1234.5));
    let m = one_metric("step 7 | loss: 2.5 | lr: 6.0000e-05 | norm: nan");
    assert_eq!((m.step, m.get(LOSS)), (Some(7), Some(2.5)));
    assert!(m.get("norm").is_some_and(f64::is_nan));
    // torchtune's tqdm description carries epoch|step|loss.
    let ev = parse_line("1|10|Loss: 1.2345:  10%|█         | 10/100 [00:05<00:45,  2.00it/s]");
    let m = metrics(&ev)[0];
    assert_eq!((m.step, m.get(LOSS)), (Some(10), Some(1.2345)));
    assert_eq!(progresses(&ev)[0].done, 10);
}

#[test]
fn tqdm_bars() {
    let ev = parse_line("  45%|████▌     | 45/100 [00:12<00:15,  3.61it/s]");
    let p = progresses(&ev)[0];
    assert_eq!((p.done, p.total, p.label.as_deref()), (45, Some(100), None));
    assert_eq!(
        (p.elapsed_s, p.remaining_s, p.rate),
        (Some(12.0), Some(15.0), Some(3.61))
    );
    assert_eq!(fraction(p), Some(0.45));

    let ev = parse_line(" 23%|██▎       | 7/30 [00:12<00:40,  1.76s/it]");
    let p = progresses(&ev)[0];
    assert!((p.rate.unwrap_or(0.0) - 1.0 / 1.76).abs() < 1e-9);

    let ev = parse_line(
        "Converting and de-quantizing GGUF tensors...: 100%|██████████| 272/272 [00:03<00:00, 80.1it/s]",
    );
    let p = progresses(&ev)[0];
    assert_eq!(
        p.label.as_deref(),
        Some("Converting and de-quantizing GGUF tensors...")
    );
    assert_eq!(eta_s(p), Some(0.0));

    let p = progresses(&parse_line("  0%|          | 0/30 [00:00<?, ?it/s]"))[0].clone();
    assert_eq!(
        (p.done, p.remaining_s, p.rate, eta_s(&p)),
        (0, None, None, None)
    );
    let p = progresses(&parse_line("Map: 1.2k/5k [01:02:03<00:10, 1.5kex/s]")).len();
    assert_eq!(p, 0, "no percentage: not a bar line");
    let p = progresses(&parse_line("45it [00:12,  3.61it/s]"))[0].clone();
    assert_eq!((p.done, p.total, p.rate), (45, None, Some(3.61)));
    assert!(parse_line("Loading checkpoint shards, please wait").is_empty());
    assert!(
        parse_line("WARNING: use_cache=True is incompatible with gradient checkpointing")
            .is_empty()
    );
}

#[test]
fn carriage_returns_and_shared_line() {
    // One terminal line as recorded with 2>&1: tqdm redraws, a dict printed between them.
    let raw = " 30%|███       | 9/30 [00:15<00:37,  1.76s/it]\r 33%|███▎      | 10/30 [00:17<00:35,  1.76s/it]\
               {'loss': '4.778', 'grad_norm': '1.047', 'learning_rate': '0.001', 'epoch': '0.2083'}\n\
               \r 37%|███▋      | 11/30 [00:19<00:33,  1.76s/it]";
    let mut p = LogParser::default();
    let mut ev = Vec::new();
    // Fed in awkward chunks, splitting a multi-byte bar glyph.
    for chunk in raw.as_bytes().chunks(7) {
        ev.extend(p.push(chunk));
    }
    ev.extend(p.finish());
    let ms = metrics(&ev);
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0].step, Some(10));
    assert_eq!(ms[0].step_source, StepSource::FromProgress);
    assert_eq!(ms[0].total_steps, Some(30));
    assert_eq!(
        progresses(&ev).iter().map(|p| p.done).collect::<Vec<_>>(),
        vec![9, 10, 11]
    );
}

#[test]
fn eval_bars_do_not_steal_the_step() {
    let mut p = LogParser::default();
    let lines = [
        // A labelled preprocessing bar, then an unlabelled one that finishes before training.
        "Map: 100%|██████████| 12/12 [00:00<00:00, 512.1 examples/s]\n",
        "100%|██████████| 3/3 [00:00<00:00, 90.0it/s]\n",
        " 50%|█████     | 20/40 [00:10<00:10,  2.00it/s]\n",
        // An eval bar with more items than training, then its dict, then training goes on.
        " 96%|█████████▌| 48/50 [00:01<00:00, 30.0it/s]\r{'eval_loss': 2.0, 'epoch': 1.0}\n",
        " 52%|█████▎    | 21/40 [00:11<00:09,  2.00it/s]\r{'loss': 1.5, 'epoch': 1.05}\n",
    ];
    let ev: Vec<Event> = lines.iter().flat_map(|l| p.push(l.as_bytes())).collect();
    let steps: Vec<_> = metrics(&ev).iter().map(|m| m.step).collect();
    assert_eq!(steps, vec![Some(20), Some(21)]);
}

#[test]
fn call_reprs_and_long_timedeltas() {
    let m = one_metric(
        "{'loss': tensor(1.25, device='cuda:0'), 'grad_norm': np.float32(0.5), 'epoch': 1}",
    );
    assert_eq!((m.get(LOSS), m.get(GRAD_NORM)), (Some(1.25), Some(0.5)));
    let line = r#"{"current_steps": 5000, "total_steps": 90000, "loss": 0.8, "elapsed_time": "1 day, 2:00:00", "remaining_time": "17 days, 0:00:05"}"#;
    let ev = parse_line(line);
    let p = progresses(&ev)[0];
    assert_eq!(
        (p.elapsed_s, p.remaining_s),
        (Some(93_600.0), Some(17.0 * 86_400.0 + 5.0))
    );
}

#[test]
fn long_and_binary_lines_are_bounded() {
    let mut p = LogParser::new(1024);
    let junk: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let _ = p.push(&junk);
    assert!(p.buffered() <= 1024);
    let mut long = vec![b'{'; 5000];
    long.extend_from_slice(b"\n{\"step\": 1, \"loss\": 0.5}\n");
    let ev = p.push(&long);
    assert!(p.dropped_lines() >= 1);
    assert_eq!(
        metrics(&ev).len(),
        1,
        "the line after an overflow is parsed"
    );
    // A line of braces and quotes is parsed in bounded time without a panic.
    let nasty = "{'a': ".repeat(10_000) + &"{[(".repeat(10_000);
    let _ = parse_line(&nasty);
}

/// Lines per second through `LogParser` on a realistic mix (run with `--ignored --nocapture`;
/// dev-profile figures understate a release build).
#[test]
#[ignore]
fn parser_throughput() {
    let mix = " 33%|███▎      | 10/30 [00:17<00:35,  1.76s/it]\r\
               {'loss': '4.778', 'grad_norm': '1.047', 'learning_rate': '0.001', 'epoch': '0.2083'}\n\
               Step 10 | loss:1.2345 lr:2e-05 tokens_per_second_per_gpu:1234.5 \n\
               WARNING: some library warning that is not a metric at all\n";
    let chunk = mix.repeat(2500);
    let lines = chunk.matches(['\n', '\r']).count();
    let mut p = LogParser::default();
    let start = std::time::Instant::now();
    let n = p.push(chunk.as_bytes()).len();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{lines} lines, {n} events, {:.0} lines/s",
        lines as f64 / secs
    );
}

#[test]
fn sampled_series_are_bounded_and_keep_their_shape_and_nans() {
    use crate::jobs::metrics;
    use crate::jobs::parse::Metric;
    let dir = tempfile::tempdir().unwrap();
    let mut store = crate::store::Store::open(&dir.path().join("m.db")).unwrap();
    let tx = store.conn_mut().transaction().unwrap();
    tx.execute(
        "INSERT INTO jobs (id, name, state, snapshot, created_ms, log_dir, stdout_path, stderr_path) \
         VALUES (1, 'j', 'running', '{}', 0, '', '', '')",
        [],
    )
    .unwrap();
    let points: Vec<Metric> = (1..=10_000u64)
        .map(|step| {
            let mut m = Metric {
                step: Some(step),
                ..Metric::default()
            };
            let loss = if step == 7_777 {
                f64::NAN
            } else {
                10.0 / step as f64
            };
            m.values.insert("loss".into(), loss);
            m
        })
        .collect();
    metrics::record(&tx, 1, &points, 0).unwrap();
    tx.commit().unwrap();

    let full = metrics::series(store.conn(), 1).unwrap();
    assert_eq!(full["loss"].len(), 10_000);
    let sampled = metrics::series_sampled(store.conn(), 1, 500).unwrap();
    let loss = &sampled["loss"];
    assert!(loss.len() <= 501 && loss.len() >= 450, "{}", loss.len());
    // Steps ascend, the last point is the last step, values still fall.
    assert!(loss.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(loss.last().unwrap().0, 10_000);
    let finite: Vec<f64> = loss.iter().map(|p| p.1).filter(|v| v.is_finite()).collect();
    assert!(finite.windows(2).all(|w| w[0] >= w[1]));
    // The run holding step 7,777's NaN shows it, and the exact query finds its step.
    assert_eq!(loss.iter().filter(|p| p.1.is_nan()).count(), 1);
    let nans = metrics::non_finite(store.conn(), 1, 5).unwrap();
    assert_eq!(nans.len(), 1);
    assert_eq!((nans[0].0, nans[0].1.as_str()), (7_777, "loss"));
    assert!(nans[0].2.is_nan());
}

#[test]
fn the_newest_complete_checkpoint_is_chosen_and_one_cut_short_is_not() {
    use crate::jobs::control::latest_checkpoint;
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str, marker: Option<&str>| {
        let folder = dir.path().join(name);
        std::fs::create_dir_all(&folder).unwrap();
        if let Some(m) = marker {
            std::fs::write(folder.join(m), "{}").unwrap();
        }
    };
    assert_eq!(latest_checkpoint(dir.path()), None);
    make("checkpoint-10", Some("progress.json"));
    make("checkpoint-20", Some("trainer_state.json"));
    // Killed mid-save: no marker yet. And names that are not checkpoints.
    make("checkpoint-30", None);
    make("checkpoint-x", Some("progress.json"));
    std::fs::write(dir.path().join("checkpoint-40"), "a file").unwrap();
    let (path, step) = latest_checkpoint(dir.path()).unwrap();
    assert_eq!(step, 20);
    assert!(path.ends_with("checkpoint-20"));
}
