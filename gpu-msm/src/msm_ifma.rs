//! The BN254 bucket MSM of [`crate::msm`] (G1 and G2) on AVX-512 IFMA: the
//! same signed digits, windows and batch-affine additions, with the batch's
//! field arithmetic done eight additions at a time ([`crate::ifma`]), and the
//! bucket reduction in batch-affine additions as well (see
//! `Buckets::reduce`). Only the combination of windows stays in arkworks'
//! projective arithmetic.
//!
//! A batch is kept column-wise (limb k of every pending addition's coordinate
//! in one array), so that eight consecutive additions load as one vector per
//! limb. The batch inversion runs as eight interleaved chains, one per lane,
//! whose eight products share a single field inversion. Doublings (p = q)
//! join the batch with their own slope; cancellations (p = -q) empty the
//! bucket at once.
//!
//! The coordinate field is a parameter ([`Coordinate`]): Fq for G1, and
//! Fq2 = Fq[u]/(u² + 1) for G2, whose elements are pairs of Fq vectors.

use ark_bn254::{Fq, FqConfig, Fr};
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{Field, MontConfig, Zero};
use rayon::prelude::*;
use std::arch::x86_64::{__m512i, __mmask8, _mm512_loadu_si512};

use crate::bucket::{
    batch_limit, combine_segments, horner, prefetch, reduction_segments, signed_digits,
    weighted_sum,
};
use crate::curve_ifma::{affine_from_52, negate_limbs, Coordinate};
use crate::ifma::{self, Consts8, Field52, LANES, LIMBS};

/// Limbs of the largest point (G2: x and y, two Fq parts each).
const MAX_POINT: usize = 4 * LIMBS;
/// How many points ahead a coming point's bucket is prefetched.
const PREFETCH_AHEAD: usize = 16;
/// `Σ scalars[i] · bases[i]` with window size `c`, on a BN254 curve whose
/// coordinates are `C`, on the CPU `_ifma` vouches for; `None` for a curve
/// with a ≠ 0 (the caller then takes the portable path).
pub(crate) fn msm<P, C>(
    _ifma: ifma::Ifma,
    bases: &[Affine<P>],
    scalars: &[Fr],
    c: usize,
) -> Option<Projective<P>>
where
    P: SWCurveConfig<ScalarField = Fr>,
    C: Coordinate<Ark = P::BaseField>,
{
    // The doubling formula in `flush` assumes a = 0 (true of both BN254 groups).
    if !P::COEFF_A.is_zero() {
        return None;
    }
    // Fq2's arithmetic above assumes u² = -1.
    debug_assert_eq!(
        <ark_bn254::Fq2Config as ark_ff::Fp2Config>::NONRESIDUE,
        -Fq::ONE
    );
    let field = Field52::new(FqConfig::MODULUS.0);
    let n = bases.len();
    let points = to_ifma_form::<P, C>(bases);
    let digits = signed_digits(scalars, c);
    let windows = digits.len() / n;
    let sums: Vec<Projective<P>> = (0..windows)
        .into_par_iter()
        .map(|w| {
            // SAFETY: the `Ifma` token proves the CPU has the instructions.
            unsafe { window_sum::<P, C>(bases, &points, &digits[w * n..(w + 1) * n], c, &field) }
        })
        .collect();
    Some(horner(&sums, c))
}

/// Every base in IFMA form, x then y, `2 * WIDTH` limbs per point (the point
/// at infinity as zeros; the window loop skips it by its flag).
fn to_ifma_form<P, C>(bases: &[Affine<P>]) -> Vec<u64>
where
    P: SWCurveConfig,
    C: Coordinate<Ark = P::BaseField>,
{
    let stride = 2 * C::WIDTH;
    let mut points = vec![0u64; bases.len() * stride];
    points
        .par_chunks_mut(stride * 1024)
        .zip(bases.par_chunks(1024))
        .for_each(|(out, bases)| {
            for (out, base) in out.chunks_exact_mut(stride).zip(bases) {
                if !base.is_zero() {
                    C::to_52(&base.x, &mut out[..C::WIDTH]);
                    C::to_52(&base.y, &mut out[C::WIDTH..]);
                }
            }
        });
    points
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Empty,
    Full,
    /// Full, with an addition in the current batch: a second one must wait,
    /// since the batch reads the bucket's value once.
    Busy,
}

