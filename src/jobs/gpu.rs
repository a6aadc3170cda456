//! GPU inventory: what the host's GPUs are and how busy they are. The readers (NVML, loaded at
//! run time, or `nvidia-smi`) fill these types; with no NVIDIA driver the inventory says so
//! instead of failing. [`choose`] decides which GPUs a job gets.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::spec::Gpus;

/// One GPU as last read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    pub index: u32,
    /// `GPU-...`: stable across reboots and renumbering; jobs get GPUs by UUID.
    pub uuid: String,
    pub name: String,
    pub utilization_pct: Option<u32>,
    pub memory_used_mb: u64,
    pub memory_total_mb: u64,
    pub temperature_c: Option<u32>,
    /// Processes using it: (pid, MiB).
    pub processes: Vec<(u32, u64)>,
}

impl GpuInfo {
    pub fn memory_free_mb(&self) -> u64 {
        self.memory_total_mb.saturating_sub(self.memory_used_mb)
    }
}

/// What the host has: its GPUs, or why none can be seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Inventory {
    Gpus {
        source: String,
        gpus: Vec<GpuInfo>,
    },
    /// No GPU visible, with the reason (no driver, no device, the reader failed).
    NoGpu {
        reason: String,
    },
}

/// Names a file of recorded `nvidia-smi` output read instead of the host's GPUs (tests, demos).
pub const INVENTORY_ENV: &str = "LMDECK_GPU_INVENTORY";

/// The arguments of the two `nvidia-smi` queries whose output [`parse_smi`] reads.
pub const SMI_GPU_QUERY: &[&str] = &[
    "--query-gpu=index,uuid,name,utilization.gpu,memory.used,memory.total,temperature.gpu",
    "--format=csv,noheader,nounits",
];
pub const SMI_APPS_QUERY: &[&str] = &[
    "--query-compute-apps=pid,gpu_uuid,used_memory",
    "--format=csv,noheader,nounits",
];

/// The line that separates the GPU query's output from the compute-apps query's in an
/// inventory file.
pub const APPS_MARKER: &str = "# compute-apps";

/// Reads the inventory: the file named by `LMDECK_GPU_INVENTORY` when set, else NVML, else
/// `nvidia-smi`; never fails, a host without GPUs gets [`Inventory::NoGpu`] with the reasons.
pub fn read() -> Inventory {
    if let Some(file) = std::env::var_os(INVENTORY_ENV).filter(|v| !v.is_empty()) {
        return read_file(Path::new(&file));
    }
    let nvml_reason = match read_nvml() {
        Ok(inv) => return inv,
        Err(reason) => reason,
    };
    match read_smi() {
        Ok(inv) => inv,
        Err(smi_reason) => Inventory::NoGpu {
            reason: format!("NVML: {nvml_reason}; nvidia-smi: {smi_reason}"),
        },
    }
}

/// A recorded-output file: the GPU query's lines, then optionally [`APPS_MARKER`] and the
/// compute-apps query's lines.
pub fn read_file(path: &Path) -> Inventory {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let (gpus, apps) = match text.split_once(APPS_MARKER) {
                Some((gpus, apps)) => (gpus, apps),
                None => (text.as_str(), ""),
            };
            parse_smi(&format!("file {}", path.display()), gpus, apps)
        }
        Err(e) => Inventory::NoGpu {
            reason: format!("cannot read {INVENTORY_ENV} file {}: {e}", path.display()),
        },
    }
}

/// Parses the two queries' CSV output. Unparsable lines are skipped (a driver message, a
/// comment); `[N/A]` and `[Not Supported]` become unknown values.
pub fn parse_smi(source: &str, gpu_csv: &str, apps_csv: &str) -> Inventory {
    let mut gpus: Vec<GpuInfo> = gpu_csv.lines().filter_map(parse_gpu_line).collect();
    for (pid, uuid, mb) in apps_csv.lines().filter_map(parse_app_line) {
        if let Some(gpu) = gpus.iter_mut().find(|g| g.uuid == uuid) {
            gpu.processes.push((pid, mb));
        }
    }
    if gpus.is_empty() {
        let first = gpu_csv
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'));
        let reason = match first {
            Some(line) => format!("{source} lists no GPU ({line})"),
            None => format!("{source} lists no GPU"),
        };
        return Inventory::NoGpu { reason };
    }
    Inventory::Gpus {
        source: source.to_string(),
        gpus,
    }
}

/// A number, or None for `[N/A]`, `[Not Supported]`, `N/A` and the like.
fn number(field: &str) -> Option<u64> {
    let field = field.trim();
    // Some drivers keep the unit even with nounits (e.g. "1024 MiB", "45 %").
    let digits = field.split_whitespace().next()?;
    digits.parse::<u64>().ok().or_else(|| {
        digits
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(|v| v.round() as u64)
    })
}

