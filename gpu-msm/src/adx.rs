//! Scalar Montgomery multiplication for BN254's base and scalar fields on
//! MULX, ADCX and ADOX (BMI2 and ADX, x86-64 since 2013 on Intel and 2017 on
//! AMD), chosen at run time: the path `CpuBackend` takes on a CPU without
//! AVX-512 IFMA.
//!
//! arkworks has the same kind of assembly, but only in a build for a CPU known
//! to have the instructions (`target_feature = "bmi2"`, `"adx"` at compile
//! time); a binary built for any x86-64 runs its portable Rust instead. Here
//! the instructions are used after a run-time check ([`detect`]), so one
//! binary runs the fast path wherever the CPU has it.
//!
//! The product is CIOS (coarsely integrated operand scanning) with the
//! "no-carry" simplification for moduli whose top bit is clear (gnark's
//! note, <https://hackmd.io/@gnark/modular_multiplication>): each of the four
//! rounds adds `a·b_i` on two carry chains at once (ADCX uses the carry flag,
//! ADOX the overflow flag, and MULX touches neither), then adds `m·p` for the
//! `m` that clears the low limb and shifts down by one limb. On the
//! reference machine a product costs about 14.5 ns before the final
//! subtraction, against arkworks' 20 ns (`tests::timing` prints both).

use ark_bn254::{Fq, FqConfig, Fr, FrConfig};
use ark_ff::{BigInt, MontConfig};
use std::arch::asm;

/// Proof that this CPU has BMI2 and ADX and that the generic path is not
/// forced (`crate::PORTABLE_ENV=generic`). Only [`detect`] makes one, so the
/// multiplications below, which execute those instructions, cannot be
/// reached without the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Adx(());

/// The CPU check, made once per process, unless [`crate::PORTABLE_ENV`]
/// asks for the generic path.
pub(crate) fn detect() -> Option<Adx> {
    static DETECTED: std::sync::OnceLock<Option<Adx>> = std::sync::OnceLock::new();
    *DETECTED.get_or_init(|| {
        let allowed = std::env::var_os(crate::PORTABLE_ENV).is_none_or(|v| v != "generic");
        allowed.then(cpu_check).flatten()
    })
}

/// Whether this CPU has BMI2 and ADX, whatever the environment says.
pub(crate) fn cpu_check() -> Option<Adx> {
    (std::arch::is_x86_feature_detected!("bmi2") && std::arch::is_x86_feature_detected!("adx"))
        .then_some(Adx(()))
}

/// A modulus and `-p^-1 mod 2^64`, laid out for the assembly (`[m + 32]` is
/// the inverse).
#[repr(C)]
struct Modulus {
    p: [u64; 4],
    inv: u64,
}

static FQ: Modulus = Modulus {
    p: <FqConfig as MontConfig<4>>::MODULUS.0,
    inv: <FqConfig as MontConfig<4>>::INV,
};
static FR: Modulus = Modulus {
    p: <FrConfig as MontConfig<4>>::MODULUS.0,
    inv: <FrConfig as MontConfig<4>>::INV,
};

/// One reduction round: `m = t0·inv`, `t = (t + m·p) / 2^64` (t4 is the
/// fifth limb of `t`, consumed).
macro_rules! reduce_round {
    () => {
        concat!(
            "mov rdx, [{m} + 32]\n",
            "imul rdx, {t0}\n",
            "xor eax, eax\n",
            "mulx {hi}, rax, [{m}]\n",
            "adcx rax, {t0}\n",
            "mov {t0}, {hi}\n",
            "adcx {t0}, {t1}\n",
            "mulx {t1}, rax, [{m} + 8]\n",
            "adox {t0}, rax\n",
            "adcx {t1}, {t2}\n",
            "mulx {t2}, rax, [{m} + 16]\n",
            "adox {t1}, rax\n",
            "adcx {t2}, {t3}\n",
            "mulx {t3}, rax, [{m} + 24]\n",
            "adox {t2}, rax\n",
            "mov eax, 0\n",
            "adcx {t3}, rax\n",
            "adox {t3}, {t4}\n",
        )
    };
}

/// One multiplication round: `t += a·b[i]` with `b[i]` at byte offset `$off`,
/// the low halves on the overflow chain and the high halves on the carry chain.
macro_rules! mul_round {
    ($off:literal) => {
        concat!(
            "mov rdx, [{b} + ",
            $off,
            "]\n",
            "xor eax, eax\n",
            "mulx {hi}, rax, [{a}]\n",
            "adox {t0}, rax\n",
            "adcx {t1}, {hi}\n",
            "mulx {hi}, rax, [{a} + 8]\n",
            "adox {t1}, rax\n",
            "adcx {t2}, {hi}\n",
            "mulx {hi}, rax, [{a} + 16]\n",
            "adox {t2}, rax\n",
            "adcx {t3}, {hi}\n",
            "mulx {t4}, rax, [{a} + 24]\n",
            "adox {t3}, rax\n",
            "mov eax, 0\n",
            "adcx {t4}, rax\n",
            "adox {t4}, rax\n",
        )
    };
}

