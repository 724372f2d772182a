//! Every backend operation against arkworks on random inputs of many sizes
//! (powers of two and not), with zero scalars, repeated points and the point
//! at infinity mixed in.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{UniformRand, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use proofmint_gpu::{msm, Backend, BackendError, CpuBackend, NttDirection};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// `CpuBackend` on every arithmetic this CPU has (AVX-512 IFMA, MULX/ADX,
/// arkworks' products), so that each path is checked on every machine that
/// can run it, whatever `PROOFMINT_PORTABLE` says.
fn backends() -> Vec<Box<dyn Backend>> {
    CpuBackend::every_path()
        .into_iter()
        .map(|cpu| {
            eprintln!("checking {}", cpu.summary());
            Box::new(cpu) as Box<dyn Backend>
        })
        .collect()
}

/// Random points and scalars with the awkward cases mixed in.
fn inputs<G: CurveGroup>(n: usize, rng: &mut ChaCha20Rng) -> (Vec<G::Affine>, Vec<Fr>)
where
    G::Affine: AffineRepr<ScalarField = Fr>,
{
    let distinct = n.clamp(1, 64);
    let pool: Vec<G> = (0..distinct).map(|_| G::rand(rng)).collect();
    let pool = G::normalize_batch(&pool);
    let mut bases: Vec<G::Affine> = (0..n).map(|i| pool[i % distinct]).collect(); // repeats when n > 64
    let mut scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(rng)).collect();
    for i in 0..n {
        match rng.gen_range(0..16) {
            0 => scalars[i] = Fr::zero(),
            1 => bases[i] = G::Affine::zero(),
            2 => scalars[i] = -Fr::from(1u64),
            3 => scalars[i] = Fr::from(rng.gen_range(1u64..8)),
            4 if i > 0 => {
                // Same point, negated scalar: their terms cancel.
                bases[i] = bases[i - 1];
                scalars[i] = -scalars[i - 1];
            }
            _ => {}
        }
    }
    (bases, scalars)
}

const SIZES: [usize; 14] = [
    0,
    1,
    2,
    3,
    31,
    32,
    33,
    100,
    255,
    256,
    1000,
    1024,
    4097,
    (1 << 14) + 3,
];

#[test]
fn msm_g1_matches_arkworks() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for n in SIZES {
        let (bases, scalars) = inputs::<G1Projective>(n, &mut rng);
        let expected = G1Projective::msm(&bases, &scalars).unwrap();
        for backend in backends() {
            assert_eq!(
                backend.msm_g1(&bases, &scalars).unwrap(),
                expected,
                "{} n = {n}",
                backend.name()
            );
        }
        // The portable path too (the backend takes the AVX-512 IFMA one where the CPU has it).
        assert_eq!(msm::msm(&bases, &scalars), expected, "portable n = {n}");
    }
}

/// Every window size, on both paths: small windows make most additions
/// collide in the batch (waiting lists, projective spill), large ones leave
/// buckets empty.
#[test]
fn msms_match_arkworks_at_every_window_size() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let (bases, scalars) = inputs::<G1Projective>(3000, &mut rng);
    let expected = G1Projective::msm(&bases, &scalars).unwrap();
    for c in 2..=20 {
        assert_eq!(
            msm::msm_g1_with_window(&bases, &scalars, c),
            expected,
            "c = {c}"
        );
        if c % 3 == 0 {
            assert_eq!(
                msm::msm_with_window(&bases, &scalars, c),
                expected,
                "portable c = {c}"
            );
        }
    }
    // G2 (Fq2 coordinates) at a few: waiting lists, the projective reduction of
    // few buckets, the segmented batch-affine one of many (mostly empty).
    let (bases, scalars) = inputs::<G2Projective>(1500, &mut rng);
    let expected = G2Projective::msm(&bases, &scalars).unwrap();
    for c in [3, 8, 12, 17] {
        assert_eq!(
            msm::msm_g2_with_window(&bases, &scalars, c),
            expected,
            "G2 c = {c}"
        );
    }
}

