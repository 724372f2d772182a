//! Bucket (Pippenger) MSM on short-Weierstrass curves, multi-threaded.
//!
//! The techniques, each for a reason:
//! - **Signed digits** (scalars recoded to digits in `[-(2^(c-1) - 1), 2^(c-1)]`):
//!   half the buckets of unsigned digits, since `-P` is free in affine form.
//! - **Window size by input size**: `c ≈ log2(n) - 3` ([`window_bits`]; larger
//!   on the IFMA path, [`fast_window_bits`]), trading bucket count (reduction
//!   cost `2^c`) against windows (`⌈255/c⌉` passes over the input).
//! - **Batch-affine bucket accumulation**: buckets stay affine, and additions are
//!   done in batches whose slope denominators share one field inversion
//!   (Montgomery's trick), about 6 multiplications per addition where a mixed
//!   Jacobian addition costs 11. A bucket is touched at most once per batch;
//!   an addition that would collide waits for the next batch.
//! - **Parallel windows** (rayon): windows are independent until the end.
//!
//! Not used, for a measured reason: the **GLV endomorphism** (φ(x, y) = (βx, y)
//! splits a scalar into two of ~128 bits). In a bucket MSM it halves the
//! windows but doubles the points, so the additions into buckets stay
//! `n·⌈255/c⌉` at best, and at the window sizes used here grow (c = 16:
//! 2·⌈129/16⌉ = 18 passes over n points against 16); what it saves is half of
//! the bucket reductions, about 2% of a 2^20 MSM on the IFMA path (where the
//! reduction is batch-affine too), less than the decomposition and the second
//! point array cost.
//!
//! Reference for the recoding and the batch-affine trick: Aztec's "barretenberg"
//! Pippenger, and Bootle et al.'s and Luo et al.'s surveys of ZPrize 2022 MSM
//! entries ("cuZK", "Elastic MSM").

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{AdditiveGroup, Field, PrimeField, Zero};
use rayon::prelude::*;

pub use crate::bucket::signed_digits;
use crate::bucket::{
    batch_limit, combine_segments, horner, prefetch, reduction_segments, weighted_sum, BATCH, SMALL,
};
use crate::products::{Generic, Products};
use crate::{Arithmetic, Scalar};

/// Window size for `n` points.
pub fn window_bits(n: usize) -> usize {
    let log = usize::BITS as usize - n.leading_zeros() as usize; // ⌈log2(n + 1)⌉
    match log {
        0..=9 => 4,
        10..=12 => log - 4,
        _ => (log - 3).min(16),
    }
}

/// `Σ scalars[i] · bases[i]` in BN254's G1: [`msm`], with the bucket
/// accumulation on AVX-512 IFMA where the CPU has it (`crate::msm_ifma`), else
/// on MULX/ADX products where it has those.
pub fn msm_g1(bases: &[G1Affine], scalars: &[Fr]) -> G1Projective {
    msm_g1_on(crate::arithmetic(), bases, scalars, None)
}

/// [`msm_g1`] with a chosen window size `c` (2 to 20), on whichever path runs, for tuning.
pub fn msm_g1_with_window(bases: &[G1Affine], scalars: &[Fr], c: usize) -> G1Projective {
    msm_g1_on(crate::arithmetic(), bases, scalars, Some(c))
}

/// `Σ scalars[i] · bases[i]` in BN254's G2: as [`msm_g1`], over Fq2.
pub fn msm_g2(bases: &[G2Affine], scalars: &[Fr]) -> G2Projective {
    msm_g2_on(crate::arithmetic(), bases, scalars, None)
}

/// [`msm_g2`] with a chosen window size `c` (2 to 20), on whichever path runs, for tuning.
pub fn msm_g2_with_window(bases: &[G2Affine], scalars: &[Fr], c: usize) -> G2Projective {
    msm_g2_on(crate::arithmetic(), bases, scalars, Some(c))
}

/// The G1 MSM on `arithmetic`, with window size `c` or the path's default.
pub(crate) fn msm_g1_on(
    arithmetic: Arithmetic,
    bases: &[G1Affine],
    scalars: &[Fr],
    c: Option<usize>,
) -> G1Projective {
    #[cfg(target_arch = "x86_64")]
    return msm_on_curve::<_, crate::curve_ifma::OverFq>(arithmetic, bases, scalars, c);
    #[cfg(not(target_arch = "x86_64"))]
    msm_on_curve(arithmetic, bases, scalars, c)
}

