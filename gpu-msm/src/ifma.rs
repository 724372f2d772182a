//! Eight prime-field multiplications at once with AVX-512 IFMA (52-bit
//! multiply-add), for 254-bit moduli such as BN254's base and scalar fields.
//!
//! A scalar Montgomery multiplication of four 64-bit limbs costs about 20 ns on
//! the reference machine (its carry chains serialise it); a lane of this one
//! costs a few nanoseconds, because each `vpmadd52{lo,hi}uq` does eight
//! independent 52x52-bit products and the additions need no carry flags.
//!
//! Representation: an element is five 52-bit limbs (little-endian, each in a
//! 64-bit lane), in Montgomery form with R = 2^260, always fully reduced
//! (`< p`), so equal elements have equal limbs. arkworks keeps R = 2^256 in four
//! 64-bit limbs; [`Field52`] converts both ways with one multiplication.
//! Every function here needs `avx512f` and `avx512ifma`; callers check
//! [`available`] once and enter through a `#[target_feature]` function.
//!
//! Reference: Gueron and Krasnov, "Accelerating Big Integer Arithmetic Using
//! Intel IFMA Extensions" (ARITH 2016); Drucker and Gueron, "Fast modular
//! squaring with AVX512IFMA" (2019).

use std::arch::x86_64::*;

/// Limbs per element.
pub(crate) const LIMBS: usize = 5;
/// Lanes per vector.
pub(crate) const LANES: usize = 8;
const MASK52: u64 = (1 << 52) - 1;

/// Proof that this CPU runs AVX-512 F and IFMA and that the portable path is
/// not forced (`crate::PORTABLE_ENV`). Only [`detect`] makes one, so every
/// vector entry point (`msm_ifma::msm`, `ntt_ifma::ntt`,
/// `subgroup`'s batched multiples) takes one instead of checking the CPU
/// again: calling them without the instructions does not type-check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ifma(());

/// The CPU check, made once per process, unless [`crate::PORTABLE_ENV`]
/// turns the vector path off.
pub(crate) fn detect() -> Option<Ifma> {
    static DETECTED: std::sync::OnceLock<Option<Ifma>> = std::sync::OnceLock::new();
    *DETECTED.get_or_init(|| {
        let allowed =
            std::env::var_os(crate::PORTABLE_ENV).is_none_or(|v| v != "1" && v != "generic");
        allowed.then(cpu_check).flatten()
    })
}

