//! The arithmetic of lmdeck's cached attention: rotary embedding, writing new keys and values
//! into the cache, and causal softmax attention of grouped query heads over it.
//!
//! Cache layout (private to this operator; the buffers are plain `[1, kv, capacity, d]`
//! tensors to everyone else): values row by row, `[kv][position][d]`; keys in tiles of 16
//! positions, `[kv][position / 16][d][16]`, so the scores of 16 positions are 16-wide
//! multiply-adds of one query element against one contiguous row of the tile: no horizontal
//! sums, one read of each key for every query head of its group (the heads sharing a KV head
//! are computed together). The capacity must be a multiple of 16.
//!
//! The cache holds float32 or float16 ([`CacheElement`]): keys and values are rounded when
//! written, every product and sum is float32.
//!
//! Two implementations of the two inner loops (scores and the weighted sum of values): AVX-512
//! (chosen at run time) and portable Rust. Both are checked against a float64 reference.

pub use super::element::CacheElement;

/// Positions per key tile.
pub const TILE: usize = 16;
/// Query vectors scored together against each key tile (one register each, beside the tile).
const SCORE_GROUP: usize = 12;
/// Query vectors accumulated together over each value row (head_dim / 16 registers each).
const VALUE_GROUP: usize = 6;
/// Query rows per unit of prefill work.
const PREFILL_ROWS: usize = 8;

/// The shapes the operator works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    /// Positions the cache holds (a multiple of [`TILE`]).
    pub capacity: usize,
}

impl Dims {
    pub fn check(&self) -> Result<(), String> {
        if self.heads == 0 || self.kv_heads == 0 || !self.heads.is_multiple_of(self.kv_heads) {
            return Err(format!(
                "{} query heads cannot share {} KV heads",
                self.heads, self.kv_heads
            ));
        }
        if self.head_dim == 0
            || !self.head_dim.is_multiple_of(TILE)
            || !self.head_dim.is_multiple_of(2)
        {
            return Err(format!(
                "head size {} is not a multiple of {TILE}",
                self.head_dim
            ));
        }
        if !self.capacity.is_multiple_of(TILE) {
            return Err(format!(
                "the cache capacity {} is not a multiple of {TILE}",
                self.capacity
            ));
        }
        Ok(())
    }

    /// Query heads per KV head.
    pub fn group(&self) -> usize {
        self.heads / self.kv_heads
    }

    /// Elements of one KV head's block in a cache buffer.
    pub fn head_block(&self) -> usize {
        self.capacity * self.head_dim
    }

    /// Width of one position's packed query, key and value row.
    pub fn packed_width(&self) -> usize {
        (self.heads + 2 * self.kv_heads) * self.head_dim
    }
}

/// Index of key element `j` of `position` within one KV head's block.
#[inline]
pub fn key_index(position: usize, j: usize, head_dim: usize) -> usize {
    (position / TILE) * head_dim * TILE + j * TILE + position % TILE
}

/// Rotates the halves of `x` (rotary embedding, non-interleaved) by the angles of one position.
fn rotate(x: &[f32], cos: &[f32], sin: &[f32], out: &mut [f32]) {
    let half = x.len() / 2;
    for i in 0..half {
        let (a, b) = (x[i], x[i + half]);
        out[i] = a * cos[i] - b * sin[i];
        out[i + half] = b * cos[i] + a * sin[i];
    }
}

