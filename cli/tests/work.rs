//! `proofmint work gemm` and `proofmint work verify` as a node and an auditor
//! meet them: a product proven from `.npy` files and checked, with the
//! receipt's fields written for the client; other matrices, a changed
//! product, a damaged proof, bad `.npy` files and a `.ptau` too small each
//! refused with one line and a non-zero exit, never a panic. And in an
//! epoch: a matrix-product receipt counts only with its work proof, which
//! the bundle keeps and the audit checks again.

mod binary;
#[path = "../../prover/tests/common/mod.rs"]
mod common;

use std::path::Path;

use ark_bn254::Fr;
use binary::*;
use common::*;
use proofmint_circuits::field::fr_to_hex;
use proofmint_circuits::payment::Payments;
use proofmint_circuits::receipt::{address_of, Receipt};
use proofmint_verifier::ptau::Ptau;
use proofmint_work::commitment::to_ark;
use proofmint_work::evidence::WorkProof;
use proofmint_work::npy::{Matrix, WideMatrix};

fn write_matrix(path: &Path, rows: usize, columns: usize, seed: i64) {
    let matrix = Matrix {
        rows,
        columns,
        entries: (0..rows * columns)
            .map(|i| ((i as i64 * 37 + seed * 11) % 256 - 128) as i8)
            .collect(),
    };
    std::fs::write(path, matrix.to_npy()).unwrap();
}

/// `proofmint work gemm`'s arguments.
fn gemm_args<'a>(a: &'a Path, b: &'a Path, ptau: &'a Path, out: &'a Path) -> [&'a str; 10] {
    [
        "work",
        "gemm",
        "--a",
        s(a),
        "--b",
        s(b),
        "--ptau",
        s(ptau),
        "--out",
        s(out),
    ]
}

fn write_ptau(path: &Path, power: u32) {
    let ptau = Ptau::from_secrets(power, Fr::from(1234u64), Fr::from(5u64), Fr::from(6u64));
    let mut bytes = Vec::new();
    ptau.write(&mut bytes).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A folder with A (m×k) and B (k2×n) as `.npy` files and a power-10
/// development `.ptau`; their paths, and that of an output folder `job`.
fn fixture(
    (m, k): (usize, usize),
    (k2, n): (usize, usize),
) -> (tempfile::TempDir, [std::path::PathBuf; 4]) {
    let dir = tempfile::tempdir().unwrap();
    let paths = ["A.npy", "B.npy", "pot.ptau", "job"].map(|name| dir.path().join(name));
    write_matrix(&paths[0], m, k, 1);
    write_matrix(&paths[1], k2, n, 2);
    write_ptau(&paths[2], 10);
    (dir, paths)
}

#[test]
fn a_product_is_proven_verified_and_its_receipt_fields_written() {
    let (dir, [a, b, ptau, out]) = fixture((6, 5), (5, 7));
    let d = dir.path();
    let printed = ok(&gemm_args(&a, &b, &ptau, &out));
    assert!(printed.contains("6x5x7"), "{printed}");
    assert!(
        printed.contains("receipt sign --kind 1 --units 210"),
        "{printed}"
    );
    let receipt: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("work.json")).unwrap()).unwrap();
    assert_eq!(receipt["kind"], 1);
    assert_eq!(receipt["units"], "210");
    let input = receipt["inputCommitment"].as_str().unwrap().to_string();
    assert!(input.starts_with("0x") && input.len() == 66);
    let c = WideMatrix::from_npy(&std::fs::read(out.join("C.npy")).unwrap()).unwrap();
    assert_eq!((c.rows, c.columns), (6, 7));

    let verified = ok(&[
        "work",
        "verify",
        s(&out),
        "--ptau",
        s(&ptau),
        "--a",
        s(&a),
        "--b",
        s(&b),
    ]);
    assert!(verified.contains("valid work proof"), "{verified}");
    assert!(verified.contains(&input), "{verified}");

    // Other input matrices than the proof commits to.
    let other = d.join("other.npy");
    write_matrix(&other, 6, 5, 3);
    let refused = fails(&[
        "work",
        "verify",
        s(&out),
        "--ptau",
        s(&ptau),
        "--a",
        s(&other),
        "--b",
        s(&b),
    ]);
    assert!(
        refused.contains("not the matrices the proof commits to"),
        "{refused}"
    );
    assert!(
        fails(&["work", "verify", s(&out), "--ptau", s(&ptau), "--a", s(&a)])
            .contains("both --a and --b")
    );

    // A changed product.
    let mut changed = c.clone();
    changed.entries[0] += 1;
    std::fs::write(out.join("C.npy"), changed.to_npy()).unwrap();
    assert!(fails(&["work", "verify", s(&out), "--ptau", s(&ptau)])
        .contains("is not the product the proof commits to"));
    std::fs::write(out.join("C.npy"), c.to_npy()).unwrap();

    // A damaged proof, and a truncated one.
    let proof = std::fs::read(out.join("work.proof")).unwrap();
    let mut damaged = proof.clone();
    let at = damaged.len() - 100;
    damaged[at] ^= 1;
    std::fs::write(out.join("work.proof"), &damaged).unwrap();
    assert!(fails(&["work", "verify", s(&out), "--ptau", s(&ptau)]).contains("rejected"));
    std::fs::write(out.join("work.proof"), &proof[..50]).unwrap();
    assert!(fails(&["work", "verify", s(&out), "--ptau", s(&ptau)]).contains("ends inside"));
}

