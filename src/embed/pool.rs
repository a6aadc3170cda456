//! Pooling token states into one sentence vector, then L2 normalisation.

use super::manifest::Pooling;

/// `hidden` is `[batch, seq, dim]` row-major; `mask` is `[batch, seq]`.
pub fn pool(
    hidden: &[f32],
    mask: &[i64],
    batch: usize,
    seq: usize,
    dim: usize,
    how: Pooling,
) -> Vec<Vec<f32>> {
    (0..batch)
        .map(|b| {
            let mut out = vec![0f32; dim];
            match how {
                Pooling::Cls => out.copy_from_slice(&hidden[b * seq * dim..b * seq * dim + dim]),
                Pooling::Mean => {
                    let mut count = 0f32;
                    for t in 0..seq {
                        if mask[b * seq + t] == 0 {
                            continue;
                        }
                        count += 1.0;
                        let row = &hidden[(b * seq + t) * dim..(b * seq + t + 1) * dim];
                        for (o, v) in out.iter_mut().zip(row) {
                            *o += v;
                        }
                    }
                    let count = count.max(1.0);
                    out.iter_mut().for_each(|o| *o /= count);
                }
            }
            normalize(&mut out);
            out
        })
        .collect()
}

pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_pooling_ignores_padding_and_normalises() {
        // batch 1, seq 3, dim 2; the last position is padding with a large value
        let hidden = [1.0, 0.0, 3.0, 0.0, 100.0, 100.0];
        let mask = [1, 1, 0];
        let out = pool(&hidden, &mask, 1, 3, 2, Pooling::Mean);
        assert_eq!(out, vec![vec![1.0, 0.0]]);
    }

    #[test]
    fn cls_pooling_takes_the_first_token() {
        let hidden = [0.0, 2.0, 5.0, 5.0];
        let out = pool(&hidden, &[1, 1], 1, 2, 2, Pooling::Cls);
        assert_eq!(out, vec![vec![0.0, 1.0]]);
    }
}