/// Rotates the new rows' queries into `queries` (`[s][heads][d]`, scaled by 1/sqrt(d)) and
/// writes their rotated keys and values into the cache at positions `past..past + s`.
/// `packed` holds `s` rows of `[queries | keys | values]`; `cos`/`sin` are `[positions][d/2]`.
#[allow(clippy::too_many_arguments)]
pub fn append<E: CacheElement>(
    dims: &Dims,
    packed: &[f32],
    past: usize,
    cos: &[f32],
    sin: &[f32],
    keys: &mut [E],
    values: &mut [E],
    queries: &mut [f32],
) {
    let d = dims.head_dim;
    let width = dims.packed_width();
    let s = packed.len() / width;
    let scale = 1.0 / (d as f32).sqrt();
    let mut rotated = vec![0f32; d];
    for row in 0..s {
        let position = past + row;
        let angles = position * d / 2..(position + 1) * d / 2;
        let (c, sn) = (&cos[angles.clone()], &sin[angles]);
        let src = &packed[row * width..(row + 1) * width];
        for h in 0..dims.heads {
            let dst = &mut queries[(row * dims.heads + h) * d..][..d];
            rotate(&src[h * d..(h + 1) * d], c, sn, dst);
            dst.iter_mut().for_each(|x| *x *= scale);
        }
        for kv in 0..dims.kv_heads {
            let k = &src[(dims.heads + kv) * d..][..d];
            rotate(k, c, sn, &mut rotated);
            let block = &mut keys[kv * dims.head_block()..][..dims.head_block()];
            if position.is_multiple_of(TILE) {
                // A new tile: its positions beyond the context are scored (and then dropped)
                // with the rest, so they hold zeros rather than whatever the buffer held.
                let tile = position / TILE * d * TILE;
                block[tile..tile + d * TILE]
                    .iter_mut()
                    .for_each(|x| *x = E::ZERO);
            }
            for (j, x) in rotated.iter().enumerate() {
                block[key_index(position, j, d)] = E::from_f32(*x);
            }
            let v = &src[(dims.heads + dims.kv_heads + kv) * d..][..d];
            E::narrow(v, &mut values[kv * dims.head_block() + position * d..][..d]);
        }
    }
}

/// One unit of attention work: the query heads of KV head `kv` for rows `rows` of the step.
#[derive(Clone, Copy, Debug)]
pub struct Unit {
    pub kv: usize,
    pub first_row: usize,
    pub rows: usize,
}

/// The units of a step of `s` new rows: one per KV head for a single row, otherwise blocks of
/// [`PREFILL_ROWS`] rows per KV head.
pub fn units(dims: &Dims, s: usize) -> Vec<Unit> {
    let mut out = Vec::new();
    for kv in 0..dims.kv_heads {
        let mut first_row = 0;
        while first_row < s {
            let rows = PREFILL_ROWS.min(s - first_row);
            out.push(Unit {
                kv,
                first_row,
                rows,
            });
            first_row += rows;
        }
    }
    out
}

/// Which inner loops run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Avx512,
    Portable,
}

impl Isa {
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
        }
        Isa::Portable
    }
}

/// Attention of one unit: causal (row `r` sees positions `0..=past + r`), softmax over scaled
/// scores, weighted sum of values. Each head's result goes to `emit(offset, vector)`, where
/// `offset` is its place in the step's output `[s][heads * d]`. `scores` is scratch, grown as
/// needed.
#[allow(clippy::too_many_arguments)]
pub fn attend<E: CacheElement>(
    isa: Isa,
    dims: &Dims,
    unit: Unit,
    past: usize,
    queries: &[f32],
    keys: &[E],
    values: &[E],
    scores: &mut Vec<f32>,
    emit: &mut dyn FnMut(usize, &[f32]),
) {
    let d = dims.head_dim;
    let g = dims.group();
    let longest = past + unit.first_row + unit.rows;
    let stride = longest.div_ceil(TILE) * TILE;
    let vectors = unit.rows * g;
    if scores.len() < vectors * stride {
        scores.resize(vectors * stride, 0.0);
    }
    let key_block = &keys[unit.kv * dims.head_block()..][..dims.head_block()];
    let value_block = &values[unit.kv * dims.head_block()..][..dims.head_block()];
    // Query vector v = (row r, head h of the group): its query and how many positions it sees.
    let query = |v: usize| {
        let (r, h) = (unit.first_row + v / g, unit.kv * g + v % g);
        &queries[(r * dims.heads + h) * d..][..d]
    };
    let seen = |v: usize| past + unit.first_row + v / g + 1;
    score_in_groups(isa, vectors, &query, &seen, key_block, d, scores, stride);
    let mut sums = vec![0f32; vectors];
    for (v, sum) in sums.iter_mut().enumerate() {
        let row = &mut scores[v * stride..(v + 1) * stride];
        *sum = softmax_in_place(isa, row, seen(v)).1;
    }
    let mut acc = vec![0f32; vectors * d];
    values_in_groups(
        isa,
        vectors,
        &seen,
        scores,
        stride,
        value_block,
        d,
        &mut acc,
    );
    for (v, vector) in acc.chunks_exact_mut(d).enumerate() {
        let (r, h) = (unit.first_row + v / g, unit.kv * g + v % g);
        let inv = 1.0 / sums[v];
        vector.iter_mut().for_each(|a| *a *= inv);
        emit((r * dims.heads + h) * d, vector);
    }
}