struct Buckets<'a, P: SWCurveConfig, C: Coordinate> {
    field: &'a Field52,
    c: Consts8,
    /// Bucket j's point at `sums[j * 2 * WIDTH..]`; one more slot, all
    /// zeros, at the end: the p of a batch's padding lanes.
    sums: Vec<u64>,
    state: Vec<State>,
    /// The batch: bucket of each pending addition, and its operands column-wise
    /// (px, py, qx, qy, each WIDTH columns of `stride` entries). `add` writes
    /// q there; the flush gathers p from the buckets itself, eight lanes at a
    /// time (copying p in `add`, load by load behind the bucket's cache miss,
    /// cost a fifth of the MSM), and keeps it in the columns for its last pass.
    len: usize,
    /// Batch length at which it is flushed.
    limit: usize,
    /// Entries per column (the limit rounded up to whole vectors).
    stride: usize,
    bucket: Vec<u32>,
    /// Whether each pending addition is a doubling (p = q).
    doubling: Vec<bool>,
    /// The points [`Buckets::add_from`] adds (IFMA form, `2 * WIDTH` limbs
    /// each): empty for buckets that only `add`.
    source: &'a [u64],
    /// Whether each pending addition's q is to be gathered from `source`
    /// (at `from`, and negated where `negate`) rather than read from the
    /// columns, where `add` wrote it.
    from_source: Vec<bool>,
    from: Vec<u64>,
    negate: Vec<bool>,
    columns: Vec<u64>,
    denominators: Vec<u64>,
    prefix: Vec<u64>,
    /// Additions that met a busy bucket: their buckets, and their points
    /// (`2 * WIDTH` limbs each).
    waiting: Vec<u32>,
    waiting_points: Vec<u64>,
    /// Projective spill-over for buckets too hot to batch, as in `crate::msm`.
    spill: Vec<(usize, Projective<P>)>,
    _coordinate: std::marker::PhantomData<C>,
}

