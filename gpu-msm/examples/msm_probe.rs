use ark_bn254::{Fr, G1Projective};
use ark_ec::CurveGroup;
use ark_ff::UniformRand;
use rand::SeedableRng;
use std::time::Instant;
fn main() {
    let log: u32 = std::env::args().nth(1).unwrap().parse().unwrap();
    let n = 1usize << log;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let g = G1Projective::rand(&mut rng);
    let mut acc = g;
    let pts: Vec<G1Projective> = (0..n)
        .map(|_| {
            acc += g;
            acc
        })
        .collect();
    let bases = G1Projective::normalize_batch(&pts);
    let scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
    let e = <G1Projective as ark_ec::VariableBaseMSM>::msm(&bases, &scalars).unwrap();
    for c in 10..=18usize {
        let t = Instant::now();
        let r = proofmint_gpu::msm::msm_with_window(&bases, &scalars, c);
        println!("c={c} {:?} {}", t.elapsed(), r == e);
    }
    for _ in 0..2 {
        let t = Instant::now();
        let r = proofmint_gpu::msm::msm(&bases, &scalars);
        println!("ours {:?}", t.elapsed());
        let t = Instant::now();
        let e = <G1Projective as ark_ec::VariableBaseMSM>::msm(&bases, &scalars).unwrap();
        println!("ark  {:?} {}", t.elapsed(), r == e);
    }
}
#[allow(dead_code)]
fn unused() {}
