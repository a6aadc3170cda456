//! Named OpenAI-compatible endpoints, from `<config dir>/endpoints.toml`:
//!
//! ```toml
//! [vllm]
//! base_url = "http://gpu-host:8000/v1"
//! model = "meta-llama/Llama-3.1-8B-Instruct"
//! api_key_env = "VLLM_API_KEY"   # the key itself never sits in a file
//! connect_timeout_s = 5
//! read_timeout_s = 60            # longest silence allowed mid-answer
//! context_tokens = 8192
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub base_url: String,
    pub model: String,
    #[serde(default)]
    pub api_key_env: Option<String>,
    #[serde(default = "default_connect")]
    pub connect_timeout_s: u64,
    #[serde(default = "default_read")]
    pub read_timeout_s: u64,
    #[serde(default = "default_context")]
    pub context_tokens: usize,
}

impl Endpoint {
    /// The base URL fit to print or log: credentials in it (`https://user:key@host`) masked.
    pub fn shown_url(&self) -> String {
        crate::util::redact::url(&self.base_url)
    }

    /// The password a base URL carries, to mask wherever an upstream echoes it.
    pub fn url_secret(&self) -> Option<&str> {
        crate::util::redact::url_password(&self.base_url)
    }
}

// By hand, so that `{:?}` in a log line never shows the URL's credentials.
impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("base_url", &self.shown_url())
            .field("model", &self.model)
            .field("api_key_env", &self.api_key_env)
            .field("connect_timeout_s", &self.connect_timeout_s)
            .field("read_timeout_s", &self.read_timeout_s)
            .field("context_tokens", &self.context_tokens)
            .finish()
    }
}

fn default_connect() -> u64 {
    5
}
fn default_read() -> u64 {
    60
}
fn default_context() -> usize {
    8192
}

/// Every endpoint by name; a missing file is no endpoints. Errors name the file and line.
pub fn load(path: &Path) -> Result<BTreeMap<String, Endpoint>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let endpoints: BTreeMap<String, Endpoint> = toml::from_str(&text).map_err(|e| {
        format!(
            "{}: {}",
            path.display(),
            crate::util::toml_error_line(&e.to_string())
        )
    })?;
    for (name, e) in &endpoints {
        if !(e.base_url.starts_with("http://") || e.base_url.starts_with("https://")) {
            return Err(format!(
                "{}: endpoint `{name}`: base_url must start with http:// or https://",
                path.display()
            ));
        }
    }
    Ok(endpoints)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_endpoints_with_defaults_and_reports_errors_with_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("endpoints.toml");
        assert!(load(&path).unwrap().is_empty());
        std::fs::write(
            &path,
            "[local]\nbase_url = \"http://127.0.0.1:8080/v1\"\nmodel = \"m\"\n",
        )
        .unwrap();
        let e = &load(&path).unwrap()["local"];
        assert_eq!(
            (e.connect_timeout_s, e.read_timeout_s, e.context_tokens),
            (5, 60, 8192)
        );
        std::fs::write(
            &path,
            "[local]\nbase_url = \"http://x/v1\"\nmodel = \"m\"\ntimeout = 3\n",
        )
        .unwrap();
        let err = load(&path).unwrap_err();
        assert!(err.contains("line 4") && err.contains("timeout"), "{err}");
        std::fs::write(&path, "[local]\nbase_url = \"ftp://x\"\nmodel = \"m\"\n").unwrap();
        assert!(load(&path).unwrap_err().contains("must start with http"));
    }

    #[test]
    fn credentials_in_the_base_url_are_never_shown() {
        let e = Endpoint {
            base_url: "https://user:s3cret-key@host/v1".into(),
            model: "m".into(),
            api_key_env: None,
            connect_timeout_s: 5,
            read_timeout_s: 60,
            context_tokens: 8192,
        };
        assert_eq!(e.shown_url(), "https://***@host/v1");
        assert_eq!(e.url_secret(), Some("s3cret-key"));
        assert!(!format!("{e:?}").contains("s3cret"));
    }
}