/// Scores of `vectors` query vectors, [`SCORE_GROUP`] at a time, each group over the tiles the
/// last of its vectors sees.
#[allow(clippy::too_many_arguments)]
fn score_in_groups<'q, E: CacheElement>(
    isa: Isa,
    vectors: usize,
    query: &dyn Fn(usize) -> &'q [f32],
    seen: &dyn Fn(usize) -> usize,
    key_block: &[E],
    d: usize,
    scores: &mut [f32],
    stride: usize,
) {
    let mut start = 0;
    while start < vectors {
        let n = SCORE_GROUP.min(vectors - start);
        let group: Vec<&[f32]> = (start..start + n).map(query).collect();
        let tiles = seen(start + n - 1).div_ceil(TILE);
        score_tiles(
            isa,
            &group,
            key_block,
            d,
            tiles,
            &mut scores[start * stride..],
            stride,
        );
        start += n;
    }
}

/// `acc[v]` (`[vectors][d]`) = the weights of row `v` of `scores` times the values it sees,
/// [`VALUE_GROUP`] vectors at a time.
#[allow(clippy::too_many_arguments)]
fn values_in_groups<E: CacheElement>(
    isa: Isa,
    vectors: usize,
    seen: &dyn Fn(usize) -> usize,
    scores: &[f32],
    stride: usize,
    value_block: &[E],
    d: usize,
    acc: &mut [f32],
) {
    let mut start = 0;
    while start < vectors {
        let n = VALUE_GROUP.min(vectors - start);
        let positions = seen(start + n - 1);
        let out = &mut acc[start * d..(start + n) * d];
        weighted_values(
            isa,
            &scores[start * stride..],
            stride,
            n,
            value_block,
            d,
            positions,
            out,
        );
        start += n;
    }
}

/// One part of a decode step (a single new row) split by position: the query heads of KV
/// head `kv` over positions `start..end` (`start` a multiple of [`TILE`]). Per head of the
/// group it leaves the largest score in `max`, the sum of exp(score - max) in `sum` and the
/// weighted sum of values, not yet divided, in `acc` (`[group][d]`). [`merge_parts`] combines
/// the parts, so two threads can share one KV head's positions.
#[allow(clippy::too_many_arguments)]
pub fn decode_part<E: CacheElement>(
    isa: Isa,
    dims: &Dims,
    kv: usize,
    start: usize,
    end: usize,
    queries: &[f32],
    keys: &[E],
    values: &[E],
    scores: &mut Vec<f32>,
    max: &mut [f32],
    sum: &mut [f32],
    acc: &mut [f32],
) {
    let (d, g) = (dims.head_dim, dims.group());
    let n = end - start;
    let stride = n.div_ceil(TILE) * TILE;
    if scores.len() < g * stride {
        scores.resize(g * stride, 0.0);
    }
    let key_block = &keys[kv * dims.head_block() + start * d..];
    let value_block = &values[kv * dims.head_block() + start * d..];
    let query = |h: usize| &queries[(kv * g + h) * d..][..d];
    let seen = |_: usize| n;
    score_in_groups(isa, g, &query, &seen, key_block, d, scores, stride);
    for h in 0..g {
        (max[h], sum[h]) = softmax_in_place(isa, &mut scores[h * stride..(h + 1) * stride], n);
    }
    values_in_groups(isa, g, &seen, scores, stride, value_block, d, acc);
}

