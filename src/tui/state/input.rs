//! A one-line text field: the query box, filters, prompts and the palette.

use crossterm::event::KeyCode;

use crate::tui::key::Key;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    pub text: String,
    /// Cursor position in characters.
    pub cursor: usize,
}

/// What a key did to the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Changed,
    Moved,
    Submit,
    Cancel,
    Ignored,
}

impl LineInput {
    pub fn with(text: &str) -> LineInput {
        LineInput {
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    pub fn handle(&mut self, key: Key) -> Edit {
        if let Some(c) = key.typed_char() {
            let at = self.byte_at(self.cursor);
            self.text.insert(at, c);
            self.cursor += 1;
            return Edit::Changed;
        }
        match (key.code, key.ctrl) {
            (KeyCode::Enter, _) => Edit::Submit,
            (KeyCode::Esc, _) => Edit::Cancel,
            (KeyCode::Backspace, _) | (KeyCode::Char('h'), true) if self.cursor > 0 => {
                let at = self.byte_at(self.cursor - 1);
                self.text.remove(at);
                self.cursor -= 1;
                Edit::Changed
            }
            (KeyCode::Delete, _) if self.cursor < self.len() => {
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
                Edit::Changed
            }
            (KeyCode::Char('u'), true) => {
                self.text.clear();
                self.cursor = 0;
                Edit::Changed
            }
            (KeyCode::Char('w'), true) => {
                let chars: Vec<char> = self.text.chars().collect();
                let mut start = self.cursor;
                while start > 0 && chars[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && chars[start - 1] != ' ' {
                    start -= 1;
                }
                let from = self.byte_at(start);
                let to = self.byte_at(self.cursor);
                self.text.replace_range(from..to, "");
                self.cursor = start;
                Edit::Changed
            }
            (KeyCode::Left, _) if self.cursor > 0 => {
                self.cursor -= 1;
                Edit::Moved
            }
            (KeyCode::Right, _) if self.cursor < self.len() => {
                self.cursor += 1;
                Edit::Moved
            }
            (KeyCode::Home, _) | (KeyCode::Char('a'), true) => {
                self.cursor = 0;
                Edit::Moved
            }
            (KeyCode::End, _) | (KeyCode::Char('e'), true) => {
                self.cursor = self.len();
                Edit::Moved
            }
            _ => Edit::Ignored,
        }
    }

    fn len(&self) -> usize {
        self.text.chars().count()
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_in_the_middle_and_deletes_words() {
        let mut input = LineInput::with("gpu drain");
        assert_eq!(input.handle(Key::plain(KeyCode::Home)), Edit::Moved);
        input.handle(Key::char('é'));
        assert_eq!(input.text, "égpu drain");
        input.handle(Key::plain(KeyCode::End));
        assert_eq!(input.handle(Key::ctrl('w')), Edit::Changed);
        assert_eq!(input.text, "égpu ");
        input.handle(Key::plain(KeyCode::Backspace));
        assert_eq!(input.text, "égpu");
        assert_eq!(input.handle(Key::plain(KeyCode::Enter)), Edit::Submit);
    }
}
