//! Key bindings: the registry's defaults, replaced per action by `keymap.toml` in the config
//! dir. A file entry looks like `{ on = ["g", "g"], run = "top", desc = "Go to first row" }`
//! under `[[keys]]`; binding an action replaces its default keys. A broken file is reported
//! with its line and the defaults stay in force.

use serde::Deserialize;
use std::path::Path;

use super::action::{self, Action, Scope};
use super::key::Key;

#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub keys: Vec<Key>,
    pub action: Action,
    pub scope: Scope,
    pub desc: String,
    /// Came from the user's keymap file.
    pub user: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

/// What a key press means after the keys pressed before it.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Action(Action),
    /// The first keys of a longer sequence: wait for the next one.
    Pending,
    Unbound,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeymapFile {
    #[serde(default)]
    keys: Vec<toml::Spanned<FileEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    on: Vec<String>,
    run: String,
    desc: Option<String>,
}

impl Default for Keymap {
    fn default() -> Self {
        let bindings = action::all()
            .iter()
            .flat_map(|spec| {
                spec.keys.iter().map(move |seq| Binding {
                    keys: seq.iter().filter_map(|k| Key::parse(k).ok()).collect(),
                    action: spec.action,
                    scope: spec.scope,
                    desc: spec.desc.to_string(),
                    user: false,
                })
            })
            .collect();
        Keymap { bindings }
    }
}

