//! BN254 curve coordinates in AVX-512 IFMA lanes ([`crate::ifma`]): the
//! [`Coordinate`] trait over Fq (G1) and Fq2 = Fq[u]/(u² + 1) (G2), and the
//! conversions between arkworks' points and 52-bit limbs. The lower tier
//! shared by the vector MSM (`msm_ifma`) and the subgroup check's batched
//! multiples (`subgroup_ifma`).

use ark_bn254::{Fq, Fq2};
use ark_ec::short_weierstrass::{Affine, SWCurveConfig};
use ark_ff::{BigInt, Field, One};
use std::arch::x86_64::{__m512i, __mmask8};
use std::sync::LazyLock;

use crate::ifma::{self, Consts8, Fe8, LANES, LIMBS};

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
    /// Loads lane l's element from its WIDTH limbs at `base + index[l]`.
    ///
    /// # Safety
    /// IFMA present; every lane's limbs lie inside one allocation at `base`.
    unsafe fn gather(base: *const u64, index: __m512i) -> Self::Vector;
    /// Stores the lanes in `mask` the way [`Coordinate::gather`] reads them.
    ///
    /// # Safety
    /// As for [`Coordinate::gather`], for writes, and no two lanes in `mask`
    /// write the same element.
    unsafe fn scatter(v: &Self::Vector, base: *mut u64, index: __m512i, mask: __mmask8);
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
pub(crate) fn negate_limbs(p: &[u64; LIMBS], y: &[u64]) -> [u64; LIMBS] {
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
    unsafe fn gather(base: *const u64, index: __m512i) -> Fe8 {
        // SAFETY: the caller's promise.
        unsafe { Fe8::gather(base, index) }
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    unsafe fn scatter(v: &Fe8, base: *mut u64, index: __m512i, mask: __mmask8) {
        // SAFETY: the caller's promise.
        unsafe { v.scatter(base, index, mask) }
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
        // On this thread: `ark_ff::batch_inversion` splits eight values over
        // rayon's threads, whose hand-offs cost ten times the inversion.
        ark_ff::serial_batch_inversion_and_mul(&mut values, &One::one());
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
    unsafe fn gather(base: *const u64, index: __m512i) -> (Fe8, Fe8) {
        // SAFETY: the caller's promise covers both halves' limbs.
        unsafe {
            (
                Fe8::gather(base, index),
                Fe8::gather(base.add(LIMBS), index),
            )
        }
    }
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    unsafe fn scatter(v: &(Fe8, Fe8), base: *mut u64, index: __m512i, mask: __mmask8) {
        // SAFETY: as for gather.
        unsafe {
            v.0.scatter(base, index, mask);
            v.1.scatter(base.add(LIMBS), index, mask);
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
        // On this thread: `ark_ff::batch_inversion` splits eight values over
        // rayon's threads, whose hand-offs cost ten times the inversion.
        ark_ff::serial_batch_inversion_and_mul(&mut values, &One::one());
        (
            lanes_from_ark(&values.map(|x| x.c0), c),
            lanes_from_ark(&values.map(|x| x.c1), c),
        )
    }
}

pub(crate) fn affine_from_52<P, C>(point: &[u64]) -> Affine<P>
where
    P: SWCurveConfig,
    C: Coordinate<Ark = P::BaseField>,
{
    Affine::new_unchecked(
        C::from_52(&point[..C::WIDTH]),
        C::from_52(&point[C::WIDTH..]),
    )
}
