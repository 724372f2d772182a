//! `proofmint work gemm` and `proofmint work verify` as a node and an auditor
//! meet them: a product proven from `.npy` files and checked, with the
//! receipt's fields written for the client; other matrices, a changed
//! product, a damaged proof, bad `.npy` files and a `.ptau` too small each
//! refused with one line and a non-zero exit, never a panic.

mod binary;

use std::path::Path;

use ark_bn254::Fr;
use binary::*;
use proofmint_verifier::ptau::Ptau;
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

fn write_ptau(path: &Path, power: u32) {
    let ptau = Ptau::from_secrets(power, Fr::from(1234u64), Fr::from(5u64), Fr::from(6u64));
    let mut bytes = Vec::new();
    ptau.write(&mut bytes).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_product_is_proven_verified_and_its_receipt_fields_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let [a, b, ptau, out] = ["A.npy", "B.npy", "pot.ptau", "job"].map(|name| d.join(name));
    write_matrix(&a, 6, 5, 1);
    write_matrix(&b, 5, 7, 2);
    write_ptau(&ptau, 10);
    let printed = ok(&[
        "work",
        "gemm",
        "--a",
        s(&a),
        "--b",
        s(&b),
        "--ptau",
        s(&ptau),
        "--out",
        s(&out),
    ]);
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
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let [a, b, ptau, out] = ["A.npy", "B.npy", "pot.ptau", "job"].map(|name| d.join(name));
    write_matrix(&a, 4, 3, 1);
    write_matrix(&b, 4, 2, 2);
    write_ptau(&ptau, 10);
    let gemm = |a: &Path, b: &Path, ptau: &Path| {
        fails(&[
            "work",
            "gemm",
            "--a",
            s(a),
            "--b",
            s(b),
            "--ptau",
            s(ptau),
            "--out",
            s(&out),
        ])
    };
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
