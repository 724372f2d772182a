//! The pinned JavaScript tools of `tools/js` for cross-check tests (also
//! included by other crates' tests through `#[path]`): where they are, and
//! running one of their scripts on a JSON request.
//!
//! Where node or `npm ci --prefix tools/js` is missing the tests say so and
//! pass, unless `PROOFMINT_REQUIRE_JS=1` (set by the test script), when
//! absence fails.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `tools/js`, if node and its packages are installed.
pub fn tools() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/js");
    let ready =
        dir.join("node_modules/snarkjs").exists() && dir.join("node_modules/circomlibjs").exists();
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ready && node {
        return Some(dir);
    }
    assert!(
        std::env::var("PROOFMINT_REQUIRE_JS").as_deref() != Ok("1"),
        "node or tools/js/node_modules missing, and PROOFMINT_REQUIRE_JS=1"
    );
    eprintln!("skipped: node and `npm ci --prefix tools/js` are needed for this cross-check");
    None
}

/// Runs `tools/js/<script>` with `request` on its standard input; its
/// standard output, which it must succeed to give.
pub fn run_script(tools: &Path, script: &str, request: &str) -> Vec<u8> {
    let mut child = Command::new("node")
        .arg(tools.join(script))
        .current_dir(tools)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs");
    child
        .stdin
        .take()
        .expect("a piped stdin")
        .write_all(request.as_bytes())
        .expect("the request is written");
    let out = child.wait_with_output().expect("node ends");
    assert!(out.status.success(), "{script} failed");
    out.stdout
}

/// Runs snarkjs's command line with `args`.
pub fn snarkjs_output<S: AsRef<std::ffi::OsStr>>(tools: &Path, args: &[S]) -> std::process::Output {
    Command::new("node")
        .arg(tools.join("node_modules/snarkjs/cli.js"))
        .args(args)
        .output()
        .expect("node runs")
}

/// [`snarkjs_output`]: whether it succeeded, and its stdout and stderr together.
pub fn snarkjs<S: AsRef<std::ffi::OsStr>>(tools: &Path, args: &[S]) -> (bool, String) {
    let out = snarkjs_output(tools, args);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// Runs snarkjs with `args`, which must succeed; its output.
pub fn run(tools: &Path, args: &[&str]) -> String {
    let (ok, text) = snarkjs(tools, args);
    assert!(ok, "snarkjs {args:?}: {text}");
    text
}

/// A Powers of Tau of `power` from snarkjs in `dir`, with one real
/// contribution, prepared for phase 2.
pub fn snarkjs_ptau(tools: &Path, dir: &Path, power: u32) -> PathBuf {
    let p = |name: &str| {
        dir.join(format!("{name}{power}.ptau"))
            .display()
            .to_string()
    };
    run(
        tools,
        &[
            "powersoftau",
            "new",
            "bn128",
            &power.to_string(),
            &p("pot0_"),
        ],
    );
    run(
        tools,
        &[
            "powersoftau",
            "contribute",
            &p("pot0_"),
            &p("pot1_"),
            "--name=phase one",
            "-e=phase one entropy",
        ],
    );
    run(
        tools,
        &["powersoftau", "prepare", "phase2", &p("pot1_"), &p("pot")],
    );
    PathBuf::from(p("pot"))
}
