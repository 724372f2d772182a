//! `proofmint work`: work proofs of a job's output, as a node makes them and
//! as anyone checks them (GEMM, receipt kind 1).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use proofmint_work::commitment::to_hex;
use proofmint_work::evidence::{check_shape, product_shape, prove_gemm, WorkProof, KIND_GEMM};
use proofmint_work::gemm::Shape;
use proofmint_work::npy::{Matrix, WideMatrix};
use proofmint_work::srs::params_from_file;

/// The product in a work directory.
pub const PRODUCT: &str = "C.npy";
/// The work proof in a work directory.
pub const PROOF: &str = "work.proof";
/// What the client signs, in a work directory.
pub const RECEIPT: &str = "work.json";

#[derive(Subcommand)]
pub enum WorkCommand {
    /// Multiply int8 matrices A (m×k) and B (k×n) from numpy .npy files and
    /// prove it: writes C.npy (int64), work.proof, and work.json (the
    /// receipt's kind, units and commitments, for the client to sign).
    Gemm {
        #[arg(long)]
        a: PathBuf,
        #[arg(long)]
        b: PathBuf,
        /// A Powers of Tau file (snarkjs's .ptau) of at least the circuit's
        /// size: the universal setup every shape uses.
        #[arg(long)]
        ptau: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a work directory: the proof against its shape and commitments,
    /// and C.npy (and A, B where given) against the commitments.
    Verify {
        dir: PathBuf,
        #[arg(long)]
        ptau: PathBuf,
        #[arg(long)]
        a: Option<PathBuf>,
        #[arg(long)]
        b: Option<PathBuf>,
    },
}

pub fn run(command: WorkCommand) -> Result<()> {
    proofmint_work::check_cpu()?;
    match command {
        WorkCommand::Gemm { a, b, ptau, out } => gemm(&a, &b, &ptau, &out),
        WorkCommand::Verify { dir, ptau, a, b } => verify(&dir, &ptau, a.as_deref(), b.as_deref()),
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn matrix(path: &Path) -> Result<Matrix> {
    Matrix::from_npy(&read(path)?).with_context(|| path.display().to_string())
}

fn gemm(a: &Path, b: &Path, ptau: &Path, out: &Path) -> Result<()> {
    let (a, b) = (matrix(a)?, matrix(b)?);
    let shape = product_shape(&a, &b)?;
    let k = check_shape(shape)?;
    let params = params_from_file(ptau, k).with_context(|| ptau.display().to_string())?;
    let start = Instant::now();
    let (c, proof) = prove_gemm(&params, &a, &b, rand::rngs::OsRng)?;
    let took = start.elapsed();
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    write(&out.join(PRODUCT), &c.to_npy())?;
    write(&out.join(PROOF), &proof.to_bytes())?;
    let receipt = serde_json::json!({
        "kind": KIND_GEMM,
        "units": proof.units().to_string(),
        "shape": [shape.m, shape.k, shape.n],
        "inputCommitment": to_hex(&proof.input),
        "outputCommitment": to_hex(&proof.output),
    });
    write(
        &out.join(RECEIPT),
        serde_json::to_string_pretty(&receipt)?.as_bytes(),
    )?;
    println!(
        "proved C = A·B for {}x{}x{} (2^{k} rows) in {:.2} s; wrote {}, {} and {}",
        shape.m,
        shape.k,
        shape.n,
        took.as_secs_f64(),
        out.join(PRODUCT).display(),
        out.join(PROOF).display(),
        out.join(RECEIPT).display()
    );
    println!(
        "the client signs: proofmint receipt sign --kind {KIND_GEMM} --units {} --input {} --output {} --salt ... --node ... --epoch ...",
        proof.units(),
        to_hex(&proof.input),
        to_hex(&proof.output)
    );
    Ok(())
}

fn verify(dir: &Path, ptau: &Path, a: Option<&Path>, b: Option<&Path>) -> Result<()> {
    let path = dir.join(PROOF);
    let proof = WorkProof::from_bytes(&read(&path)?).with_context(|| path.display().to_string())?;
    let k = check_shape(proof.shape)?;
    let params = params_from_file(ptau, k).with_context(|| ptau.display().to_string())?;
    proof
        .verify(&params)
        .with_context(|| format!("{} rejected", path.display()))?;
    let Shape { m, k: inner, n } = proof.shape;
    let product = dir.join(PRODUCT);
    if product.exists() {
        let c = WideMatrix::from_npy(&read(&product)?)
            .with_context(|| product.display().to_string())?;
        if !proof.commits_to_product(&c) {
            bail!(
                "{} is not the product the proof commits to",
                product.display()
            );
        }
    }
    match (a, b) {
        (Some(a_path), Some(b_path)) => {
            let (a, b) = (matrix(a_path)?, matrix(b_path)?);
            if !proof.commits_to_inputs(&a, &b) {
                bail!(
                    "{} and {} are not the matrices the proof commits to",
                    a_path.display(),
                    b_path.display()
                );
            }
        }
        (None, None) => {}
        _ => bail!("give both --a and --b, or neither"),
    }
    println!(
        "valid work proof: C = A·B for {m}x{inner}x{n} ({} units), input {}, output {}",
        proof.units(),
        to_hex(&proof.input),
        to_hex(&proof.output)
    );
    Ok(())
}
