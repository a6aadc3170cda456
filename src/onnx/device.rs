//! `--device auto|cpu|cuda[:N]` and the execution provider a session really got.

use std::fmt;
use std::str::FromStr;

use super::OnnxError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Auto,
    Cpu,
    Cuda(u32),
}

impl FromStr for Device {
    type Err = OnnxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Device::Cuda)
                .ok_or_else(|| OnnxError::BadDevice(s.to_string())),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Auto => write!(f, "auto"),
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// The execution provider a session actually runs on, with why when it is not what `auto`
/// would have liked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutionProvider {
    Cpu { note: Option<String> },
    Cuda(u32),
}

impl ExecutionProvider {
    pub fn is_gpu(&self) -> bool {
        matches!(self, ExecutionProvider::Cuda(_))
    }
}

impl fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecutionProvider::Cpu { note: None } => write!(f, "CPUExecutionProvider"),
            ExecutionProvider::Cpu { note: Some(note) } => {
                write!(f, "CPUExecutionProvider ({note})")
            }
            ExecutionProvider::Cuda(n) => write!(f, "CUDAExecutionProvider (device {n})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling() {
        assert_eq!("auto".parse::<Device>().unwrap(), Device::Auto);
        assert_eq!("CPU".parse::<Device>().unwrap(), Device::Cpu);
        assert_eq!("cuda".parse::<Device>().unwrap(), Device::Cuda(0));
        assert_eq!("cuda:3".parse::<Device>().unwrap(), Device::Cuda(3));
        assert!("cuda:x".parse::<Device>().is_err());
        assert!("tpu".parse::<Device>().is_err());
    }
}