/// `a·b·2^-256 mod p`, below `2p` (not reduced), for `a < 2p`, `b < p`, a
/// modulus below 2^254 (so that `4p < 2^256` and no round overflows).
#[inline(always)]
fn mul_lazy(_: Adx, a: &[u64; 4], b: &[u64; 4], m: &'static Modulus) -> [u64; 4] {
    let (t0, t1, t2, t3): (u64, u64, u64, u64);
    // SAFETY: the token proves the CPU has BMI2 (MULX) and ADX (ADCX, ADOX);
    // the assembly reads 32 bytes at `a` and `b` and 40 at `m` (all live
    // references) and writes only the registers it declares.
    unsafe {
        asm!(
            "mov rdx, [{b}]",
            "xor eax, eax",
            "mulx {t1}, {t0}, [{a}]",
            "mulx {t2}, rax, [{a} + 8]",
            "adcx {t1}, rax",
            "mulx {t3}, rax, [{a} + 16]",
            "adcx {t2}, rax",
            "mulx {t4}, rax, [{a} + 24]",
            "adcx {t3}, rax",
            "mov eax, 0",
            "adcx {t4}, rax",
            reduce_round!(),
            mul_round!("8"),
            reduce_round!(),
            mul_round!("16"),
            reduce_round!(),
            mul_round!("24"),
            reduce_round!(),
            a = in(reg) a.as_ptr(),
            b = in(reg) b.as_ptr(),
            m = in(reg) m as *const Modulus,
            t0 = out(reg) t0,
            t1 = out(reg) t1,
            t2 = out(reg) t2,
            t3 = out(reg) t3,
            t4 = out(reg) _,
            hi = out(reg) _,
            out("rax") _,
            out("rdx") _,
            options(pure, readonly, nostack),
        );
    }
    [t0, t1, t2, t3]
}

/// `t - p` if `t >= p`, else `t`, without a branch (for `t < 2p`).
#[inline(always)]
fn reduce_once(t: [u64; 4], p: &[u64; 4]) -> [u64; 4] {
    let [t0, t1, t2, t3] = t;
    let [mut s0, mut s1, mut s2, mut s3] = t;
    // SAFETY: reads the four limbs of `p`.
    unsafe {
        asm!(
            "sub {s0}, [{p}]",
            "sbb {s1}, [{p} + 8]",
            "sbb {s2}, [{p} + 16]",
            "sbb {s3}, [{p} + 24]",
            // A borrow: t was below p; keep it.
            "cmovc {s0}, {t0}",
            "cmovc {s1}, {t1}",
            "cmovc {s2}, {t2}",
            "cmovc {s3}, {t3}",
            s0 = inout(reg) s0,
            s1 = inout(reg) s1,
            s2 = inout(reg) s2,
            s3 = inout(reg) s3,
            t0 = in(reg) t0,
            t1 = in(reg) t1,
            t2 = in(reg) t2,
            t3 = in(reg) t3,
            p = in(reg) p.as_ptr(),
            options(pure, readonly, nostack),
        );
    }
    [s0, s1, s2, s3]
}

/// `a + b mod p` for reduced inputs, without a branch (arkworks' addition
/// branches on the data, and the branch mispredicts half the time): one
/// carry chain, then [`reduce_once`]. In assembly because the compiler turns
/// chains of `overflowing_add` into flag-to-register round trips, which cost
/// a scalar batch-affine step a fifth of its time.
#[inline(always)]
fn add_mod(a: &[u64; 4], b: &[u64; 4], p: &[u64; 4]) -> [u64; 4] {
    let [mut s0, mut s1, mut s2, mut s3] = *a;
    // SAFETY: reads the four limbs of `b`; no carry leaves the addition:
    // both are below the modulus given, p or 2p (the lazy paths'), and
    // 4p < 2^256 for both of BN254's fields.
    unsafe {
        asm!(
            "add {s0}, [{b}]",
            "adc {s1}, [{b} + 8]",
            "adc {s2}, [{b} + 16]",
            "adc {s3}, [{b} + 24]",
            s0 = inout(reg) s0,
            s1 = inout(reg) s1,
            s2 = inout(reg) s2,
            s3 = inout(reg) s3,
            b = in(reg) b.as_ptr(),
            options(pure, readonly, nostack),
        );
    }
    reduce_once([s0, s1, s2, s3], p)
}

