//! The one table of screens: key, name, title, key scope and help heading. Tabs, key
//! scopes, the `?` help, the palette's screen commands and "works on screen N" hints all
//! read it, so a new screen is its own modules plus one row here.

use super::action::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Screen {
    Corpus,
    Inspector,
    Chat,
    Jobs,
    Eval,
}

pub struct ScreenSpec {
    pub screen: Screen,
    /// The key that shows it (also its number in the tab bar).
    pub key: &'static str,
    /// The same key as a key sequence, for the action registry.
    pub keys: &'static [&'static [&'static str]],
    /// Its palette command (`:corpus`).
    pub name: &'static str,
    pub title: &'static str,
    /// Keys that only work on this screen.
    pub scope: Scope,
    /// What the screen is for: the palette and help say it.
    pub desc: &'static str,
}

pub const SCREENS: &[ScreenSpec] = &[
    ScreenSpec {
        screen: Screen::Corpus,
        key: "1",
        keys: &[&["1"]],
        name: "corpus",
        title: "Corpus",
        scope: Scope::Corpus,
        desc: "Corpus screen: collections, documents, chunks",
    },
    ScreenSpec {
        screen: Screen::Inspector,
        key: "2",
        keys: &[&["2"]],
        name: "inspector",
        title: "Inspector",
        scope: Scope::Inspector,
        desc: "Retrieval inspector",
    },
    ScreenSpec {
        screen: Screen::Chat,
        key: "3",
        keys: &[&["3"]],
        name: "chat",
        title: "Chat",
        scope: Scope::Chat,
        desc: "Chat: ask the model, grounded in the collection",
    },
    ScreenSpec {
        screen: Screen::Jobs,
        key: "4",
        keys: &[&["4"]],
        name: "jobs",
        title: "Jobs",
        scope: Scope::Jobs,
        desc: "Fine-tune jobs: queue, logs, charts, compare, GPUs",
    },
    ScreenSpec {
        screen: Screen::Eval,
        key: "5",
        keys: &[&["5"]],
        name: "eval",
        title: "Eval",
        scope: Scope::Eval,
        desc: "Evaluation: sets, runs, comparisons, items and draft review",
    },
];

/// The row of `screen` (every screen has one: a test checks it).
pub fn spec(screen: Screen) -> &'static ScreenSpec {
    SCREENS
        .iter()
        .find(|s| s.screen == screen)
        .unwrap_or(&SCREENS[0])
}

/// The screen whose keys live in `scope`, if the scope is a screen's.
pub fn of_scope(scope: Scope) -> Option<&'static ScreenSpec> {
    SCREENS.iter().find(|s| s.scope == scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_screen_has_one_row_with_its_own_key_and_scope() {
        for screen in [
            Screen::Corpus,
            Screen::Inspector,
            Screen::Chat,
            Screen::Jobs,
            Screen::Eval,
        ] {
            assert_eq!(SCREENS.iter().filter(|s| s.screen == screen).count(), 1);
            assert_eq!(spec(screen).screen, screen);
        }
        let keys: std::collections::HashSet<_> = SCREENS.iter().map(|s| s.key).collect();
        let scopes: std::collections::HashSet<_> = SCREENS.iter().map(|s| s.scope).collect();
        assert_eq!(keys.len(), SCREENS.len());
        assert_eq!(scopes.len(), SCREENS.len());
    }
}