#[test]
fn bad_inputs_are_refused_with_one_line() {
    let (_dir, [a, b, ptau, out]) = fixture((4, 3), (4, 2));
    let gemm = |a: &Path, b: &Path, ptau: &Path| fails(&gemm_args(a, b, ptau, &out));
    assert!(gemm(&a, &b, &ptau).contains("A's columns must be B's rows"));
    // A float array, and a file that is not .npy at all.
    let mut float = std::fs::read(&a).unwrap();
    let at = float.windows(3).position(|w| w == b"|i1").unwrap();
    float[at..at + 3].copy_from_slice(b"<f4");
    std::fs::write(&a, &float).unwrap();
    write_matrix(&b, 3, 2, 2);
    let message = gemm(&a, &b, &ptau);
    assert!(
        message.contains("A.npy") && message.contains("not int8"),
        "{message}"
    );
    std::fs::write(&a, b"not numpy").unwrap();
    assert!(gemm(&a, &b, &ptau).contains("no \\x93NUMPY magic"));
    // A Powers of Tau too small for the shape.
    write_matrix(&a, 40, 40, 1);
    write_matrix(&b, 40, 40, 2);
    write_ptau(&ptau, 8);
    let message = gemm(&a, &b, &ptau);
    assert!(message.contains("pot.ptau"), "{message}");
    assert!(!out.join("work.proof").exists(), "nothing written");
}

/// An epoch of the fixtures' ten receipts and one matrix-product receipt
/// (line 11, leaf 10), whose commitments and units are `proof`'s unless
/// `units` says otherwise; writes receipts and payments, returns their paths.
fn epoch_with_product(
    d: &Path,
    proof: &WorkProof,
    units: u64,
) -> (std::path::PathBuf, std::path::PathBuf, Receipt) {
    let client = key(1);
    let product = Receipt {
        job_id: Fr::from(900u64),
        node: node(0),
        client: address_of(&client),
        epoch: EPOCH,
        units,
        kind: 1,
        input_commitment: to_ark(proof.input),
        output_commitment: to_ark(proof.output),
    };
    let mut signed: Vec<_> = signed_receipts().into_iter().map(|(_, r)| r).collect();
    signed.push(product.sign(&DOMAIN, &client));
    let receipts = d.join("receipts.jsonl");
    let lines: Vec<String> = signed.iter().map(|r| r.to_json_line()).collect();
    std::fs::write(&receipts, lines.join("\n") + "\n").unwrap();
    let payments = d.join("payments.jsonl");
    std::fs::write(
        &payments,
        Payments::for_receipts(signed.iter().map(|r| &r.receipt)).to_jsonl(),
    )
    .unwrap();
    (receipts, payments, product)
}