impl<'a, P, C> Buckets<'a, P, C>
where
    P: SWCurveConfig,
    C: Coordinate<Ark = P::BaseField>,
{
    const POINT: usize = 2 * C::WIDTH;
    const PX: usize = 0;
    const PY: usize = C::WIDTH;
    const QX: usize = 2 * C::WIDTH;
    const QY: usize = 3 * C::WIDTH;

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn new(count: usize, limit: usize, field: &'a Field52, source: &'a [u64]) -> Self {
        // Columns of `stride` entries: the limit, rounded up to whole vectors.
        let stride = limit.next_multiple_of(LANES);
        Self {
            field,
            c: Consts8::new(field),
            sums: vec![0; (count + 1) * Self::POINT],
            state: vec![State::Empty; count],
            len: 0,
            limit,
            stride,
            bucket: vec![0; stride],
            doubling: vec![false; stride],
            source,
            from_source: vec![false; stride],
            from: vec![0; stride],
            negate: vec![false; stride],
            columns: vec![0; 4 * C::WIDTH * stride],
            denominators: vec![0; C::WIDTH * stride],
            prefix: vec![0; C::WIDTH * stride],
            waiting: Vec::new(),
            waiting_points: Vec::new(),
            spill: Vec::new(),
            _coordinate: std::marker::PhantomData,
        }
    }

    /// `sums[bucket] += q`, now or in a later batch.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn add(&mut self, bucket: usize, q: &[u64]) {
        let (w, point) = (C::WIDTH, Self::POINT);
        let p = &mut self.sums[bucket * point..(bucket + 1) * point];
        match self.state[bucket] {
            State::Busy => {
                self.waiting.push(bucket as u32);
                self.waiting_points.extend_from_slice(q);
            }
            State::Empty => {
                p.copy_from_slice(q);
                self.state[bucket] = State::Full;
            }
            State::Full => {
                let doubling = p[..w] == q[..w];
                if doubling && p[w..] != q[w..] {
                    // Same x, other y (elements are fully reduced, so limbs
                    // compare as values): q = -p, the sum is the identity.
                    self.state[bucket] = State::Empty;
                    return;
                }
                let j = self.len;
                let q = &q[..point];
                let (columns, stride) = (self.columns.as_mut_ptr(), self.stride);
                for (k, &limb) in q.iter().enumerate() {
                    // SAFETY: j < limit <= stride (a full batch is flushed at once) and
                    // QX + k < 4·WIDTH: inside the 4·WIDTH columns of `stride`.
                    unsafe { *columns.add((Self::QX + k) * stride + j) = limb };
                }
                self.bucket[j] = bucket as u32;
                self.doubling[j] = doubling;
                self.from_source[j] = false;
                self.from[j] = 0;
                self.negate[j] = false;
                self.state[bucket] = State::Busy;
                self.len += 1;
                if self.len == self.limit {
                    self.flush();
                }
            }
        }
    }

    /// `sums[bucket] += ±q`, q the point at `source[at..]`, negated where
    /// `negate`: as [`Buckets::add`], but the common case (a full bucket, q's
    /// x another) records only where q is, and the flush gathers it and
    /// negates its y eight lanes at a time. Copying q limb by limb here,
    /// negated where asked, was an eighth of the MSM.
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    fn add_from(&mut self, bucket: usize, at: usize, negate: bool) {
        let (w, point) = (C::WIDTH, Self::POINT);
        let source = self.source;
        let q = &source[at..at + point];
        if self.state[bucket] == State::Full && self.sums[bucket * point..][..w] != q[..w] {
            let j = self.len;
            self.bucket[j] = bucket as u32;
            self.doubling[j] = false;
            self.from_source[j] = true;
            self.from[j] = at as u64;
            self.negate[j] = negate;
            self.state[bucket] = State::Busy;
            self.len += 1;
            if self.len == self.limit {
                self.flush();
            }
            return;
        }
        // An empty or busy bucket, or an equal x (a doubling or the
        // identity): the point as it is, through `add`.
        let mut actual = [0u64; MAX_POINT];
        actual[..w].copy_from_slice(&q[..w]);
        for part in (w..point).step_by(LIMBS) {
            let y = &q[part..part + LIMBS];
            let y = if negate {
                negate_limbs(&self.field.p, y)
            } else {
                y.try_into().expect("five limbs")
            };
            actual[part..part + LIMBS].copy_from_slice(&y);
        }
        self.add(bucket, &actual[..point]);
    }

    /// Applies every batched addition with one inversion.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn flush(&mut self) {
        if self.len == 0 {
            return;
        }
        let (c, stride) = (self.c, self.stride);
        let rows = self.len.div_ceil(LANES);
        // Padding lanes add (0, 0) (the zero slot after the buckets) to
        // (1, 0): a non-zero denominator, results unused.
        let zero_slot = self.state.len() as u32;
        for j in self.len..rows * LANES {
            self.doubling[j] = false;
            self.from_source[j] = false;
            self.from[j] = 0;
            self.negate[j] = false;
            self.bucket[j] = zero_slot;
            for k in Self::QX..4 * C::WIDTH {
                self.columns[k * stride + j] = 0;
            }
            for k in 0..LIMBS {
                self.columns[(Self::QX + k) * stride + j] = self.field.one[k];
            }
        }
        // Each lane's bucket, as offsets of its limbs in `sums`.
        let offsets = |at: usize| -> __m512i {
            let offsets: [i64; LANES] =
                std::array::from_fn(|l| self.bucket[at + l] as i64 * Self::POINT as i64);
            // SAFETY: eight i64 are 64 bytes, read unaligned.
            unsafe { _mm512_loadu_si512(offsets.as_ptr().cast()) }
        };
        let sums = self.sums.as_ptr();
        // Each lane's q in `source` (0 for lanes whose q is in the columns:
        // read, then not used).
        let froms = |at: usize| -> __m512i {
            let offsets: [u64; LANES] = std::array::from_fn(|l| self.from[at + l]);
            // SAFETY: eight u64 are 64 bytes, read unaligned.
            unsafe { _mm512_loadu_si512(offsets.as_ptr().cast()) }
        };
        let mask_of = |flags: &[bool], at: usize| -> __mmask8 {
            (0..LANES).fold(0, |mask, l| mask | ((flags[at + l] as u8) << l))
        };
        let source = self.source.as_ptr();
        let columns = self.columns.as_mut_ptr();
        let denominators = self.denominators.as_mut_ptr();
        let prefix = self.prefix.as_mut_ptr();
        let (mut xs, mut ys) = (vec![0u64; LANES * C::WIDTH], vec![0u64; LANES * C::WIDTH]);
        // SAFETY (all loads and stores below): every array holds WIDTH (or
        // 4·WIDTH) columns of `stride` entries, and `at + LANES <= rows * LANES <= stride`.
        unsafe {
            let column = |first: usize| columns.add(first * stride);
            // Denominators qx - px, or 2·py for a doubling (never zero: equal x
            // enters a batch only as a doubling, and no point of a prime-order
            // group has y = 0), and the running products of each lane's chain.
            let mut product = C::one(&c);
            for row in 0..rows {
                let at = row * LANES;
                // p from the buckets (every lane's limbs inside `sums`),
                // kept in the columns for the last pass.
                let index = offsets(at);
                let px = C::gather(sums, index);
                let py = C::gather(sums.add(C::WIDTH), index);
                C::store(&px, column(Self::PX), stride, at);
                C::store(&py, column(Self::PY), stride, at);
                let gathered = mask_of(&self.from_source, at);
                let qx = if gathered == 0 {
                    C::load(column(Self::QX), stride, at)
                } else {
                    // Lanes from `source` (inside it, as `add_from` found),
                    // their y negated where asked; kept for the last pass.
                    let index = froms(at);
                    let mut qx = C::gather(source, index);
                    let mut qy = C::gather(source.add(C::WIDTH), index);
                    if gathered != 0xff {
                        qx = C::select(gathered, &qx, &C::load(column(Self::QX), stride, at));
                        qy = C::select(gathered, &qy, &C::load(column(Self::QY), stride, at));
                    }
                    let negate = mask_of(&self.negate, at);
                    if negate != 0 {
                        let zero = C::sub(&qy, &qy, &c);
                        qy = C::select(negate, &C::sub(&zero, &qy, &c), &qy);
                    }
                    C::store(&qx, column(Self::QX), stride, at);
                    C::store(&qy, column(Self::QY), stride, at);
                    qx
                };
                let mut d = C::sub(&qx, &px, &c);
                let mask = mask_of(&self.doubling, at);
                if mask != 0 {
                    d = C::select(mask, &C::add(&py, &py, &c), &d);
                }
                C::store(&d, denominators, stride, at);
                C::store(&product, prefix, stride, at);
                product = C::mul(&product, &d, &c);
            }
            // Walk back: the inverse of the running product gives each inverse.
            let mut inverse = C::invert_lanes(&product, &c);
            for row in (0..rows).rev() {
                let at = row * LANES;
                let d = C::load(denominators, stride, at);
                let before = C::load(prefix, stride, at);
                C::store(&C::mul(&inverse, &before, &c), denominators, stride, at);
                inverse = C::mul(&inverse, &d, &c);
            }
            for row in 0..rows {
                let at = row * LANES;
                let px = C::load(column(Self::PX), stride, at);
                let py = C::load(column(Self::PY), stride, at);
                let qx = C::load(column(Self::QX), stride, at);
                let qy = C::load(column(Self::QY), stride, at);
                let inverse = C::load(denominators, stride, at);
                // λ = (qy - py) / (qx - px), or 3·px² / (2·py) for a doubling
                // (a = 0 on both curves); x3 = λ² - px - qx; y3 = λ(px - x3) - py.
                let mut numerator = C::sub(&qy, &py, &c);
                let mask = mask_of(&self.doubling, at);
                if mask != 0 {
                    let square = C::square(&px, &c);
                    let triple = C::add(&C::add(&square, &square, &c), &square, &c);
                    numerator = C::select(mask, &triple, &numerator);
                }
                let lambda = C::mul(&numerator, &inverse, &c);
                let x3 = C::sub(&C::sub(&C::square(&lambda, &c), &px, &c), &qx, &c);
                let y3 = C::sub(&C::mul(&lambda, &C::sub(&px, &x3, &c), &c), &py, &c);
                C::lanes(&x3, &mut xs);
                C::lanes(&y3, &mut ys);
                let w = C::WIDTH;
                for l in 0..LANES.min(self.len - at) {
                    let bucket = self.bucket[at + l] as usize;
                    let sum = &mut self.sums[bucket * Self::POINT..(bucket + 1) * Self::POINT];
                    sum[..w].copy_from_slice(&xs[l * w..(l + 1) * w]);
                    sum[w..].copy_from_slice(&ys[l * w..(l + 1) * w]);
                    self.state[bucket] = State::Full;
                }
            }
        }
        self.len = 0;
    }

    /// Applies everything, including additions that had to wait (as in `crate::msm`).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn finish(&mut self) {
        self.flush();
        while !self.waiting.is_empty() {
            let before = self.waiting.len();
            let buckets = std::mem::take(&mut self.waiting);
            let points = std::mem::take(&mut self.waiting_points);
            for (bucket, point) in buckets.iter().zip(points.chunks_exact(Self::POINT)) {
                self.add(*bucket as usize, point);
            }
            self.flush();
            if self.waiting.len() * 2 > before {
                let mut spill = vec![Projective::<P>::zero(); self.state.len()];
                let points = std::mem::take(&mut self.waiting_points);
                for (bucket, point) in self.waiting.drain(..).zip(points.chunks_exact(Self::POINT))
                {
                    spill[bucket as usize] += affine_from_52::<P, C>(point);
                }
                self.spill = spill
                    .into_iter()
                    .enumerate()
                    .filter(|(_, p)| !p.is_zero())
                    .collect();
            }
        }
    }

    /// Bucket j in arkworks' form.
    fn get(&self, j: usize) -> Affine<P> {
        match self.state[j] {
            State::Empty => Affine::identity(),
            _ => affine_from_52::<P, C>(&self.sums[j * Self::POINT..(j + 1) * Self::POINT]),
        }
    }

    /// Σ (j + 1)·bucket_j (spill included), with batch-affine additions.
    ///
    /// The running-sum reduction (running += bucket_j, sum += running, from
    /// the top bucket down) is a chain of dependent additions; here the buckets
    /// are cut into G segments of L, each reduced by its own chain, and the G
    /// chains advance together, so every step is two batches of G independent
    /// additions sharing an inversion each. Segment g yields its sum S_g =
    /// Σ (j - gL + 1)·bucket_j and its total T_g; the whole is
    /// Σ S_g + L·Σ g·T_g, the last G-term sum in projective form.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn reduce(&self) -> Projective<P> {
        let Some((segments, length)) = reduction_segments(self.state.len()) else {
            return weighted_sum(&self.to_affine(), &self.spill);
        };
        // Chains: running totals at [0, G), sums at [G, 2G); no two additions
        // of one batch share a target, so a batch never waits.
        let mut chains = Buckets::<P, C>::new(2 * segments, segments, self.field, &[]);
        let mut running = vec![0u64; Self::POINT];
        for t in 0..length {
            for g in 0..segments {
                let j = (g + 1) * length - 1 - t;
                if self.state[j] != State::Empty {
                    chains.add(g, &self.sums[j * Self::POINT..(j + 1) * Self::POINT]);
                }
            }
            chains.flush();
            for g in 0..segments {
                if chains.state[g] != State::Empty {
                    running.copy_from_slice(&chains.sums[g * Self::POINT..(g + 1) * Self::POINT]);
                    chains.add(segments + g, &running);
                }
            }
            chains.flush();
        }
        debug_assert!(chains.waiting.is_empty());
        combine_segments(
            segments,
            length,
            |g| chains.get(g),
            |g| chains.get(segments + g),
            &self.spill,
        )
    }

    /// The buckets in arkworks' form, for the reduction.
    fn to_affine(&self) -> Vec<Affine<P>> {
        self.sums
            .chunks_exact(Self::POINT)
            .zip(&self.state)
            .map(|(p, state)| match state {
                State::Empty => Affine::identity(),
                _ => affine_from_52::<P, C>(p),
            })
            .collect()
    }
}

