//! The `:` command palette: fuzzy completion over the action registry, then `NAME ARG`.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher};

use super::input::LineInput;
use crate::tui::action::{all, ActionSpec};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Palette {
    pub input: LineInput,
    pub selected: usize,
}

impl Palette {
    /// The command word typed so far (before any argument).
    pub fn word(&self) -> &str {
        self.input.text.split_whitespace().next().unwrap_or("")
    }

    pub fn argument(&self) -> Option<&str> {
        self.input
            .text
            .trim_start()
            .split_once(char::is_whitespace)
            .map(|(_, rest)| rest.trim())
            .filter(|s| !s.is_empty())
    }

    /// Actions matching the command word, best first.
    pub fn candidates(&self) -> Vec<&'static ActionSpec> {
        let word = self.word();
        if word.is_empty() {
            return all().iter().collect();
        }
        let mut matcher = Matcher::new(Config::DEFAULT);
        let pattern = Pattern::parse(word, CaseMatching::Ignore, Normalization::Smart);
        let names: Vec<&str> = all().iter().map(|s| s.name).collect();
        let mut scored = pattern.match_list(names, &mut matcher);
        // Exact names first, then by score; ties keep registry order (stable sort).
        scored.sort_by_key(|(name, score)| (*name != word, std::cmp::Reverse(*score)));
        scored
            .into_iter()
            .filter_map(|(name, _)| all().iter().find(|s| s.name == name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_finds_actions_and_splits_arguments() {
        let p = Palette {
            input: LineInput::with("hist"),
            selected: 0,
        };
        assert_eq!(p.candidates()[0].name, "histogram");
        let p = Palette {
            input: LineInput::with("xcld"),
            selected: 0,
        };
        assert!(p.candidates().iter().any(|s| s.name == "exclude"));
        let p = Palette {
            input: LineInput::with("tag  urgent "),
            selected: 0,
        };
        assert_eq!(p.word(), "tag");
        assert_eq!(p.argument(), Some("urgent"));
        assert_eq!(p.candidates()[0].name, "tag");
    }
}
