//! One scalar times many BN254 G1 points: a phase-2 contribution divides
//! every C and H point of a key by its secret (hundreds of thousands of
//! points, one scalar).
//!
//! With AVX-512 IFMA the scalar is split as k = k₁ + λ·k₂ (GLV: λ the
//! eigenvalue of the endomorphism φ(x, y) = (βx, y), k₁ and k₂ about 128
//! bits each), and \[k₁\]P and \[k₂\]φ(P) are each computed for all points at
//! once, advancing together through the bits in batch-affine steps that share
//! their inversions (`subgroup_ifma::multiply_each`). On the scalar path the
//! same kind of steps, one point at a time on the MULX/ADX products where the
//! CPU has them (`lockstep`: the GLV halves in width-5 NAF over a table of
//! each point's odd multiples and their images under φ, the points of a
//! chunk advancing through the digits together). For any chunk that meets
//! an exceptional case, each point is multiplied on its own (arkworks' GLV),
//! as [`scale_g1_portable`] does.

use ark_bn254::{Fr, G1Affine, G1Projective};
use ark_ec::CurveGroup;
use rayon::prelude::*;

/// `k·P` for every point, in affine form.
pub fn scale_g1(points: &[G1Affine], k: Fr) -> Vec<G1Affine> {
    match crate::arithmetic() {
        #[cfg(target_arch = "x86_64")]
        crate::Arithmetic::Ifma(token) => {
            scale_g1_ifma(token, points, k).unwrap_or_else(|| scale_g1_portable(points, k))
        }
        crate::Arithmetic::Portable(scalar) => scale_g1_batched(scalar, points, k),
    }
}

/// Points per chunk of [`scale_g1_batched`]: their tables (sixteen x's and
/// eight y's a point) stay within a core's L2 cache, and each step's one
/// inversion is shared by that many points.
const CHUNK: usize = 2048;

/// [`scale_g1`] on the scalar path: chunks of points advancing together
/// through the GLV schedule of `k` (`lockstep`), a chunk per task; a chunk
/// that meets a zero denominator is multiplied a point at a time.
fn scale_g1_batched(scalar: crate::Scalar, points: &[G1Affine], k: Fr) -> Vec<G1Affine> {
    use crate::lockstep::{multiply_each_on, Schedule};
    let Some(schedule) = Schedule::glv::<ark_bn254::g1::Config>(k) else {
        return scale_g1_portable(points, k);
    };
    points
        .par_chunks(CHUNK)
        .flat_map_iter(|chunk| {
            multiply_each_on(scalar, chunk, &schedule)
                .unwrap_or_else(|| chunk.iter().map(|p| (*p * k).into_affine()).collect())
        })
        .collect()
}

/// [`scale_g1`] a point at a time (any CPU).
pub fn scale_g1_portable(points: &[G1Affine], k: Fr) -> Vec<G1Affine> {
    let scaled: Vec<G1Projective> = points.par_iter().map(|p| *p * k).collect();
    G1Projective::normalize_batch(&scaled)
}

/// The GLV halves, each below 2^128 and at least 2 (else `None`: the
/// portable path takes such a scalar), with their signs.
fn halves(k: Fr) -> Option<[(bool, u128); 2]> {
    use ark_ec::scalar_mul::glv::GLVConfig;
    use ark_ff::PrimeField;
    let ((s1, k1), (s2, k2)) = ark_bn254::g1::Config::scalar_decomposition(k);
    let small = |k: Fr| {
        let limbs = k.into_bigint().0;
        (limbs[2] == 0 && limbs[3] == 0).then(|| limbs[0] as u128 | (limbs[1] as u128) << 64)
    };
    let (k1, k2) = (small(k1)?, small(k2)?);
    (k1 >= 2 && k2 >= 2).then_some([(s1, k1), (s2, k2)])
}

#[cfg(target_arch = "x86_64")]
fn scale_g1_ifma(token: crate::ifma::Ifma, points: &[G1Affine], k: Fr) -> Option<Vec<G1Affine>> {
    use ark_ec::scalar_mul::glv::GLVConfig;
    use ark_ec::AffineRepr;
    use ark_ff::Zero;
    type Config = ark_bn254::g1::Config;
    let [(s1, k1), (s2, k2)] = halves(k)?;
    let each = |points: &[G1Affine], k| {
        crate::subgroup_ifma::multiply_each::<Config, crate::curve_ifma::OverFq>(token, points, k)
    };
    let first = each(points, k1)?;
    let endo: Vec<G1Affine> = points.par_iter().map(Config::endomorphism_affine).collect();
    let second = each(&endo, k2)?;
    let sum: Vec<G1Projective> = points
        .par_iter()
        .zip(first.par_iter().zip(&second))
        .map(|(point, pair)| match pair {
            _ if point.is_zero() => G1Projective::zero(),
            (Some(a), Some(b)) => {
                let a = if s1 { *a } else { -*a };
                let b = if s2 { *b } else { -*b };
                a.into_group() + b
            }
            _ => *point * k,
        })
        .collect();
    Some(G1Projective::normalize_batch(&sum))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::AffineRepr;
    use ark_ff::{UniformRand, Zero};
    use rand::SeedableRng;

    /// Equal to a multiplication per point, for random scalars, small ones,
    /// and points including the identity, across a batch's lanes and chunks.
    #[test]
    fn scaling_is_a_multiplication_per_point() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
        let mut points: Vec<G1Affine> = (0..2100)
            .map(|_| (G1Affine::generator() * Fr::rand(&mut rng)).into_affine())
            .collect();
        points[5] = G1Affine::zero();
        points[2049] = G1Affine::zero();
        let mut scalars: Vec<Fr> = (0..4).map(|_| Fr::rand(&mut rng)).collect();
        scalars.extend([Fr::zero(), Fr::from(1u64), Fr::from(2u64), -Fr::from(1u64)]);
        for k in scalars {
            let expected: Vec<G1Affine> = points.iter().map(|p| (*p * k).into_affine()).collect();
            assert_eq!(scale_g1(&points, k), expected, "k = {k}");
            assert_eq!(scale_g1_portable(&points, k), expected, "k = {k}");
            for scalar in crate::every_arithmetic()
                .into_iter()
                .filter_map(|a| match a {
                    crate::Arithmetic::Portable(scalar) => Some(scalar),
                    #[cfg(target_arch = "x86_64")]
                    crate::Arithmetic::Ifma(_) => None,
                })
            {
                assert_eq!(
                    scale_g1_batched(scalar, &points, k),
                    expected,
                    "k = {k}, {scalar:?}"
                );
            }
        }
    }
}