/// `a - b mod p` for reduced inputs, without a branch: the difference, then
/// `p` masked by its borrow added back.
#[inline(always)]
fn sub_mod(a: &[u64; 4], b: &[u64; 4], p: &[u64; 4]) -> [u64; 4] {
    let [mut r0, mut r1, mut r2, mut r3] = *a;
    // SAFETY: reads the four limbs of `b` and `p`.
    unsafe {
        asm!(
            "sub {r0}, [{b}]",
            "sbb {r1}, [{b} + 8]",
            "sbb {r2}, [{b} + 16]",
            "sbb {r3}, [{b} + 24]",
            // All ones after a borrow, else zero.
            "sbb {m}, {m}",
            "mov {t0}, [{p}]",
            "mov {t1}, [{p} + 8]",
            "mov {t2}, [{p} + 16]",
            "mov {t3}, [{p} + 24]",
            "and {t0}, {m}",
            "and {t1}, {m}",
            "and {t2}, {m}",
            "and {t3}, {m}",
            "add {r0}, {t0}",
            "adc {r1}, {t1}",
            "adc {r2}, {t2}",
            "adc {r3}, {t3}",
            r0 = inout(reg) r0,
            r1 = inout(reg) r1,
            r2 = inout(reg) r2,
            r3 = inout(reg) r3,
            m = out(reg) _,
            t0 = out(reg) _,
            t1 = out(reg) _,
            t2 = out(reg) _,
            t3 = out(reg) _,
            b = in(reg) b.as_ptr(),
            p = in(reg) p.as_ptr(),
            options(pure, readonly, nostack),
        );
    }
    [r0, r1, r2, r3]
}

/// `a + b` in Fq, without a branch.
#[inline(always)]
pub(crate) fn add_fq(a: &Fq, b: &Fq) -> Fq {
    Fq::new_unchecked(BigInt(add_mod(&a.0 .0, &b.0 .0, &FQ.p)))
}

/// `a - b` in Fq, without a branch.
#[inline(always)]
pub(crate) fn sub_fq(a: &Fq, b: &Fq) -> Fq {
    Fq::new_unchecked(BigInt(sub_mod(&a.0 .0, &b.0 .0, &FQ.p)))
}

/// `a + b` in Fr, without a branch.
#[inline(always)]
pub(crate) fn add_fr(a: &Fr, b: &Fr) -> Fr {
    Fr::new_unchecked(BigInt(add_mod(&a.0 .0, &b.0 .0, &FR.p)))
}

/// `a - b` in Fr, without a branch.
#[inline(always)]
pub(crate) fn sub_fr(a: &Fr, b: &Fr) -> Fr {
    Fr::new_unchecked(BigInt(sub_mod(&a.0 .0, &b.0 .0, &FR.p)))
}

/// `2p` for a modulus below 2^255.
const fn twice(p: [u64; 4]) -> [u64; 4] {
    [
        p[0] << 1,
        (p[1] << 1) | (p[0] >> 63),
        (p[2] << 1) | (p[1] >> 63),
        (p[3] << 1) | (p[2] >> 63),
    ]
}

/// `2p` for Fr: the bound of the lazy NTT's values.
const FR_TWICE: [u64; 4] = twice(<FrConfig as MontConfig<4>>::MODULUS.0);

/// `2p` for Fq: the bound of the lockstep loops' lazily reduced values.
const FQ_TWICE: [u64; 4] = twice(<FqConfig as MontConfig<4>>::MODULUS.0);

/// The NTT butterfly `(a, b) ← (a + w·b, a − w·b)` in Fr on lazily reduced
/// values: `a` and `b` below `2p` in and out (not canonical: arkworks'
/// operations must not see them before [`normalize_fr`]), `w` below `p`.
/// The product is left below `2p` and the sum and difference are reduced
/// modulo `2p`, which saves the product's final subtraction.
#[inline(always)]
pub(crate) fn butterfly_fr_lazy(token: Adx, a: &mut Fr, b: &mut Fr, w: &Fr) {
    let t = mul_lazy(token, &b.0 .0, &w.0 .0, &FR);
    b.0 .0 = sub_mod(&a.0 .0, &t, &FR_TWICE);
    a.0 .0 = add_mod(&a.0 .0, &t, &FR_TWICE);
}