#[test]
fn msm_g2_matches_arkworks() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    for n in [0usize, 1, 5, 33, 300, 1025, 4096] {
        let (bases, scalars) = inputs::<G2Projective>(n, &mut rng);
        let expected = G2Projective::msm(&bases, &scalars).unwrap();
        for backend in backends() {
            assert_eq!(
                backend.msm_g2(&bases, &scalars).unwrap(),
                expected,
                "{} n = {n}",
                backend.name()
            );
        }
    }
}

#[test]
fn msm_of_one_point_many_times_and_all_zero_scalars() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let point = G1Projective::rand(&mut rng).into_affine();
    let bases = vec![point; 5000];
    let scalars: Vec<Fr> = (0..5000).map(|_| Fr::rand(&mut rng)).collect();
    let expected = G1Projective::msm(&bases, &scalars).unwrap();
    let zeros = vec![Fr::zero(); 5000];
    let infinity = vec![G1Affine::zero(); 5000];
    for backend in backends() {
        assert_eq!(backend.msm_g1(&bases, &scalars).unwrap(), expected);
        assert!(backend.msm_g1(&bases, &zeros).unwrap().is_zero());
        assert!(backend.msm_g1(&infinity, &scalars).unwrap().is_zero());
        // Equal small scalars put the same point in the same bucket again and
        // again: doublings (same point) and, with alternating signs, cancellations.
        let ones = vec![Fr::from(3u64); 5000];
        let signs: Vec<Fr> = (0..5000)
            .map(|i| {
                if i % 3 == 0 {
                    -Fr::from(5u64)
                } else {
                    Fr::from(5u64)
                }
            })
            .collect();
        for small in [&ones, &signs] {
            let expected = G1Projective::msm(&bases, small).unwrap();
            assert_eq!(backend.msm_g1(&bases, small).unwrap(), expected);
        }
        assert_eq!(
            backend.msm_g1(&bases[..3], &scalars[..2]),
            Err(BackendError::LengthMismatch {
                bases: 3,
                scalars: 2
            })
        );
        assert!(backend.msm_g2(&[G2Affine::zero()], &[]).is_err());
    }
}

#[test]
fn ntt_matches_ark_poly_radix2() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    // Up to 2^12 the IFMA path runs in one cache block; 2^13 adds one stage
    // over the whole slice, 2^14 two fused ones, 2^17 fused plus single.
    for log in (0..=14u32).chain([17]) {
        let n = 1usize << log;
        let coefficients: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let domain = Radix2EvaluationDomain::<Fr>::new(n).unwrap();
        let evaluations = domain.fft(&coefficients);
        let offset = Fr::from(7u64);
        let coset = domain.get_coset(offset).unwrap();
        let coset_evaluations = coset.fft(&coefficients);
        for backend in backends() {
            let mut values = coefficients.clone();
            backend.ntt(&mut values, NttDirection::Forward).unwrap();
            assert_eq!(values, evaluations, "{} forward 2^{log}", backend.name());
            backend.ntt(&mut values, NttDirection::Inverse).unwrap();
            assert_eq!(values, coefficients, "{} inverse 2^{log}", backend.name());
            backend
                .coset_ntt(&mut values, offset, NttDirection::Forward)
                .unwrap();
            assert_eq!(
                values,
                coset_evaluations,
                "{} coset forward 2^{log}",
                backend.name()
            );
            backend
                .coset_ntt(&mut values, offset, NttDirection::Inverse)
                .unwrap();
            assert_eq!(
                values,
                coefficients,
                "{} coset inverse 2^{log}",
                backend.name()
            );
        }
    }
}

#[test]
fn ntt_refuses_bad_sizes() {
    for backend in backends() {
        let mut three = vec![Fr::zero(); 3];
        assert_eq!(
            backend.ntt(&mut three, NttDirection::Forward),
            Err(BackendError::NotPowerOfTwo(3))
        );
        let mut empty: Vec<Fr> = vec![];
        assert_eq!(
            backend.ntt(&mut empty, NttDirection::Forward),
            Err(BackendError::NotPowerOfTwo(0))
        );
        let mut four = vec![Fr::zero(); 4];
        assert_eq!(
            backend.coset_ntt(&mut four, Fr::zero(), NttDirection::Forward),
            Err(BackendError::ZeroOffset)
        );
    }
}
