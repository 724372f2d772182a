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

use ark_bn254::{Fq, Fq2, FqConfig, Fr};
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, PrimeGroup};
use ark_ff::{AdditiveGroup, BigInt, Field, MontConfig, Zero};
use rayon::prelude::*;
use std::arch::x86_64::__mmask8;
use std::sync::LazyLock;

use crate::ifma::{self, Consts8, Fe8, Field52, LANES, LIMBS};
use crate::msm::{batch_limit, horner, prefetch, signed_digits, weighted_sum, BATCH};

/// How many points ahead a coming point's bucket is prefetched.
const PREFETCH_AHEAD: usize = 16;

/// A coordinate field on IFMA vectors: Fq (five 52-bit limbs) or Fq2 (ten).
pub(crate) trait Coordinate {
    /// arkworks' element type.
    type Ark: Field;
    /// Eight elements in vectors.
    type Vector: Copy;
    /// 52-bit limbs per element.
    const WIDTH: usize;

    /// The element into `out` (WIDTH limbs), in IFMA form (x·2^260 per Fq part).
    fn to_52(x: &Self::Ark, out: &mut [u64]);
    /// The inverse of [`Coordinate::to_52`].
    fn from_52(limbs: &[u64]) -> Self::Ark;

    /// Loads WIDTH columns (`columns[k * stride + at ..][..8]`).
    ///
    /// # Safety
    /// The columns hold `(WIDTH - 1) * stride + at + 8` elements.
    unsafe fn load(columns: *const u64, stride: usize, at: usize) -> Self::Vector;
    /// Stores the way [`Coordinate::load`] reads.
    ///
    /// # Safety
    /// As for [`Coordinate::load`], for writes.
    unsafe fn store(v: &Self::Vector, columns: *mut u64, stride: usize, at: usize);
    // The arithmetic below needs AVX-512 IFMA: every method is `unsafe`, to be
    // called only with an `ifma::Ifma` token in hand.

    /// Every lane's limbs into `out`, lane l at `out[l * WIDTH..][..WIDTH]`.
    unsafe fn lanes(v: &Self::Vector, out: &mut [u64]);
    unsafe fn one(c: &Consts8) -> Self::Vector;
    unsafe fn mul(a: &Self::Vector, b: &Self::Vector, c: &Consts8) -> Self::Vector;
    unsafe fn square(a: &Self::Vector, c: &Consts8) -> Self::Vector;
    unsafe fn sub(a: &Self::Vector, b: &Self::Vector, c: &Consts8) -> Self::Vector;
    unsafe fn add(a: &Self::Vector, b: &Self::Vector, c: &Consts8) -> Self::Vector;
    /// Lanes in `mask` from `set`, the others from `clear`.
    unsafe fn select(mask: __mmask8, set: &Self::Vector, clear: &Self::Vector) -> Self::Vector;
    /// The lanes that are zero.
    unsafe fn zero_lanes(v: &Self::Vector) -> __mmask8;
    /// Each lane's inverse (no lane is zero).
    unsafe fn invert_lanes(v: &Self::Vector, c: &Consts8) -> Self::Vector;
}

/// `-y` on canonical 52-bit limbs (zero stays zero).
fn negate_limbs(p: &[u64; LIMBS], y: &[u64]) -> [u64; LIMBS] {
    let y: [u64; LIMBS] = y.try_into().expect("five limbs");
    if y == [0; LIMBS] {
        y
    } else {
        ifma::sub_limbs(p, &y)
    }
}

/// IFMA form back to arkworks, scalar: limbs V = x·2^260 read as arkworks' raw
/// limbs are the element 16x.
fn fq_from_52(v: &[u64]) -> Fq {
    static INVERSE_16: LazyLock<Fq> =
        LazyLock::new(|| Fq::from(16u64).inverse().expect("16 is invertible"));
    let v: [u64; LIMBS] = v.try_into().expect("five limbs");
    Fq::new_unchecked(BigInt(ifma::to_64(v))) * *INVERSE_16
}

