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

use std::sync::LazyLock;

use ark_bn254::{Fq, Fq2, FqConfig, G2Affine, G2Projective};
use ark_ec::AffineRepr;
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
/// is the index of the first that does not.
pub fn check_g2_subgroup(points: &[G2Affine]) -> Result<(), usize> {
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
