//! A stable train / held-out split of an evaluation set: an item is held out when a hash of
//! its id falls below the fraction, so the same item lands on the same side every time and
//! adding items never moves the others.

use crate::eval::qa_set::QaItem;

/// Whether `id` belongs to the held-out part for `fraction` (0 holds nothing out, 1 all).
pub fn is_held_out(id: &str, fraction: f64) -> bool {
    let digest = crate::util::sha256_hex(format!("lmdeck-holdout:{id}").as_bytes());
    let head = u64::from_str_radix(&digest[..12], 16).unwrap_or(0);
    (head as f64 / (1u64 << 48) as f64) < fraction
}

/// `(train, held_out)`.
pub fn split(items: &[QaItem], fraction: f64) -> (Vec<QaItem>, Vec<QaItem>) {
    items
        .iter()
        .cloned()
        .partition(|item| !is_held_out(&item.id, fraction))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str) -> QaItem {
        QaItem {
            id: id.into(),
            question: "q".into(),
            answer: "a".into(),
            doc_paths: vec![],
        }
    }

    #[test]
    fn the_split_is_stable_disjoint_and_near_the_fraction() {
        let items: Vec<QaItem> = (0..1000).map(|i| item(&format!("q{i}"))).collect();
        let (train, held) = split(&items, 0.3);
        assert_eq!(train.len() + held.len(), 1000);
        assert!((250..350).contains(&held.len()), "{}", held.len());
        assert!(train.iter().all(|t| !held.iter().any(|h| h.id == t.id)));
        // Adding items moves none of the others.
        let mut more = items.clone();
        more.extend((1000..1100).map(|i| item(&format!("q{i}"))));
        let (_, held_more) = split(&more, 0.3);
        assert!(held.iter().all(|h| held_more.iter().any(|m| m.id == h.id)));
        assert!(split(&items, 0.0).1.is_empty());
        assert!(split(&items, 1.0).0.is_empty());
    }
}