/// Every lane of IFMA-form vectors to arkworks elements.
#[target_feature(enable = "avx512f,avx512ifma")]
fn lanes_to_ark(v: &Fe8, c: &Consts8) -> [Fq; LANES] {
    let lanes = ifma::to_ark(v, c).to_lanes();
    std::array::from_fn(|i| Fq::new_unchecked(BigInt(ifma::to_64(lanes[i]))))
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn lanes_from_ark(values: &[Fq; LANES], c: &Consts8) -> Fe8 {
    let raw: [[u64; LIMBS]; LANES] = std::array::from_fn(|i| ifma::to_52(values[i].0 .0));
    ifma::from_ark(&Fe8::from_lanes(&raw), c)
}

/// BN254's base field.
pub(crate) struct OverFq;

impl Coordinate for OverFq {
    type Ark = Fq;
    type Vector = Fe8;
    const WIDTH: usize = LIMBS;

    fn to_52(x: &Fq, out: &mut [u64]) {
        out.copy_from_slice(&ifma::from_ark_scalar(x));
    }
    fn from_52(limbs: &[u64]) -> Fq {
        fq_from_52(limbs)
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    unsafe fn load(columns: *const u64, stride: usize, at: usize) -> Fe8 {
        // SAFETY: the caller's promise; callers run with IFMA enabled.
        Fe8::load(columns, stride, at)
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    unsafe fn store(v: &Fe8, columns: *mut u64, stride: usize, at: usize) {
        // SAFETY: as for load.
        v.store(columns, stride, at)
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    unsafe fn lanes(v: &Fe8, out: &mut [u64]) {
        for (out, lane) in out.chunks_exact_mut(LIMBS).zip(v.to_lanes()) {
            out.copy_from_slice(&lane);
        }
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    unsafe fn one(c: &Consts8) -> Fe8 {
        c.one
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    unsafe fn mul(a: &Fe8, b: &Fe8, c: &Consts8) -> Fe8 {
        ifma::mul(a, b, c)
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    unsafe fn square(a: &Fe8, c: &Consts8) -> Fe8 {
        ifma::square(a, c)
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    unsafe fn sub(a: &Fe8, b: &Fe8, c: &Consts8) -> Fe8 {
        ifma::sub(a, b, c)
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    unsafe fn add(a: &Fe8, b: &Fe8, c: &Consts8) -> Fe8 {
        ifma::add(a, b, c)
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    unsafe fn select(mask: __mmask8, set: &Fe8, clear: &Fe8) -> Fe8 {
        ifma::select(mask, set, clear)
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    unsafe fn zero_lanes(v: &Fe8) -> __mmask8 {
        ifma::zero_lanes(v)
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn invert_lanes(v: &Fe8, c: &Consts8) -> Fe8 {
        let mut values = lanes_to_ark(v, c);
        ark_ff::batch_inversion(&mut values);
        lanes_from_ark(&values, c)
    }
}

/// BN254's quadratic extension Fq2 = Fq[u]/(u² + 1): (c0, c1) = c0 + c1·u.
pub(crate) struct OverFq2;

impl Coordinate for OverFq2 {
    type Ark = Fq2;
    type Vector = (Fe8, Fe8);
    const WIDTH: usize = 2 * LIMBS;

    fn to_52(x: &Fq2, out: &mut [u64]) {
        out[..LIMBS].copy_from_slice(&ifma::from_ark_scalar(&x.c0));
        out[LIMBS..].copy_from_slice(&ifma::from_ark_scalar(&x.c1));
    }
    fn from_52(limbs: &[u64]) -> Fq2 {
        Fq2::new(fq_from_52(&limbs[..LIMBS]), fq_from_52(&limbs[LIMBS..]))
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    unsafe fn load(columns: *const u64, stride: usize, at: usize) -> (Fe8, Fe8) {
        // SAFETY: the caller's promise covers both halves' columns.
        unsafe {
            (
                Fe8::load(columns, stride, at),
                Fe8::load(columns.add(LIMBS * stride), stride, at),
            )
        }
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    unsafe fn store(v: &(Fe8, Fe8), columns: *mut u64, stride: usize, at: usize) {
        // SAFETY: as for load.
        unsafe {
            v.0.store(columns, stride, at);
            v.1.store(columns.add(LIMBS * stride), stride, at);
        }
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    unsafe fn lanes(v: &(Fe8, Fe8), out: &mut [u64]) {
        let (c0, c1) = (v.0.to_lanes(), v.1.to_lanes());
        for (l, out) in out.chunks_exact_mut(2 * LIMBS).enumerate() {
            out[..LIMBS].copy_from_slice(&c0[l]);
            out[LIMBS..].copy_from_slice(&c1[l]);
        }
    }
    #[inline(always)]
    unsafe fn one(c: &Consts8) -> (Fe8, Fe8) {
        (c.one, ifma::sub(&c.one, &c.one, c))
    }
    #[inline(always)]
    unsafe fn mul(a: &(Fe8, Fe8), b: &(Fe8, Fe8), c: &Consts8) -> (Fe8, Fe8) {
        // Karatsuba: a0b0 - a1b1, (a0 + a1)(b0 + b1) - a0b0 - a1b1.
        let v0 = ifma::mul(&a.0, &b.0, c);
        let v1 = ifma::mul(&a.1, &b.1, c);
        let cross = ifma::mul(&ifma::add(&a.0, &a.1, c), &ifma::add(&b.0, &b.1, c), c);
        (
            ifma::sub(&v0, &v1, c),
            ifma::sub(&ifma::sub(&cross, &v0, c), &v1, c),
        )
    }
    #[inline(always)]
    unsafe fn square(a: &(Fe8, Fe8), c: &Consts8) -> (Fe8, Fe8) {
        // (a0 + a1)(a0 - a1), 2·a0·a1.
        let real = ifma::mul(&ifma::add(&a.0, &a.1, c), &ifma::sub(&a.0, &a.1, c), c);
        let product = ifma::mul(&a.0, &a.1, c);
        (real, ifma::add(&product, &product, c))
    }
    #[inline(always)]
    unsafe fn sub(a: &(Fe8, Fe8), b: &(Fe8, Fe8), c: &Consts8) -> (Fe8, Fe8) {
        (ifma::sub(&a.0, &b.0, c), ifma::sub(&a.1, &b.1, c))
    }
    #[inline(always)]
    unsafe fn add(a: &(Fe8, Fe8), b: &(Fe8, Fe8), c: &Consts8) -> (Fe8, Fe8) {
        (ifma::add(&a.0, &b.0, c), ifma::add(&a.1, &b.1, c))
    }
    #[inline(always)]
    unsafe fn select(mask: __mmask8, set: &(Fe8, Fe8), clear: &(Fe8, Fe8)) -> (Fe8, Fe8) {
        (
            ifma::select(mask, &set.0, &clear.0),
            ifma::select(mask, &set.1, &clear.1),
        )
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    unsafe fn zero_lanes(v: &(Fe8, Fe8)) -> __mmask8 {
        ifma::zero_lanes(&v.0) & ifma::zero_lanes(&v.1)
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn invert_lanes(v: &(Fe8, Fe8), c: &Consts8) -> (Fe8, Fe8) {
        let (c0, c1) = (lanes_to_ark(&v.0, c), lanes_to_ark(&v.1, c));
        let mut values: [Fq2; LANES] = std::array::from_fn(|i| Fq2::new(c0[i], c1[i]));
        ark_ff::batch_inversion(&mut values);
        (
            lanes_from_ark(&values.map(|x| x.c0), c),
            lanes_from_ark(&values.map(|x| x.c1), c),
        )
    }
}

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

fn affine_from_52<P, C>(point: &[u64]) -> Affine<P>
where
    P: SWCurveConfig,
    C: Coordinate<Ark = P::BaseField>,
{
    Affine::new_unchecked(
        C::from_52(&point[..C::WIDTH]),
        C::from_52(&point[C::WIDTH..]),
    )
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
    /// Bucket j's point at `sums[j * 2 * WIDTH..]`.
    sums: Vec<u64>,
    state: Vec<State>,
    /// The batch: bucket of each pending addition, and its operands column-wise
    /// (px, py, qx, qy, each WIDTH columns of `stride` entries).
    len: usize,
    /// Batch length at which it is flushed.
    limit: usize,
    /// Entries per column (the limit rounded up to whole vectors).
    stride: usize,
    bucket: Vec<u32>,
    /// Whether each pending addition is a doubling (p = q).
    doubling: Vec<bool>,
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
    fn new(count: usize, limit: usize, field: &'a Field52) -> Self {
        // Columns of `stride` entries: the limit, rounded up to whole vectors.
        let stride = limit.next_multiple_of(LANES);
        Self {
            field,
            c: Consts8::new(field),
            sums: vec![0; count * Self::POINT],
            state: vec![State::Empty; count],
            len: 0,
            limit,
            stride,
            bucket: vec![0; stride],
            doubling: vec![false; stride],
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
                let (p, q) = (&p[..point], &q[..point]);
                let (columns, stride) = (self.columns.as_mut_ptr(), self.stride);
                for k in 0..point {
                    // SAFETY: j < limit <= stride (a full batch is flushed at once) and
                    // QX + k < 4·WIDTH: inside the 4·WIDTH columns of `stride`.
                    unsafe {
                        *columns.add(k * stride + j) = p[k];
                        *columns.add((Self::QX + k) * stride + j) = q[k];
                    }
                }
                self.bucket[j] = bucket as u32;
                self.doubling[j] = doubling;
                self.state[bucket] = State::Busy;
                self.len += 1;
                if self.len == self.limit {
                    self.flush();
                }
            }
        }
    }

    /// Applies every batched addition with one inversion.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn flush(&mut self) {
        if self.len == 0 {
            return;
        }
        let (c, stride) = (self.c, self.stride);
        let rows = self.len.div_ceil(LANES);
        // Padding lanes add (0, 0) to (1, 0): a non-zero denominator, results unused.
        for j in self.len..rows * LANES {
            self.doubling[j] = false;
            for k in 0..4 * C::WIDTH {
                self.columns[k * stride + j] = 0;
            }
            for k in 0..LIMBS {
                self.columns[(Self::QX + k) * stride + j] = self.field.one[k];
            }
        }
        let columns = self.columns.as_ptr();
        let denominators = self.denominators.as_mut_ptr();
        let prefix = self.prefix.as_mut_ptr();
        let (mut xs, mut ys) = (vec![0u64; LANES * C::WIDTH], vec![0u64; LANES * C::WIDTH]);
        // SAFETY (all loads and stores below): every array holds WIDTH (or
        // 4·WIDTH) columns of `stride` entries, and `at + LANES <= rows * LANES <= stride`.
        unsafe {
            let column = |first: usize| columns.add(first * stride);
            let doublings = |at: usize| -> __mmask8 {
                (0..LANES).fold(0, |mask, l| mask | ((self.doubling[at + l] as u8) << l))
            };
            // Denominators qx - px, or 2·py for a doubling (never zero: equal x
            // enters a batch only as a doubling, and no point of a prime-order
            // group has y = 0), and the running products of each lane's chain.
            let mut product = C::one(&c);
            for row in 0..rows {
                let at = row * LANES;
                let px = C::load(column(Self::PX), stride, at);
                let qx = C::load(column(Self::QX), stride, at);
                let mut d = C::sub(&qx, &px, &c);
                let mask = doublings(at);
                if mask != 0 {
                    let py = C::load(column(Self::PY), stride, at);
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
                let mask = doublings(at);
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
        let count = self.state.len();
        let segments = (count / 16).min(BATCH / 2);
        if segments < 16 {
            return weighted_sum(&self.to_affine(), &self.spill);
        }
        debug_assert!(count.is_power_of_two() && segments.is_power_of_two());
        let length = count / segments;
        // Chains: running totals at [0, G), sums at [G, 2G); no two additions
        // of one batch share a target, so a batch never waits.
        let mut chains = Buckets::<P, C>::new(2 * segments, segments, self.field);
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
        let mut total = Projective::<P>::zero();
        let mut run = Projective::<P>::zero();
        let mut weighted = Projective::<P>::zero();
        for g in (0..segments).rev() {
            total += chains.get(segments + g);
            if g > 0 {
                run += chains.get(g);
                weighted += run;
            }
        }
        for _ in 0..length.trailing_zeros() {
            weighted.double_in_place();
        }
        total += weighted;
        for (j, extra) in &self.spill {
            total += extra.mul_bigint([*j as u64 + 1]);
        }
        total
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
    let mut buckets = Buckets::<P, C>::new(count, batch_limit(count), field);
    let mut negated = vec![0u64; stride];
    for (i, ((base, point), &digit)) in bases
        .iter()
        .zip(points.chunks_exact(stride))
        .zip(digits)
        .enumerate()
    {
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
        let bucket = digit.unsigned_abs() as usize - 1;
        if digit < 0 {
            // -P = (x, -y), each Fq part negated on its own.
            negated.copy_from_slice(point);
            for part in (C::WIDTH..stride).step_by(LIMBS) {
                let y = negate_limbs(&field.p, &point[part..part + LIMBS]);
                negated[part..part + LIMBS].copy_from_slice(&y);
            }
            buckets.add(bucket, &negated);
        } else {
            buckets.add(bucket, point);
        }
    }
    buckets.finish();
    buckets.reduce()
}

/// `[k]·P` for every point, all points advancing together through the bits of
/// `k` (most significant first, in non-adjacent form): every step is one
/// affine doubling or addition per point, eight per vector, with the field
/// inversions of a step shared across the points. Entries are `None` where an
/// exceptional case arose (a zero denominator: the multiple passed through the
/// identity, or met ±P), which only a point of small order can cause when
/// `1 < k` is below its group's order; the caller decides those otherwise.
/// `None` for a curve with a ≠ 0 or for k < 2.
pub(crate) fn multiply_each<P, C>(
    _ifma: ifma::Ifma,
    points: &[Affine<P>],
    k: u128,
) -> Option<Vec<Option<Affine<P>>>>
where
    P: SWCurveConfig,
    C: Coordinate<Ark = P::BaseField>,
{
    if !P::COEFF_A.is_zero() || k < 2 {
        return None;
    }
    let field = Field52::new(FqConfig::MODULUS.0);
    let digits = naf(k);
    let mut out = vec![None; points.len()];
    out.par_chunks_mut(2048)
        .zip(points.par_chunks(2048))
        .for_each(|(out, points)| {
            // SAFETY: the `Ifma` token proves the CPU has the instructions.
            unsafe { multiply_chunk::<P, C>(points, &digits, &field, out) }
        });
    Some(out)
}

/// Non-adjacent form of `k`, most significant digit first (digits -1, 0, 1;
/// no two adjacent non-zero), so about a third of the steps are additions.
fn naf(mut k: u128) -> Vec<i8> {
    let mut digits = Vec::new();
    while k != 0 {
        let digit = if k & 1 == 1 {
            let d = 2 - (k % 4) as i8; // 1 if k = 1 mod 4, -1 if k = 3 mod 4
            if d == 1 {
                k -= 1;
            } else {
                k += 1;
            }
            d
        } else {
            0
        };
        digits.push(digit);
        k >>= 1;
    }
    digits.reverse();
    digits
}

/// One doubling or addition step of [`multiply_chunk`], over all rows, in
/// three passes (kept as separate functions so that the field arithmetic is
/// inlined into each).
struct Step {
    ax: *mut u64,
    ay: *mut u64,
    bx: *const u64,
    by: *const u64,
    m: usize,
    rows: usize,
    doubling: bool,
    denominators: *mut u64,
    prefix: *mut u64,
}

impl Step {
    /// Denominators (2y, or bx - x) and each lane chain's running products;
    /// a zero denominator marks its point exceptional and is replaced by 1.
    /// Returns the chains' products.
    ///
    /// # Safety
    /// IFMA present; every pointer holds whole columns of `m` entries.
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn denominators<C: Coordinate>(
        &self,
        exceptional: &mut [bool],
        c: &Consts8,
    ) -> C::Vector {
        let m = self.m;
        let mut product = C::one(c);
        for row in 0..self.rows {
            let at = row * LANES;
            let x = C::load(self.ax, m, at);
            let y = C::load(self.ay, m, at);
            let mut d = if self.doubling {
                C::add(&y, &y, c)
            } else {
                C::sub(&C::load(self.bx, m, at), &x, c)
            };
            let zero = C::zero_lanes(&d);
            if zero != 0 {
                d = C::select(zero, &C::one(c), &d);
                for l in 0..LANES {
                    if zero >> l & 1 == 1 {
                        exceptional[at + l] = true;
                    }
                }
            }
            C::store(&d, self.denominators, m, at);
            C::store(&product, self.prefix, m, at);
            product = C::mul(&product, &d, c);
        }
        product
    }

    /// Every denominator's inverse, from the inverse of the chains' products.
    ///
    /// # Safety
    /// As for [`Step::denominators`].
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn inverses<C: Coordinate>(&self, inverse: &C::Vector, c: &Consts8) {
        let m = self.m;
        let mut inverse = *inverse;
        for row in (0..self.rows).rev() {
            let at = row * LANES;
            let d = C::load(self.denominators, m, at);
            let before = C::load(self.prefix, m, at);
            C::store(&C::mul(&inverse, &before, c), self.denominators, m, at);
            inverse = C::mul(&inverse, &d, c);
        }
    }

    /// The new accumulators. Doubling: λ = 3x² / 2y, x3 = λ² - 2x. Addition:
    /// λ = (by - y) / (bx - x), x3 = λ² - x - bx. Both: y3 = λ(x - x3) - y.
    ///
    /// # Safety
    /// As for [`Step::denominators`].
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn results<C: Coordinate>(&self, c: &Consts8) {
        let m = self.m;
        for row in 0..self.rows {
            let at = row * LANES;
            let x = C::load(self.ax, m, at);
            let y = C::load(self.ay, m, at);
            let inverse = C::load(self.denominators, m, at);
            let (numerator, other_x) = if self.doubling {
                let square = C::square(&x, c);
                (C::add(&C::add(&square, &square, c), &square, c), x)
            } else {
                (
                    C::sub(&C::load(self.by, m, at), &y, c),
                    C::load(self.bx, m, at),
                )
            };
            let lambda = C::mul(&numerator, &inverse, c);
            let x3 = C::sub(&C::sub(&C::square(&lambda, c), &x, c), &other_x, c);
            let y3 = C::sub(&C::mul(&lambda, &C::sub(&x, &x3, c), c), &y, c);
            C::store(&x3, self.ax, m, at);
            C::store(&y3, self.ay, m, at);
        }
    }
}

/// [`multiply_each`] for one chunk, column-wise: accumulators and bases as
/// WIDTH columns of `m` (the chunk rounded up to whole vectors).
#[target_feature(enable = "avx512f,avx512ifma")]
fn multiply_chunk<P, C>(
    points: &[Affine<P>],
    digits: &[i8],
    field: &Field52,
    out: &mut [Option<Affine<P>>],
) where
    P: SWCurveConfig,
    C: Coordinate<Ark = P::BaseField>,
{
    let c = Consts8::new(field);
    let (n, w) = (points.len(), C::WIDTH);
    let m = n.next_multiple_of(LANES);
    // The identity has no affine form: a stand-in point runs in its lane
    // (padding lanes too), and its result is not used.
    let stand_in = points
        .iter()
        .find(|p| !p.is_zero())
        .copied()
        .unwrap_or_else(Affine::<P>::generator);
    let column_pair = |values: &mut Vec<u64>, j: usize, point: &Affine<P>, negate: bool| {
        let mut limbs = vec![0u64; 2 * w];
        C::to_52(&point.x, &mut limbs[..w]);
        C::to_52(&point.y, &mut limbs[w..]);
        if negate {
            for part in (w..2 * w).step_by(LIMBS) {
                let y = negate_limbs(&field.p, &limbs[part..part + LIMBS]);
                limbs[part..part + LIMBS].copy_from_slice(&y);
            }
        }
        for (k, limb) in limbs.iter().enumerate() {
            values[k * m + j] = *limb;
        }
    };
    // Columns: x then y, WIDTH each, of m entries.
    let mut base = vec![0u64; 2 * w * m];
    let mut negated = vec![0u64; 2 * w * m];
    for j in 0..m {
        let point = points.get(j).filter(|p| !p.is_zero()).unwrap_or(&stand_in);
        column_pair(&mut base, j, point, false);
        column_pair(&mut negated, j, point, true);
    }
    let mut acc = base.clone();
    let mut exceptional = vec![false; m];
    let mut denominators = vec![0u64; w * m];
    let mut prefix = vec![0u64; w * m];
    let rows = m / LANES;
    // SAFETY (all loads and stores): every array holds whole columns of m
    // entries (x at 0, y at w·m), and row·8 + 8 <= m.
    unsafe {
        let (ax, ay) = (acc.as_mut_ptr(), acc.as_mut_ptr().add(w * m));
        // Every digit after the first (which is 1: the accumulators start as
        // the points): a doubling (0), then an addition of ±P if non-zero.
        let steps = digits[1..]
            .iter()
            .flat_map(|&d| std::iter::once(0i8).chain((d != 0).then_some(d)));
        for digit in steps {
            let doubling = digit == 0;
            let source = if digit < 0 { &negated } else { &base };
            let (bx, by) = (source.as_ptr(), source.as_ptr().add(w * m));
            let step = Step {
                ax,
                ay,
                bx,
                by,
                m,
                rows,
                doubling,
                denominators: denominators.as_mut_ptr(),
                prefix: prefix.as_mut_ptr(),
            };
            let product = step.denominators::<C>(&mut exceptional, &c);
            step.inverses::<C>(&C::invert_lanes(&product, &c), &c);
            step.results::<C>(&c);
        }
    }
    let mut limbs = vec![0u64; 2 * w];
    for (j, out) in out.iter_mut().enumerate() {
        if points[j].is_zero() {
            *out = Some(Affine::identity()); // [k]O = O
        } else if !exceptional[j] {
            for k in 0..2 * w {
                limbs[k] = acc[k * m + j];
            }
            *out = Some(affine_from_52::<P, C>(&limbs));
        }
    }
}
