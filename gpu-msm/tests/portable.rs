//! The whole `CpuBackend` with its scalar path forced (`PROOFMINT_PORTABLE=1`),
//! as on a CPU without AVX-512 IFMA (MULX/ADX where the CPU has it): MSM in G1 and G2, NTT, coset NTT and the G2
//! subgroup check against arkworks. (A process of its own: the choice is made
//! once per process.)

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::UniformRand;
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use proofmint_gpu::{Backend, CpuBackend, NttDirection, PORTABLE_ENV};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

#[test]
fn forced_portable_path_matches_arkworks() {
    std::env::set_var(PORTABLE_ENV, "1");
    let summary = CpuBackend::new().summary();
    assert!(!summary.starts_with("AVX-512"), "{summary}");
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    for n in [1usize, 40, 1000, 5000] {
        let g1: Vec<G1Projective> = (0..n).map(|_| G1Projective::rand(&mut rng)).collect();
        let g1 = G1Projective::normalize_batch(&g1);
        let scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        assert_eq!(
            CpuBackend::new().msm_g1(&g1, &scalars).unwrap(),
            G1Projective::msm(&g1, &scalars).unwrap()
        );
    }
    let g2: Vec<G2Projective> = (0..700).map(|_| G2Projective::rand(&mut rng)).collect();
    let g2 = G2Projective::normalize_batch(&g2);
    let scalars: Vec<Fr> = (0..700).map(|_| Fr::rand(&mut rng)).collect();
    assert_eq!(
        CpuBackend::new().msm_g2(&g2, &scalars).unwrap(),
        G2Projective::msm(&g2, &scalars).unwrap()
    );
    assert_eq!(proofmint_gpu::subgroup::check_g2_subgroup(&g2), Ok(()));
    for log in [3u32, 10, 13] {
        let n = 1usize << log;
        let values: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let domain = Radix2EvaluationDomain::<Fr>::new(n).unwrap();
        let mut ours = values.clone();
        CpuBackend::new()
            .ntt(&mut ours, NttDirection::Forward)
            .unwrap();
        assert_eq!(ours, domain.fft(&values));
        CpuBackend::new()
            .coset_ntt(&mut ours, Fr::from(5u64), NttDirection::Inverse)
            .unwrap();
        let coset = domain.get_coset(Fr::from(5u64)).unwrap();
        assert_eq!(ours, coset.ifft(&domain.fft(&values)));
    }
}