/// The G2 MSM on `arithmetic` (see [`msm_g1_on`]).
pub(crate) fn msm_g2_on(
    arithmetic: Arithmetic,
    bases: &[G2Affine],
    scalars: &[Fr],
    c: Option<usize>,
) -> G2Projective {
    #[cfg(target_arch = "x86_64")]
    return msm_on_curve::<_, crate::curve_ifma::OverFq2>(arithmetic, bases, scalars, c);
    #[cfg(not(target_arch = "x86_64"))]
    msm_on_curve(arithmetic, bases, scalars, c)
}

/// A BN254 MSM on `arithmetic`: the IFMA lanes over coordinates `C`, or the
/// scalar path (also the IFMA path's answer for small or exceptional inputs).
#[cfg(target_arch = "x86_64")]
fn msm_on_curve<P, C>(
    arithmetic: Arithmetic,
    bases: &[Affine<P>],
    scalars: &[Fr],
    c: Option<usize>,
) -> Projective<P>
where
    P: SWCurveConfig<ScalarField = Fr>,
    C: crate::curve_ifma::Coordinate<Ark = P::BaseField>,
    crate::adx::Adx: Products<P::BaseField>,
{
    let c = c.unwrap_or_else(|| window_bits_on(arithmetic, bases.len()));
    match arithmetic {
        Arithmetic::Ifma(token) => {
            if bases.len() >= SMALL {
                if let Some(sum) =
                    crate::msm_ifma::msm::<P, C>(token, bases, scalars, c.clamp(2, 20))
                {
                    return sum;
                }
            }
            scalar_msm(crate::scalar_arithmetic(), bases, scalars, c)
        }
        Arithmetic::Portable(scalar) => scalar_msm(scalar, bases, scalars, c),
    }
}

/// A BN254 MSM on the scalar path (the only one off x86-64).
#[cfg(not(target_arch = "x86_64"))]
fn msm_on_curve<P: SWCurveConfig<ScalarField = Fr>>(
    arithmetic: Arithmetic,
    bases: &[Affine<P>],
    scalars: &[Fr],
    c: Option<usize>,
) -> Projective<P> {
    let c = c.unwrap_or_else(|| window_bits_on(arithmetic, bases.len()));
    let Arithmetic::Portable(scalar) = arithmetic;
    scalar_msm(scalar, bases, scalars, c)
}

/// The scalar path for BN254's G1 or G2 on `scalar`'s products.
#[cfg(target_arch = "x86_64")]
fn scalar_msm<P: SWCurveConfig<ScalarField = Fr>>(
    scalar: Scalar,
    bases: &[Affine<P>],
    scalars: &[Fr],
    c: usize,
) -> Projective<P>
where
    crate::adx::Adx: Products<P::BaseField>,
{
    match scalar {
        Scalar::Adx(token) => msm_on(token, bases, scalars, c),
        Scalar::Generic => msm_on(Generic, bases, scalars, c),
    }
}

/// The scalar path (arkworks' products: no assembly off x86-64).
#[cfg(not(target_arch = "x86_64"))]
fn scalar_msm<P: SWCurveConfig<ScalarField = Fr>>(
    _: Scalar,
    bases: &[Affine<P>],
    scalars: &[Fr],
    c: usize,
) -> Projective<P> {
    msm_on(Generic, bases, scalars, c)
}

/// The window size for `n` points on the path this CPU takes.
pub fn default_window_bits(n: usize) -> usize {
    window_bits_on(crate::arithmetic(), n)
}

fn window_bits_on(arithmetic: Arithmetic, n: usize) -> usize {
    match arithmetic {
        Arithmetic::Portable(_) => window_bits(n),
        #[cfg(target_arch = "x86_64")]
        Arithmetic::Ifma(_) => fast_window_bits(n),
    }
}

/// Window size for `n` points on the AVX-512 IFMA path, whose bucket reduction
/// is batch-affine too and so cheap enough for more buckets than
/// [`window_bits`] takes (measured with `examples/msm_probe`; 16 windows of 16
/// bits also split evenly over two cores).
pub fn fast_window_bits(n: usize) -> usize {
    let log = usize::BITS as usize - n.leading_zeros() as usize; // ⌈log2(n + 1)⌉
    match log {
        0..=5 => 4,
        6..=12 => log - 1,
        13..=15 => 12,
        16..=17 => 15,
        _ => 16,
    }
}

