//! The ICICLE backend against arkworks, on an installed ICICLE (its CPU device
//! is enough). ICICLE is found through `PROOFMINT_ICICLE_DIR`; where it is not
//! set these tests say they were skipped and pass, unless
//! `PROOFMINT_REQUIRE_ICICLE=1`, when a missing ICICLE fails them.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{UniformRand, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use proofmint_gpu::icicle::IcicleBackend;
use proofmint_gpu::{select_backend, Backend, BackendChoice, BackendError, NttDirection};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn icicle() -> Option<IcicleBackend> {
    proofmint_gpu::icicle::for_tests()
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

/// Scalars that stress the conversions: 0, 1, −1, small, random.
fn edge_scalars(n: usize, rng: &mut ChaCha20Rng) -> Vec<Fr> {
    (0..n)
        .map(|i| match i % 7 {
            0 => Fr::zero(),
            1 => Fr::from(1u64),
            2 => -Fr::from(1u64),
            3 => Fr::from(i as u64),
            _ => Fr::rand(rng),
        })
        .collect()
}

#[test]
fn resident_scalars_come_back_as_they_went_up() {
    let Some(backend) = icicle() else { return };
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    for n in [0usize, 1, 7, 1000] {
        let values = edge_scalars(n, &mut rng);
        let buffer = backend.upload_scalars(&values).unwrap();
        assert_eq!(buffer.len(), n);
        assert_eq!(
            backend.download_scalars(&buffer).unwrap(),
            values,
            "n = {n}"
        );
    }
}

#[test]
fn resident_msms_match_arkworks_on_ranges_of_their_buffers() {
    let Some(backend) = icicle() else { return };
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let n = 3000;
    let mut bases = points::<G1Projective>(n, &mut rng);
    bases[5] = G1Affine::zero();
    bases[6] = bases[7];
    let g2 = points::<G2Projective>(n, &mut rng);
    let scalars = edge_scalars(n + 10, &mut rng);
    let on_device = backend.upload_g1(&bases).unwrap();
    let g2_on_device = backend.upload_g2(&g2).unwrap();
    let scalars_on_device = backend.upload_scalars(&scalars).unwrap();
    // Ranges as a prover takes them: bases from 0, scalars from an offset.
    for (bases_range, scalars_from) in [(0..n, 10), (0..n, 0), (100..1100, 3), (0..1, 0), (0..0, 0)]
    {
        let len = bases_range.len();
        let scalar_range = scalars_from..scalars_from + len;
        let expected =
            G1Projective::msm(&bases[bases_range.clone()], &scalars[scalar_range.clone()]).unwrap();
        let got = backend
            .msm_g1_resident(
                on_device.slice(bases_range.clone()).unwrap(),
                scalars_on_device.slice(scalar_range.clone()).unwrap(),
            )
            .unwrap();
        assert_eq!(got, expected, "G1 {bases_range:?} from {scalars_from}");
        let expected =
            G2Projective::msm(&g2[bases_range.clone()], &scalars[scalar_range.clone()]).unwrap();
        let got = backend
            .msm_g2_resident(
                g2_on_device.slice(bases_range.clone()).unwrap(),
                scalars_on_device.slice(scalar_range).unwrap(),
            )
            .unwrap();
        assert_eq!(got, expected, "G2 {bases_range:?} from {scalars_from}");
    }
    // Ranges past the end, or of different lengths, are errors.
    assert!(on_device.slice(0..n + 1).is_err());
    assert!(matches!(
        backend.msm_g1_resident(
            on_device.slice(0..10).unwrap(),
            scalars_on_device.slice(0..11).unwrap()
        ),
        Err(BackendError::LengthMismatch { .. })
    ));
}

#[test]
fn resident_ntts_and_vector_operations_match_the_host() {
    let Some(backend) = icicle() else { return };
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for log in [4u32, 12, 10] {
        let n = 1usize << log;
        let coefficients = edge_scalars(n, &mut rng);
        let other = edge_scalars(n, &mut rng);
        let domain = Radix2EvaluationDomain::<Fr>::new(n).unwrap();
        let offset = Fr::from(5u64);
        let input = backend.upload_scalars(&coefficients).unwrap();
        let mut output = backend.allocate(n).unwrap();
        backend
            .ntt_resident(&input, &mut output, Fr::from(1u64), NttDirection::Forward)
            .unwrap();
        assert_eq!(
            backend.download_scalars(&output).unwrap(),
            domain.fft(&coefficients),
            "2^{log}"
        );
        backend
            .ntt_resident(&input, &mut output, offset, NttDirection::Forward)
            .unwrap();
        let coset = domain.get_coset(offset).unwrap();
        let evaluations = coset.fft(&coefficients);
        assert_eq!(
            backend.download_scalars(&output).unwrap(),
            evaluations,
            "coset 2^{log}"
        );
        let mut back = backend.allocate(n).unwrap();
        backend
            .ntt_resident(&output, &mut back, offset, NttDirection::Inverse)
            .unwrap();
        assert_eq!(
            backend.download_scalars(&back).unwrap(),
            coefficients,
            "coset inverse 2^{log}"
        );

        let mut a = backend.upload_scalars(&coefficients).unwrap();
        let b = backend.upload_scalars(&other).unwrap();
        backend.mul_assign(&mut a, &b).unwrap();
        backend.sub_assign(&mut a, &b).unwrap();
        let k = Fr::rand(&mut rng);
        backend.scale(&mut a, k).unwrap();
        let expected: Vec<Fr> = coefficients
            .iter()
            .zip(&other)
            .map(|(x, y)| (*x * y - y) * k)
            .collect();
        assert_eq!(
            backend.download_scalars(&a).unwrap(),
            expected,
            "a·b − b, scaled, 2^{log}"
        );
    }
    let a = backend.upload_scalars(&[Fr::from(1u64); 4]).unwrap();
    let mut short = backend.allocate(2).unwrap();
    assert!(backend
        .ntt_resident(&a, &mut short, Fr::from(1u64), NttDirection::Forward)
        .is_err());
    assert!(backend.mul_assign(&mut short, &a).is_err());
}

/// Transforms on several threads at once, of sizes that make the shared NTT
/// domain grow while others run (as a service's workers do): every result
/// is still the host's.
/// Backends loaded separately in one process (each parallel test loads
/// its own, and so may a server's workers) are one backend: ICICLE's NTT
/// domain is the process's, and two locks over it let one thread release
/// the domain under another's transform, which ended the test process.
#[test]
fn loads_of_one_install_share_its_domain() {
    let Some(first) = icicle() else { return };
    std::thread::scope(|scope| {
        for thread in 0..4u32 {
            let first = &first;
            scope.spawn(move || {
                let backend = icicle().unwrap();
                assert!(backend.same_as(first), "thread {thread}: a second ICICLE");
                let mut rng = ChaCha20Rng::seed_from_u64(200 + thread as u64);
                // Each thread grows the domain in its own order.
                for round in 0..8u32 {
                    let log = 6 + (round * 5 + thread * 7) % 11;
                    let n = 1usize << log;
                    let coefficients: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
                    let mut values = coefficients.clone();
                    backend.ntt(&mut values, NttDirection::Forward).unwrap();
                    let domain = Radix2EvaluationDomain::<Fr>::new(n).unwrap();
                    assert_eq!(
                        values,
                        domain.fft(&coefficients),
                        "thread {thread}, 2^{log}"
                    );
                }
            });
        }
    });
    let elsewhere = tempfile::tempdir().unwrap();
    let error = IcicleBackend::load(elsewhere.path())
        .err()
        .expect("refused");
    assert!(error.to_string().contains("already loaded"), "{error}");
}

#[test]
fn concurrent_ntts_that_grow_the_domain_agree_with_the_host() {
    let Some(backend) = icicle() else { return };
    std::thread::scope(|scope| {
        for thread in 0..4u64 {
            let backend = backend.clone();
            scope.spawn(move || {
                let mut rng = ChaCha20Rng::seed_from_u64(100 + thread);
                for round in 0..6u32 {
                    let log = 8 + (round + thread as u32 * 3) % 9;
                    let n = 1usize << log;
                    let coefficients: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
                    let domain = Radix2EvaluationDomain::<Fr>::new(n).unwrap();
                    let offset = Fr::from(5u64);
                    let input = backend.upload_scalars(&coefficients).unwrap();
                    let mut output = backend.allocate(n).unwrap();
                    backend
                        .ntt_resident(&input, &mut output, offset, NttDirection::Forward)
                        .unwrap();
                    let expected = domain.get_coset(offset).unwrap().fft(&coefficients);
                    assert_eq!(
                        backend.download_scalars(&output).unwrap(),
                        expected,
                        "thread {thread}, 2^{log}"
                    );
                    let mut values = coefficients.clone();
                    backend.ntt(&mut values, NttDirection::Forward).unwrap();
                    assert_eq!(
                        values,
                        domain.fft(&coefficients),
                        "thread {thread}, host path 2^{log}"
                    );
                }
            });
        }
    });
}