/// Combines the [`decode_part`]s of one head, given as (max, sum, acc) each, into `out`.
pub fn merge_parts<'a>(
    parts: impl Iterator<Item = (f32, f32, &'a [f32])> + Clone,
    out: &mut [f32],
) {
    let max = parts.clone().map(|p| p.0).fold(f32::NEG_INFINITY, f32::max);
    out.iter_mut().for_each(|x| *x = 0.0);
    let mut total = 0.0;
    for (m, sum, acc) in parts {
        let w = (m - max).exp();
        total += w * sum;
        for (o, a) in out.iter_mut().zip(acc) {
            *o += w * a;
        }
    }
    let inv = 1.0 / total;
    out.iter_mut().for_each(|x| *x *= inv);
}

/// `scores[i * stride + p] = query_i . key_p` for every position of the first `tiles` tiles.
fn score_tiles<E: CacheElement>(
    isa: Isa,
    queries: &[&[f32]],
    keys: &[E],
    d: usize,
    tiles: usize,
    scores: &mut [f32],
    stride: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 {
        // SAFETY: AVX-512F was detected at run time; every index stays within `keys` (tiles of
        // positions below the capacity) and `scores` (rows of `stride >= tiles * 16`).
        unsafe { avx512::score_tiles(queries, keys, d, tiles, scores, stride) };
        return;
    }
    let _ = isa;
    // Each tile widened to float32 once, for all the queries.
    let mut tile = vec![0f32; d * TILE];
    for t in 0..tiles {
        E::widen(&keys[t * d * TILE..(t + 1) * d * TILE], &mut tile);
        for (i, q) in queries.iter().enumerate() {
            let mut acc = [0f32; TILE];
            for j in 0..d {
                let row = &tile[j * TILE..(j + 1) * TILE];
                for c in 0..TILE {
                    acc[c] += q[j] * row[c];
                }
            }
            scores[i * stride + t * TILE..][..TILE].copy_from_slice(&acc);
        }
    }
}

/// Softmax numerator over the first `seen` entries of `row` (the rest set to 0); returns the
/// maximum subtracted and the sum the caller divides by.
fn softmax_in_place(isa: Isa, row: &mut [f32], seen: usize) -> (f32, f32) {
    let max = row[..seen]
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    row[seen..].iter_mut().for_each(|x| *x = 0.0);
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 {
        // SAFETY: AVX-512F was detected at run time.
        return (max, unsafe { avx512::exp_shifted(&mut row[..seen], max) });
    }
    let _ = isa;
    let mut sum = 0.0;
    for x in &mut row[..seen] {
        *x = (*x - max).exp();
        sum += *x;
    }
    (max, sum)
}

