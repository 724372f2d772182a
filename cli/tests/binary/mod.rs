//! Running the `proofmint` binary from a test: a run that must succeed, one
//! that must fail cleanly (exit 1, one message, no panic).

use std::path::Path;
use std::process::{Command, Output};

pub fn proofmint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_proofmint"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Runs a command that must succeed; returns its stdout.
pub fn ok(args: &[&str]) -> String {
    let out = proofmint(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "proofmint {args:?} failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command that must fail; returns its stderr.
pub fn fails(args: &[&str]) -> String {
    let out = proofmint(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "proofmint {args:?} should fail cleanly: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    stderr
}

/// A path as a command-line argument.
pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}