fn parse_gpu_line(line: &str) -> Option<GpuInfo> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    // The name may hold commas: index and uuid first, then the last five fields.
    if fields.len() < 7 {
        return None;
    }
    let n = fields.len();
    let index = u32::try_from(number(fields[0])?).ok()?;
    let uuid = fields[1].to_string();
    if uuid.is_empty() || uuid.starts_with('[') {
        return None;
    }
    let name = fields[2..n - 4].join(", ");
    let to_u32 = |f: &str| number(f).and_then(|v| u32::try_from(v).ok());
    Some(GpuInfo {
        index,
        uuid,
        name,
        utilization_pct: to_u32(fields[n - 4]),
        // Unknown memory is taken as fully used, so a job is never put on a GPU blindly.
        memory_used_mb: number(fields[n - 3])
            .or_else(|| number(fields[n - 2]))
            .unwrap_or(0),
        memory_total_mb: number(fields[n - 2]).unwrap_or(0),
        temperature_c: to_u32(fields[n - 1]),
        processes: Vec::new(),
    })
}

fn parse_app_line(line: &str) -> Option<(u32, String, u64)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    if fields.len() < 3 {
        return None;
    }
    let pid = u32::try_from(number(fields[0])?).ok()?;
    Some((pid, fields[1].to_string(), number(fields[2]).unwrap_or(0)))
}

/// NVML is loaded once per process; the error is kept as the reason.
fn nvml() -> Result<&'static nvml_wrapper::Nvml, String> {
    static NVML: OnceLock<Result<nvml_wrapper::Nvml, String>> = OnceLock::new();
    NVML.get_or_init(|| {
        // LMDECK_NVML_LIB names the library when it is not where the loader looks (and lets
        // tests make NVML absent on a GPU host).
        let lib = std::env::var_os("LMDECK_NVML_LIB").filter(|v| !v.is_empty());
        match &lib {
            Some(path) => nvml_wrapper::Nvml::builder().lib_path(path).init(),
            None => nvml_wrapper::Nvml::init(),
        }
        .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(Clone::clone)
}

fn read_nvml() -> Result<Inventory, String> {
    use nvml_wrapper::enum_wrappers::device::TemperatureSensor;
    use nvml_wrapper::enums::device::UsedGpuMemory;
    let nvml = nvml()?;
    let count = nvml.device_count().map_err(|e| e.to_string())?;
    let mut gpus = Vec::new();
    for i in 0..count {
        let device = nvml.device_by_index(i).map_err(|e| e.to_string())?;
        let uuid = device.uuid().map_err(|e| e.to_string())?;
        let memory = device.memory_info().map_err(|e| e.to_string())?;
        let processes = device
            .running_compute_processes()
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                let mb = match p.used_gpu_memory {
                    UsedGpuMemory::Used(bytes) => bytes / (1024 * 1024),
                    UsedGpuMemory::Unavailable => 0,
                };
                (p.pid, mb)
            })
            .collect();
        gpus.push(GpuInfo {
            index: device.index().unwrap_or(i),
            uuid,
            name: device.name().unwrap_or_default(),
            utilization_pct: device.utilization_rates().ok().map(|u| u.gpu),
            memory_used_mb: memory.used / (1024 * 1024),
            memory_total_mb: memory.total / (1024 * 1024),
            temperature_c: device.temperature(TemperatureSensor::Gpu).ok(),
            processes,
        });
    }
    if gpus.is_empty() {
        return Err("the driver reports no GPU".into());
    }
    Ok(Inventory::Gpus {
        source: "NVML".into(),
        gpus,
    })
}

fn read_smi() -> Result<Inventory, String> {
    let gpus = run_smi(SMI_GPU_QUERY)?;
    // Processes are a detail; the GPUs are still usable without them.
    let apps = run_smi(SMI_APPS_QUERY).unwrap_or_default();
    match parse_smi("nvidia-smi", &gpus, &apps) {
        Inventory::NoGpu { reason } => Err(reason),
        inv => Ok(inv),
    }
}

/// Runs `nvidia-smi` with a bound: a wedged driver can hang it.
fn run_smi(args: &[&str]) -> Result<String, String> {
    let mut child = Command::new("nvidia-smi")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "not found (no NVIDIA driver installed)".to_string(),
            _ => format!("cannot run: {e}"),
        })?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("did not answer within 10 s".into());
            }
            Err(e) => return Err(format!("waiting for it: {e}")),
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        let said = if stdout.trim().is_empty() {
            String::from_utf8_lossy(&out.stderr).to_string()
        } else {
            stdout
        };
        let first = said.lines().map(str::trim).find(|l| !l.is_empty());
        return Err(format!(
            "failed ({}){}",
            out.status,
            first.map(|l| format!(": {l}")).unwrap_or_default()
        ));
    }
    Ok(stdout)
}

