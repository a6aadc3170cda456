//! Redaction of secrets in text that may be printed or logged: URL credentials
//! (`https://user:key@host`), authorization headers and key-like fields echoed in upstream
//! bodies, well-known key shapes (`sk-…`), and the configured key's literal value.

use regex::Regex;
use std::sync::LazyLock;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Shortest literal secret masked on its own: shorter ones would mask ordinary words.
const MIN_LITERAL: usize = 4;

static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let rules = [
        // userinfo of any URL: scheme://user:pass@host
        (r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]+@", "${1}***@"),
        // an echoed Authorization header, plain or as a JSON field
        (
            r#"(?i)(\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?)[^"'\r\n,}]+"#,
            "${1}***",
        ),
        (r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+", "${1}***"),
        // key-like fields: api_key=…, "x-api-key": "…", password: …
        (
            r#"(?i)(\b(?:x-)?(?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|client[_-]?secret|secret[_-]?key|password|passwd)["']?\s*[:=]\s*["']?)[^"'\s&,}]+"#,
            "${1}***",
        ),
        // well-known key shapes (OpenAI-style, Hugging Face, GitHub)
        (r"\b((?:sk|pk|rk)-)[A-Za-z0-9_-]{8,}", "${1}***"),
        (r"\bhf_[A-Za-z0-9]{16,}", "hf_***"),
        (r"\b(gh[pousr]_)[A-Za-z0-9]{16,}", "${1}***"),
    ];
    rules
        .into_iter()
        .filter_map(|(pattern, with)| Regex::new(pattern).ok().map(|re| (re, with)))
        .collect()
});

/// `text` with every secret masked: each literal in `secrets` (the configured key, a URL's
/// password), then everything that looks like a credential.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        if secret.len() >= MIN_LITERAL && out.contains(secret) {
            out = out.replace(secret, MASK);
        }
    }
    for (re, with) in PATTERNS.iter() {
        if let std::borrow::Cow::Owned(replaced) = re.replace_all(&out, *with) {
            out = replaced;
        }
    }
    out
}

/// A URL fit to show: its userinfo masked (`https://***@host/v1`).
pub fn url(url: &str) -> String {
    redact(url, &[])
}

/// The password (or lone user token) in a URL's userinfo, to mask wherever it shows up.
pub fn url_password(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    let secret = userinfo.split_once(':').map_or(userinfo, |(_, pass)| pass);
    (!secret.is_empty()).then_some(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_url_credentials() {
        assert_eq!(
            url("https://user:s3cret@host:8443/v1"),
            "https://***@host:8443/v1"
        );
        assert_eq!(url("http://127.0.0.1:8080/v1"), "http://127.0.0.1:8080/v1");
        assert_eq!(
            redact("error sending request for url (https://k@h/v1/chat)", &[]),
            "error sending request for url (https://***@h/v1/chat)"
        );
        assert_eq!(url_password("https://user:s3cret@host/v1"), Some("s3cret"));
        assert_eq!(url_password("https://tok@host/v1?a=b@c"), Some("tok"));
        assert_eq!(url_password("https://host/v1"), None);
    }

    #[test]
    fn masks_echoed_headers_and_key_fields() {
        let body = r#"{"error":"bad key","headers":{"authorization":"Bearer abc.def-123","x-api-key":"zzz"}}"#;
        let out = redact(body, &[]);
        assert!(
            !out.contains("abc.def-123") && !out.contains("zzz"),
            "{out}"
        );
        assert_eq!(
            redact("Authorization: Bearer abc123\r\nHost: x", &[]),
            "Authorization: ***\r\nHost: x"
        );
        assert_eq!(redact("got bearer abc123 here", &[]), "got bearer *** here");
        assert_eq!(redact("?api_key=abc123&x=1", &[]), "?api_key=***&x=1");
        assert_eq!(redact("password: hunter2", &[]), "password: ***");
        assert_eq!(
            redact("Incorrect API key provided: sk-proj-AbCdEf123456", &[]),
            "Incorrect API key provided: sk-***"
        );
    }

    #[test]
    fn masks_literal_secrets_and_leaves_plain_text() {
        assert_eq!(
            redact("the key k3y-VALUE was rejected", &["k3y-VALUE"]),
            "the key *** was rejected"
        );
        let plain = "HTTP 400: max_tokens must be at most 4096; the token limit is 8192";
        assert_eq!(redact(plain, &["", "ab"]), plain);
    }
}
