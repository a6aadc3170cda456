//! torchtune's metric logger lines, `Step 10 | loss:1.2345 lr:2e-05 tokens_per_second_per_gpu:1234.5 `
//! (its `StdoutLogger`/`DiskLogger` write `name:value` pairs after `Step N | `), and the common
//! hand-written variant `step 10 | loss: 1.23 | lr: 2.0e-05`.

use std::sync::LazyLock;

use regex::Regex;

use super::parse::{Metric, LEARNING_RATE};

static HEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*step\s+(?P<step>\d{1,19})\s*\|(?P<rest>.*)$")
        .unwrap_or_else(|e| panic!("step line regex: {e}"))
});

static PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?P<key>[a-z_][a-z0-9_/.]{0,63})\s*[:=]\s*(?P<val>[-+]?(?:nan|inf(?:inity)?|(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?))(?:\s|\||,|$)",
    )
    .unwrap_or_else(|e| panic!("step pair regex: {e}"))
});

/// A `Step N | ...` line with at least one `name:value` pair.
pub(crate) fn parse_step_line(line: &str) -> Option<Metric> {
    let head = HEAD.captures(line)?;
    let mut m = Metric {
        step: head["step"].parse().ok(),
        ..Metric::default()
    };
    for c in PAIR.captures_iter(&head["rest"]) {
        let Ok(v) = c["val"].parse::<f64>() else {
            continue;
        };
        let key = c["key"].to_ascii_lowercase();
        match key.as_str() {
            "epoch" => m.epoch = Some(v),
            "lr" => {
                m.values.insert(LEARNING_RATE.to_string(), v);
            }
            _ => {
                m.values.insert(key, v);
            }
        }
    }
    (!m.values.is_empty() || m.epoch.is_some()).then_some(m)
}
