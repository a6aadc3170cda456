//! `sinfo --json` for the cluster view: nodes with their state, CPUs and GPUs, in the 22.05
//! and 23.02 form (`nodes`: one object per node) and the 23.11+ form (`sinfo`: one object
//! per node and partition).

use serde_json::Value;

use super::squeue::number;
use super::SlurmError;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Node {
    pub name: String,
    /// Lower case, flags joined with '+': "idle", "mixed", "idle+drain".
    pub state: String,
    pub partitions: Vec<String>,
    pub cpus_total: u64,
    pub cpus_alloc: u64,
    pub gpus_total: u64,
    pub gpus_used: u64,
}

impl Node {
    /// GPUs a new job could get here: none on a node that is down, drained or failing,
    /// whatever its GPUs are doing.
    pub fn gpus_free(&self) -> u64 {
        const UNUSABLE: &[&str] = &["down", "drain", "drained", "draining", "fail", "failing"];
        if self.state.split('+').any(|f| UNUSABLE.contains(&f)) {
            return 0;
        }
        self.gpus_total.saturating_sub(self.gpus_used)
    }
}

/// A partition summed over its nodes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Partition {
    pub name: String,
    pub nodes: usize,
    /// Node states and how many nodes are in each ("idle 3, mixed 1").
    pub states: Vec<(String, usize)>,
    pub gpus_total: u64,
    pub gpus_free: u64,
}

/// GPUs in a gres string: "gpu:2", "gpu:a100:4(S:0-1)", "gpu:1(IDX:0),tmpsize:7T".
pub fn gpu_count(gres: &str) -> u64 {
    let mut depth = 0;
    let mut items = vec![String::new()];
    // Commas inside parentheses (IDX:0,2) do not split items.
    for c in gres.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = items.last_mut() {
            last.push(c);
        }
    }
    items
        .iter()
        .filter(|item| item.starts_with("gpu"))
        .filter_map(|item| {
            let head = item.split('(').next().unwrap_or("");
            head.rsplit(':').next().and_then(|n| n.parse::<u64>().ok())
        })
        .sum()
}

fn state(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.to_lowercase(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join("+"),
        _ => String::new(),
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn count(value: Option<&Value>) -> u64 {
    number(value).unwrap_or(0).max(0) as u64
}

/// Nodes from a `sinfo --json` document of any schema (one entry per node).
pub fn parse(text: &str) -> Result<Vec<Node>, SlurmError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| SlurmError::Parse {
        program: "sinfo --json".into(),
        message: e.to_string(),
    })?;
    let mut nodes: Vec<Node> = Vec::new();
    if let Some(list) = doc.get("nodes").and_then(Value::as_array) {
        for n in list {
            let gres = n.get("gres").and_then(Value::as_str).unwrap_or("");
            let used = n.get("gres_used").and_then(Value::as_str).unwrap_or("");
            nodes.push(Node {
                name: n.get("name").and_then(Value::as_str).unwrap_or("").into(),
                state: state(n.get("state")),
                partitions: strings(n.get("partitions")),
                cpus_total: count(n.get("cpus")),
                cpus_alloc: count(n.get("alloc_cpus")),
                gpus_total: gpu_count(gres),
                gpus_used: gpu_count(used),
            });
        }
    } else if let Some(list) = doc.get("sinfo").and_then(Value::as_array) {
        for entry in list {
            let partition = entry
                .pointer("/partition/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let names = strings(entry.pointer("/nodes/nodes"));
            let gres = entry
                .pointer("/gres/total")
                .and_then(Value::as_str)
                .unwrap_or("");
            let used = entry
                .pointer("/gres/used")
                .and_then(Value::as_str)
                .unwrap_or("");
            for name in names {
                if let Some(known) = nodes.iter_mut().find(|n| n.name == name) {
                    if !partition.is_empty() && !known.partitions.contains(&partition) {
                        known.partitions.push(partition.clone());
                    }
                    continue;
                }
                nodes.push(Node {
                    name,
                    state: state(entry.pointer("/node/state")),
                    partitions: vec![partition.clone()]
                        .into_iter()
                        .filter(|p| !p.is_empty())
                        .collect(),
                    cpus_total: count(entry.pointer("/cpus/total")),
                    cpus_alloc: count(entry.pointer("/cpus/allocated")),
                    gpus_total: gpu_count(gres),
                    gpus_used: gpu_count(used),
                });
            }
        }
    } else {
        return Err(SlurmError::Parse {
            program: "sinfo --json".into(),
            message: "neither `nodes` nor `sinfo` in the output".into(),
        });
    }
    Ok(nodes)
}

/// Partitions summed from their nodes, by name.
pub fn partitions(nodes: &[Node]) -> Vec<Partition> {
    let mut out: Vec<Partition> = Vec::new();
    for node in nodes {
        for name in &node.partitions {
            let at = match out.iter().position(|p| &p.name == name) {
                Some(i) => i,
                None => {
                    out.push(Partition {
                        name: name.clone(),
                        ..Partition::default()
                    });
                    out.len() - 1
                }
            };
            let p = &mut out[at];
            p.nodes += 1;
            p.gpus_total += node.gpus_total;
            p.gpus_free += node.gpus_free();
            match p.states.iter_mut().find(|(s, _)| *s == node.state) {
                Some((_, n)) => *n += 1,
                None => p.states.push((node.state.clone(), 1)),
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// One `sinfo --json` call.
pub fn query() -> Result<Vec<Node>, SlurmError> {
    parse(&super::cli::run("sinfo", &["--json"])?)
}
