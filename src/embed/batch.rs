//! Length-bucketed batches with dynamic padding: texts are sorted by token count and each
//! batch is padded only to its own longest member.

/// One tokenized text.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub ids: Vec<i64>,
    pub type_ids: Vec<i64>,
}

/// A padded batch ready for inference; `origin[i]` is the caller's index of row i.
#[derive(Debug, Clone)]
pub struct Batch {
    pub origin: Vec<usize>,
    pub rows: usize,
    pub seq: usize,
    pub ids: Vec<i64>,
    pub mask: Vec<i64>,
    pub type_ids: Vec<i64>,
    /// Real (unpadded) tokens in the batch, for throughput figures.
    pub real_tokens: usize,
}

/// Groups `encoded` (whose caller indices start at `offset`) into padded batches of at most
/// `batch_size` rows, longest first so the heaviest work is scheduled early.
pub fn plan(encoded: Vec<Encoded>, offset: usize, batch_size: usize) -> Vec<Batch> {
    let mut order: Vec<usize> = (0..encoded.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(encoded[i].ids.len()));
    order
        .chunks(batch_size.max(1))
        .map(|members| {
            let seq = members
                .iter()
                .map(|&i| encoded[i].ids.len())
                .max()
                .unwrap_or(0)
                .max(1);
            let rows = members.len();
            let mut batch = Batch {
                origin: members.iter().map(|&i| i + offset).collect(),
                rows,
                seq,
                ids: vec![0; rows * seq],
                mask: vec![0; rows * seq],
                type_ids: vec![0; rows * seq],
                real_tokens: 0,
            };
            for (row, &i) in members.iter().enumerate() {
                let e = &encoded[i];
                let start = row * seq;
                batch.ids[start..start + e.ids.len()].copy_from_slice(&e.ids);
                batch.type_ids[start..start + e.type_ids.len()].copy_from_slice(&e.type_ids);
                batch.mask[start..start + e.ids.len()]
                    .iter_mut()
                    .for_each(|m| *m = 1);
                batch.real_tokens += e.ids.len();
            }
            batch
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(n: usize) -> Encoded {
        Encoded {
            ids: (1..=n as i64).collect(),
            type_ids: vec![0; n],
        }
    }

    #[test]
    fn batches_group_similar_lengths_and_pad_to_their_longest() {
        let batches = plan(vec![enc(2), enc(9), enc(3), enc(8)], 10, 2);
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].origin, vec![11, 13]);
        assert_eq!(batches[0].seq, 9);
        assert_eq!(batches[1].origin, vec![12, 10]);
        assert_eq!(batches[1].seq, 3);
        // the shorter row of the second batch is padded with a zero mask
        assert_eq!(&batches[1].mask[3..6], &[1, 1, 0]);
        assert_eq!(batches[1].real_tokens, 5);
    }

    #[test]
    fn empty_input_gives_no_batches() {
        assert!(plan(vec![], 0, 4).is_empty());
    }
}