#[test]
fn an_epoch_counts_a_product_receipt_only_with_its_work_proof() {
    let (dir, [a, b, ptau, job]) = fixture((3, 4), (4, 2));
    let d = dir.path();
    let evidence = d.join("evidence");
    ok(&gemm_args(&a, &b, &ptau, &job));
    let proof = WorkProof::from_bytes(&std::fs::read(job.join("work.proof")).unwrap()).unwrap();
    let (receipts, payments, product) = epoch_with_product(d, &proof, proof.units());
    std::fs::create_dir_all(&evidence).unwrap();
    let file_name = format!("{}.proof", fr_to_hex(&product.job_id));
    std::fs::copy(job.join("work.proof"), evidence.join(&file_name)).unwrap();

    let out = d.join("epoch");
    let (chain, registry, depth, epoch) = (
        CHAIN.to_string(),
        REGISTRY.to_string(),
        SHAPE.depth.to_string(),
        EPOCH.to_string(),
    );
    let build = |receipts: &Path, payments: &Path, extra: &[&str]| {
        let mut args = vec![
            "epoch",
            "build",
            "--receipts",
            s(receipts),
            "--payments",
            s(payments),
            "--epoch",
            &epoch,
            "--chain-id",
            &chain,
            "--registry",
            &registry,
            "--depth",
            &depth,
            "--out",
            s(&out),
        ];
        args.extend_from_slice(extra);
        proofmint(&args)
    };
    let stderr = |out: std::process::Output| String::from_utf8_lossy(&out.stderr).into_owned();
    // Without the work proof: refused, naming the line.
    let refused = build(&receipts, &payments, &[]);
    assert_eq!(refused.status.code(), Some(1));
    let message = stderr(refused);
    assert!(
        message.contains("line 11: a matrix-product receipt (kind 1) needs its work proof"),
        "{message}"
    );
    assert!(!out.join("epoch.json").exists(), "nothing written");
    // With it: built, and the proof kept in the bundle.
    let built = build(
        &receipts,
        &payments,
        &["--evidence", s(&evidence), "--ptau", s(&ptau)],
    );
    assert!(built.status.success(), "{}", stderr(built));
    let kept = out.join("evidence").join(&file_name);
    assert!(kept.exists());
    let audit = |extra: &[&str]| {
        let mut args = vec![
            "audit",
            s(&out),
            "--payments",
            s(&payments),
            "--chain-id",
            &chain,
            "--registry",
            &registry,
        ];
        args.extend_from_slice(extra);
        proofmint(&args)
    };
    let audited = audit(&["--ptau", s(&ptau)]);
    assert!(audited.status.success(), "{}", stderr(audited));
    assert!(String::from_utf8_lossy(&audited.stdout).contains("every work proof verifies"));
    let message = stderr(audit(&[]));
    assert!(
        message.contains("leaf 10: a matrix-product receipt"),
        "{message}"
    );
    // A work proof altered in the bundle: the audit names its leaf.
    let mut bytes = std::fs::read(&kept).unwrap();
    let at = bytes.len() - 64;
    bytes[at] ^= 1;
    std::fs::write(&kept, &bytes).unwrap();
    let message = stderr(audit(&["--ptau", s(&ptau)]));
    assert!(
        message.contains("leaf 10: the work proof does not verify"),
        "{message}"
    );
    std::fs::remove_file(&kept).unwrap();
    let message = stderr(audit(&["--ptau", s(&ptau)]));
    assert!(message.contains("leaf 10: no work proof"), "{message}");

    // A receipt claiming more units than the proven product: refused.
    std::fs::remove_dir_all(&out).unwrap();
    let inflated = d.join("inflated");
    std::fs::create_dir_all(&inflated).unwrap();
    let (receipts, payments, _) = epoch_with_product(&inflated, &proof, proof.units() * 10);
    let refused = build(
        &receipts,
        &payments,
        &["--evidence", s(&evidence), "--ptau", s(&ptau)],
    );
    let message = stderr(refused);
    assert!(
        message.contains("line 11") && message.contains("units"),
        "{message}"
    );
    assert!(!out.join("epoch.json").exists(), "nothing written");
}