/// Σ over points of digit · point for one window.
#[target_feature(enable = "avx512f,avx512ifma")]
fn window_sum<P, C>(
    bases: &[Affine<P>],
    points: &[u64],
    digits: &[i32],
    c: usize,
    field: &Field52,
) -> Projective<P>
where
    P: SWCurveConfig,
    C: Coordinate<Ark = P::BaseField>,
{
    let stride = 2 * C::WIDTH;
    let count = 1 << (c - 1);
    let mut buckets = Buckets::<P, C>::new(count, batch_limit(count), field, points);
    for (i, (base, &digit)) in bases.iter().zip(digits).enumerate() {
        // Buckets are hit at random (a miss to L3 each): fetch a coming one's now.
        if let Some(&ahead) = digits.get(i + PREFETCH_AHEAD) {
            if ahead != 0 {
                let bucket = ahead.unsigned_abs() as usize - 1;
                for line in (0..stride).step_by(8) {
                    prefetch(&buckets.sums[bucket * stride + line]);
                }
                prefetch(&buckets.state[bucket]);
            }
        }
        if digit == 0 || base.is_zero() {
            continue;
        }
        // -P = (x, -y): negated on the way into the bucket.
        buckets.add_from(digit.unsigned_abs() as usize - 1, i * stride, digit < 0);
    }
    buckets.finish();
    buckets.reduce()
}
