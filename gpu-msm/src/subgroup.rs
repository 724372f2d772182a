//! Subgroup membership of many BN254 G2 points at once.
//!
//! A point read from a key file must lie in G2, the prime-order subgroup of the
//! twist E'(Fq2), whose cofactor is about 2^254. arkworks tests one point with
//! ψ(P) = \[6x²\]P (El Housni, Guillevic and Piellard, ePrint 2022/352), ψ the
//! untwist-Frobenius-twist endomorphism and x the BN parameter: about 94 µs a
//! point, and a 64-slot proving key has 343,473 of them.
//!
//! Here: P is in G2 if and only if \[x+1\]P + ψ(\[x\]P) + ψ²(\[x\]P) = ψ³(\[2x\]P)
//! (Dai, Lin, Zhao and Zhou, ePrint 2022/348, for BN curves whose x is not 4
//! mod 13 nor 92 mod 97, which BN254's is not; a test checks it). It needs only
//! \[x\]P, a 63-bit multiple, and the multiplications of all points advance
//! together in batch-affine steps on AVX-512 IFMA (`subgroup_ifma::multiply_each`),
//! sharing their inversions. A point whose multiplication meets an exceptional
//! case (only points of small order can) takes arkworks' test instead. On a CPU
//! without IFMA the same steps one point at a time (`lockstep`), on the
//! MULX/ADX products where the CPU has them; a chunk that meets an
//! exceptional case takes \[x\]P by Jacobian double-and-add (complete
//! formulas), about half the cost of arkworks' test.
//!
//! Many points at once are first tested together, by random linear
//! combinations (the small-exponents batch test of Bellare, Garay and Rabin,
//! Eurocrypt 1998): S = Σ d_i·P_i for independent random digits d_i, and S's own
//! exact test. If every P_i is in G2, so is S. If some P_j is not, its order
//! has a prime factor ℓ of the cofactor h = 2p - r (r is prime and does not
//! divide h), and the projection of S onto E'\[ℓ^∞\] vanishes only if d_j
//! falls in one residue class mod ℓ, whatever the other digits. Digits span
//! 2^c consecutive values with 2^c ≤ 10069, h's least prime factor (a test
//! checks that h has none below 2^13), so each combination passes a bad point
//! with probability at most 2^-c, independently; ⌈128/c⌉ combinations leave
//! at most 2^-128. Each is one window of the bucket method (a batch-affine
//! addition a point), about a tenth of a 63-bit multiple's steps a point.
//! Only when a combination fails do the points take their own tests, which
//! find the first one outside. The digits come from the thread's
//! cryptographic generator, seeded by the operating system, so whoever wrote
//! the points cannot aim at them.

use std::sync::LazyLock;

