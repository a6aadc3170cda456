//! The scheduler daemon: one per database, detached in its own session, it reconciles and
//! schedules every second, so jobs waiting for GPUs start when GPUs free up and jobs whose
//! supervisor died are marked lost without anyone running a command. Jobs never depend on
//! it: each runs under its own supervisor in its own session, so stopping or killing the
//! daemon leaves them running.
//!
//! One per database: the daemon holds a POSIX write lock on `<db>.daemon.lock` while it
//! runs; the kernel drops it when the process dies, however it dies, and `F_GETLK` names the
//! holder's pid without taking the lock (so a status check never blocks a starting daemon).

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::runner::{self, RunError};
use crate::store::writer::{DbWriter, WriterOptions};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the jobs daemon: {0}")]
    Spawn(std::io::Error),
    #[error("the jobs daemon for {db} did not start within 10 s; see {log}")]
    NotStarted { db: PathBuf, log: PathBuf },
    #[error("the jobs daemon (pid {pid}) did not stop within 10 s")]
    NotStopped { pid: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Where a database's daemon is, and whether it runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DaemonStatus {
    /// The pid holding the lock; None when no daemon runs.
    pub pid: Option<i64>,
    pub lock: PathBuf,
    pub log: PathBuf,
}

/// The lock file beside the database.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".daemon.lock");
    db.with_file_name(name)
}

/// The daemon's log, in the data dir's logs folder, named after the database (one daemon per
/// database); beside the database when no data dir can be found.
pub fn log_path(db: &Path) -> PathBuf {
    use sha2::Digest;
    let abs = std::path::absolute(db).unwrap_or_else(|_| db.to_path_buf());
    let hash = hex::encode(sha2::Sha256::digest(abs.as_os_str().as_encoded_bytes()));
    let name = format!("jobs-daemon-{}.log", &hash[..12]);
    match crate::paths::Paths::resolve() {
        Ok(paths) => paths.log_dir().join(name),
        Err(_) => db.with_file_name(name),
    }
}

/// Whether a daemon holds the database's lock, and its pid.
pub fn status(db: &Path) -> Result<DaemonStatus, DaemonError> {
    let lock = lock_path(db);
    let pid = match std::fs::File::open(&lock) {
        Ok(file) => lock_holder(&file).map_err(|source| DaemonError::Io {
            what: "check the lock",
            path: lock.clone(),
            source,
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(DaemonError::Io {
                what: "open",
                path: lock,
                source,
            })
        }
    };
    Ok(DaemonStatus {
        pid,
        lock,
        log: log_path(db),
    })
}

fn whole_file_lock(kind: i32) -> libc::flock {
    // SAFETY: flock is plain data; all-zero is a valid value that the fields below complete.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl
}

/// The pid of the process holding a write lock on the file, without taking any lock.
fn lock_holder(file: &std::fs::File) -> std::io::Result<Option<i64>> {
    use std::os::fd::AsRawFd;
    let mut fl = whole_file_lock(libc::F_WRLCK);
    // SAFETY: F_GETLK fills the struct we own; the fd is open for the call's duration.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut fl) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((fl.l_type != libc::F_UNLCK as libc::c_short).then_some(fl.l_pid as i64))
}

/// Takes the write lock; false when another process holds it.
fn try_lock(file: &std::fs::File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    let fl = whole_file_lock(libc::F_WRLCK);
    // SAFETY: F_SETLK reads the struct we own; the fd is open for the call's duration.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &fl) } == -1 {
        let e = std::io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EACCES | libc::EAGAIN) => Ok(false),
            _ => Err(e),
        };
    }
    Ok(true)
}

/// What [`ensure_daemon`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Ensured {
    /// True when this call started it; false when one already ran.
    pub started: bool,
    pub status: DaemonStatus,
}

