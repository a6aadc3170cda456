//! Process facts from /proc and signals to process groups (Linux).

use std::path::Path;

/// (state char, process group, start time in clock ticks) from /proc/<pid>/stat.
pub fn stat(pid: i64) -> Option<(char, i64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let pgrp = fields.get(2)?.parse().ok()?;
    // Field 22 overall is the 20th after the name.
    let start = fields.get(19)?.parse().ok()?;
    Some((state, pgrp, start))
}

/// Start time of a live (not zombie) process.
pub fn start_time(pid: i64) -> Option<u64> {
    stat(pid)
        .filter(|(state, _, _)| !matches!(state, 'Z' | 'X'))
        .map(|(_, _, start)| start)
}

/// True when `pid` is alive and is the process that started at `start` (not a reused pid).
pub fn is_same(pid: Option<i64>, start: Option<u64>) -> bool {
    match (pid, start) {
        (Some(pid), Some(start)) if pid > 0 => start_time(pid) == Some(start),
        _ => false,
    }
}

/// True while any live (not zombie) process is in the group.
pub fn group_alive(pgid: i64) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i64>().ok())
            .and_then(stat)
            .is_some_and(|(state, pgrp, _)| pgrp == pgid && !matches!(state, 'Z' | 'X'))
    })
}

/// Sends a signal to a whole process group; false when no such group.
pub fn signal_group(pgid: i64, signal: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    // SAFETY: kill has no memory effects; a negative pid addresses the group.
    unsafe { libc::kill(-(pgid as libc::pid_t), signal) == 0 }
}

/// Waits (bounded) until the group has no live process; true if it emptied in time.
pub fn wait_group_gone(pgid: i64, timeout: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if !group_alive(pgid) {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// SIGTERM to the group, then SIGKILL after `grace` if anything is left.
pub fn terminate_group(pgid: i64, grace: std::time::Duration) {
    // A stopped group would not act on SIGTERM until continued.
    signal_group(pgid, libc::SIGCONT);
    signal_group(pgid, libc::SIGTERM);
    if !wait_group_gone(pgid, grace) {
        signal_group(pgid, libc::SIGKILL);
        wait_group_gone(pgid, std::time::Duration::from_secs(10));
    }
}

/// The last `n` lines of the job's logs (stdout then stderr), for a lost job's record.
pub fn last_lines(paths: &[&Path], n: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    for path in paths {
        if let Ok(bytes) = std::fs::read(path) {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let from = all.len().saturating_sub(n);
            lines.extend(all[from..].iter().map(|l| l.to_string()));
        }
    }
    let from = lines.len().saturating_sub(n);
    lines[from..].join("\n")
}