use ark_bn254::{Fq, Fq2, FqConfig, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{AdditiveGroup, Field, MontConfig};
use rayon::prelude::*;

/// The BN254 parameter x (the curve's "u"): p and r are polynomials in it.
const BN_X: u64 = 4_965_661_367_192_848_881;

/// `modulus - 1` divided by a small divisor of it.
fn p_minus_one_over(divisor: u64) -> [u64; 4] {
    let mut limbs = FqConfig::MODULUS.0;
    limbs[0] -= 1; // p is odd: no borrow
    let mut remainder = 0u128;
    for limb in limbs.iter_mut().rev() {
        let value = (remainder << 64) | *limb as u128;
        *limb = (value / divisor as u128) as u64;
        remainder = value % divisor as u128;
    }
    assert_eq!(remainder, 0, "{divisor} divides p - 1");
    limbs
}

/// ψ's coefficients: ξ^((p-1)/3) and ξ^((p-1)/2), ξ = 9 + u the twist's non-residue.
static PSI: LazyLock<(Fq2, Fq2)> = LazyLock::new(|| {
    let xi = Fq2::new(Fq::from(9u64), Fq::ONE);
    (xi.pow(p_minus_one_over(3)), xi.pow(p_minus_one_over(2)))
});

/// ψ(P) = (conj(x)·ξ^((p-1)/3), conj(y)·ξ^((p-1)/2)).
fn psi(point: &G2Affine) -> G2Affine {
    let mut out = *point;
    out.x.frobenius_map_in_place(1);
    out.y.frobenius_map_in_place(1);
    out.x *= PSI.0;
    out.y *= PSI.1;
    out
}

/// ψ on Jacobian coordinates: conjugation is a field automorphism, so
/// (X : Y : Z) maps to (conj(X)·c0 : conj(Y)·c1 : conj(Z)).
fn psi_projective(point: &G2Projective) -> G2Projective {
    let mut out = *point;
    out.x.frobenius_map_in_place(1);
    out.y.frobenius_map_in_place(1);
    out.z.frobenius_map_in_place(1);
    out.x *= PSI.0;
    out.y *= PSI.1;
    out
}

/// The membership equation for P given Q = \[x\]P:
/// P + Q + ψ(Q) + ψ²(Q) = ψ³(2Q).
fn in_g2_given_x_multiple(point: &G2Affine, x_multiple: &G2Affine) -> bool {
    let psi_q = psi(x_multiple);
    let psi2_q = psi(&psi_q);
    let left = point.into_group() + x_multiple + psi_q + psi2_q;
    let right = psi_projective(&psi_projective(&psi_projective(
        &x_multiple.into_group().double(),
    )));
    left == right
}

/// Checks that every point (each already on the curve) lies in G2; the error
/// is the index of the first that does not. From [`COMBINE_FROM`] points the
/// random combinations of the module's doc first (wrongly accepting with
/// probability below 2^-128), then, only if one fails, each point's test.
pub fn check_g2_subgroup(points: &[G2Affine]) -> Result<(), usize> {
    if points.len() >= COMBINE_FROM && random_combinations_in_g2(crate::scalar_arithmetic(), points)
    {
        return Ok(());
    }
    check_g2_subgroup_exact(points)
}

/// The fewest points tested by random combinations: below, the ⌈128/c⌉
/// combinations' own tests (about 40 µs each) cost more than the points'.
pub const COMBINE_FROM: usize = 64;

/// The bits of each digit in the random combinations: 2^13 consecutive values
/// are distinct modulo h's least prime factor, 10069; no more would be.
const MAX_DIGIT_BITS: usize = 13;
const _: () = assert!(1 << MAX_DIGIT_BITS <= 10069 && 1 << (MAX_DIGIT_BITS + 1) > 10069);

/// The combinations' soundness: a point outside G2 passes all of them with
/// probability at most 2^-SECURITY_BITS.
const SECURITY_BITS: usize = 128;

/// Digit bits c and the number of combinations for `n` points: ⌈128/c⌉
/// combinations, each a batch-affine addition a point and about two a
/// bucket (2^(c-1) buckets) in the reduction; c minimises their sum.
fn combination_plan(n: usize) -> (usize, usize) {
    (1..=MAX_DIGIT_BITS)
        .map(|c| (c, SECURITY_BITS.div_ceil(c)))
        .min_by_key(|&(c, rounds)| rounds * (n + (1 << c)))
        .expect("a nonempty range")
}

/// Whether every one of the combinations of [`combination_plan`] lies in G2
/// (the points on the curve; see the module's doc): true when all points do,
/// and false but with probability below 2^-128 when one does not.
fn random_combinations_in_g2(scalar: crate::Scalar, points: &[G2Affine]) -> bool {
    let (c, rounds) = combination_plan(points.len());
    (0..rounds)
        .into_par_iter()
        .all(|_| combination_in_g2(scalar, points, c, &mut rand::thread_rng()))
}

/// One combination: Σ d_i·P_i for digits d_i drawn uniformly from the 2^c
/// values of `[-(2^(c-1) - 1), 2^(c-1)]` (the bucket method's signed digits,
/// so 2^(c-1) buckets), then the sum's exact test.
fn combination_in_g2<R: rand::Rng>(
    scalar: crate::Scalar,
    points: &[G2Affine],
    c: usize,
    rng: &mut R,
) -> bool {
    debug_assert!((1..=MAX_DIGIT_BITS).contains(&c));
    let mask = (1u32 << c) - 1;
    let offset = (1i32 << (c - 1)) - 1;
    let digits: Vec<i32> = (0..points.len())
        .map(|_| (rng.next_u32() & mask) as i32 - offset)
        .collect();
    let sum = crate::msm::window_sum_on(scalar, points, &digits, c);
    in_g2_one_by_one(&sum.into_affine())
}

/// [`check_g2_subgroup`] without the random combinations: every point's own
/// test, which names the first outside.
pub fn check_g2_subgroup_exact(points: &[G2Affine]) -> Result<(), usize> {
    match crate::arithmetic() {
        #[cfg(target_arch = "x86_64")]
        crate::Arithmetic::Ifma(token) => check_g2_subgroup_ifma(token, points),
        crate::Arithmetic::Portable(scalar) => check_g2_subgroup_batched(scalar, points),
    }
}

/// [`check_g2_subgroup`] with AVX-512 IFMA: \[x\]P for all points at once
/// (`subgroup_ifma::multiply_each`).
#[cfg(target_arch = "x86_64")]
fn check_g2_subgroup_ifma(token: crate::ifma::Ifma, points: &[G2Affine]) -> Result<(), usize> {
    let Some(multiples) = crate::subgroup_ifma::multiply_each::<
        ark_bn254::g2::Config,
        crate::curve_ifma::OverFq2,
    >(token, points, BN_X as u128) else {
        return check_g2_subgroup_portable(points);
    };
    // An exceptional case in the batch (no multiple) means a point of small
    // order; arkworks' test decides it.
    match points
        .par_iter()
        .zip(&multiples)
        .position_first(|(point, multiple)| match multiple {
            Some(multiple) => !point.is_zero() && !in_g2_given_x_multiple(point, multiple),
            None => !point.is_in_correct_subgroup_assuming_on_curve(),
        }) {
        Some(index) => Err(index),
        None => Ok(()),
    }
}

/// Points per chunk of [`check_g2_subgroup_batched`].
const CHUNK: usize = 2048;

/// [`check_g2_subgroup`] on the scalar path: \[x\]P for a chunk of points at
/// a time in batch-affine steps (`lockstep`, one point at a time on the
/// scalar path's products, the MULX/ADX ones where the CPU has them); a
/// chunk that meets an exceptional case (a point of small order) is decided
/// a point at a time, with complete formulas.
fn check_g2_subgroup_batched(scalar: crate::Scalar, points: &[G2Affine]) -> Result<(), usize> {
    use crate::lockstep::{multiply_each_on, Schedule};
    let schedule = Schedule::naf(BN_X as u128).expect("x is above 1");
    let bad: Vec<Option<usize>> = points
        .par_chunks(CHUNK)
        .map(|chunk| match multiply_each_on(scalar, chunk, &schedule) {
            Some(multiples) => chunk.iter().zip(&multiples).position(|(point, multiple)| {
                !point.is_zero() && !in_g2_given_x_multiple(point, multiple)
            }),
            None => chunk.iter().position(|point| !in_g2_one_by_one(point)),
        })
        .collect();
    match bad
        .iter()
        .enumerate()
        .find_map(|(c, bad)| bad.map(|i| c * CHUNK + i))
    {
        Some(index) => Err(index),
        None => Ok(()),
    }
}

/// [`check_g2_subgroup`] one point at a time (any CPU): the same equation as
/// the batched test, with \[x\]P by double-and-add in Jacobian coordinates.
/// A 63-bit multiple where arkworks' test takes the 127-bit \[6x²\]P, so
/// about half its cost.
pub fn check_g2_subgroup_portable(points: &[G2Affine]) -> Result<(), usize> {
    match points
        .par_iter()
        .position_first(|point| !in_g2_one_by_one(point))
    {
        Some(index) => Err(index),
        None => Ok(()),
    }
}

/// P + Q + ψ(Q) + ψ²(Q) = ψ³(2Q) for Q = \[x\]P, all in Jacobian coordinates
/// (complete formulas: no exceptional case, so points of small order need no
/// other test).
fn in_g2_one_by_one(point: &G2Affine) -> bool {
    if point.is_zero() {
        return true;
    }
    let q = point.mul_bigint([BN_X]);
    let psi_q = psi_projective(&q);
    let psi2_q = psi_projective(&psi_q);
    let left = q + point + psi_q + psi2_q;
    let right = psi_projective(&psi_projective(&psi_projective(&q.double())));
    left == right
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::UniformRand;
    use ark_ff::Zero;
    use rand::SeedableRng;

    /// A point on the twist outside G2: a random x with a square root, no
    /// cofactor clearing (the cofactor is ~2^254, so it is almost surely outside).
    fn outside(rng: &mut rand_chacha::ChaCha20Rng) -> G2Affine {
        loop {
            let x = Fq2::rand(rng);
            if let Some(point) = G2Affine::get_point_from_x_unchecked(x, false) {
                if !point.is_in_correct_subgroup_assuming_on_curve() {
                    return point;
                }
            }
        }
    }

    /// (2p - r) / 10069: the twist's cofactor h = 2p - r is 10069 times a
    /// 241-bit number, so [r·h/10069]R has order 10069 (or 1) for R on the twist.
    const H_OVER_10069: [u64; 4] = [
        7799340877429544537,
        2337723311936173128,
        11396566623341412826,
        346310285708905,
    ];

    /// A point of order 10069 on the twist (outside G2).
    fn small_order(rng: &mut rand_chacha::ChaCha20Rng) -> G2Affine {
        loop {
            let point = outside(rng)
                .mul_bigint(<ark_bn254::Fr as ark_ff::PrimeField>::MODULUS)
                .mul_bigint(H_OVER_10069);
            if !point.is_zero() {
                assert!(point.mul_bigint([10069u64]).is_zero());
                return point.into_affine();
            }
        }
    }

    #[test]
    fn points_of_small_order_and_exceptional_steps() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(10);
        let small = small_order(&mut rng);
        let mixed = (G2Projective::rand(&mut rng) + small).into_affine();
        let good = G2Projective::rand(&mut rng).into_affine();
        assert_eq!(check_g2_subgroup(&[good, small]), Err(1));
        assert_eq!(check_g2_subgroup(&[good, good, mixed]), Err(2));
        assert_eq!(check_g2_subgroup_portable(&[good, small]), Err(1));
        assert_eq!(check_g2_subgroup_portable(&[good, good, mixed]), Err(2));
        assert_eq!(check_g2_subgroup_portable(&[good, -small]), Err(1));
        for scalar in crate::every_scalar_arithmetic() {
            assert_eq!(check_g2_subgroup_batched(scalar, &[good, small]), Err(1));
            assert_eq!(
                check_g2_subgroup_batched(scalar, &[good, good, mixed]),
                Err(2)
            );
            assert_eq!(
                check_g2_subgroup_batched(scalar, &[G2Affine::zero(), good, -good]),
                Ok(())
            );
        }
        // On the scalar path a chunk that meets one comes back None; every
        // other multiple equals arkworks'.
        let points = [small, mixed, good, G2Affine::zero(), -small];
        let mut exceptional = 0;
        // Multipliers whose steps meet ±T or pass through the identity for T
        // of order 10069.
        let multipliers = [
            2u128,
            10068,
            10069,
            10070,
            20137,
            20138,
            20139,
            30208,
            10069 * 5 + 2,
        ];
        for k in multipliers {
            let schedule = crate::lockstep::Schedule::naf(k).unwrap();
            for point in points {
                for scalar in crate::every_scalar_arithmetic() {
                    match crate::lockstep::multiply_each_on(scalar, &[point, good], &schedule) {
                        Some(multiples) => assert_eq!(
                            multiples,
                            [point, good].map(|p| p.mul_bigint([k as u64]).into_affine()),
                            "k = {k}, {scalar:?}"
                        ),
                        None => exceptional += 1,
                    }
                }
            }
        }
        assert!(exceptional > 0, "the exceptional path ran");
        assert_eq!(
            check_g2_subgroup_portable(&[G2Affine::zero(), good, -good]),
            Ok(())
        );
        #[cfg(target_arch = "x86_64")]
        if let Some(token) = crate::ifma::detect() {
            // On IFMA those entries come back None; every other one equals
            // arkworks' multiple.
            let mut exceptional = 0;
            for k in multipliers {
                let multiples = crate::subgroup_ifma::multiply_each::<
                    ark_bn254::g2::Config,
                    crate::curve_ifma::OverFq2,
                >(token, &points, k)
                .unwrap();
                for (point, multiple) in points.iter().zip(&multiples) {
                    match multiple {
                        Some(m) => assert_eq!(*m, point.mul_bigint([k as u64]), "k = {k}"),
                        None => exceptional += 1,
                    }
                }
            }
            assert!(exceptional > 0, "the exceptional path ran");
        }
    }

    /// 2p - r, the twist's cofactor.
    fn cofactor() -> ark_ff::BigInt<4> {
        use ark_ff::BigInteger;
        let mut h = FqConfig::MODULUS;
        assert!(!h.mul2(), "p < 2^255");
        assert!(!h.sub_with_borrow(&<ark_bn254::Fr as ark_ff::PrimeField>::MODULUS));
        h
    }

    #[test]
    fn the_cofactor_has_no_prime_factor_the_digits_can_miss() {
        use ark_ff::{BigInteger, PrimeField};
        let r = <ark_bn254::Fr as PrimeField>::MODULUS;
        let h = cofactor();
        // #E'(Fq2) = r·h: every point on the twist has an order dividing it.
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(13);
        for _ in 0..3 {
            assert!(outside(&mut rng).mul_bigint(r).mul_bigint(h).is_zero());
        }
        // r is prime and r < h < 2r, so r does not divide h: a point outside
        // G2 has a component of order some prime factor of h.
        let mut twice_r = r;
        assert!(!twice_r.mul2());
        assert!(r < h && h < twice_r);
        // No divisor up to 2^13: 2^13 consecutive digits are distinct
        // modulo every prime factor of h. 10069 divides h, so 13 bits are the most.
        let remainder = |d: u64| {
            h.0.iter()
                .rev()
                .fold(0u128, |acc, &limb| ((acc << 64) | limb as u128) % d as u128)
        };
        for d in 2..=1u64 << MAX_DIGIT_BITS {
            assert_ne!(remainder(d), 0, "{d} divides h");
        }
        assert_eq!(remainder(10069), 0);
        // The helper's constant is h / 10069.
        let quotient = ark_ff::BigInt(H_OVER_10069);
        let mut product = ark_ff::BigInt([0u64; 4]);
        for _ in 0..10069 {
            assert!(!product.add_with_carry(&quotient));
        }
        assert_eq!(product, h);
    }

    #[test]
    fn combination_plans_reach_128_bits() {
        for n in [1, 64, 1000, 1 << 16, 1 << 21] {
            let (c, rounds) = combination_plan(n);
            assert!((1..=MAX_DIGIT_BITS).contains(&c), "n = {n}");
            assert!(c * rounds >= SECURITY_BITS, "n = {n}");
        }
        assert_eq!(combination_plan(1 << 16), (13, 10));
    }

    #[test]
    fn random_combinations_accept_g2_and_catch_each_kind_of_outsider() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
        let mut inside: Vec<G2Affine> = G2Projective::normalize_batch(
            &(0..300)
                .map(|_| G2Projective::rand(&mut rng))
                .collect::<Vec<_>>(),
        );
        // The identity, a point and its negation, repeats: the buckets'
        // doublings and cancellations.
        inside[7] = G2Affine::zero();
        inside[8] = G2Affine::generator();
        inside[9] = -G2Affine::generator();
        inside[10] = inside[11];
        let small = small_order(&mut rng);
        let mixed = (G2Projective::rand(&mut rng) + small).into_affine();
        let outsiders = [outside(&mut rng), small, -small, mixed];
        for scalar in crate::every_scalar_arithmetic() {
            assert!(random_combinations_in_g2(scalar, &inside), "{scalar:?}");
            for bad in outsiders {
                for index in [0, 150, 299] {
                    let mut points = inside.clone();
                    points[index] = bad;
                    assert!(!random_combinations_in_g2(scalar, &points), "{scalar:?}");
                }
            }
            // Many copies of a point of small order and of its negation:
            // sums that double and cancel in the buckets.
            let mut points = inside.clone();
            points.extend([small; 50]);
            points.extend([-small; 50]);
            assert!(!random_combinations_in_g2(scalar, &points), "{scalar:?}");
        }
        // The whole check names the first outsider.
        let mut points = inside.clone();
        points[299] = mixed;
        points[120] = small;
        assert_eq!(check_g2_subgroup(&points), Err(120));
        assert_eq!(check_g2_subgroup(&inside), Ok(()));
    }

    #[test]
    fn one_combination_passes_a_bad_point_when_its_digit_vanishes_modulo_its_order() {
        // A point of order 10069 alone, digits of 2 bits (-1, 0, 1 or 2):
        // the sum is in G2 only for the digit 0, one time in four.
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(12);
        let small = small_order(&mut rng);
        for scalar in crate::every_scalar_arithmetic() {
            let passed = (0..400)
                .filter(|_| combination_in_g2(scalar, &[small], 2, &mut rng))
                .count();
            assert!((60..=140).contains(&passed), "{passed} of 400, {scalar:?}");
        }
    }

    #[test]
    fn bn254_meets_the_hypotheses_of_the_membership_test() {
        // ePrint 2022/348's test for BN curves needs x ≢ 4 (mod 13) and
        // x ≢ 92 (mod 97).
        assert_ne!(BN_X % 13, 4);
        assert_ne!(BN_X % 97, 92);
        // And x is the parameter: p = 36x⁴ + 36x³ + 24x² + 6x + 1.
        let x = BN_X as u128;
        let p = FqConfig::MODULUS.0;
        // Compare modulo 2^128 (the low two limbs of p).
        let low = (p[1] as u128) << 64 | p[0] as u128;
        let x2 = x.wrapping_mul(x);
        let value = 36u128
            .wrapping_mul(x2.wrapping_mul(x2))
            .wrapping_add(36u128.wrapping_mul(x2.wrapping_mul(x)))
            .wrapping_add(24u128.wrapping_mul(x2))
            .wrapping_add(6 * x)
            .wrapping_add(1);
        assert_eq!(value, low);
    }

    #[test]
    fn agrees_with_arkworks_on_points_in_and_out_of_g2() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let inside: Vec<G2Affine> = G2Projective::normalize_batch(
            &(0..5000)
                .map(|_| G2Projective::rand(&mut rng))
                .collect::<Vec<_>>(),
        );
        let mut points = inside.clone();
        points[17] = G2Affine::zero();
        points[18] = G2Affine::generator();
        points[19] = -G2Affine::generator();
        assert_eq!(check_g2_subgroup(&points), Ok(()));
        assert_eq!(check_g2_subgroup(&[]), Ok(()));
        for index in [0, 1, 4095, 4096, 4999] {
            let mut bad = inside.clone();
            bad[index] = outside(&mut rng);
            assert!(bad[index].is_on_curve());
            assert_eq!(check_g2_subgroup(&bad), Err(index), "index {index}");
            for scalar in crate::every_scalar_arithmetic() {
                assert_eq!(
                    check_g2_subgroup_batched(scalar, &bad),
                    Err(index),
                    "index {index}, {scalar:?}"
                );
            }
            assert_eq!(
                check_g2_subgroup_portable(&bad),
                Err(index),
                "index {index}"
            );
        }
        // The first failure is reported when there are several.
        let mut bad = inside;
        bad[3000] = outside(&mut rng);
        bad[10] = outside(&mut rng);
        assert_eq!(check_g2_subgroup(&bad), Err(10));
        for scalar in crate::every_scalar_arithmetic() {
            assert_eq!(check_g2_subgroup_batched(scalar, &bad), Err(10));
            assert_eq!(check_g2_subgroup_batched(scalar, &points), Ok(()));
        }
        // ψ agrees with arkworks' test on single points too, on both paths.
        for _ in 0..20 {
            let point = outside(&mut rng);
            assert_eq!(check_g2_subgroup(&[point]), Err(0));
            assert_eq!(check_g2_subgroup_portable(&[point]), Err(0));
        }
        assert_eq!(check_g2_subgroup_portable(&points), Ok(()));
    }
}