/// `(a, b) ← (a + b, a − b)` modulo `2p` (the butterfly with `w = 1`).
#[inline(always)]
pub(crate) fn add_sub_fr_lazy(a: &mut Fr, b: &mut Fr) {
    let (x, y) = (a.0 .0, b.0 .0);
    a.0 .0 = add_mod(&x, &y, &FR_TWICE);
    b.0 .0 = sub_mod(&x, &y, &FR_TWICE);
}

/// A lazily reduced value (below `2p`) back to its canonical form.
#[inline(always)]
pub(crate) fn normalize_fr(v: &mut Fr) {
    v.0 .0 = reduce_once(v.0 .0, &FR.p);
}

/// `a·b` in Fq on lazily reduced values (the lockstep loops' own): any
/// representatives below `2p` in, one below `2p` out. [`mul_lazy`]'s rounds
/// allow it: after each, the running value is below `a + p < 3p < 2^256`,
/// and the result is below `a·b/2^256 + p < (4p/2^256 + 1)·p < 2p`, BN254's
/// `4p` being below 2^256.
#[inline(always)]
pub(crate) fn mul_fq_lazy(token: Adx, a: &Fq, b: &Fq) -> Fq {
    Fq::new_unchecked(BigInt(mul_lazy(token, &a.0 .0, &b.0 .0, &FQ)))
}

/// `a + b` modulo `2p` in Fq, for lazily reduced values (below `2p`).
#[inline(always)]
pub(crate) fn add_fq_lazy(a: &Fq, b: &Fq) -> Fq {
    Fq::new_unchecked(BigInt(add_mod(&a.0 .0, &b.0 .0, &FQ_TWICE)))
}

/// `a - b` modulo `2p` in Fq, for lazily reduced values (below `2p`).
#[inline(always)]
pub(crate) fn sub_fq_lazy(a: &Fq, b: &Fq) -> Fq {
    Fq::new_unchecked(BigInt(sub_mod(&a.0 .0, &b.0 .0, &FQ_TWICE)))
}

/// A lazily reduced Fq value (below `2p`) in canonical form.
#[inline(always)]
pub(crate) fn reduce_fq(a: &Fq) -> Fq {
    Fq::new_unchecked(BigInt(reduce_once(a.0 .0, &FQ.p)))
}

/// `a·b` in Fq (arkworks' Montgomery form in and out).
#[inline(always)]
pub(crate) fn mul_fq(token: Adx, a: &Fq, b: &Fq) -> Fq {
    Fq::new_unchecked(BigInt(reduce_once(
        mul_lazy(token, &a.0 .0, &b.0 .0, &FQ),
        &FQ.p,
    )))
}

