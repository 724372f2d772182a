//! Times loading (and validating) a proving key file: `load_key KEYS/claim.pk`.
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("a claim.pk path");
    let bytes = std::fs::read(&path).expect("readable");
    let start = Instant::now();
    let key = proofmint_prover::ProvingKeyFile::from_bytes(&bytes).expect("a valid key");
    println!(
        "{} ({} bytes): loaded and validated in {:?}",
        key.shape(),
        bytes.len(),
        start.elapsed()
    );
}
