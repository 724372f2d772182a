//! Writes a prepared Powers of Tau of random, forgotten secrets: a stand-in
//! of the published files' format and size for benchmarks and trials (the
//! phase-2 commands need the Lagrange sections `snarkjs powersoftau prepare
//! phase2` adds, which take hours to make at the presets' powers with
//! snarkjs). Not for keys of value: nobody attests to how it was made.
//!
//! `cargo run --release -p proofmint-circuits --example dev_ptau -- POWER OUT.ptau`

use ark_bn254::Fr;
use ark_ff::UniformRand;
use proofmint_circuits::ptau::Ptau;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(power), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: dev_ptau POWER OUT.ptau");
        std::process::exit(2);
    };
    let power: u32 = power.parse().expect("POWER is a number");
    assert!((1..=24).contains(&power), "POWER from 1 to 24");
    let mut rng = rand::rngs::OsRng;
    let (tau, alpha, beta) = (Fr::rand(&mut rng), Fr::rand(&mut rng), Fr::rand(&mut rng));
    let start = std::time::Instant::now();
    let mut file = std::io::BufWriter::new(std::fs::File::create(&out).expect("OUT is writable"));
    Ptau::from_secrets(power, tau, alpha, beta)
        .write_with(&mut file, Ptau::lagrange_sections(power, tau, alpha, beta))
        .expect("the file is written");
    eprintln!(
        "wrote {out} (power {power}, prepared) in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}
