//! Flat JSON objects and Python dict reprs (`{'loss': 1.2}` from transformers 4, `{'loss': '1.2'}`
//! from transformers 5, `nan`/`inf` bare or quoted) found anywhere in a line, and their mapping
//! onto metrics. A hand scanner rather than serde_json: Python reprs are not JSON.

use super::parse::{clock_seconds, Event, Metric, Progress, LEARNING_RATE, TOKENS_PER_SECOND};

/// `{` positions tried per line, so a line of many braces stays linear-ish.
const MAX_STARTS: usize = 16;
/// Nesting depth of skipped values (lists, sub-objects) before the object is given up.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Num(f64),
    Str(String),
    Other,
}

impl Value {
    fn number(&self) -> Option<f64> {
        match self {
            Value::Num(v) => Some(*v),
            Value::Str(s) => s.trim().parse().ok(),
            Value::Other => None,
        }
    }
}

/// Every well-formed object in `line` with its byte offset, outermost first.
pub(crate) fn objects(line: &str) -> Vec<(usize, Vec<(String, Value)>)> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    for _ in 0..MAX_STARTS {
        let Some(off) = b
            .get(from..)
            .and_then(|s| s.iter().position(|&c| c == b'{'))
        else {
            break;
        };
        let start = from + off;
        match object(b, start) {
            Some((pairs, end)) => {
                out.push((start, pairs));
                from = end;
            }
            None => from = start + 1,
        }
    }
    out
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Parses a flat object at `b[start] == '{'`; returns its pairs and the index after `}`.
fn object(b: &[u8], start: usize) -> Option<(Vec<(String, Value)>, usize)> {
    let mut i = skip_ws(b, start + 1);
    let mut pairs = Vec::new();
    if b.get(i) == Some(&b'}') {
        return Some((pairs, i + 1));
    }
    loop {
        let (key, next) = string(b, i)?;
        i = skip_ws(b, next);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let (value, next) = value(b, i)?;
        pairs.push((key, value));
        i = skip_ws(b, next);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return Some((pairs, i + 1)),
            _ => return None,
        }
    }
}

/// A `'...'` or `"..."` string with backslash escapes kept simple (the escaped byte is taken).
fn string(b: &[u8], i: usize) -> Option<(String, usize)> {
    let q = *b.get(i)?;
    if q != b'\'' && q != b'"' {
        return None;
    }
    let mut j = i + 1;
    let mut s = Vec::new();
    while j < b.len() {
        match b[j] {
            c if c == q => return Some((String::from_utf8_lossy(&s).into_owned(), j + 1)),
            b'\\' if j + 1 < b.len() => {
                s.push(b[j + 1]);
                j += 2;
            }
            c => {
                s.push(c);
                j += 1;
            }
        }
    }
    None
}

fn value(b: &[u8], i: usize) -> Option<(Value, usize)> {
    match *b.get(i)? {
        b'\'' | b'"' => string(b, i).map(|(s, j)| (Value::Str(s), j)),
        b'{' | b'[' | b'(' => skip_nested(b, i).map(|j| (Value::Other, j)),
        _ => {
            let end = b[i..]
                .iter()
                .position(|&c| {
                    matches!(c, b',' | b'}' | b']' | b')' | b'(') || c.is_ascii_whitespace()
                })
                .map_or(b.len(), |p| i + p);
            if end == i {
                return None;
            }
            if b.get(end) == Some(&b'(') {
                // A call repr: `tensor(1.2, device='cuda:0')`, numpy 2's `np.float32(1.2)`.
                let close = skip_nested(b, end)?;
                return Some((call_number(&b[end + 1..close - 1]), close));
            }
            let tok = std::str::from_utf8(&b[i..end]).ok()?;
            let v = tok.parse::<f64>().map_or(Value::Other, Value::Num);
            Some((v, end))
        }
    }
}

/// The first argument of a call repr when it is a plain number.
fn call_number(args: &[u8]) -> Value {
    let first = args.split(|&c| c == b',').next().unwrap_or_default();
    std::str::from_utf8(first)
        .ok()
        .and_then(|t| t.trim().parse::<f64>().ok())
        .map_or(Value::Other, Value::Num)
}

/// Skips a balanced `{...}`, `[...]` or `(...)`, strings included; `None` when unbalanced.
fn skip_nested(b: &[u8], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = i;
    while j < b.len() {
        match b[j] {
            b'\'' | b'"' => {
                j = string(b, j)?.1;
                continue;
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return None;
                }
            }
            b'}' | b']' | b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(j + 1);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

/// Whether a key names a training metric, so unrelated JSON logs (`{"level": ...}`) yield nothing.
fn metric_like(key: &str) -> bool {
    key.contains("loss")
        || key.ends_with("_per_second")
        || key.ends_with("_per_second_per_gpu")
        || key.starts_with("eval_")
        || key.starts_with("train_")
        || matches!(
            key,
            "learning_rate" | "lr" | "grad_norm" | "epoch" | "current_steps" | "global_step"
        )
}

fn as_step(v: f64) -> Option<u64> {
    (v.is_finite() && v >= 0.0 && v <= u64::MAX as f64).then_some(v as u64)
}

/// Maps one object onto a metric (and a progress reading for LLaMA-Factory's counters).
pub(crate) fn events_from_object(pairs: &[(String, Value)]) -> Vec<Event> {
    if !pairs
        .iter()
        .any(|(k, v)| metric_like(k) && v.number().is_some())
    {
        return Vec::new();
    }
    let mut m = Metric::default();
    let (mut elapsed, mut remaining) = (None, None);
    let llama_factory = pairs.iter().any(|(k, _)| k == "current_steps");
    for (key, value) in pairs {
        match key.as_str() {
            "elapsed_time" => elapsed = value.number().or_else(|| str_clock(value)),
            "remaining_time" => remaining = value.number().or_else(|| str_clock(value)),
            _ => {}
        }
        let Some(v) = value.number() else { continue };
        match key.as_str() {
            "step" | "global_step" | "current_steps" | "current_step" => m.step = as_step(v),
            "total_steps" | "max_steps" => m.total_steps = as_step(v),
            "epoch" => m.epoch = Some(v),
            // Derivable from the step counters; not a training value.
            "percentage" | "elapsed_time" | "remaining_time" => {}
            "lr" => {
                m.values.insert(LEARNING_RATE.to_string(), v);
            }
            // LLaMA-Factory's `throughput` is input tokens seen over elapsed time.
            "throughput" if llama_factory => {
                m.values.insert(TOKENS_PER_SECOND.to_string(), v);
            }
            k => {
                m.values.insert(k.to_string(), v);
            }
        }
    }
    let mut out = Vec::new();
    if let (true, Some(done)) = (llama_factory, m.step) {
        let rate = elapsed.filter(|&e| e > 0.0).map(|e| done as f64 / e);
        out.push(Event::Progress(Progress {
            label: None,
            done,
            total: m.total_steps,
            elapsed_s: elapsed,
            remaining_s: remaining,
            rate,
        }));
    }
    out.insert(0, Event::Metric(m));
    out
}

fn str_clock(v: &Value) -> Option<f64> {
    match v {
        Value::Str(s) => clock_seconds(s),
        _ => None,
    }
}