/// `Σ scalars[i] · bases[i]`; the slices have the same length. Portable (any
/// short-Weierstrass curve, any CPU).
pub fn msm<P: SWCurveConfig>(bases: &[Affine<P>], scalars: &[P::ScalarField]) -> Projective<P> {
    msm_with_window(bases, scalars, window_bits(bases.len()))
}

/// [`msm`] with a chosen window size `c` (2 to 20), for tuning.
pub fn msm_with_window<P: SWCurveConfig>(
    bases: &[Affine<P>],
    scalars: &[P::ScalarField],
    c: usize,
) -> Projective<P> {
    msm_on(Generic, bases, scalars, c)
}

/// The bucket MSM with the base field's products from `products`.
fn msm_on<P: SWCurveConfig, A: Products<P::BaseField>>(
    products: A,
    bases: &[Affine<P>],
    scalars: &[P::ScalarField],
    c: usize,
) -> Projective<P> {
    debug_assert_eq!(bases.len(), scalars.len());
    let n = bases.len();
    if n < SMALL {
        return bases
            .iter()
            .zip(scalars)
            .map(|(b, s)| b.mul_bigint(s.into_bigint()))
            .sum();
    }
    let c = c.clamp(2, 20);
    let digits = signed_digits::<P::ScalarField>(scalars, c);
    let windows = digits.len() / n;
    let sums: Vec<Projective<P>> = (0..windows)
        .into_par_iter()
        .map(|w| window_sum(products, bases, &digits[w * n..(w + 1) * n], c))
        .collect();
    horner(&sums, c)
}

/// A group index that names no group: the point is left out.
pub const NO_GROUP: u32 = u32::MAX;

/// Each group's sum: `out[g] = Σ bases[i]` over the `i` with `groups[i] == g`
/// (`g < count`; [`NO_GROUP`] and any index past `count` leave the point
/// out), in BN254's G1. For an MSM whose scalars repeat: `Σ s_i·P_i` is
/// `Σ_v v·(Σ_{s_i = v} P_i)` over the distinct values v, so a group's points
/// are added once here instead of once per window of the MSM.
///
/// Batch-affine additions, as the MSM's buckets (a group's first point costs
/// nothing), on the scalar path's products; the groups are cut into one
/// range per thread, each thread reading every index and adding its own.
pub fn group_sums_g1(bases: &[G1Affine], groups: &[u32], count: usize) -> Vec<G1Affine> {
    group_sums_on(crate::scalar_arithmetic(), bases, groups, count)
}

/// [`group_sums_g1`] in G2.
pub fn group_sums_g2(bases: &[G2Affine], groups: &[u32], count: usize) -> Vec<G2Affine> {
    group_sums_on(crate::scalar_arithmetic(), bases, groups, count)
}