/// `a·b` in Fr (arkworks' Montgomery form in and out).
#[inline(always)]
pub(crate) fn mul_fr(token: Adx, a: &Fr, b: &Fr) -> Fr {
    Fr::new_unchecked(BigInt(reduce_once(
        mul_lazy(token, &a.0 .0, &b.0 .0, &FR),
        &FR.p,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{BigInteger, PrimeField, UniformRand};
    use rand::SeedableRng;

    /// Elements where carries are most likely: 0, 1, p - 1, p - 2, and the
    /// largest Montgomery representations.
    fn edge<F: PrimeField>() -> Vec<F> {
        vec![
            F::ZERO,
            F::ONE,
            -F::ONE,
            -F::ONE - F::ONE,
            F::from(2u64).inverse().unwrap(),
        ]
    }

    #[test]
    fn products_agree_with_arkworks() {
        let Some(token) = detect() else {
            eprintln!("no BMI2/ADX on this CPU: nothing to compare");
            return;
        };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let mut fq: Vec<Fq> = edge();
        let mut fr: Vec<Fr> = edge();
        fq.extend((0..2000).map(|_| Fq::rand(&mut rng)));
        fr.extend((0..2000).map(|_| Fr::rand(&mut rng)));
        for (i, a) in fq.iter().enumerate() {
            for b in fq.iter().skip(i).take(40) {
                assert_eq!(mul_fq(token, a, b), *a * b);
            }
        }
        for (i, a) in fr.iter().enumerate() {
            for b in fr.iter().skip(i).take(40) {
                assert_eq!(mul_fr(token, a, b), *a * b);
            }
        }
    }

    #[test]
    fn sums_and_differences_agree_with_arkworks() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(6);
        let mut fq: Vec<Fq> = edge();
        let mut fr: Vec<Fr> = edge();
        fq.extend((0..300).map(|_| Fq::rand(&mut rng)));
        fr.extend((0..300).map(|_| Fr::rand(&mut rng)));
        for a in &fq {
            for b in &fq {
                assert_eq!(add_fq(a, b), *a + b);
                assert_eq!(sub_fq(a, b), *a - b);
            }
        }
        for a in &fr {
            for b in &fr {
                assert_eq!(add_fr(a, b), *a + b);
                assert_eq!(sub_fr(a, b), *a - b);
            }
        }
    }

    #[test]
    fn lazy_product_of_an_unreduced_input_stays_below_2p() {
        let Some(token) = detect() else {
            return;
        };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let p = BigInt(FR.p);
        for _ in 0..5000 {
            // a in [p, 2p): a reduced element plus p, as the lazy NTT keeps them.
            let x = Fr::rand(&mut rng);
            let mut a = x.0;
            a.add_with_carry(&p);
            let w = Fr::rand(&mut rng);
            let lazy = mul_lazy(token, &a.0, &w.0 .0, &FR);
            let mut twice = p;
            twice.mul2();
            assert!(BigInt(lazy) < twice);
            assert_eq!(Fr::new_unchecked(BigInt(reduce_once(lazy, &FR.p))), x * w);
        }
    }

    /// The lockstep loops' Fq operations on representatives below `2p`
    /// (each value or it plus p) stay below `2p` and agree with arkworks.
    #[test]
    fn lazy_fq_operations_stay_below_2p_and_agree() {
        let Some(token) = detect() else {
            return;
        };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(12);
        let p = BigInt(FQ.p);
        let twice = BigInt(FQ_TWICE);
        let mut values: Vec<Fq> = edge();
        values.extend((0..400).map(|_| Fq::rand(&mut rng)));
        // A value and each of its representatives below 2p.
        let representatives = |x: Fq| {
            let mut high = x.0;
            high.add_with_carry(&p);
            [x, Fq::new_unchecked(high)]
        };
        for (i, x) in values.iter().enumerate() {
            for y in values.iter().skip(i).take(25) {
                for a in representatives(*x) {
                    for b in representatives(*y) {
                        for (got, want) in [
                            (mul_fq_lazy(token, &a, &b), *x * y),
                            (add_fq_lazy(&a, &b), *x + y),
                            (sub_fq_lazy(&a, &b), *x - y),
                        ] {
                            assert!(got.0 < twice);
                            assert_eq!(reduce_fq(&got), want);
                        }
                    }
                }
            }
        }
        // The largest representatives: 2p - 1 times itself.
        let mut top = FQ_TWICE;
        top[0] -= 1; // 2p is even and its low limb not zero
        let top = Fq::new_unchecked(BigInt(top));
        let product = mul_fq_lazy(token, &top, &top);
        assert!(product.0 < twice);
        let reduced = reduce_fq(&top);
        assert_eq!(reduce_fq(&product), reduced * reduced);
    }

    #[test]
    fn lazy_butterflies_agree_with_reduced_ones() {
        let Some(token) = detect() else {
            return;
        };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(10);
        let p = BigInt(FR.p);
        for round in 0..5000 {
            let (x, y, w) = (Fr::rand(&mut rng), Fr::rand(&mut rng), Fr::rand(&mut rng));
            // Inputs as the lazy transform may hold them: x or x + p.
            let (mut a, mut b) = (x, y);
            if round % 2 == 0 {
                a.0.add_with_carry(&p);
            }
            if round % 3 == 0 {
                b.0.add_with_carry(&p);
            }
            let (mut c, mut d) = (a, b);
            butterfly_fr_lazy(token, &mut a, &mut b, &w);
            add_sub_fr_lazy(&mut c, &mut d);
            for (v, want) in [(a, x + w * y), (b, x - w * y), (c, x + y), (d, x - y)] {
                assert!(v.0 < BigInt(FR_TWICE));
                let mut v = v;
                normalize_fr(&mut v);
                assert_eq!(v, want);
            }
        }
    }

    /// Not a check: prints the cost of one product on each path
    /// (`cargo test --release -p proofmint-gpu adx -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn timing() {
        let Some(token) = detect() else {
            return;
        };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let xs: Vec<Fq> = (0..1 << 16).map(|_| Fq::rand(&mut rng)).collect();
        let time = |f: &dyn Fn(&Fq, &Fq) -> Fq| {
            let mut out = xs.clone();
            let start = std::time::Instant::now();
            for _ in 0..50 {
                for (o, y) in out.iter_mut().zip(&xs) {
                    *o = f(o, y);
                }
            }
            std::hint::black_box(&out);
            start.elapsed().as_nanos() as f64 / (50 * xs.len()) as f64
        };
        println!("arkworks: {:.2} ns", time(&|a, b| *a * b));
        println!("mulx/adx: {:.2} ns", time(&|a, b| mul_fq(token, a, b)));
    }
}
