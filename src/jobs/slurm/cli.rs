//! Running Slurm's commands: no shell, arguments as argv, failures classified by cause.

use std::process::{Command, Stdio};

use super::SlurmError;

/// stdout of a successful run.
pub fn run(program: &str, args: &[&str]) -> Result<String, SlurmError> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SlurmError::NotInstalled {
                program: program.into(),
            },
            _ => SlurmError::Command {
                program: program.into(),
                message: e.to_string(),
            },
        })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(classify(program, stderr.trim(), None))
}

/// Names a failure from Slurm's message.
pub fn classify(program: &str, stderr: &str, partition: Option<&str>) -> SlurmError {
    let message = if stderr.is_empty() {
        "no message".to_string()
    } else {
        stderr.lines().map(str::trim).collect::<Vec<_>>().join("; ")
    };
    let lower = message.to_lowercase();
    const DOWN: &[&str] = &[
        "unable to contact slurm controller",
        "connection refused",
        "socket timed out",
        "unable to establish controller",
        "could not establish a configuration source",
        "zero bytes were transmitted",
    ];
    if DOWN.iter().any(|m| lower.contains(m)) {
        return SlurmError::ControllerDown {
            program: program.into(),
            message,
        };
    }
    if lower.contains("invalid partition") {
        return SlurmError::UnknownPartition {
            partition: partition.unwrap_or("(the default)").into(),
            message,
        };
    }
    if program == "sbatch" {
        return SlurmError::Refused { message };
    }
    SlurmError::Command {
        program: program.into(),
        message,
    }
}

/// `sbatch --parsable SCRIPT`: the job id ("123", before any ";cluster").
pub fn sbatch(script: &std::path::Path, partition: Option<&str>) -> Result<String, SlurmError> {
    let out = Command::new("sbatch")
        .arg("--parsable")
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SlurmError::NotInstalled {
                program: "sbatch".into(),
            },
            _ => SlurmError::Command {
                program: "sbatch".into(),
                message: e.to_string(),
            },
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(classify(
            "sbatch",
            String::from_utf8_lossy(&out.stderr).trim(),
            partition,
        ));
    }
    let id = stdout.trim().split(';').next().unwrap_or("").trim();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(SlurmError::Parse {
            program: "sbatch".into(),
            message: format!("expected a job id, got {:?}", stdout.trim()),
        });
    }
    Ok(id.to_string())
}

/// Whether the Slurm client commands are on PATH.
pub fn installed() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("sbatch").is_file()))
}
