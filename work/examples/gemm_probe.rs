//! Times one GEMM work proof of a square shape (development parameters):
//! `cargo run --release -p proofmint-work --example gemm_probe -- 128`.
use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use proofmint_work::gemm::{GemmCircuit, Shape};
use proofmint_work::proof;
use rand::{Rng, SeedableRng};

fn main() {
    let size: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let shape = Shape {
        m: size,
        k: size,
        n: size,
    };
    let k = shape.circuit_log_size();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let a: Vec<i8> = (0..size * size).map(|_| rng.gen()).collect();
    let b: Vec<i8> = (0..size * size).map(|_| rng.gen()).collect();
    let start = std::time::Instant::now();
    let params = ParamsKZG::<Bn256>::setup(k, &mut rng);
    println!(
        "{size}^3: 2^{k} rows ({} for the check, {} for the commitments), setup {:?}",
        shape.rows(),
        shape.commitment_rows(),
        start.elapsed()
    );
    let circuit = GemmCircuit::new(shape, a, b);
    let start = std::time::Instant::now();
    let public = circuit.public_inputs().expect("a witness");
    println!("commitments (native) {:?}", start.elapsed());
    let start = std::time::Instant::now();
    let key = proof::proving_key(&params, &circuit).expect("keygen");
    println!("keygen {:?}", start.elapsed());
    let start = std::time::Instant::now();
    let made = proof::prove(&params, &key, &circuit, &[&public], &mut rng).expect("prove");
    println!(
        "prove {:.3}s, {} bytes",
        start.elapsed().as_secs_f64(),
        made.len()
    );
    let start = std::time::Instant::now();
    assert!(proof::verify(&params, key.get_vk(), &[&public], &made));
    println!("verify {:?}", start.elapsed());
}
