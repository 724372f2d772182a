//! Loading a proving key this machine validated before: the same bytes (by
//! SHA-256) skip the curve and subgroup checks; any other bytes, a record
//! naming another key, or no cache at all get the full validation.

mod common;

use common::*;
use proofmint_prover::keys::{load_proving_key, KeyLoad};

#[test]
fn a_validated_key_loads_known_valid_the_next_time() {
    let bytes = shared_key().to_bytes();
    let cache = tempfile::tempdir().unwrap();
    let (first, how) = load_proving_key(&bytes, Some(cache.path())).unwrap();
    assert_eq!(how, KeyLoad::Validated);
    let records: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
    assert_eq!(records.len(), 1);
    let (second, how) = load_proving_key(&bytes, Some(cache.path())).unwrap();
    assert_eq!(how, KeyLoad::KnownValid);
    assert_eq!(first.to_bytes(), second.to_bytes());
    assert_eq!(second.to_bytes(), bytes);
    // No cache: always validated.
    assert_eq!(
        load_proving_key(&bytes, None).unwrap().1,
        KeyLoad::Validated
    );
}

#[test]
fn other_bytes_and_wrong_records_get_the_full_validation() {
    let bytes = shared_key().to_bytes();
    let cache = tempfile::tempdir().unwrap();
    load_proving_key(&bytes, Some(cache.path())).unwrap();
    // A G2 point of b_g2_query altered: its SHA-256 differs, so it is checked, and refused.
    // PMPK, version, form, then the verifying key's length and bytes.
    let vk_len = u32::from_be_bytes(bytes[6..10].try_into().unwrap()) as usize;
    let mut corrupt = bytes.clone();
    let a_count = u32::from_be_bytes(
        corrupt[10 + vk_len + 128..10 + vk_len + 132]
            .try_into()
            .unwrap(),
    ) as usize;
    let b_g2_start = 10 + vk_len + 128 + 4 + a_count * 64 + 4 + a_count * 64 + 4;
    corrupt[b_g2_start + 10] ^= 1;
    // Off the curve: only the validation sees it.
    assert!(proofmint_prover::ProvingKeyFile::from_validated_bytes(&corrupt).is_ok());
    let refused = proofmint_prover::ProvingKeyFile::from_bytes(&corrupt).unwrap_err();
    assert!(refused.to_string().contains("b_g2_query"), "{refused}");
    assert!(load_proving_key(&corrupt, Some(cache.path())).is_err());
    // A record for those bytes that names another key is not believed.
    use sha2::Digest;
    let name = hex::encode(sha2::Sha256::digest(&corrupt));
    std::fs::write(cache.path().join(&name), "0xnot-this-key").unwrap();
    assert!(load_proving_key(&corrupt, Some(cache.path())).is_err());
    // A cache that cannot be written costs time, not the load.
    let file = tempfile::NamedTempFile::new().unwrap();
    let (_, how) = load_proving_key(&bytes, Some(&file.path().join("sub"))).unwrap();
    assert_eq!(how, KeyLoad::Validated);
}
