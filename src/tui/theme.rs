//! Themes: TOML files mapping semantic style names (`score.vector`, `status.error`) to styles,
//! with `inherits` between files and dotted fallback (`chart.loss` -> `chart` -> `text`), so
//! views never hard-code a colour. Built-in themes are compiled in; a file of the same name in
//! the user's themes folder replaces one. `NO_COLOR` keeps modifiers and drops colours.

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use crate::config::DEFAULT_THEME;

/// Themes shipped with lmdeck (the files in `themes/`).
const BUILT_IN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ThemeError {
    #[error("theme `{0}` not found (built-in: dark, light, high-contrast; user themes: <config dir>/themes/NAME.toml)")]
    NotFound(String),
    #[error("theme file {file}: {message}")]
    Parse { file: String, message: String },
    #[error("theme file {file}: style `{style}`: {message}")]
    BadStyle {
        file: String,
        style: String,
        message: String,
    },
    #[error("themes inherit from each other in a loop: {0}")]
    Cycle(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    inherits: Option<String>,
    #[serde(default)]
    styles: BTreeMap<String, StyleSpec>,
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

/// A resolved theme: style names to styles.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    styles: HashMap<String, Style>,
}

impl Theme {
    /// Loads theme `name`, looking in `user_dir` first, then the built-in themes.
    /// `no_color` strips colours (pass `std::env::var_os("NO_COLOR").is_some()`).
    pub fn load(name: &str, user_dir: Option<&Path>, no_color: bool) -> Result<Theme, ThemeError> {
        // (theme name, where it was read from, contents), nearest first
        let mut chain: Vec<(String, String, ThemeFile)> = Vec::new();
        let mut next = Some(name.to_string());
        while let Some(current) = next {
            if chain.iter().any(|(n, _, _)| *n == current) {
                let names: Vec<&str> = chain.iter().map(|(n, _, _)| n.as_str()).collect();
                return Err(ThemeError::Cycle(format!(
                    "{} -> {current}",
                    names.join(" -> ")
                )));
            }
            let (origin, text) = source(&current, user_dir)?;
            let file: ThemeFile = toml::from_str(&text).map_err(|e| ThemeError::Parse {
                file: origin.clone(),
                message: crate::util::toml_error_line(&e.to_string()),
            })?;
            next = file.inherits.clone();
            chain.push((current, origin, file));
        }
        // Apply the most distant ancestor first, so nearer files override it.
        let mut styles = HashMap::new();
        for (_, origin, file) in chain.iter().rev() {
            for (style_name, spec) in &file.styles {
                let style = spec
                    .to_style(no_color)
                    .map_err(|message| ThemeError::BadStyle {
                        file: origin.clone(),
                        style: style_name.clone(),
                        message,
                    })?;
                styles.insert(style_name.clone(), style);
            }
        }
        let display_name = chain
            .first()
            .and_then(|(_, _, f)| f.name.clone())
            .unwrap_or_else(|| name.to_string());
        Ok(Theme {
            name: display_name,
            styles,
        })
    }

    /// The style for a semantic name, falling back along its dots and finally to `text`.
    pub fn style(&self, name: &str) -> Style {
        let mut key = name;
        loop {
            if let Some(style) = self.styles.get(key) {
                return *style;
            }
            match key.rfind('.') {
                Some(dot) => key = &key[..dot],
                None => return self.styles.get("text").copied().unwrap_or_default(),
            }
        }
    }

    /// A theme with no styles at all (plain terminal text), for when even the built-in
    /// default cannot be read.
    pub fn fallback() -> Theme {
        Theme {
            name: "plain".into(),
            styles: HashMap::new(),
        }
    }

    pub fn built_in_names() -> impl Iterator<Item = &'static str> {
        BUILT_IN.iter().map(|(n, _)| *n)
    }
}

/// The theme text and where it came from (a user file wins over a built-in).
fn source(name: &str, user_dir: Option<&Path>) -> Result<(String, String), ThemeError> {
    if let Some(dir) = user_dir {
        let path: PathBuf = dir.join(format!("{name}.toml"));
        if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|e| ThemeError::Parse {
                file: path.display().to_string(),
                message: e.to_string(),
            })?;
            return Ok((path.display().to_string(), text));
        }
    }
    BUILT_IN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, text)| (format!("themes/{n}.toml (built-in)"), text.to_string()))
        .ok_or_else(|| ThemeError::NotFound(name.to_string()))
}