#[cfg(target_arch = "x86_64")]
fn group_sums_on<P: SWCurveConfig>(
    scalar: Scalar,
    bases: &[Affine<P>],
    groups: &[u32],
    count: usize,
) -> Vec<Affine<P>>
where
    crate::adx::Adx: Products<P::BaseField>,
{
    match scalar {
        Scalar::Adx(token) => group_sums_with(token, bases, groups, count),
        Scalar::Generic => group_sums_with(Generic, bases, groups, count),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn group_sums_on<P: SWCurveConfig>(
    _: Scalar,
    bases: &[Affine<P>],
    groups: &[u32],
    count: usize,
) -> Vec<Affine<P>> {
    group_sums_with(Generic, bases, groups, count)
}

fn group_sums_with<P: SWCurveConfig, A: Products<P::BaseField>>(
    products: A,
    bases: &[Affine<P>],
    groups: &[u32],
    count: usize,
) -> Vec<Affine<P>> {
    debug_assert_eq!(bases.len(), groups.len());
    if count == 0 {
        return Vec::new();
    }
    let per = count.div_ceil(rayon::current_num_threads().clamp(1, count));
    let sums: Vec<Vec<Affine<P>>> = (0..count.div_ceil(per))
        .into_par_iter()
        .map(|part| {
            let first = part * per;
            let len = per.min(count - first);
            let mut buckets = Buckets::new(products, len);
            for (base, &g) in bases.iter().zip(groups) {
                let j = (g as usize).wrapping_sub(first);
                if j < len && !base.is_zero() {
                    buckets.add(j, *base);
                }
            }
            buckets.finish();
            let mut sums = std::mem::take(&mut buckets.sums);
            // Groups too hot to batch were summed in projective form.
            for (j, extra) in std::mem::take(&mut buckets.spill) {
                sums[j] = (extra + sums[j]).into_affine();
            }
            sums
        })
        .collect();
    sums.concat()
}

/// The buckets of one window, with the batch of additions not yet applied.
struct Buckets<P: SWCurveConfig, A> {
    products: A,
    sums: Vec<Affine<P>>,
    /// Buckets with an addition in the current batch: a second one must wait,
    /// since the batch reads each bucket's value once.
    busy: Vec<bool>,
    batch: Vec<(usize, Affine<P>)>,
    /// Batch length at which it is flushed ([`batch_limit`]).
    limit: usize,
    waiting: Vec<(usize, Affine<P>)>,
    denominators: Vec<P::BaseField>,
    /// Prefix products for the batch inversion, kept to avoid reallocating.
    prefix: Vec<P::BaseField>,
    /// Projective spill-over for buckets too hot to batch (the top window of a
    /// scalar has only a few distinct digits): bucket j is `sums[j] + spill[j]`.
    spill: Vec<(usize, Projective<P>)>,
}

impl<P: SWCurveConfig, A: Products<P::BaseField>> Buckets<P, A> {
    fn new(products: A, count: usize) -> Self {
        Self {
            products,
            sums: vec![Affine::identity(); count],
            busy: vec![false; count],
            batch: Vec::with_capacity(BATCH),
            limit: batch_limit(count),
            waiting: Vec::new(),
            denominators: Vec::with_capacity(BATCH),
            prefix: Vec::with_capacity(BATCH),
            spill: Vec::new(),
        }
    }

    /// `sums[bucket] += point`, now or in a later batch.
    fn add(&mut self, bucket: usize, point: Affine<P>) {
        if self.busy[bucket] {
            self.waiting.push((bucket, point));
        } else if self.sums[bucket].is_zero() {
            self.sums[bucket] = point;
        } else {
            self.busy[bucket] = true;
            self.batch.push((bucket, point));
            if self.batch.len() == self.limit {
                self.flush();
            }
        }
    }

    /// Applies every batched addition with one inversion.
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let f = self.products;
        self.denominators.clear();
        for (bucket, q) in &self.batch {
            let p = &self.sums[*bucket];
            let denominator = if p.x != q.x {
                f.sub(&q.x, &p.x)
            } else if p.y == q.y && !p.y.is_zero() {
                f.add(&p.y, &p.y) // doubling: λ = (3x² + a) / 2y
            } else {
                P::BaseField::ONE // p = -q: the sum is the identity, no slope needed
            };
            self.denominators.push(denominator);
        }
        f.invert_all(&mut self.denominators, &mut self.prefix);
        for ((bucket, q), inverse) in self.batch.drain(..).zip(&self.denominators) {
            let p = self.sums[bucket];
            self.busy[bucket] = false;
            let lambda = if p.x != q.x {
                f.mul(&f.sub(&q.y, &p.y), inverse)
            } else if p.y == q.y && !p.y.is_zero() {
                let x2 = f.square(&p.x);
                f.mul(&(x2.double() + x2 + P::COEFF_A), inverse)
            } else {
                self.sums[bucket] = Affine::identity();
                continue;
            };
            let x3 = f.sub(&f.sub(&f.square(&lambda), &p.x), &q.x);
            let y3 = f.sub(&f.mul(&lambda, &f.sub(&p.x, &x3)), &p.y);
            self.sums[bucket] = Affine::new_unchecked(x3, y3);
        }
    }

    /// Applies everything, including additions that had to wait. Waiting
    /// additions are retried in batches while that makes progress; when most of
    /// a round collides again (few distinct buckets), the rest is summed in
    /// projective form instead, so the cost stays linear.
    fn finish(&mut self) {
        self.flush();
        while !self.waiting.is_empty() {
            let before = self.waiting.len();
            for (bucket, point) in std::mem::take(&mut self.waiting) {
                self.add(bucket, point);
            }
            self.flush();
            if self.waiting.len() * 2 > before {
                let mut spill = vec![Projective::<P>::zero(); self.sums.len()];
                for (bucket, point) in self.waiting.drain(..) {
                    spill[bucket] += point;
                }
                self.spill = spill
                    .into_iter()
                    .enumerate()
                    .filter(|(_, p)| !p.is_zero())
                    .collect();
            }
        }
    }
}

impl<P: SWCurveConfig, A: Products<P::BaseField>> Buckets<P, A> {
    /// Σ (j + 1)·bucket_j (spill included), with batch-affine additions.
    ///
    /// The running-sum reduction (running += bucket_j, sum += running, from
    /// the top bucket down) is a chain of dependent additions, which cannot
    /// share inversions. So the buckets are cut into G segments of L, each
    /// reduced by its own chain, and the G chains advance together: every step
    /// is two batches of G independent additions sharing an inversion each
    /// (about 6 products per addition against 11 and 16 for the mixed and full
    /// projective additions of [`weighted_sum`]). Segment g yields its weighted
    /// sum S_g = Σ (j - gL + 1)·bucket_j and its total T_g; the whole is
    /// Σ S_g + L·Σ g·T_g, the last G-term sum in projective form. The same
    /// reduction as the IFMA path's.
    fn reduce(&self) -> Projective<P> {
        let Some((segments, length)) = reduction_segments(self.sums.len()) else {
            return weighted_sum(&self.sums, &self.spill);
        };
        // Chains: running totals at [0, G), sums at [G, 2G). No two additions
        // of one batch share a target, so none waits, and a batch of G is
        // applied in one flush.
        let mut chains = Buckets::<P, A>::new(self.products, 2 * segments);
        chains.limit = segments;
        for t in 0..length {
            for g in 0..segments {
                let bucket = self.sums[(g + 1) * length - 1 - t];
                if !bucket.is_zero() {
                    chains.add(g, bucket);
                }
            }
            chains.flush();
            for g in 0..segments {
                let running = chains.sums[g];
                if !running.is_zero() {
                    chains.add(segments + g, running);
                }
            }
            chains.flush();
        }
        debug_assert!(chains.waiting.is_empty());
        combine_segments(
            segments,
            length,
            |g| chains.sums[g],
            |g| chains.sums[segments + g],
            &self.spill,
        )
    }
}

/// [`window_sum`] on `scalar`'s products: Σ digit_i · bases_i for digits in
/// `[-(2^(c-1) - 1), 2^(c-1)]`, one thread.
#[cfg(target_arch = "x86_64")]
pub(crate) fn window_sum_on<P: SWCurveConfig>(
    scalar: Scalar,
    bases: &[Affine<P>],
    digits: &[i32],
    c: usize,
) -> Projective<P>
where
    crate::adx::Adx: Products<P::BaseField>,
{
    match scalar {
        Scalar::Adx(token) => window_sum(token, bases, digits, c),
        Scalar::Generic => window_sum(Generic, bases, digits, c),
    }
}

/// [`window_sum`] on arkworks' products (no assembly off x86-64).
#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn window_sum_on<P: SWCurveConfig>(
    _: Scalar,
    bases: &[Affine<P>],
    digits: &[i32],
    c: usize,
) -> Projective<P> {
    window_sum(Generic, bases, digits, c)
}