/// Whether this CPU has AVX-512 F and IFMA, whatever the environment says.
pub(crate) fn cpu_check() -> Option<Ifma> {
    (std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512ifma"))
    .then_some(Ifma(()))
}

/// Four 64-bit limbs to five 52-bit limbs (the value must be below 2^256).
#[inline]
pub(crate) fn to_52(x: [u64; 4]) -> [u64; 5] {
    [
        x[0] & MASK52,
        ((x[0] >> 52) | (x[1] << 12)) & MASK52,
        ((x[1] >> 40) | (x[2] << 24)) & MASK52,
        ((x[2] >> 28) | (x[3] << 36)) & MASK52,
        x[3] >> 16,
    ]
}

/// Five 52-bit limbs to four 64-bit limbs (the value must be below 2^256).
#[inline]
pub(crate) fn to_64(l: [u64; 5]) -> [u64; 4] {
    [
        l[0] | (l[1] << 52),
        (l[1] >> 12) | (l[2] << 40),
        (l[2] >> 24) | (l[3] << 28),
        (l[3] >> 36) | (l[4] << 16),
    ]
}

/// An arkworks element x (raw limbs x·2^256) in this module's form (x·2^260),
/// in 52-bit limbs: the element 16x has raw limbs 16x·2^256 = x·2^260.
#[inline]
pub(crate) fn from_ark_scalar<T: ark_ff::MontConfig<4>>(
    x: &ark_ff::Fp<ark_ff::MontBackend<T, 4>, 4>,
) -> [u64; 5] {
    use ark_ff::AdditiveGroup;
    to_52(x.double().double().double().double().0 .0)
}

/// `2^k mod p` for a modulus in 52-bit limbs, by doubling (set-up only).
fn pow2_mod(p: &[u64; 5], k: usize) -> [u64; 5] {
    let mut x = [1u64, 0, 0, 0, 0];
    for _ in 0..k {
        let mut carry = 0;
        for limb in x.iter_mut() {
            let v = (*limb << 1) | carry;
            carry = v >> 52;
            *limb = v & MASK52;
        }
        if ge(&x, p) {
            x = sub_limbs(&x, p);
        }
    }
    x
}

fn ge(a: &[u64; 5], b: &[u64; 5]) -> bool {
    for k in (0..LIMBS).rev() {
        if a[k] != b[k] {
            return a[k] > b[k];
        }
    }
    true
}

/// `a - b` on 52-bit limbs, `a >= b`.
pub(crate) fn sub_limbs(a: &[u64; 5], b: &[u64; 5]) -> [u64; 5] {
    let mut out = [0u64; 5];
    let mut borrow = 0u64;
    for k in 0..LIMBS {
        let v = a[k].wrapping_sub(b[k]).wrapping_sub(borrow);
        borrow = v >> 63;
        out[k] = v & MASK52;
    }
    out
}

/// A prime field below 2^254 as this module computes in it: the constants of
/// Montgomery multiplication with R = 2^260 and of conversion to and from
/// arkworks' R = 2^256 form.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field52 {
    /// The modulus.
    pub p: [u64; 5],
    /// `-p^-1 mod 2^52`.
    pinv: u64,
    /// One, in this module's form (2^260 mod p).
    pub one: [u64; 5],
    /// 2^264 mod p: multiplying arkworks' raw limbs (x·2^256) by it gives x·2^260.
    from_ark: [u64; 5],
    /// 2^256 mod p: multiplying x·2^260 by it gives arkworks' raw limbs.
    to_ark: [u64; 5],
}

impl Field52 {
    /// The constants for a modulus given as arkworks gives it (four 64-bit limbs).
    /// The modulus must be odd and below 2^254 (so that R = 2^260 > 4p and
    /// products of reduced elements reduce with one subtraction).
    pub(crate) fn new(modulus: [u64; 4]) -> Self {
        assert!(
            modulus[0] & 1 == 1 && modulus[3] >> 62 == 0,
            "odd modulus below 2^254"
        );
        let p = to_52(modulus);
        // p^-1 mod 2^64 by Newton's iteration (each step doubles the correct bits).
        let mut inv = 1u64;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(modulus[0].wrapping_mul(inv)));
        }
        debug_assert_eq!(modulus[0].wrapping_mul(inv), 1);
        Self {
            p,
            pinv: inv.wrapping_neg() & MASK52,
            one: pow2_mod(&p, 260),
            from_ark: pow2_mod(&p, 264),
            to_ark: pow2_mod(&p, 256),
        }
    }
}

/// Eight field elements, limb-major: `0[k]` holds limb k of all eight lanes.
#[derive(Clone, Copy)]
pub(crate) struct Fe8(pub [__m512i; LIMBS]);

/// A [`Field52`]'s constants broadcast to every lane.
#[derive(Clone, Copy)]
pub(crate) struct Consts8 {
    p: [__m512i; LIMBS],
    pinv: __m512i,
    mask: __m512i,
    pub one: Fe8,
    from_ark: Fe8,
    to_ark: Fe8,
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn splat(limbs: &[u64; 5]) -> Fe8 {
    Fe8(limbs.map(|l| _mm512_set1_epi64(l as i64)))
}

impl Consts8 {
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) fn new(field: &Field52) -> Self {
        Self {
            p: splat(&field.p).0,
            pinv: _mm512_set1_epi64(field.pinv as i64),
            mask: _mm512_set1_epi64(MASK52 as i64),
            one: splat(&field.one),
            from_ark: splat(&field.from_ark),
            to_ark: splat(&field.to_ark),
        }
    }
}

