//! One setup for a slot count (depth 20), then, in a fresh process per
//! prover, the key loaded from its file and two proofs, timed, with the
//! process's peak memory (resident set, through `/usr/bin/time -v`): our
//! prover on `CpuBackend` and `ark_groth16`'s. The figure for presets too
//! slow for criterion, and the peak-memory comparison.
//!
//! `cargo run --release -p proofmint-prover --example prove_once -- 64`

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use proofmint_circuits::claim::ClaimShape;
use proofmint_gpu::CpuBackend;
use proofmint_prover::keys::constraint_count;
use proofmint_prover::{prove_claim, setup_development, ProvingKeyFile};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// In the child: load the key, prove once with `which`, print the time.
fn child(key_path: &Path, which: &str) {
    let key = ProvingKeyFile::from_bytes(&std::fs::read(key_path).expect("key file"))
        .expect("a valid key");
    let circuit = proofmint_prover::sample::full_claim(key.shape());
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    // The first proof of a process builds our prover's matrices; the second reuses them.
    let mut times = Vec::new();
    for _ in 0..2 {
        let start = Instant::now();
        let proof = match which {
            "ours" => {
                prove_claim(&key, circuit.clone(), &CpuBackend::new(), &mut rng)
                    .expect("prove")
                    .proof
            }
            _ => Groth16::<Bn254, proofmint_prover::groth16::CircomReduction>::prove(
                &key.pk,
                circuit.clone(),
                &mut rng,
            )
            .expect("prove"),
        };
        assert!(!ark_ec::AffineRepr::is_zero(&proof.a), "a proof was made");
        times.push(start.elapsed().as_secs_f64());
    }
    println!("first proof {:.2} s, second {:.2} s", times[0], times[1]);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        return child(Path::new(&args[2]), &args[3]);
    }
    let slots: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(16);
    let shape = ClaimShape::new(slots, 20).expect("a valid slot count");
    println!("{shape}: {} constraints", constraint_count(shape));
    let start = Instant::now();
    let key = setup_development(shape, &mut ChaCha20Rng::seed_from_u64(1)).expect("setup");
    println!("setup {:.2} s", start.elapsed().as_secs_f64());
    let key_path =
        std::env::temp_dir().join(format!("proofmint-prove-once-{}.pk", std::process::id()));
    std::fs::write(&key_path, key.to_bytes()).expect("write the key");
    drop(key);
    let exe = std::env::current_exe().expect("own path");
    for which in ["ours", "ark-groth16"] {
        let out = Command::new("/usr/bin/time")
            .arg("-v")
            .arg(&exe)
            .args(["--child", key_path.to_str().expect("utf-8 path"), which])
            .output()
            .expect("/usr/bin/time runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let peak_kib: u64 = stderr
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Maximum resident set size (kbytes): ")
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        println!(
            "{which:<12} {}; peak {:.0} MiB (key load and two proofs)",
            stdout.trim(),
            peak_kib as f64 / 1024.0
        );
    }
    std::fs::remove_file(&key_path).ok();
}