/// How many points ahead the bucket of a coming point is prefetched.
const PREFETCH_AHEAD: usize = 8;

/// Σ over points of digit · point for one window.
fn window_sum<P: SWCurveConfig, A: Products<P::BaseField>>(
    products: A,
    bases: &[Affine<P>],
    digits: &[i32],
    c: usize,
) -> Projective<P> {
    let mut buckets = Buckets::<P, A>::new(products, 1 << (c - 1));
    for (i, (point, &digit)) in bases.iter().zip(digits).enumerate() {
        // Buckets are hit at random: start fetching a coming point's bucket now.
        if let Some(&ahead) = digits.get(i + PREFETCH_AHEAD) {
            if ahead != 0 {
                prefetch(&buckets.sums[ahead.unsigned_abs() as usize - 1]);
            }
        }
        if digit == 0 || point.is_zero() {
            continue;
        }
        let bucket = digit.unsigned_abs() as usize - 1;
        buckets.add(bucket, if digit < 0 { -*point } else { *point });
    }
    buckets.finish();
    buckets.reduce()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::Fr;
    use ark_ff::BigInt;

    #[test]
    fn signed_digits_recompose_the_scalar() {
        let scalars = [
            Fr::from(0u64),
            Fr::from(1u64),
            -Fr::from(1u64),
            Fr::from(u64::MAX),
            Fr::from(12345678901234567u64),
        ];
        for c in [2usize, 3, 7, 13, 16] {
            let digits = signed_digits(&scalars, c);
            let windows = digits.len() / scalars.len();
            for (i, s) in scalars.iter().enumerate() {
                let mut value = Fr::from(0u64);
                let base = Fr::from(BigInt::<4>::from(1u64 << c));
                for w in (0..windows).rev() {
                    let d = digits[w * scalars.len() + i];
                    assert!(d.unsigned_abs() <= 1 << (c - 1));
                    value = value * base
                        + if d < 0 {
                            -Fr::from(d.unsigned_abs())
                        } else {
                            Fr::from(d as u64)
                        };
                }
                assert_eq!(value, *s, "c = {c}");
            }
        }
    }

    /// Group sums against a plain projective sum per group, on every scalar
    /// arithmetic this CPU has: groups of one, groups left empty, points
    /// outside every group ([`NO_GROUP`] or past the count), the identity,
    /// a point and its negation in one group (their sum is the identity),
    /// a point twice (a doubling), and one group so hot that most of its
    /// additions wait and spill into projective form.
    #[test]
    fn group_sums_are_each_group_s_sum() {
        use ark_ec::CurveGroup;
        use ark_ff::UniformRand;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let count = 700;
        let mut bases: Vec<G1Affine> = (0..5000).map(|_| G1Affine::rand(&mut rng)).collect();
        let mut groups: Vec<u32> = (0..bases.len())
            .map(|i| match i % 10 {
                0..=3 => 0, // the hot group
                4 => NO_GROUP,
                5 => count as u32 + 3, // past the count: left out
                _ => rng.gen_range(1..count as u32 - 1),
            })
            .collect();
        bases[7] = G1Affine::identity();
        groups[7] = 5;
        (bases[20], bases[21], groups[20], groups[21]) = (bases[9], -bases[9], 1, 1);
        groups[9] = NO_GROUP;
        (bases[30], bases[31], groups[30], groups[31]) = (bases[8], bases[8], 2, 2);
        groups[8] = NO_GROUP;
        // Group count - 1 is never used: its sum is the identity.
        let mut expected = vec![G1Projective::zero(); count];
        for (b, &g) in bases.iter().zip(&groups) {
            if (g as usize) < count {
                expected[g as usize] += b;
            }
        }
        let expected = G1Projective::normalize_batch(&expected);
        assert!(expected[count - 1].is_zero());
        let g2: Vec<G2Affine> = (0..300).map(|_| G2Affine::rand(&mut rng)).collect();
        let g2_groups: Vec<u32> = (0..g2.len() as u32).map(|i| i % 7 % 4).collect();
        let mut g2_expected = vec![G2Projective::zero(); 4];
        for (b, &g) in g2.iter().zip(&g2_groups) {
            g2_expected[g as usize] += b;
        }
        for arithmetic in crate::every_arithmetic() {
            let scalar = match arithmetic {
                Arithmetic::Portable(scalar) => scalar,
                #[cfg(target_arch = "x86_64")]
                Arithmetic::Ifma(_) => continue,
            };
            assert_eq!(
                group_sums_on(scalar, &bases, &groups, count),
                expected,
                "{scalar:?}"
            );
            let sums = group_sums_on(scalar, &g2, &g2_groups, 4);
            assert_eq!(
                sums,
                G2Projective::normalize_batch(&g2_expected),
                "{scalar:?}"
            );
        }
        assert!(group_sums_g1(&bases, &groups, 0).is_empty());
        // One group: the whole sum.
        let all = group_sums_g1(&bases[..100], &[0; 100], 1);
        assert_eq!(
            all[0],
            bases[..100]
                .iter()
                .map(|b| b.into_group())
                .sum::<G1Projective>()
                .into_affine()
        );
    }
}