impl Fe8 {
    /// Loads limb k of lanes 0..8 from `columns[k * stride + at ..][..8]`.
    ///
    /// # Safety
    /// `columns` must hold `4 * stride + at + 8` elements.
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    pub(crate) unsafe fn load(columns: *const u64, stride: usize, at: usize) -> Self {
        let mut out = [_mm512_setzero_si512(); LIMBS];
        for (k, limb) in out.iter_mut().enumerate() {
            // SAFETY: in bounds by the caller's promise; unaligned loads are allowed.
            *limb = unsafe { _mm512_loadu_si512(columns.add(k * stride + at).cast()) };
        }
        Self(out)
    }

    /// Stores the lanes the way [`Fe8::load`] reads them.
    ///
    /// # Safety
    /// As for [`Fe8::load`], for writes.
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    pub(crate) unsafe fn store(&self, columns: *mut u64, stride: usize, at: usize) {
        for (k, limb) in self.0.iter().enumerate() {
            // SAFETY: in bounds by the caller's promise.
            unsafe { _mm512_storeu_si512(columns.add(k * stride + at).cast(), *limb) };
        }
    }

    /// Loads lane l's five limbs from `base + index[l]` onwards.
    ///
    /// # Safety
    /// Every lane's five limbs lie inside one allocation at `base`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    pub(crate) unsafe fn gather(base: *const u64, index: __m512i) -> Self {
        Self(std::array::from_fn(|k| {
            let at = _mm512_add_epi64(index, _mm512_set1_epi64(k as i64));
            // SAFETY: in bounds by the caller's promise.
            unsafe { _mm512_i64gather_epi64::<8>(at, base.cast()) }
        }))
    }

    /// Stores the lanes in `mask` the way [`Fe8::gather`] reads them.
    ///
    /// # Safety
    /// As for [`Fe8::gather`], for writes.
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    pub(crate) unsafe fn scatter(&self, base: *mut u64, index: __m512i, mask: __mmask8) {
        for (k, limb) in self.0.iter().enumerate() {
            let at = _mm512_add_epi64(index, _mm512_set1_epi64(k as i64));
            // SAFETY: in bounds by the caller's promise.
            unsafe { _mm512_mask_i64scatter_epi64::<8>(base.cast(), mask, at, *limb) };
        }
    }

    /// The lanes as eight elements of five limbs each.
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    pub(crate) fn to_lanes(self) -> [[u64; 5]; LANES] {
        let mut columns = [[0u64; LANES]; LIMBS];
        for (column, limb) in columns.iter_mut().zip(self.0) {
            // SAFETY: `column` has room for eight u64.
            unsafe { _mm512_storeu_si512(column.as_mut_ptr().cast(), limb) };
        }
        std::array::from_fn(|lane| std::array::from_fn(|k| columns[k][lane]))
    }

    /// Eight elements of five limbs each into lanes.
    #[target_feature(enable = "avx512f,avx512ifma")]
    #[inline]
    pub(crate) fn from_lanes(lanes: &[[u64; 5]; LANES]) -> Self {
        Self(std::array::from_fn(|k| {
            let column: [u64; LANES] = std::array::from_fn(|lane| lanes[lane][k]);
            // SAFETY: `column` holds eight u64.
            unsafe { _mm512_loadu_si512(column.as_ptr().cast()) }
        }))
    }
}

/// Carries every limb above 52 bits into the next (arithmetic shifts, so a
/// negative limb borrows); the top limb keeps its sign.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn normalize(mut t: [__m512i; LIMBS], mask: __m512i) -> [__m512i; LIMBS] {
    for k in 0..LIMBS - 1 {
        let carry = _mm512_srai_epi64::<52>(t[k]);
        t[k] = _mm512_and_si512(t[k], mask);
        t[k + 1] = _mm512_add_epi64(t[k + 1], carry);
    }
    t
}

