//! The bucket method's pieces that the portable MSM ([`crate::msm`]) and the
//! vector one (`msm_ifma`) share: batch sizes, signed-digit recoding, the
//! weighted bucket sum, the combination of windows, and prefetching. The
//! lower tier both build on; neither imports the other.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, PrimeGroup};
use ark_ff::{AdditiveGroup, PrimeField, Zero};
use rayon::prelude::*;

/// Below this many points the plain double-and-add sum is fastest.
pub(crate) const SMALL: usize = 32;
/// Additions collected before their denominators are inverted together.
pub(crate) const BATCH: usize = 2048;

/// Additions batched before a flush for `buckets` buckets: a batch that filled
/// a quarter of the buckets makes about one addition in eight wait for the next
/// one; fuller batches would make most of them wait.
pub(crate) fn batch_limit(buckets: usize) -> usize {
    (buckets / 4).clamp(16, BATCH)
}

/// Σ sums[w] · 2^(c·w), by Horner's rule from the most significant window.
pub(crate) fn horner<P: SWCurveConfig>(sums: &[Projective<P>], c: usize) -> Projective<P> {
    let mut total = Projective::<P>::zero();
    for sum in sums.iter().rev() {
        for _ in 0..c {
            total.double_in_place();
        }
        total += sum;
    }
    total
}

/// Recodes every scalar into `⌈(bits + 1) / c⌉` signed digits, window-major
/// (`digits[w * n + i]` is scalar i's digit in window w). Digits lie in
/// `[-(2^(c-1) - 1), 2^(c-1)]`; the top window needs no carry out because the
/// scalar is below 2^bits and the windows cover bits + 1 bits.
pub fn signed_digits<F: PrimeField>(scalars: &[F], c: usize) -> Vec<i32> {
    let bits = F::MODULUS_BIT_SIZE as usize;
    let windows = (bits + 1).div_ceil(c);
    let n = scalars.len();
    let half = 1i64 << (c - 1);
    let full = 1i64 << c;
    let mut digits = vec![0i32; windows * n];
    // Fill scalar-major in parallel chunks, then transpose to window-major.
    let mut by_scalar = vec![0i32; windows * n];
    by_scalar
        .par_chunks_mut(windows)
        .zip(scalars.par_iter())
        .for_each(|(out, scalar)| {
            let limbs = scalar.into_bigint();
            let limbs = limbs.as_ref();
            let mut carry = 0i64;
            for (w, digit) in out.iter_mut().enumerate() {
                let raw = window_value(limbs, w * c, c) as i64 + carry;
                if raw > half {
                    *digit = (raw - full) as i32;
                    carry = 1;
                } else {
                    *digit = raw as i32;
                    carry = 0;
                }
            }
            debug_assert_eq!(carry, 0);
        });
    digits.par_chunks_mut(n).enumerate().for_each(|(w, row)| {
        for (i, d) in row.iter_mut().enumerate() {
            *d = by_scalar[i * windows + w];
        }
    });
    digits
}

/// Bits `[start, start + c)` of a little-endian limb array (zero past the end).
fn window_value(limbs: &[u64], start: usize, c: usize) -> u64 {
    let limb = start / 64;
    let shift = start % 64;
    if limb >= limbs.len() {
        return 0;
    }
    let mut value = limbs[limb] >> shift;
    if shift + c > 64 && limb + 1 < limbs.len() {
        value |= limbs[limb + 1] << (64 - shift);
    }
    value & ((1u64 << c) - 1)
}

/// Σ (j + 1) · bucket_j by running sums, from the top bucket down; bucket j is
/// `sums[j]` plus the `spill` entries for j (sorted by bucket).
pub(crate) fn weighted_sum<P: SWCurveConfig>(
    sums: &[Affine<P>],
    spill: &[(usize, Projective<P>)],
) -> Projective<P> {
    let mut spill = spill.iter().rev().peekable();
    let mut running = Projective::<P>::zero();
    let mut sum = Projective::<P>::zero();
    for (j, bucket) in sums.iter().enumerate().rev() {
        if !bucket.is_zero() {
            running += bucket;
        }
        if let Some((_, extra)) = spill.next_if(|(k, _)| *k == j) {
            running += extra;
        }
        sum += running;
    }
    sum
}

/// How the segmented batch-affine bucket reduction (both paths' `reduce`)
/// cuts `count` buckets: `(segments, length)`, or `None` when there are too
/// few buckets for it to pay ([`weighted_sum`] then). Segments advance
/// together, so each step is a batch of `segments` independent additions.
pub(crate) fn reduction_segments(count: usize) -> Option<(usize, usize)> {
    let segments = (count / 16).min(BATCH / 2);
    if segments < 16 {
        return None;
    }
    debug_assert!(count.is_power_of_two() && segments.is_power_of_two());
    Some((segments, count / segments))
}

/// The end of the segmented reduction: segment g (of `length` buckets) has
/// its running total T_g = `total(g)` and its weighted sum S_g = `sum(g)`;
/// the whole is Σ S_g + L·Σ g·T_g (the last G-term sum in projective form),
/// plus (j + 1)·P for each `spill` entry (j, P).
pub(crate) fn combine_segments<P: SWCurveConfig>(
    segments: usize,
    length: usize,
    total: impl Fn(usize) -> Affine<P>,
    sum: impl Fn(usize) -> Affine<P>,
    spill: &[(usize, Projective<P>)],
) -> Projective<P> {
    let mut whole = Projective::<P>::zero();
    let mut run = Projective::<P>::zero();
    let mut weighted = Projective::<P>::zero();
    for g in (0..segments).rev() {
        whole += sum(g);
        if g > 0 {
            run += total(g);
            weighted += run;
        }
    }
    for _ in 0..length.trailing_zeros() {
        weighted.double_in_place();
    }
    whole += weighted;
    for (j, extra) in spill {
        whole += extra.mul_bigint([*j as u64 + 1]);
    }
    whole
}

/// Asks the CPU to start loading `value`'s cache line (a hint; no effect on results).
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint and never faults, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