/// Starts the database's daemon unless one runs, and waits (up to 10 s) until it holds its
/// lock. Used by `jobs submit`, `jobs daemon` and the console (it may block for those 10 s:
/// call it off the UI thread).
pub fn ensure_daemon(db: &Path) -> Result<Ensured, DaemonError> {
    let now = status(db)?;
    if now.pid.is_some() {
        return Ok(Ensured {
            started: false,
            status: now,
        });
    }
    let db_abs = std::path::absolute(db).unwrap_or_else(|_| db.to_path_buf());
    let log = log_path(&db_abs);
    let io = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| DaemonError::Io { what, path, source }
    };
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    }
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(io("open", &log))?;
    let err = out.try_clone().map_err(io("open", &log))?;
    let exe = std::env::current_exe().map_err(DaemonError::Spawn)?;
    let mut cmd = Command::new(exe);
    cmd.arg("--db")
        .arg(&db_abs)
        .args(["jobs", "daemon", "--foreground"])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    // SAFETY: setsid, fork and _exit are async-signal-safe. The daemon gets its own session
    // (no terminal, no signals from ours), and the fork makes it a grandchild that init
    // adopts, so neither a long-lived caller (the console) nor we must ever reap it; the
    // intermediate child exits at once and is reaped below.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            match libc::fork() {
                -1 => Err(std::io::Error::last_os_error()),
                0 => Ok(()),
                _ => libc::_exit(0),
            }
        });
    }
    let mut child = cmd.spawn().map_err(DaemonError::Spawn)?;
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = status(db)?;
        if now.pid.is_some() {
            return Ok(Ensured {
                started: true,
                status: now,
            });
        }
        if Instant::now() >= deadline {
            return Err(DaemonError::NotStarted {
                db: db_abs,
                log: now.log,
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends SIGTERM to the daemon and waits (up to 10 s) until it let go of its lock. Returns
/// the pid stopped, None when none ran. Jobs are not its children's group: they keep running.
pub fn stop(db: &Path) -> Result<Option<i64>, DaemonError> {
    let Some(pid) = status(db)?.pid else {
        return Ok(None);
    };
    // A lock held from another pid namespace reports pid 0: kill(0) would signal our own
    // process group.
    if pid <= 0 {
        return Err(DaemonError::NotStopped { pid });
    }
    // Its start time tells it from a later process given the same pid.
    let start = super::procs::start_time(pid);
    // SAFETY: kill has no memory effects.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    // Gone means the lock released and the process ended (not a zombie).
    while status(db)?.pid == Some(pid) || super::procs::is_same(Some(pid), start) {
        if Instant::now() >= deadline {
            return Err(DaemonError::NotStopped { pid });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Some(pid))
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// One timestamped line in the daemon's log (its stderr).
fn log_line(text: &str) {
    let secs = super::queue::now_ms() / 1000;
    let when = crate::util::format_unix(secs);
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "[{when} +{:02}s] pid {}: {text}",
        secs % 60,
        std::process::id()
    );
}

/// Seconds between rounds (`LMDECK_JOBS_DAEMON_TICK_MS`, default 1000; tests go faster).
fn tick() -> Duration {
    let ms = std::env::var("LMDECK_JOBS_DAEMON_TICK_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&ms| ms >= 50)
        .unwrap_or(1000);
    Duration::from_millis(ms)
}

/// The daemon's loop, in this process. Returns Ok(false) at once when another daemon holds
/// the lock; otherwise runs until SIGTERM/SIGINT or until the database file is gone.
pub fn run_foreground(db: &Path) -> Result<bool, DaemonError> {
    let lock = lock_path(db);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&lock)
        .map_err(|source| DaemonError::Io {
            what: "open",
            path: lock.clone(),
            source,
        })?;
    if !try_lock(&file).map_err(|source| DaemonError::Io {
        what: "lock",
        path: lock.clone(),
        source,
    })? {
        return Ok(false);
    }
    // The pid is also written for people reading the file; F_GETLK is what counts.
    let _ = file.set_len(0);
    let _ = (&file).write_all(format!("{}\n", std::process::id()).as_bytes());
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGTERM, on_stop as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_stop as *const () as libc::sighandler_t);
    }
    // SIGHUP stays as it is: an ignored disposition would pass through exec to every
    // supervisor and job started from here.
    let writer = DbWriter::open(db, WriterOptions::default())?;
    let store = Store::open(db)?;
    log_line(&format!("started for {}", db.display()));
    let tick = tick();
    let mut slurm = super::slurm::watch::Watcher::new();
    while !STOP.load(Ordering::SeqCst) {
        if !db.exists() {
            log_line("the database is gone; stopping");
            break;
        }
        if let Err(e) = runner::reconcile(&writer, store.conn()) {
            log_line(&format!("reconcile: {e}"));
        }
        // Slurm jobs: one squeue call when due (with back-off), output followed every round.
        if super::slurm::watch::any_active(store.conn()).unwrap_or(false) {
            match slurm.tick(&writer, store.conn()) {
                Ok(t) if !t.changed.is_empty() => {
                    log_line(&format!("slurm: jobs {:?} changed", t.changed))
                }
                Ok(_) => {}
                Err(e) => log_line(&format!("slurm: {e}")),
            }
        }
        match runner::schedule(&writer) {
            Ok(ids) if !ids.is_empty() => log_line(&format!("started jobs {ids:?}")),
            Ok(_) => {}
            Err(e) => log_line(&format!("schedule: {e}")),
        }
        let until = Instant::now() + tick;
        while Instant::now() < until && !STOP.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    log_line("stopped");
    Ok(true)
}
