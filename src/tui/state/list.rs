//! A cursor over a list that may be far longer than the screen: the selected row and the
//! first visible row. Only the visible window is ever rendered.

use crate::tui::action::Action;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    pub selected: usize,
    pub offset: usize,
}

impl Cursor {
    /// Moves by `delta` rows within `len`, keeping the selection inside a window of `page`.
    pub fn step(&mut self, delta: isize, len: usize, page: usize) {
        if len == 0 {
            *self = Cursor::default();
            return;
        }
        let target = (self.selected as isize + delta).clamp(0, len as isize - 1);
        self.selected = target as usize;
        self.scroll_into_view(page);
    }

    /// Applies a movement action (up, down, page up/down, top, bottom); other actions leave
    /// the cursor alone.
    pub fn apply(&mut self, action: Action, len: usize, page: usize) {
        match action {
            Action::Up => self.step(-1, len, page),
            Action::Down => self.step(1, len, page),
            Action::PageUp => self.step(-(page as isize), len, page),
            Action::PageDown => self.step(page as isize, len, page),
            Action::Top => self.top(),
            Action::Bottom => self.bottom(len, page),
            _ => {}
        }
    }

    pub fn top(&mut self) {
        *self = Cursor::default();
    }

    pub fn bottom(&mut self, len: usize, page: usize) {
        self.selected = len.saturating_sub(1);
        self.scroll_into_view(page);
    }

    /// Keeps the cursor valid after the list changed length.
    pub fn clamp(&mut self, len: usize, page: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
        self.offset = self.offset.min(len.saturating_sub(page.max(1)));
        self.scroll_into_view(page);
    }

    fn scroll_into_view(&mut self, page: usize) {
        let page = page.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + page {
            self.offset = self.selected + 1 - page;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_follows_the_selection_without_jumping() {
        let mut c = Cursor::default();
        c.step(12, 100, 10);
        assert_eq!((c.selected, c.offset), (12, 3));
        c.step(-1, 100, 10);
        assert_eq!(
            (c.selected, c.offset),
            (11, 3),
            "moving up inside the window keeps it"
        );
        c.step(-20, 100, 10);
        assert_eq!((c.selected, c.offset), (0, 0));
        c.bottom(100, 10);
        assert_eq!((c.selected, c.offset), (99, 90));
        c.clamp(5, 10);
        assert_eq!(c.selected, 4);
        assert_eq!(c.offset, 0, "a short list is shown from its top");
    }

    #[test]
    fn empty_list_resets() {
        let mut c = Cursor {
            selected: 3,
            offset: 2,
        };
        c.step(1, 0, 10);
        assert_eq!(c, Cursor::default());
    }
}