impl StyleSpec {
    fn to_style(&self, no_color: bool) -> Result<Style, String> {
        let mut style = Style::default();
        if !no_color {
            if let Some(fg) = &self.fg {
                style = style.fg(parse_color(fg)?);
            }
            if let Some(bg) = &self.bg {
                style = style.bg(parse_color(bg)?);
            }
        }
        for m in &self.modifiers {
            style = style.add_modifier(parse_modifier(m)?);
        }
        Ok(style)
    }
}

fn parse_color(text: &str) -> Result<Color, String> {
    if let Ok(index) = text.parse::<u8>() {
        return Ok(Color::Indexed(index));
    }
    Color::from_str(text).map_err(|_| {
        format!("unknown colour `{text}` (use a name like lightblue, #rrggbb or 0-255)")
    })
}

fn parse_modifier(text: &str) -> Result<Modifier, String> {
    Ok(match text {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" => Modifier::UNDERLINED,
        "reversed" => Modifier::REVERSED,
        "crossed_out" => Modifier::CROSSED_OUT,
        "slow_blink" => Modifier::SLOW_BLINK,
        other => {
            return Err(format!(
                "unknown modifier `{other}` (bold, dim, italic, underlined, reversed, crossed_out, slow_blink)"
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names every view may rely on.
    const CORE: &[&str] = &[
        "text",
        "text.dim",
        "title",
        "border",
        "border.focused",
        "selection",
        "status",
        "status.running",
        "status.error",
        "toast.info",
        "toast.error",
        "score.vector",
        "score.keyword",
        "score.fused",
        "highlight.match",
        "chart",
        "chart.loss",
        "eval.better",
        "eval.worse",
        "eval.draft",
        "eval.bar",
    ];

    #[test]
    fn every_built_in_theme_loads_and_defines_the_core_names() {
        for name in Theme::built_in_names() {
            let theme = Theme::load(name, None, false).unwrap();
            for style in CORE {
                assert!(theme.styles.contains_key(*style), "{name} lacks {style}");
            }
        }
    }

    #[test]
    fn dotted_names_fall_back_to_their_parents_then_text() {
        let theme = Theme::load("dark", None, false).unwrap();
        assert_eq!(
            theme.style("chart.loss.smoothed"),
            theme.style("chart.loss")
        );
        assert_eq!(theme.style("score.vector.bar"), theme.style("score.vector"));
        assert_eq!(theme.style("nothing.like.this"), theme.style("text"));
    }

    #[test]
    fn a_user_theme_inherits_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "inherits = \"dark\"\n[styles]\n\"score.vector\" = { fg = \"red\", modifiers = [\"bold\"] }\n",
        )
        .unwrap();
        let theme = Theme::load("mine", Some(dir.path()), false).unwrap();
        let dark = Theme::load("dark", None, false).unwrap();
        assert_eq!(
            theme.style("score.vector"),
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
        );
        assert_eq!(theme.style("score.keyword"), dark.style("score.keyword"));
    }

    #[test]
    fn no_color_keeps_modifiers_only() {
        let theme = Theme::load("high-contrast", None, true).unwrap();
        let s = theme.style("status.error");
        assert_eq!((s.fg, s.bg), (None, None));
        assert!(s.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn broken_theme_files_say_where() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("bad.toml"),
            "[styles]\n\"text\" = { fg = \"white\" \n",
        )
        .unwrap();
        let err = Theme::load("bad", Some(dir.path()), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.toml") && err.contains("line 2"), "{err}");

        std::fs::write(
            dir.path().join("colour.toml"),
            "[styles]\n\"title\" = { fg = \"bluish\" }\n",
        )
        .unwrap();
        let err = Theme::load("colour", Some(dir.path()), false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("style `title`") && err.contains("unknown colour `bluish`"),
            "{err}"
        );

        std::fs::write(dir.path().join("a.toml"), "inherits = \"b\"\n").unwrap();
        std::fs::write(dir.path().join("b.toml"), "inherits = \"a\"\n").unwrap();
        let err = Theme::load("a", Some(dir.path()), false).unwrap_err();
        assert_eq!(err, ThemeError::Cycle("a -> b -> a".into()));
        assert_eq!(
            Theme::load("nope", Some(dir.path()), false).unwrap_err(),
            ThemeError::NotFound("nope".into())
        );
    }
}
