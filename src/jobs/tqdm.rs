//! tqdm bars: `desc:  45%|████▌     | 45/100 [00:12<00:15,  3.61it/s]`, the `1.76s/it` form,
//! unit-scaled counts (`1.2k`), unknown totals (`45it [00:12,  3.61it/s]`), and torchtune's
//! `1|10|Loss: 1.2345` description, which carries the epoch, step and loss.

use std::sync::LazyLock;

use regex::Regex;

use super::parse::{clock_seconds, Metric, Progress, LOSS};

/// A description longer than this is cut: it is a label for display, not data.
const MAX_LABEL: usize = 80;

static BAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?P<pct>\d{1,3})%\|[^|]{0,400}\|\s*
        (?P<n>\d+(?:\.\d+)?[kMGTPEZY]?)/(?P<total>\d+(?:\.\d+)?[kMGTPEZY]?)\s*
        \[(?P<elapsed>[\d:]+)<(?P<remaining>[\d:?]+),\s*(?P<rate>[^,\]]*)",
    )
    .unwrap_or_else(|e| panic!("tqdm bar regex: {e}"))
});

/// A bar without a total: `45it [00:12,  3.61it/s]`.
static OPEN: LazyLock<Regex> = LazyLock::new(|| {
    // The rate must look like one, so `3 [12, 5]` in a log message is not a bar.
    Regex::new(
        r"(?P<n>\d+(?:\.\d+)?[kMGTPEZY]?)[A-Za-z]{0,16} \[(?P<elapsed>[\d:]+),\s*(?P<rate>(?:\d+(?:\.\d+)?[kMG]?|\?)[A-Za-z]{0,16}/s|\d+(?:\.\d+)?s/[A-Za-z]{1,16})[,\]]",
    )
        .unwrap_or_else(|e| panic!("tqdm open regex: {e}"))
});

static TORCHTUNE_DESC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<epoch>\d+)\|(?P<step>\d+)\|Loss: (?P<loss>[^\s:]+)")
        .unwrap_or_else(|e| panic!("torchtune desc regex: {e}"))
});

/// A tqdm count with tqdm's SI suffixes.
fn count(s: &str) -> Option<f64> {
    let (num, mult) = match s.chars().last()? {
        'k' => (&s[..s.len() - 1], 1e3),
        'M' => (&s[..s.len() - 1], 1e6),
        'G' => (&s[..s.len() - 1], 1e9),
        'T' => (&s[..s.len() - 1], 1e12),
        'P' => (&s[..s.len() - 1], 1e15),
        'E' => (&s[..s.len() - 1], 1e18),
        'Z' => (&s[..s.len() - 1], 1e21),
        'Y' => (&s[..s.len() - 1], 1e24),
        _ => (s, 1.0),
    };
    let v = num.parse::<f64>().ok()? * mult;
    v.is_finite().then_some(v)
}

fn as_u64(v: f64) -> Option<u64> {
    (v >= 0.0 && v <= u64::MAX as f64).then_some(v as u64)
}

/// `3.61it/s` -> 3.61, `1.76s/it` -> 1/1.76, `?it/s` -> None.
fn rate(s: &str) -> Option<f64> {
    let s = s.trim();
    let digits = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let mut num: f64 = s[..digits].parse().ok()?;
    let mut unit = &s[digits..];
    if let Some(c @ ('k' | 'M' | 'G')) = unit.chars().next() {
        num *= match c {
            'k' => 1e3,
            'M' => 1e6,
            _ => 1e9,
        };
        unit = &unit[1..];
    }
    if unit.starts_with("s/") {
        return (num > 0.0).then(|| 1.0 / num);
    }
    unit.ends_with("/s").then_some(num)
}

fn label(before: &str) -> Option<String> {
    let clean: String = before.chars().filter(|c| !c.is_control()).collect();
    let t = clean.trim().trim_end_matches(':').trim();
    if t.is_empty() {
        return None;
    }
    Some(t.chars().take(MAX_LABEL).collect())
}

/// The last bar on the line (a redraw may leave several), its byte offset and, for torchtune's
/// description, a metric.
pub(crate) fn parse_bar(line: &str) -> Option<(usize, Progress, Option<Metric>)> {
    // Every bar has `[elapsed...`; most log lines have no `[`, and this skips the regexes for them.
    if !line.contains('[') {
        return None;
    }
    let (progress, at) = if let Some(c) = BAR.captures_iter(line).last() {
        let whole = c.get(0)?;
        let total = as_u64(count(&c["total"])?)?;
        let p = Progress {
            label: None,
            done: as_u64(count(&c["n"])?)?,
            total: Some(total),
            elapsed_s: clock_seconds(&c["elapsed"]),
            remaining_s: clock_seconds(&c["remaining"]),
            rate: rate(&c["rate"]),
        };
        (p, whole.start())
    } else {
        let c = OPEN.captures_iter(line).last()?;
        let whole = c.get(0)?;
        let p = Progress {
            label: None,
            done: as_u64(count(&c["n"])?)?,
            total: None,
            elapsed_s: clock_seconds(&c["elapsed"]),
            remaining_s: None,
            rate: rate(&c["rate"]),
        };
        (p, whole.start())
    };
    // Only the text since the previous bar or dict end belongs to this bar's description.
    let before = &line[..at];
    let before = before.rsplit(['}', ']']).next().unwrap_or(before);
    let label = label(before);
    let metric = label.as_deref().and_then(torchtune_desc);
    Some((at, Progress { label, ..progress }, metric))
}

fn torchtune_desc(label: &str) -> Option<Metric> {
    let c = TORCHTUNE_DESC.captures(label)?;
    let mut m = Metric {
        step: c["step"].parse().ok(),
        epoch: c["epoch"].parse().ok(),
        ..Metric::default()
    };
    m.values.insert(LOSS.to_string(), c["loss"].parse().ok()?);
    Some(m)
}
