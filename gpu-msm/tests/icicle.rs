//! The ICICLE backend against arkworks, on an installed ICICLE (its CPU device
//! is enough). ICICLE is found through `PROOFMINT_ICICLE_DIR`; where it is not
//! set these tests say they were skipped and pass, unless
//! `PROOFMINT_REQUIRE_ICICLE=1`, when a missing ICICLE fails them.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{UniformRand, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use proofmint_gpu::icicle::{install_dir, IcicleBackend};
use proofmint_gpu::{select_backend, Backend, BackendChoice, BackendError, NttDirection};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn icicle() -> Option<IcicleBackend> {
    let Some(dir) = install_dir(None) else {
        assert!(
            std::env::var("PROOFMINT_REQUIRE_ICICLE").as_deref() != Ok("1"),
            "PROOFMINT_ICICLE_DIR is not set"
        );
        eprintln!("skipped: no ICICLE installed (set PROOFMINT_ICICLE_DIR to run these tests)");
        return None;
    };
    Some(IcicleBackend::load(&dir).expect("ICICLE loads from PROOFMINT_ICICLE_DIR"))
}

fn points<G: CurveGroup>(n: usize, rng: &mut ChaCha20Rng) -> Vec<G::Affine> {
    let base = G::rand(rng);
    let mut acc = base;
    let projective: Vec<G> = (0..n)
        .map(|_| {
            acc += base;
            acc
        })
        .collect();
    G::normalize_batch(&projective)
}

#[test]
fn icicle_msm_matches_arkworks() {
    let Some(backend) = icicle() else { return };
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for n in [1usize, 2, 31, 100, 1024, 5000] {
        let mut bases = points::<G1Projective>(n, &mut rng);
        let mut scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        for i in 0..n {
            match rng.gen_range(0..10) {
                0 => scalars[i] = Fr::zero(),
                1 => bases[i] = G1Affine::zero(),
                2 if i > 0 => bases[i] = bases[i - 1],
                _ => {}
            }
        }
        let expected = G1Projective::msm(&bases, &scalars).unwrap();
        assert_eq!(
            backend.msm_g1(&bases, &scalars).unwrap(),
            expected,
            "G1 n = {n}"
        );
        let g2 = points::<G2Projective>(n.min(300), &mut rng);
        let expected = G2Projective::msm(&g2, &scalars[..g2.len()]).unwrap();
        assert_eq!(
            backend.msm_g2(&g2, &scalars[..g2.len()]).unwrap(),
            expected,
            "G2 n = {n}"
        );
    }
    assert!(matches!(
        backend.msm_g1(&[G1Affine::zero()], &[]),
        Err(BackendError::LengthMismatch { .. })
    ));
}

#[test]
fn icicle_ntt_matches_ark_poly_and_grows_its_domain() {
    let Some(backend) = icicle() else { return };
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    // Small first, then larger: the domain must be released and grown.
    for log in [3u32, 10, 14, 12] {
        let n = 1usize << log;
        let coefficients: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let domain = Radix2EvaluationDomain::<Fr>::new(n).unwrap();
        let offset = Fr::from(5u64);
        let mut values = coefficients.clone();
        backend.ntt(&mut values, NttDirection::Forward).unwrap();
        assert_eq!(values, domain.fft(&coefficients), "forward 2^{log}");
        backend.ntt(&mut values, NttDirection::Inverse).unwrap();
        assert_eq!(values, coefficients, "inverse 2^{log}");
        backend
            .coset_ntt(&mut values, offset, NttDirection::Forward)
            .unwrap();
        assert_eq!(
            values,
            domain.get_coset(offset).unwrap().fft(&coefficients),
            "coset 2^{log}"
        );
        backend
            .coset_ntt(&mut values, offset, NttDirection::Inverse)
            .unwrap();
        assert_eq!(values, coefficients, "coset inverse 2^{log}");
    }
    let mut three = vec![Fr::zero(); 3];
    assert_eq!(
        backend.ntt(&mut three, NttDirection::Forward),
        Err(BackendError::NotPowerOfTwo(3))
    );
}

#[test]
fn auto_takes_icicle_only_with_a_cuda_device() {
    let Some(backend) = icicle() else { return };
    let (picked, why) = select_backend(BackendChoice::Auto, None).unwrap();
    if backend.device() == "CUDA" {
        assert_eq!(picked.name(), "icicle-cuda", "{why}");
    } else {
        assert_eq!(picked.name(), "cpu", "{why}");
        let (explicit, _) = select_backend(BackendChoice::Icicle, None).unwrap();
        assert_eq!(explicit.name(), "icicle-cpu");
    }
}
