//! A one-shot `proofmint prove claim` (a fresh process: load and check the
//! key, build the matrices, prove, check, write) against the warm proof of the
//! same claim in this process (key loaded and matrices built beforehand:
//! witness, proof and self-check, what a long-running prover pays), in one
//! run, alternating, three of each.
//!
//! On the epoch and keys of `proofmint demo --receipts 700 --slots 64 --out D`:
//! `cargo build --release -p proofmint-cli && cargo run --release -p
//! proofmint-prover --example one_shot -- D NODE [path/to/proofmint]`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use proofmint_circuits::claim::ClaimWitness;
use proofmint_circuits::field::parse_address;
use proofmint_gpu::CpuBackend;
use proofmint_prover::{files, prove_claim};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(demo), Some(node)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: one_shot DEMO_DIR NODE [PROOFMINT]");
        std::process::exit(2);
    };
    let demo = PathBuf::from(demo);
    let binary = args
        .get(3)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/release/proofmint"));
    let address = parse_address(node).expect("a node address");
    let (epoch_dir, keys_dir) = (demo.join("epoch"), demo.join("keys"));

    let bundle = files::load_epoch(&epoch_dir).expect("the epoch");
    let tree = bundle.tree().expect("the epoch tree");
    let key = files::load_proving_key(&keys_dir).expect("the proving key");
    key.matrices().expect("matrices");
    let backend = CpuBackend::new();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let mut warm = || {
        let start = Instant::now();
        let circuit = ClaimWitness::build(
            key.shape(),
            bundle.summary.epoch,
            &bundle.receipts,
            &tree,
            address,
            0,
        )
        .expect("the claim");
        prove_claim(&key, circuit, &backend, &mut rng).expect("a proof");
        start.elapsed().as_secs_f64()
    };
    let out = std::env::temp_dir().join(format!("proofmint-one-shot-{}", std::process::id()));
    let one_shot = |binary: &Path| {
        let start = Instant::now();
        let status = Command::new(binary)
            .args(["prove", "claim", "--backend", "cpu", "--node", node])
            .arg("--epoch")
            .arg(&epoch_dir)
            .arg("--keys")
            .arg(&keys_dir)
            .arg("--out")
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("proofmint runs");
        assert!(status.success(), "proofmint prove claim failed");
        start.elapsed().as_secs_f64()
    };
    let (mut warm_times, mut one_shot_times) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        one_shot_times.push(one_shot(&binary));
        warm_times.push(warm());
    }
    let _ = std::fs::remove_dir_all(&out);
    let median = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    println!("{}: {}", key.shape(), backend.summary());
    println!("one-shot proofmint prove claim: {one_shot_times:.3?} s");
    println!("warm proof (witness, proof, check): {warm_times:.3?} s");
    let (a, b) = (median(&mut one_shot_times), median(&mut warm_times));
    println!(
        "medians {a:.3} s against {b:.3} s: one-shot / warm = {:.3}",
        a / b
    );
}
