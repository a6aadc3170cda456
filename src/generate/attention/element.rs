//! What the KV cache holds: float32 (the exact mode) or float16 (half the bytes a decode step
//! reads, what llama.cpp's cache holds; the converter chooses it with int8 activations). Keys
//! and values are rounded once, when written; every product and sum stays float32.

use half::f16;
use half::slice::HalfFloatSliceExt;
use ort::value::TensorElementType;

pub trait CacheElement:
    Copy + Send + Sync + PartialEq + std::fmt::Debug + 'static + ort::value::PrimitiveTensorElementType
{
    /// The element type of the cache tensors in the graph.
    const TENSOR_TYPE: TensorElementType;
    /// The operator's name in the `lmdeck` domain for a cache of this type.
    const OPERATOR: &'static str;
    const ZERO: Self;
    fn from_f32(x: f32) -> Self;
    fn to_f32(self) -> f32;
    /// `dst[i] = src[i]` as float32 (vectorised where the CPU converts halves).
    fn widen(src: &[Self], dst: &mut [f32]);
    /// `dst[i] = src[i]` rounded to this type; values beyond its range saturate (a key or
    /// value past float16's 65504 would otherwise become infinite and every score NaN).
    fn narrow(src: &[f32], dst: &mut [Self]);

    /// Sixteen consecutive elements as float32 lanes.
    ///
    /// # Safety
    /// AVX-512F must be available and `ptr..ptr + 16` readable.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load16(ptr: *const Self) -> std::arch::x86_64::__m512;
}

impl CacheElement for f32 {
    const TENSOR_TYPE: TensorElementType = TensorElementType::Float32;
    const OPERATOR: &'static str = "CachedAttention";
    const ZERO: f32 = 0.0;

    #[inline(always)]
    fn from_f32(x: f32) -> f32 {
        x
    }

    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }

    fn widen(src: &[f32], dst: &mut [f32]) {
        dst.copy_from_slice(src);
    }

    fn narrow(src: &[f32], dst: &mut [f32]) {
        dst.copy_from_slice(src);
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load16(ptr: *const f32) -> std::arch::x86_64::__m512 {
        // SAFETY: the caller's contract.
        unsafe { std::arch::x86_64::_mm512_loadu_ps(ptr) }
    }
}

impl CacheElement for f16 {
    const TENSOR_TYPE: TensorElementType = TensorElementType::Float16;
    const OPERATOR: &'static str = "CachedAttentionF16";
    const ZERO: f16 = f16::ZERO;

    #[inline(always)]
    fn from_f32(x: f32) -> f16 {
        // clamp keeps NaN a NaN.
        f16::from_f32(x.clamp(-f16::MAX.to_f32(), f16::MAX.to_f32()))
    }

    #[inline(always)]
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }

    fn widen(src: &[f16], dst: &mut [f32]) {
        src.convert_to_f32_slice(dst);
    }

    fn narrow(src: &[f32], dst: &mut [f16]) {
        for (d, x) in dst.iter_mut().zip(src) {
            *d = <f16 as CacheElement>::from_f32(*x);
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load16(ptr: *const f16) -> std::arch::x86_64::__m512 {
        use std::arch::x86_64::*;
        // SAFETY: the caller's contract; f16 is 16 bits, so 16 of them are one 256-bit load.
        unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(ptr.cast::<__m256i>())) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float16_rounds_to_nearest_and_float32_is_unchanged() {
        assert_eq!(<f32 as CacheElement>::from_f32(0.1).to_f32(), 0.1);
        let x = <f16 as CacheElement>::from_f32(0.1).to_f32();
        assert!((x - 0.1).abs() < 0.1 / 2048.0, "{x}");
        assert!(<f16 as CacheElement>::from_f32(f32::NAN).to_f32().is_nan());
        assert_eq!(<f16 as CacheElement>::from_f32(1e6).to_f32(), 65504.0);
        assert_eq!(<f16 as CacheElement>::from_f32(-1e6).to_f32(), -65504.0);
        let xs = [0.1f32, -2.5, 7e4, f32::NAN];
        let mut halves = [f16::ZERO; 4];
        f16::narrow(&xs, &mut halves);
        let mut back = [0f32; 4];
        f16::widen(&halves, &mut back);
        for (x, (h, b)) in xs.iter().zip(halves.iter().zip(back)) {
            let want = <f16 as CacheElement>::from_f32(*x).to_f32();
            assert!(
                b == want || (b.is_nan() && want.is_nan()),
                "{x}: {h} -> {b}"
            );
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_vector_load_converts_as_the_scalar_one() {
        if !std::is_x86_feature_detected!("avx512f") {
            return;
        }
        let xs: Vec<f16> = (0..16)
            .map(|i| f16::from_f32(i as f32 * -0.37 + 1.5))
            .collect();
        let mut out = [0f32; 16];
        // SAFETY: AVX-512F detected above; 16 elements.
        unsafe { std::arch::x86_64::_mm512_storeu_ps(out.as_mut_ptr(), f16::load16(xs.as_ptr())) };
        for (x, y) in xs.iter().zip(out) {
            assert_eq!(x.to_f32(), y);
        }
    }
}
