//! `[n]` citations in an answer: `[2]`, `[1, 3]`, `[1][2]`; numbers without a source are
//! ignored.

use regex::Regex;
use std::sync::OnceLock;

/// Source numbers cited in `text`, in order of first appearance, within 1..=`sources`.
pub fn cited(text: &str, sources: usize) -> Vec<usize> {
    static PATTERN: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(re) = PATTERN.get_or_init(|| Regex::new(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]").ok()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for caps in re.captures_iter(text) {
        for n in caps[1]
            .split([',', ';'])
            .filter_map(|p| p.trim().parse::<usize>().ok())
        {
            if (1..=sources).contains(&n) && !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_single_grouped_and_adjacent_citations() {
        assert_eq!(
            cited("Drain it first [2]. Then reboot [1, 3][2].", 3),
            vec![2, 1, 3]
        );
        assert_eq!(cited("See [9] and [0] and [x] and [2; 1]", 3), vec![2, 1]);
        assert!(cited("no citations", 3).is_empty());
    }
}