/// `acc[i] = sum over p < positions of weights[i * stride + p] * value_p` for `n` vectors.
#[allow(clippy::too_many_arguments)]
fn weighted_values<E: CacheElement>(
    isa: Isa,
    weights: &[f32],
    stride: usize,
    n: usize,
    values: &[E],
    d: usize,
    positions: usize,
    acc: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 {
        // SAFETY: AVX-512F was detected at run time; `positions` rows of `values` were written
        // and `weights` holds `n` rows of `stride >= positions`.
        unsafe { avx512::weighted_values(weights, stride, n, values, d, positions, acc) };
        return;
    }
    let _ = isa;
    // Overwrites `acc`, as the AVX-512 loops do (callers pass reused scratch).
    acc[..n * d].iter_mut().for_each(|a| *a = 0.0);
    let mut row = vec![0f32; d];
    for p in 0..positions {
        E::widen(&values[p * d..(p + 1) * d], &mut row);
        for i in 0..n {
            let w = weights[i * stride + p];
            for (a, x) in acc[i * d..(i + 1) * d].iter_mut().zip(&row) {
                *a += w * x;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{CacheElement, TILE};
    use std::arch::x86_64::*;

    /// exp(x) for x <= 0: 2^n * e^r with r in [-ln2/2, ln2/2], a degree-7 polynomial
    /// (relative error ~1e-7, as libm's expf).
    #[target_feature(enable = "avx512f")]
    unsafe fn exp16(x: __m512) -> __m512 {
        let x = _mm512_max_ps(x, _mm512_set1_ps(-87.3));
        let n = _mm512_roundscale_ps::<0x08>(_mm512_mul_ps(
            x,
            _mm512_set1_ps(std::f32::consts::LOG2_E),
        ));
        // ln 2 in two parts, so r is exact to float precision.
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_145_75), x);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428_606_8e-6), r);
        let mut p = _mm512_set1_ps(1.0 / 5040.0);
        for c in [
            1.0 / 720.0,
            1.0 / 120.0,
            1.0 / 24.0,
            1.0 / 6.0,
            0.5,
            1.0,
            1.0,
        ] {
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
        }
        _mm512_scalef_ps(p, n)
    }

    #[target_feature(enable = "avx512f")]
    pub unsafe fn exp_shifted(row: &mut [f32], max: f32) -> f32 {
        let m = _mm512_set1_ps(max);
        let mut sum = _mm512_setzero_ps();
        let mut chunks = row.chunks_exact_mut(TILE);
        for chunk in &mut chunks {
            let e = exp16(_mm512_sub_ps(_mm512_loadu_ps(chunk.as_ptr()), m));
            _mm512_storeu_ps(chunk.as_mut_ptr(), e);
            sum = _mm512_add_ps(sum, e);
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let mask: __mmask16 = ((1u32 << rest.len()) - 1) as u16;
            let x = _mm512_maskz_loadu_ps(mask, rest.as_ptr());
            let e = _mm512_maskz_mov_ps(mask, exp16(_mm512_sub_ps(x, m)));
            _mm512_mask_storeu_ps(rest.as_mut_ptr(), mask, e);
            sum = _mm512_add_ps(sum, e);
        }
        _mm512_reduce_add_ps(sum)
    }

    pub unsafe fn score_tiles<E: CacheElement>(
        queries: &[&[f32]],
        keys: &[E],
        d: usize,
        tiles: usize,
        scores: &mut [f32],
        stride: usize,
    ) {
        macro_rules! dispatch {
            ($($n:literal)*) => {
                match queries.len() {
                    $($n => score_n::<E, $n>(queries, keys, d, tiles, scores, stride),)*
                    _ => unreachable!("score groups hold 1 to 12 vectors"),
                }
            };
        }
        dispatch!(1 2 3 4 5 6 7 8 9 10 11 12)
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn score_n<E: CacheElement, const N: usize>(
        queries: &[&[f32]],
        keys: &[E],
        d: usize,
        tiles: usize,
        scores: &mut [f32],
        stride: usize,
    ) {
        let q: [*const f32; N] = std::array::from_fn(|i| queries[i].as_ptr());
        let out = scores.as_mut_ptr();
        for t in 0..tiles {
            let tile = keys.as_ptr().add(t * d * TILE);
            let mut acc = [_mm512_setzero_ps(); N];
            for j in 0..d {
                let k = E::load16(tile.add(j * TILE));
                for i in 0..N {
                    acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(*q[i].add(j)), k, acc[i]);
                }
            }
            for (i, a) in acc.iter().enumerate() {
                _mm512_storeu_ps(out.add(i * stride + t * TILE), *a);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub unsafe fn weighted_values<E: CacheElement>(
        weights: &[f32],
        stride: usize,
        n: usize,
        values: &[E],
        d: usize,
        positions: usize,
        acc: &mut [f32],
    ) {
        // d / 16 registers per vector: 64-wide heads (the default model's) get the unrolled
        // loop; other sizes go 16 lanes at a time.
        if d == 64 {
            macro_rules! dispatch {
                ($($n:literal)*) => {
                    match n {
                        $($n => values64::<E, $n>(weights, stride, values, positions, acc),)*
                        _ => unreachable!("value groups hold 1 to 6 vectors"),
                    }
                };
            }
            dispatch!(1 2 3 4 5 6);
        } else {
            values_any(weights, stride, n, values, d, positions, acc);
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn values64<E: CacheElement, const N: usize>(
        weights: &[f32],
        stride: usize,
        values: &[E],
        positions: usize,
        acc: &mut [f32],
    ) {
        let mut o = [[_mm512_setzero_ps(); 4]; N];
        let w = weights.as_ptr();
        for p in 0..positions {
            let row = values.as_ptr().add(p * 64);
            let v = [
                E::load16(row),
                E::load16(row.add(16)),
                E::load16(row.add(32)),
                E::load16(row.add(48)),
            ];
            for (i, oi) in o.iter_mut().enumerate() {
                let wi = _mm512_set1_ps(*w.add(i * stride + p));
                for c in 0..4 {
                    oi[c] = _mm512_fmadd_ps(wi, v[c], oi[c]);
                }
            }
        }
        for (i, oi) in o.iter().enumerate() {
            for (c, x) in oi.iter().enumerate() {
                _mm512_storeu_ps(acc.as_mut_ptr().add(i * 64 + c * 16), *x);
            }
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn values_any<E: CacheElement>(
        weights: &[f32],
        stride: usize,
        n: usize,
        values: &[E],
        d: usize,
        positions: usize,
        acc: &mut [f32],
    ) {
        for i in 0..n {
            for c in (0..d).step_by(TILE) {
                let mut o = _mm512_setzero_ps();
                for p in 0..positions {
                    let wi = _mm512_set1_ps(weights[i * stride + p]);
                    o = _mm512_fmadd_ps(wi, E::load16(values.as_ptr().add(p * d + c)), o);
                }
                _mm512_storeu_ps(acc.as_mut_ptr().add(i * d + c), o);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

    /// Float64 attention over plain row-major keys and values: the reference.
    fn reference(q: &[f32], keys: &[Vec<f32>], values: &[Vec<f32>], d: usize) -> Vec<f32> {
        let scale = 1.0 / (d as f64).sqrt();
        let s: Vec<f64> = keys
            .iter()
            .map(|k| {
                q.iter()
                    .zip(k)
                    .map(|(a, b)| *a as f64 * *b as f64)
                    .sum::<f64>()
                    * scale
            })
            .collect();
        let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
        let z: f64 = e.iter().sum();
        (0..d)
            .map(|j| {
                (e.iter()
                    .zip(values)
                    .map(|(w, v)| w * v[j] as f64)
                    .sum::<f64>()
                    / z) as f32
            })
            .collect()
    }

    struct Case {
        dims: Dims,
        packed: Vec<f32>,
        cos: Vec<f32>,
        sin: Vec<f32>,
    }

    fn case(dims: Dims, rows: usize, seed: u64) -> Case {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let packed = (0..rows * dims.packed_width())
            .map(|_| next() * 3.0)
            .collect();
        let half = dims.head_dim / 2;
        let angles: Vec<f64> = (0..rows * half)
            .map(|i| {
                (i / half) as f64 / 10000f64.powf((i % half) as f64 * 2.0 / dims.head_dim as f64)
            })
            .collect();
        Case {
            dims,
            packed,
            cos: angles.iter().map(|a| a.cos() as f32).collect(),
            sin: angles.iter().map(|a| a.sin() as f32).collect(),
        }
    }

    /// Runs rows `from..to` as one step after `from` cached rows.
    fn step<E: CacheElement>(
        isa: Isa,
        c: &Case,
        from: usize,
        to: usize,
        keys: &mut [E],
        values: &mut [E],
    ) -> Vec<f32> {
        let dims = &c.dims;
        let w = dims.packed_width();
        let s = to - from;
        let mut queries = vec![0f32; s * dims.heads * dims.head_dim];
        append(
            dims,
            &c.packed[from * w..to * w],
            from,
            &c.cos,
            &c.sin,
            keys,
            values,
            &mut queries,
        );
        let mut out = vec![0f32; s * dims.heads * dims.head_dim];
        let mut scratch = Vec::new();
        for unit in units(dims, s) {
            let mut emit = |at: usize, v: &[f32]| out[at..at + v.len()].copy_from_slice(v);
            attend(
                isa,
                dims,
                unit,
                from,
                &queries,
                keys,
                values,
                &mut scratch,
                &mut emit,
            );
        }
        out
    }

    /// The float64 reference for every row of the case, from the same rotated rows, keys and
    /// values rounded to the cache's element type as the operator stores them.
    fn expected<E: CacheElement>(c: &Case, rows: usize) -> Vec<f32> {
        let stored =
            |v: Vec<f32>| -> Vec<f32> { v.into_iter().map(|x| E::from_f32(x).to_f32()).collect() };
        let dims = &c.dims;
        let (d, w, half) = (dims.head_dim, dims.packed_width(), dims.head_dim / 2);
        let rot = |x: &[f32], p: usize| {
            let mut o = vec![0f32; d];
            rotate(
                x,
                &c.cos[p * half..(p + 1) * half],
                &c.sin[p * half..(p + 1) * half],
                &mut o,
            );
            o
        };
        let mut out = vec![0f32; rows * dims.heads * d];
        for r in 0..rows {
            for h in 0..dims.heads {
                let kv = h / dims.group();
                let q = rot(&c.packed[r * w + h * d..][..d], r);
                let keys: Vec<Vec<f32>> = (0..=r)
                    .map(|p| stored(rot(&c.packed[p * w + (dims.heads + kv) * d..][..d], p)))
                    .collect();
                let values: Vec<Vec<f32>> = (0..=r)
                    .map(|p| {
                        stored(
                            c.packed[p * w + (dims.heads + dims.kv_heads + kv) * d..][..d].to_vec(),
                        )
                    })
                    .collect();
                out[(r * dims.heads + h) * d..][..d]
                    .copy_from_slice(&reference(&q, &keys, &values, d));
            }
        }
        out
    }

    /// The largest absolute difference; a NaN on either side counts as infinite (f32::max
    /// alone would skip it).
    fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .map(|d| if d.is_nan() { f32::INFINITY } else { d })
            .fold(0.0, f32::max)
    }

    fn isas() -> Vec<Isa> {
        let mut out = vec![Isa::Portable];
        if Isa::detect() == Isa::Avx512 {
            out.push(Isa::Avx512);
        }
        out
    }

    const SMOLLM: Dims = Dims {
        heads: 9,
        kv_heads: 3,
        head_dim: 64,
        capacity: 96,
    };

    #[test]
    fn prefill_then_steps_match_the_float64_reference() {
        prefill_then_steps::<f32>();
        prefill_then_steps::<f16>();
    }

    fn prefill_then_steps<E: CacheElement>() {
        for isa in isas() {
            for dims in [
                SMOLLM,
                Dims {
                    heads: 4,
                    kv_heads: 1,
                    head_dim: 32,
                    capacity: 48,
                },
            ] {
                // 37 rows: a prefill of 21 (not a multiple of the tile or of the row block),
                // then single steps, then a second multi-row step (a follow-up turn).
                let rows = 37;
                let c = case(dims, rows, 7);
                let nan = E::from_f32(f32::NAN);
                let mut keys = vec![nan; dims.kv_heads * dims.head_block()];
                let mut values = vec![nan; dims.kv_heads * dims.head_block()];
                let mut got = step(isa, &c, 0, 21, &mut keys, &mut values);
                for r in 21..30 {
                    got.extend(step(isa, &c, r, r + 1, &mut keys, &mut values));
                }
                got.extend(step(isa, &c, 30, rows, &mut keys, &mut values));
                let diff = largest_difference(&got, &expected::<E>(&c, rows));
                assert!(
                    diff < 2e-5,
                    "{isa:?} {dims:?} {}: largest difference {diff}",
                    E::OPERATOR
                );
                assert!(
                    got.iter().all(|x| x.is_finite()),
                    "{isa:?}: unwritten cache rows were read"
                );
            }
        }
    }

    #[test]
    fn a_full_pass_equals_the_same_rows_step_by_step() {
        full_pass_equals_steps::<f32>();
        full_pass_equals_steps::<f16>();
    }

    fn full_pass_equals_steps<E: CacheElement>() {
        for isa in isas() {
            let rows = 40;
            let c = case(SMOLLM, rows, 11);
            let size = SMOLLM.kv_heads * SMOLLM.head_block();
            let (mut k1, mut v1) = (vec![E::ZERO; size], vec![E::ZERO; size]);
            let full = step(isa, &c, 0, rows, &mut k1, &mut v1);
            let (mut k2, mut v2) = (vec![E::ZERO; size], vec![E::ZERO; size]);
            let mut stepped = Vec::new();
            for r in 0..rows {
                stepped.extend(step(isa, &c, r, r + 1, &mut k2, &mut v2));
            }
            assert_eq!(k1, k2, "{isa:?}: the cache differs");
            let diff = largest_difference(&full, &stepped);
            assert!(diff < 1e-6, "{isa:?}: full pass and steps differ by {diff}");
        }
    }

    #[test]
    fn a_decode_step_split_by_position_equals_the_whole() {
        split_decode_equals_whole::<f32>();
        split_decode_equals_whole::<f16>();
    }

    fn split_decode_equals_whole<E: CacheElement>() {
        for isa in isas() {
            let dims = Dims {
                capacity: 640,
                ..SMOLLM
            };
            let rows = 600;
            let c = case(dims, rows, 3);
            let size = dims.kv_heads * dims.head_block();
            let (mut keys, mut values) = (vec![E::ZERO; size], vec![E::ZERO; size]);
            step(isa, &c, 0, rows - 1, &mut keys, &mut values);
            let whole = step(
                isa,
                &c,
                rows - 1,
                rows,
                &mut keys.clone(),
                &mut values.clone(),
            );
            // The same last row with its positions split at 304 (a tile boundary): equal up to the
            // rounding of a different summation order.
            let (d, g, w) = (dims.head_dim, dims.group(), dims.packed_width());
            let mut queries = vec![0f32; dims.heads * d];
            let last = &c.packed[(rows - 1) * w..rows * w];
            append(
                &dims,
                last,
                rows - 1,
                &c.cos,
                &c.sin,
                &mut keys,
                &mut values,
                &mut queries,
            );
            let mut scratch = Vec::new();
            for kv in 0..dims.kv_heads {
                let mut parts = Vec::new();
                for (a, b) in [(0, 304), (304, rows)] {
                    // Scratch as the operator reuses it: whatever an earlier part left.
                    let (mut max, mut sum) = (vec![f32::NAN; g], vec![f32::NAN; g]);
                    let mut acc = vec![f32::NAN; g * d];
                    decode_part(
                        isa,
                        &dims,
                        kv,
                        a,
                        b,
                        &queries,
                        &keys,
                        &values,
                        &mut scratch,
                        &mut max,
                        &mut sum,
                        &mut acc,
                    );
                    parts.push((max, sum, acc));
                }
                for h in 0..g {
                    let mut out = vec![0f32; d];
                    let each = parts
                        .iter()
                        .map(|p| (p.0[h], p.1[h], &p.2[h * d..(h + 1) * d]));
                    merge_parts(each, &mut out);
                    let want = &whole[(kv * g + h) * d..][..d];
                    let diff = largest_difference(&out, want);
                    assert!(
                        diff < 1e-5,
                        "{isa:?} kv {kv} head {h}: split differs by {diff}"
                    );
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_vector_exponential_is_as_close_as_libm() {
        if Isa::detect() != Isa::Avx512 {
            return;
        }
        let xs: Vec<f32> = (0..4000).map(|i| -(i as f32) * 0.02).collect();
        let mut row = xs.clone();
        // SAFETY: AVX-512F detected above.
        unsafe { avx512::exp_shifted(&mut row, 0.0) };
        for (x, e) in xs.iter().zip(&row) {
            let want = (*x as f64).exp();
            let rel = ((*e as f64 - want) / want).abs();
            assert!(
                rel < 4e-7,
                "exp({x}) = {e}, want {want} (relative error {rel})"
            );
        }
    }

    #[test]
    fn shapes_are_checked() {
        assert!(SMOLLM.check().is_ok());
        let mut bad = SMOLLM;
        bad.capacity = 100;
        assert!(bad.check().unwrap_err().contains("multiple of 16"));
        bad = SMOLLM;
        bad.kv_heads = 2;
        assert!(bad.check().is_err());
    }
}
