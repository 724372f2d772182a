//! The forge fuzz and invariant tests (`contracts/forge`), run with the forge
//! and solc-js pinned in tools/js: 1,000 random inputs per property and 2,000
//! random call sequences of 32 calls per invariant (`contracts/foundry.toml`).
//! Skipped (loudly) where forge is not installed, unless PROOFMINT_REQUIRE_JS
//! is set, as scripts/test.sh does.

use std::process::Command;

#[test]
fn forge_fuzz_and_invariant_tests_pass() {
    let root = proofmint_contracts::repo_root();
    let Some(forge) = proofmint_contracts::js_tool("forge") else {
        return;
    };
    let out = Command::new(&forge)
        .current_dir(root.join("contracts"))
        .args(["test", "--use", "../tools/js/bin/solc", "--root", "."])
        .env("FOUNDRY_DISABLE_NIGHTLY_WARNING", "1")
        .output()
        .expect("forge runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("[PASS]") || l.contains("[FAIL") || l.contains("Suite result"))
        .collect();
    eprintln!("{}", summary.join("\n"));
    assert!(
        out.status.success(),
        "forge test failed:\n{stdout}\n{stderr}"
    );
    let passed = summary.iter().filter(|l| l.contains("[PASS]")).count();
    assert!(
        passed >= 13,
        "forge ran {passed} tests, expected every fuzz and invariant test"
    );
    assert!(
        summary
            .iter()
            .any(|l| l.contains("invariant_") && l.contains("runs: 2000")),
        "the invariants did not run their 2,000 sequences"
    );
}