/// `r mod p` for normalized `r < 2p`.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn reduce_once(r: [__m512i; LIMBS], c: &Consts8) -> Fe8 {
    let mut s = [_mm512_setzero_si512(); LIMBS];
    for k in 0..LIMBS {
        s[k] = _mm512_sub_epi64(r[k], c.p[k]);
    }
    let s = normalize(s, c.mask);
    // r < p exactly where r - p is negative: keep r there.
    let keep = _mm512_cmplt_epi64_mask(s[LIMBS - 1], _mm512_setzero_si512());
    Fe8(std::array::from_fn(|k| {
        _mm512_mask_blend_epi64(keep, s[k], r[k])
    }))
}

/// `a·b·2^-260 mod p` (Montgomery multiplication), for reduced `a`, `b`.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
pub(crate) fn mul(a: &Fe8, b: &Fe8, c: &Consts8) -> Fe8 {
    let z = _mm512_setzero_si512();
    // Column sums of the 10-limb product; each column gets at most 20 terms
    // below 2^52 (product and reduction) plus small carries: below 2^57.
    let mut t = [z; 2 * LIMBS];
    for i in 0..LIMBS {
        for j in 0..LIMBS {
            t[i + j] = _mm512_madd52lo_epu64(t[i + j], a.0[i], b.0[j]);
            t[i + j + 1] = _mm512_madd52hi_epu64(t[i + j + 1], a.0[i], b.0[j]);
        }
    }
    // Word-by-word Montgomery reduction: adding m·p clears limb i.
    for i in 0..LIMBS {
        let m = _mm512_madd52lo_epu64(z, t[i], c.pinv);
        for j in 0..LIMBS {
            t[i + j] = _mm512_madd52lo_epu64(t[i + j], m, c.p[j]);
            t[i + j + 1] = _mm512_madd52hi_epu64(t[i + j + 1], m, c.p[j]);
        }
        t[i + 1] = _mm512_add_epi64(t[i + 1], _mm512_srli_epi64::<52>(t[i]));
    }
    // (a·b + M·p) / 2^260 < (p^2 + 2^260·p) / 2^260 < 2p: one subtraction at most.
    let r = normalize([t[5], t[6], t[7], t[8], t[9]], c.mask);
    reduce_once(r, c)
}

/// `a² mod p` (Montgomery).
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
pub(crate) fn square(a: &Fe8, c: &Consts8) -> Fe8 {
    mul(a, a, c)
}

/// `a + b mod p`.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
pub(crate) fn add(a: &Fe8, b: &Fe8, c: &Consts8) -> Fe8 {
    let r = std::array::from_fn(|k| _mm512_add_epi64(a.0[k], b.0[k]));
    reduce_once(normalize(r, c.mask), c)
}

/// `a - b mod p`.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
pub(crate) fn sub(a: &Fe8, b: &Fe8, c: &Consts8) -> Fe8 {
    let d = normalize(
        std::array::from_fn(|k| _mm512_sub_epi64(a.0[k], b.0[k])),
        c.mask,
    );
    // Negative where a < b: add p back there.
    let negative = _mm512_cmplt_epi64_mask(d[LIMBS - 1], _mm512_setzero_si512());
    let e = normalize(
        std::array::from_fn(|k| _mm512_add_epi64(d[k], c.p[k])),
        c.mask,
    );
    Fe8(std::array::from_fn(|k| {
        _mm512_mask_blend_epi64(negative, d[k], e[k])
    }))
}

/// The lanes that are zero (elements are fully reduced: zero limbs).
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
pub(crate) fn zero_lanes(v: &Fe8) -> __mmask8 {
    let any = v.0.iter().fold(_mm512_setzero_si512(), |acc, limb| {
        _mm512_or_si512(acc, *limb)
    });
    _mm512_cmpeq_epi64_mask(any, _mm512_setzero_si512())
}

