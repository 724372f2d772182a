//! Work proofs (halo2 KZG proofs that a node's output is the function of its
//! input) checked against the receipts they are the evidence of.
//!
//! A receipt of kind 1 (a matrix product) counts only with a GEMM work proof
//! whose shape gives the receipt's units and whose public inputs are the
//! receipt's input and output commitments, and which verifies
//! ([`verify_work`]). In an epoch bundle the proofs lie beside the receipts
//! (`evidence/<jobId>.proof`): `epoch build` refuses a kind-1 receipt
//! without one, naming the line, and copies the evidence into the bundle;
//! `audit` checks it again, batched ([`check_evidence`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proofmint_circuits::field::fr_to_hex;
use proofmint_circuits::receipt::Receipt;
use proofmint_work::evidence::{check_shape, WorkError, WorkProof, WorkVerifier, KIND_GEMM};
use proofmint_work::halo2_proofs::halo2curves::bn256::Bn256;
use proofmint_work::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use proofmint_work::srs::params_from_file;

/// The bundle's folder of work proofs.
pub const EVIDENCE_DIR: &str = "evidence";
/// Largest work proof file read.
const MAX_FILE: u64 = 1 << 17;

/// Checks `proof` as the evidence of `receipt`: its units and commitments
/// are the receipt's, and it verifies with KZG parameters `params` (made for
/// its shape's circuit size, [`proofmint_work::srs::params_from_file`]).
pub fn verify_work(
    receipt: &Receipt,
    proof: &WorkProof,
    params: &ParamsKZG<Bn256>,
) -> Result<(), WorkError> {
    proofmint_work::check_cpu()?;
    proof.matches_receipt(receipt)?;
    proof.verify(params)
}

/// Where the work proof of `receipt` lies in a folder of evidence.
pub fn evidence_path(dir: &Path, receipt: &Receipt) -> PathBuf {
    dir.join(format!("{}.proof", fr_to_hex(&receipt.job_id)))
}

/// Whether any receipt needs evidence.
pub fn needs_evidence<'a>(receipts: impl IntoIterator<Item = &'a Receipt>) -> bool {
    receipts.into_iter().any(|r| r.kind == KIND_GEMM)
}

/// Checks the evidence of every kind-1 receipt of `receipts` (each with the
/// number its problems are reported under: a line of the receipts file, or
/// a leaf of the bundle, as `label` says) in the folder `dir`, with KZG
/// parameters from the `.ptau` file `ptau`. Returns the work proofs' files
/// (job id's file name, bytes) to keep with the bundle, or one line per
/// problem, in order.
pub fn check_evidence(
    receipts: &[(usize, Receipt)],
    dir: Option<&Path>,
    ptau: Option<&Path>,
    label: &str,
) -> Result<Vec<(String, Vec<u8>)>, Vec<String>> {
    let gemm: Vec<&(usize, Receipt)> = receipts
        .iter()
        .filter(|(_, r)| r.kind == KIND_GEMM)
        .collect();
    if gemm.is_empty() {
        return Ok(Vec::new());
    }
    if let Err(e) = proofmint_work::check_cpu() {
        return Err(vec![e.to_string()]);
    }
    let (Some(dir), Some(ptau)) = (dir, ptau) else {
        return Err(gemm
            .iter()
            .map(|(n, _)| {
                format!("{label} {n}: a matrix-product receipt (kind 1) needs its work proof: give --evidence and --ptau")
            })
            .collect());
    };
    let mut problems: Vec<(usize, String)> = Vec::new();
    let mut files = Vec::new();
    let mut proofs = Vec::new();
    let mut numbers = Vec::new();
    for (n, receipt) in gemm {
        let path = evidence_path(dir, receipt);
        let read = std::fs::metadata(&path)
            .map_err(|e| e.to_string())
            .and_then(|m| {
                if m.len() > MAX_FILE {
                    Err(format!("{} bytes, more than a work proof has", m.len()))
                } else {
                    std::fs::read(&path).map_err(|e| e.to_string())
                }
            });
        let bytes = match read {
            Ok(bytes) => bytes,
            Err(e) => {
                problems.push((*n, format!("no work proof {}: {e}", path.display())));
                continue;
            }
        };
        let checked = WorkProof::from_bytes(&bytes).and_then(|proof| {
            proof.matches_receipt(receipt)?;
            Ok(proof)
        });
        match checked {
            Ok(proof) => {
                let name = path
                    .file_name()
                    .expect("a file name")
                    .to_string_lossy()
                    .into_owned();
                files.push((name, bytes));
                proofs.push(proof);
                numbers.push(*n);
            }
            Err(e) => problems.push((*n, format!("{}: {e}", path.display()))),
        }
    }
    // Parameters for every circuit size among the proofs, each read once.
    let mut params = BTreeMap::new();
    for proof in &proofs {
        let k = check_shape(proof.shape).expect("checked when read");
        if let std::collections::btree_map::Entry::Vacant(slot) = params.entry(k) {
            match params_from_file(ptau, k) {
                Ok(p) => {
                    slot.insert(p);
                }
                Err(e) => {
                    return Err(vec![format!("{}: {e}", ptau.display())]);
                }
            }
        }
    }
    for (index, e) in WorkVerifier::new(params).verify_many(&proofs) {
        problems.push((
            numbers[index],
            format!("the work proof does not verify: {e}"),
        ));
    }
    if problems.is_empty() {
        return Ok(files);
    }
    problems.sort_by_key(|(n, _)| *n);
    Err(problems
        .into_iter()
        .map(|(n, reason)| format!("{label} {n}: {reason}"))
        .collect())
}