/// Which job holds each GPU (UUID -> job id): the GPUs given to jobs starting or running.
/// For `jobs gpus` and the console's jobs screen.
pub fn holders(jobs: &[super::queue::Job]) -> std::collections::HashMap<String, i64> {
    use super::queue::JobState;
    jobs.iter()
        .filter(|j| matches!(j.state, JobState::Starting | JobState::Running { .. }))
        .flat_map(|j| j.gpus.iter().map(move |uuid| (uuid.clone(), j.id)))
        .collect()
}

/// What the scheduler does with a job that asks for GPUs.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    /// Start it on these GPUs (UUIDs, freest first).
    Assign(Vec<String>),
    /// Keep it queued; the reason is shown in `jobs list` and `jobs show`.
    Wait(String),
    /// It can never run on this host as asked: fail it at once with the reason.
    Fail(String),
}

/// Picks GPUs for a request. `held` are the UUIDs given to jobs that run; a GPU is given to
/// one job at a time. A request the GPUs seen can never satisfy (fewer GPUs than asked, a UUID
/// they do not include) fails, so a user learns it at submit instead of waiting forever; one
/// that needs busy GPUs to free up waits with the reason. No GPU seen at all waits too, with
/// the reader's reason: a wedged driver or a slow nvidia-smi reads the same as a laptop, and
/// a hiccup must not fail every queued GPU job (submit prints the reason at once).
pub fn choose(inv: &Inventory, held: &HashSet<String>, request: &Gpus, min_free_mb: u64) -> Choice {
    let gpus = match inv {
        Inventory::NoGpu { reason } => {
            return Choice::Wait(format!(
                "no GPU visible ({reason}); it starts when one is, or cancel it"
            ));
        }
        Inventory::Gpus { gpus, .. } => gpus,
    };
    let fits = |g: &GpuInfo| !held.contains(&g.uuid) && g.memory_free_mb() >= min_free_mb;
    let mem = if min_free_mb > 0 {
        format!(" with {min_free_mb} MB free")
    } else {
        String::new()
    };
    match request {
        Gpus::Count(0) => Choice::Assign(Vec::new()),
        Gpus::Count(n) => {
            let n = *n as usize;
            if n > gpus.len() {
                return Choice::Fail(format!("needs {n} GPUs; this host has {}", gpus.len()));
            }
            let mut free: Vec<&GpuInfo> = gpus.iter().filter(|g| fits(g)).collect();
            free.sort_by(|a, b| {
                b.memory_free_mb()
                    .cmp(&a.memory_free_mb())
                    .then(a.index.cmp(&b.index))
            });
            if free.len() >= n {
                Choice::Assign(free[..n].iter().map(|g| g.uuid.clone()).collect())
            } else {
                let plural = if n == 1 { "" } else { "s" };
                Choice::Wait(format!(
                    "needs {n} GPU{plural}{mem}; {} free{}",
                    free.len(),
                    held_note(gpus, held)
                ))
            }
        }
        Gpus::Uuids(uuids) => {
            let mut busy = Vec::new();
            for uuid in uuids {
                match gpus.iter().find(|g| &g.uuid == uuid) {
                    None => {
                        let known: Vec<&str> = gpus.iter().map(|g| g.uuid.as_str()).collect();
                        return Choice::Fail(format!(
                            "GPU {uuid} is not on this host (it has {})",
                            known.join(", ")
                        ));
                    }
                    Some(g) if held.contains(&g.uuid) => {
                        busy.push(format!("{uuid} is held by another job"))
                    }
                    Some(g) if g.memory_free_mb() < min_free_mb => busy.push(format!(
                        "{uuid} has {} MB free, needs {min_free_mb}",
                        g.memory_free_mb()
                    )),
                    Some(_) => {}
                }
            }
            if busy.is_empty() {
                Choice::Assign(uuids.clone())
            } else {
                Choice::Wait(format!("waiting for GPUs: {}", busy.join("; ")))
            }
        }
    }
}

fn held_note(gpus: &[GpuInfo], held: &HashSet<String>) -> String {
    let n = gpus.iter().filter(|g| held.contains(&g.uuid)).count();
    if n == 0 {
        String::new()
    } else {
        format!(" ({n} held by other jobs)")
    }
}