impl Keymap {
    /// Defaults overridden by `path` if it exists. On error, the defaults and a message
    /// naming the file and line.
    pub fn load(path: &Path) -> (Keymap, Option<String>) {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Keymap::default(), None),
            Err(e) => {
                return (
                    Keymap::default(),
                    Some(format!("keymap {}: {e}", path.display())),
                )
            }
        };
        match Keymap::parse(&text) {
            Ok(map) => (map, None),
            Err(e) => (
                Keymap::default(),
                Some(format!(
                    "keymap {}: {e}; using the default keys",
                    path.display()
                )),
            ),
        }
    }

    pub fn parse(text: &str) -> Result<Keymap, String> {
        let file: KeymapFile =
            toml::from_str(text).map_err(|e| crate::util::toml_error_line(&e.to_string()))?;
        let mut map = Keymap::default();
        let mut replaced: Vec<Action> = Vec::new();
        for entry in file.keys {
            let line = line_of(text, entry.span().start);
            let entry = entry.into_inner();
            let spec = action::by_name(&entry.run).ok_or_else(|| {
                format!(
                    "line {line}: unknown action `{}` (see `?` for the names)",
                    entry.run
                )
            })?;
            if entry.on.is_empty() {
                return Err(format!("line {line}: `on` needs at least one key"));
            }
            let keys = entry
                .on
                .iter()
                .map(|k| Key::parse(k))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("line {line}: {e}"))?;
            if !replaced.contains(&spec.action) {
                map.bindings.retain(|b| b.action != spec.action);
                replaced.push(spec.action);
            }
            // A default bound to the same keys would shadow the user's binding.
            map.bindings
                .retain(|b| b.user || b.scope != spec.scope || b.keys != keys);
            map.bindings.push(Binding {
                keys,
                action: spec.action,
                scope: spec.scope,
                desc: entry.desc.unwrap_or_else(|| spec.desc.to_string()),
                user: true,
            });
        }
        Ok(map)
    }

    /// Resolves `pending` + `key` in `scopes` (most specific first).
    pub fn resolve(&self, scopes: &[Scope], pending: &[Key], key: Key) -> Resolved {
        let mut seq = pending.to_vec();
        seq.push(key);
        let mut prefix = false;
        for scope in scopes {
            // The user's bindings first: they win over a default on the same keys in a
            // wider scope.
            let (user, defaults): (Vec<&Binding>, Vec<&Binding>) = self
                .bindings
                .iter()
                .filter(|b| b.scope == *scope)
                .partition(|b| b.user);
            for b in user.into_iter().chain(defaults) {
                if b.keys == seq {
                    return Resolved::Action(b.action);
                }
                if b.keys.len() > seq.len() && b.keys[..seq.len()] == seq[..] {
                    prefix = true;
                }
            }
        }
        if prefix {
            Resolved::Pending
        } else {
            Resolved::Unbound
        }
    }

    pub fn keys_for(&self, action: Action) -> Vec<&Binding> {
        self.bindings
            .iter()
            .filter(|b| b.action == action)
            .collect()
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyCode;

    const LISTS: &[Scope] = &[Scope::Corpus, Scope::List, Scope::Global];

    #[test]
    fn defaults_resolve_single_keys_and_chords() {
        let map = Keymap::default();
        assert_eq!(
            map.resolve(LISTS, &[], Key::char('j')),
            Resolved::Action(Action::Down)
        );
        assert_eq!(map.resolve(LISTS, &[], Key::char('g')), Resolved::Pending);
        assert_eq!(
            map.resolve(LISTS, &[Key::char('g')], Key::char('g')),
            Resolved::Action(Action::Top)
        );
        assert_eq!(map.resolve(LISTS, &[], Key::char('Z')), Resolved::Unbound);
        assert_eq!(
            map.resolve(LISTS, &[], Key::plain(KeyCode::Esc)),
            Resolved::Action(Action::Back)
        );
    }

    #[test]
    fn scopes_limit_bindings() {
        let map = Keymap::default();
        let inspector = &[Scope::Inspector, Scope::List, Scope::Global];
        assert_eq!(
            map.resolve(inspector, &[], Key::char('x')),
            Resolved::Unbound
        );
        assert_eq!(
            map.resolve(inspector, &[], Key::char('w')),
            Resolved::Action(Action::WhyNot)
        );
    }

    #[test]
    fn user_entry_replaces_the_default_keys() {
        let map =
            Keymap::parse("[[keys]]\non = [\"<C-n>\"]\nrun = \"down\"\ndesc = \"Next\"\n").unwrap();
        assert_eq!(
            map.resolve(LISTS, &[], Key::ctrl('n')),
            Resolved::Action(Action::Down)
        );
        assert_eq!(map.resolve(LISTS, &[], Key::char('j')), Resolved::Unbound);
        let b = map.keys_for(Action::Down);
        assert_eq!(b.len(), 1);
        assert!(b[0].user);
        assert_eq!(b[0].desc, "Next");
    }

    #[test]
    fn a_user_binding_on_a_default_key_wins() {
        let map = Keymap::parse("[[keys]]\non = [\"k\"]\nrun = \"top\"\n").unwrap();
        assert_eq!(
            map.resolve(LISTS, &[], Key::char('k')),
            Resolved::Action(Action::Top)
        );
        assert_eq!(
            map.resolve(LISTS, &[], Key::plain(KeyCode::Up)),
            Resolved::Action(Action::Up)
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = Keymap::parse(
            "[[keys]]\non = [\"j\"]\nrun = \"down\"\n\n[[keys]]\non = [\"x\"]\nrun = \"fly\"\n",
        )
        .unwrap_err();
        assert!(err.contains("line 5") && err.contains("fly"), "{err}");
        let err = Keymap::parse("[[keys]]\non = [\"<Hyper>\"]\nrun = \"down\"\n").unwrap_err();
        assert!(err.contains("line 1") && err.contains("Hyper"), "{err}");
        let err = Keymap::parse("[[keys]]\non = [\"j\"\nrun = \"down\"\n").unwrap_err();
        assert!(err.contains("line"), "{err}");
    }

    #[test]
    fn missing_file_gives_defaults_without_error() {
        let (map, err) = Keymap::load(Path::new("/nonexistent/keymap.toml"));
        assert_eq!(map, Keymap::default());
        assert!(err.is_none());
    }
}
