//! `contracts/src/Poseidon.sol` is generated: it must be exactly what the
//! generator writes today. `PROOFMINT_BLESS=1` rewrites it.

use proofmint_verifier::poseidon_sol::poseidon_source;

#[test]
fn committed_poseidon_contract_is_the_generated_one() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/src/Poseidon.sol");
    let generated = poseidon_source();
    if std::env::var_os("PROOFMINT_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "contracts/src/Poseidon.sol differs from the generator's output; rerun with PROOFMINT_BLESS=1"
    );
}
