//! The numbered sources of a prompt, chosen in rank order until the token budget is spent.

use serde::Serialize;

use crate::retrieve::Hit;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    pub n: usize,
    pub chunk_id: i64,
    pub document_id: i64,
    pub source_path: String,
    pub title: String,
    pub heading_path: String,
    pub text: String,
}

impl Source {
    /// How the source appears in the prompt.
    pub fn block(&self) -> String {
        let heading = if self.heading_path.is_empty() {
            &self.title
        } else {
            &self.heading_path
        };
        format!("[{}] {}\n{}", self.n, heading, self.text.trim())
    }
}

/// Sources from `hits` in rank order, numbered from 1, whose blocks fit in `budget` tokens
/// together (`count` measures text in the model's tokens). A hit that does not fit is left
/// out and smaller later ones may still fit.
pub fn select(hits: &[Hit], budget: usize, count: &dyn Fn(&str) -> usize) -> Vec<Source> {
    let mut out: Vec<Source> = Vec::new();
    let mut used = 0;
    for h in hits {
        let mut source = Source {
            n: out.len() + 1,
            chunk_id: h.chunk_id,
            document_id: h.document_id,
            source_path: h.source_path.clone(),
            title: h.title.clone(),
            heading_path: h.heading_path.clone(),
            text: h.text.clone(),
        };
        let cost = count(&source.block()) + 2;
        if used + cost > budget {
            continue;
        }
        used += cost;
        source.n = out.len() + 1;
        out.push(source);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retrieve::Trace;

    fn hit(id: i64, words: usize) -> Hit {
        Hit {
            rank: id as usize,
            chunk_id: id,
            document_id: id,
            source_path: format!("/d/{id}.md"),
            title: format!("Doc {id}"),
            heading_path: String::new(),
            ordinal: 0,
            byte_start: 0,
            byte_end: 0,
            text: "word ".repeat(words),
            trace: Trace::default(),
        }
    }

    #[test]
    fn fills_the_budget_in_rank_order_and_renumbers() {
        let count = |t: &str| t.split_whitespace().count();
        let hits = [hit(1, 10), hit(2, 100), hit(3, 10)];
        let chosen = select(&hits, 40, &count);
        assert_eq!(
            chosen.iter().map(|s| (s.n, s.chunk_id)).collect::<Vec<_>>(),
            vec![(1, 1), (2, 3)]
        );
        assert!(chosen[1].block().starts_with("[2] Doc 3\n"));
        assert!(select(&hits, 5, &count).is_empty());
    }
}