/// Lanes in `mask` from `set`, the others from `clear`.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
pub(crate) fn select(mask: __mmask8, set: &Fe8, clear: &Fe8) -> Fe8 {
    Fe8(std::array::from_fn(|k| {
        _mm512_mask_blend_epi64(mask, clear.0[k], set.0[k])
    }))
}

/// arkworks' raw Montgomery limbs (x·2^256, already split into 52-bit limbs)
/// to this module's form (x·2^260).
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
pub(crate) fn from_ark(raw: &Fe8, c: &Consts8) -> Fe8 {
    mul(raw, &c.from_ark, c)
}

/// This module's form back to arkworks' raw Montgomery limbs (in 52-bit limbs).
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
pub(crate) fn to_ark(x: &Fe8, c: &Consts8) -> Fe8 {
    mul(x, &c.to_ark, c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fq, Fr};
    use ark_ff::{BigInt, Field, MontConfig, UniformRand};
    use rand::SeedableRng;

    /// Every operation on random elements and edge values, lane by lane,
    /// against arkworks.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn check<F: Field + UniformRand>(
        modulus: [u64; 4],
        raw: impl Fn(&F) -> [u64; 4],
        from_raw: impl Fn([u64; 4]) -> F,
    ) {
        let field = Field52::new(modulus);
        let c = Consts8::new(&field);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let edges = [F::ZERO, F::ONE, -F::ONE, -F::ONE.double(), F::ONE.double()];
        let mut values: Vec<F> = edges.to_vec();
        values.extend((0..8 * 64).map(|_| F::rand(&mut rng)));
        values.extend(edges.iter().rev());
        let pack = |xs: &[F]| {
            let lanes: [[u64; 5]; LANES] = std::array::from_fn(|i| to_52(raw(&xs[i])));
            from_ark(&Fe8::from_lanes(&lanes), &c)
        };
        let unpack = |v: Fe8| -> [F; LANES] {
            let lanes = to_ark(&v, &c).to_lanes();
            std::array::from_fn(|i| from_raw(to_64(lanes[i])))
        };
        for (a, b) in values
            .chunks_exact(LANES)
            .zip(values.chunks_exact(LANES).rev())
        {
            let (va, vb) = (pack(a), pack(b));
            assert_eq!(unpack(va).to_vec(), a.to_vec(), "round trip");
            let products = unpack(mul(&va, &vb, &c));
            let squares = unpack(square(&va, &c));
            let sums = unpack(add(&va, &vb, &c));
            let differences = unpack(sub(&va, &vb, &c));
            for i in 0..LANES {
                assert_eq!(products[i], a[i] * b[i]);
                assert_eq!(squares[i], a[i].square());
                assert_eq!(sums[i], a[i] + b[i]);
                assert_eq!(differences[i], a[i] - b[i]);
            }
            // Fully reduced: the limbs of one are the constant `one`.
            let ones = mul(&va, &c.one, &c).to_lanes();
            let again = va.to_lanes();
            assert_eq!(ones, again, "x·1 keeps canonical limbs");
        }
    }

    #[test]
    fn agrees_with_arkworks_in_both_bn254_fields() {
        if detect().is_none() {
            eprintln!("skipped: this CPU has no AVX-512 IFMA");
            return;
        }
        // SAFETY: the CPU has the features, checked above.
        unsafe {
            check::<Fq>(
                ark_bn254::FqConfig::MODULUS.0,
                |x| x.0 .0,
                |l| Fq::new_unchecked(BigInt(l)),
            );
            check::<Fr>(
                ark_bn254::FrConfig::MODULUS.0,
                |x| x.0 .0,
                |l| Fr::new_unchecked(BigInt(l)),
            );
        }
    }

    #[test]
    fn limb_conversions_round_trip() {
        let x = [u64::MAX, 0x0123_4567_89ab_cdef, 1, u64::MAX >> 2];
        assert_eq!(to_64(to_52(x)), x);
    }
}
