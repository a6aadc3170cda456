//! List filters typed after `/`: plain text (case-insensitive substring), `re:` for a regex,
//! a leading `!` to invert, and `tag:NAME` / `status:NAME` for document fields.

use regex::{Regex, RegexBuilder};

#[derive(Debug, Clone)]
pub struct Filter {
    pub text: String,
    matcher: Matcher,
    invert: bool,
}

#[derive(Debug, Clone)]
enum Matcher {
    Substring(String),
    Regex(Regex),
    Tag(String),
    Status(String),
}

/// The fields a filter can look at.
pub struct Fields<'a> {
    pub text: &'a str,
    pub tags: &'a [String],
    pub status: &'a str,
}

impl PartialEq for Filter {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, String> {
        let (invert, body) = match text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let matcher = if let Some(pattern) = body.strip_prefix("re:") {
            Matcher::Regex(
                RegexBuilder::new(pattern)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| {
                        format!("invalid regex `{pattern}`: {}", first_line(&e.to_string()))
                    })?,
            )
        } else if let Some(tag) = body.strip_prefix("tag:") {
            Matcher::Tag(tag.trim().to_lowercase())
        } else if let Some(status) = body.strip_prefix("status:") {
            Matcher::Status(status.trim().to_lowercase())
        } else {
            Matcher::Substring(body.to_lowercase())
        };
        Ok(Filter {
            text: text.to_string(),
            matcher,
            invert,
        })
    }

    pub fn matches(&self, f: &Fields) -> bool {
        let hit = match &self.matcher {
            Matcher::Substring(s) => f.text.to_lowercase().contains(s.as_str()),
            Matcher::Regex(r) => r.is_match(f.text),
            Matcher::Tag(t) => f.tags.iter().any(|tag| tag.to_lowercase() == *t),
            Matcher::Status(s) => f.status.to_lowercase() == *s,
        };
        hit != self.invert
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(text: &'a str, tags: &'a [String], status: &'a str) -> Fields<'a> {
        Fields { text, tags, status }
    }

    #[test]
    fn plain_regex_invert_and_fields() {
        let tags = vec!["gpu".to_string()];
        let doc = fields("runbooks/Drain-a-node.md", &tags, "active");
        assert!(Filter::parse("drain").unwrap().matches(&doc));
        assert!(!Filter::parse("!drain").unwrap().matches(&doc));
        assert!(Filter::parse("re:^runbooks/.*\\.md$")
            .unwrap()
            .matches(&doc));
        assert!(Filter::parse("tag:GPU").unwrap().matches(&doc));
        assert!(!Filter::parse("status:excluded").unwrap().matches(&doc));
        assert!(Filter::parse("!status:excluded").unwrap().matches(&doc));
    }

    #[test]
    fn invalid_regex_is_a_clear_error() {
        let err = Filter::parse("re:([a-").unwrap_err();
        assert!(err.starts_with("invalid regex `([a-`"), "{err}");
    }
}
