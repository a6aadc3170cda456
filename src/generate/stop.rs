//! Stop strings over streamed text: text that could be the start of a stop string is held
//! back until it is clear, so a stop string never reaches the caller.

pub struct StopMatcher {
    stops: Vec<String>,
    pending: String,
}

/// What the matcher lets through for one piece of text.
#[derive(Debug, PartialEq)]
pub enum StopScan {
    /// Text safe to emit now.
    Emit(String),
    /// A stop string was found: emit this text before it, then stop.
    Stop(String),
}

impl StopMatcher {
    pub fn new(stops: &[String]) -> StopMatcher {
        StopMatcher {
            stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(),
            pending: String::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> StopScan {
        self.pending.push_str(text);
        if let Some(at) = self
            .stops
            .iter()
            .filter_map(|s| self.pending.find(s.as_str()))
            .min()
        {
            let before = self.pending[..at].to_string();
            self.pending.clear();
            return StopScan::Stop(before);
        }
        // Hold back the longest tail that is a prefix of some stop string.
        let hold = self
            .stops
            .iter()
            .flat_map(|s| {
                (1..s.len())
                    .filter(|&n| s.is_char_boundary(n))
                    .map(move |n| &s[..n])
            })
            .filter(|prefix| self.pending.ends_with(prefix))
            .map(str::len)
            .max()
            .unwrap_or(0);
        let cut = self.pending.len() - hold;
        let out = self.pending[..cut].to_string();
        self.pending.drain(..cut);
        StopScan::Emit(out)
    }

    /// Whatever was held back, at the end of generation.
    pub fn flush(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_back_a_possible_stop_and_cuts_at_a_real_one() {
        let mut m = StopMatcher::new(&["\nUser:".to_string()]);
        assert_eq!(m.push("Hello"), StopScan::Emit("Hello".into()));
        assert_eq!(m.push(" there\nUs"), StopScan::Emit(" there".into()));
        assert_eq!(m.push("ually"), StopScan::Emit("\nUsually".into()));
        assert_eq!(m.push("\nUser: hi"), StopScan::Stop(String::new()));
        let mut m = StopMatcher::new(&["END".to_string()]);
        assert_eq!(m.push("abcEN"), StopScan::Emit("abc".into()));
        assert_eq!(m.flush(), "EN");
    }
}
