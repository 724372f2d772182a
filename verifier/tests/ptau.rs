//! `.ptau` files: ours round-trip, snarkjs's own read and check out, and every
//! kind of damage is refused with an error that names it.

use std::io::Cursor;
use std::path::PathBuf;
use std::process::Command;

use ark_bn254::{Fr, G1Affine};
use ark_ec::{AffineRepr, CurveGroup};
use proofmint_verifier::binfile::BinFileError;
use proofmint_verifier::ptau::{Ptau, PtauError};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(11)
}

/// A development setup of power 3 and its file.
fn small() -> (Ptau, Vec<u8>) {
    let ptau = Ptau::from_secrets(3, Fr::from(7u64), Fr::from(11u64), Fr::from(13u64));
    let mut bytes = Vec::new();
    ptau.write(&mut bytes).unwrap();
    (ptau, bytes)
}

fn read(bytes: &[u8], log_size: u32) -> Result<Ptau, PtauError> {
    Ptau::read(&mut Cursor::new(bytes), log_size)
}

/// Byte offset of point `index` of a G1 section (sections 2, 4, 5) in a file
/// written by `Ptau::write` for power 3.
fn g1_offset(section: u32, index: usize) -> usize {
    let n = 8usize;
    let header = 12 + 12 + 44;
    let tau_g1 = header + 12;
    let tau_g2 = tau_g1 + (2 * n - 1) * 64 + 12;
    let alpha = tau_g2 + n * 128 + 12;
    let beta = alpha + n * 64 + 12;
    match section {
        2 => tau_g1 + index * 64,
        4 => alpha + index * 64,
        5 => beta + index * 64,
        _ => unreachable!(),
    }
}

#[test]
fn our_file_round_trips_and_checks_out() {
    let (ptau, bytes) = small();
    let whole = read(&bytes, 3).unwrap();
    assert_eq!(whole, ptau);
    whole.check_consistency(&mut rng()).unwrap();
    // A smaller circuit reads a prefix of every vector.
    let part = read(&bytes, 1).unwrap();
    assert_eq!(part.tau_g1, ptau.tau_g1[..3]);
    assert_eq!(part.tau_g2, ptau.tau_g2[..2]);
    assert_eq!(part.alpha_tau_g1, ptau.alpha_tau_g1[..2]);
    assert_eq!(part.power, 3);
    part.check_consistency(&mut rng()).unwrap();
    // The points are the secrets' powers.
    let tau = Fr::from(7u64);
    assert_eq!(
        ptau.tau_g1[2],
        (G1Affine::generator() * (tau * tau)).into_affine()
    );
}

/// A KZG-only read takes 2^k powers of τ in G1 and [τ]G2 and nothing else:
/// checked the same, and blind to damage in what it does not read.
#[test]
fn a_kzg_read_takes_only_the_powers_of_tau_it_needs() {
    let (ptau, bytes) = small();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.ptau");
    std::fs::write(&path, &bytes).unwrap();
    let kzg = Ptau::open_kzg(&path, 3).unwrap();
    assert_eq!(kzg.tau_g1, ptau.tau_g1[..8]);
    assert_eq!(kzg.tau_g2, ptau.tau_g2[..2]);
    assert!(kzg.alpha_tau_g1.is_empty() && kzg.beta_tau_g1.is_empty());
    kzg.check_consistency(&mut rng()).unwrap();
    // α's section damaged: a full read refuses it, a KZG read never looks.
    let mut damaged = bytes.clone();
    damaged[g1_offset(4, 1)] ^= 1;
    assert!(read(&damaged, 3).is_err());
    std::fs::write(&path, &damaged).unwrap();
    Ptau::open_kzg(&path, 3).unwrap();
    // [τ]G1 swapped for another valid point: the consistency check refuses it.
    let mut swapped = bytes.clone();
    let (one, two) = (g1_offset(2, 1), g1_offset(2, 2));
    let second: Vec<u8> = swapped[two..two + 64].to_vec();
    swapped[one..one + 64].copy_from_slice(&second);
    std::fs::write(&path, &swapped).unwrap();
    let kzg = Ptau::open_kzg(&path, 3).unwrap();
    assert!(kzg.check_consistency(&mut rng()).is_err());
    // Too small a file names the power it needs here too.
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        Ptau::open_kzg(&path, 4),
        Err(PtauError::PowerTooSmall { have: 3, need: 4 })
    ));
}

#[test]
fn too_small_a_file_names_the_power_it_needs() {
    let (_, bytes) = small();
    let error = read(&bytes, 4).unwrap_err();
    assert!(matches!(
        error,
        PtauError::PowerTooSmall { have: 3, need: 4 }
    ));
    assert!(error.to_string().contains("power 4 or more"), "{error}");
}

#[test]
fn damaged_files_are_refused_with_the_reason() {
    let (_, bytes) = small();
    let refused = |bytes: &[u8]| read(bytes, 3).unwrap_err();

    let mut magic = bytes.clone();
    magic[0] = b'z';
    assert!(matches!(
        refused(&magic),
        PtauError::File(BinFileError::BadMagic { .. })
    ));

    let mut version = bytes.clone();
    version[4] = 2;
    assert!(matches!(
        refused(&version),
        PtauError::File(BinFileError::Version { found: 2, .. })
    ));

    let mut sections = bytes.clone();
    sections[8..12].copy_from_slice(&1000u32.to_le_bytes());
    assert!(matches!(
        refused(&sections),
        PtauError::File(BinFileError::TooManySections(1000))
    ));

    // Cut anywhere: a section runs past the end, or one is missing.
    for cut in [20, 100, bytes.len() / 2, bytes.len() - 1] {
        let error = refused(&bytes[..cut]);
        assert!(
            matches!(
                error,
                PtauError::File(BinFileError::SectionPastEnd { .. } | BinFileError::Io(_))
            ),
            "cut at {cut}: {error}"
        );
    }

    // Another curve: BLS12-381's base field has 48-byte elements.
    let mut other = bytes.clone();
    other[24..28].copy_from_slice(&48u32.to_le_bytes());
    assert!(matches!(
        refused(&other),
        PtauError::OtherCurve { n8: 48, .. }
    ));
    let mut modulus = bytes.clone();
    modulus[28] ^= 1;
    assert!(matches!(
        refused(&modulus),
        PtauError::OtherCurve { n8: 32, .. }
    ));

    // A point moved off the curve, one at infinity, a non-canonical coordinate.
    let at = g1_offset(2, 5);
    let mut off = bytes.clone();
    off[at] ^= 1;
    let error = refused(&off);
    assert!(
        matches!(
            error,
            PtauError::File(BinFileError::BadPoint {
                section: 2,
                index: 5,
                reason: "not on the curve",
                ..
            })
        ),
        "{error}"
    );
    let mut zero = bytes.clone();
    zero[at..at + 64].fill(0);
    assert!(matches!(
        refused(&zero),
        PtauError::File(BinFileError::BadPoint {
            reason: "the point at infinity",
            ..
        })
    ));
    let mut big = bytes.clone();
    big[at..at + 32].fill(0xff);
    assert!(matches!(
        refused(&big),
        PtauError::File(BinFileError::BadPoint {
            reason: "non-canonical x",
            ..
        })
    ));
}

#[test]
fn a_valid_point_in_the_wrong_place_fails_the_consistency_check() {
    let (ptau, bytes) = small();
    // Replace one power of τ (and one of α·τ) by another point of the group:
    // every point is fine alone, the vector is not a geometric sequence.
    let stranger = (G1Affine::generator() * Fr::from(5u64)).into_affine();
    let mut encoded = Vec::new();
    for c in [stranger.x, stranger.y] {
        use ark_ff::BigInteger;
        encoded.extend_from_slice(&c.0.to_bytes_le());
    }
    for (section, what) in [(2u32, "[τ^i]G1"), (4, "[α·τ^i]G1"), (5, "[β·τ^i]G1")] {
        let mut tampered = bytes.clone();
        let at = g1_offset(section, 4);
        tampered[at..at + 64].copy_from_slice(&encoded);
        let read = read(&tampered, 3).expect("each point is valid alone");
        let error = read.check_consistency(&mut rng()).unwrap_err();
        assert!(error.to_string().contains(what), "{what}: {error}");
    }
    // β in G2 that is not the β of G1.
    let mut other_beta = ptau.clone();
    other_beta.beta_g2 = (other_beta.beta_g2 * Fr::from(2u64)).into_affine();
    let error = other_beta.check_consistency(&mut rng()).unwrap_err();
    assert!(error.to_string().contains("[β]G1 and [β]G2"), "{error}");
    // Powers of G2 with a different τ.
    let mut other_tau = ptau.clone();
    other_tau.tau_g2[3] = (other_tau.tau_g2[3] * Fr::from(3u64)).into_affine();
    let error = other_tau.check_consistency(&mut rng()).unwrap_err();
    assert!(error.to_string().contains("[τ^i]G2"), "{error}");
}

/// snarkjs's own ceremony files (a new accumulator and one contribution)
/// read and pass the consistency check; skipped without node and tools/js
/// unless PROOFMINT_REQUIRE_JS=1.
#[test]
fn snarkjs_ptau_files_read_and_check_out() {
    let tools = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/js");
    let cli = tools.join("node_modules/snarkjs/cli.js");
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !(cli.exists() && node) {
        assert!(
            std::env::var("PROOFMINT_REQUIRE_JS").as_deref() != Ok("1"),
            "node or tools/js/node_modules missing, and PROOFMINT_REQUIRE_JS=1"
        );
        eprintln!("skipped: node and `npm ci --prefix tools/js` are needed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("pot0.ptau");
    let second = dir.path().join("pot1.ptau");
    let run = |args: &[&str]| {
        let out = Command::new("node").arg(&cli).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "snarkjs {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["powersoftau", "new", "bn128", "4", first.to_str().unwrap()]);
    run(&[
        "powersoftau",
        "contribute",
        first.to_str().unwrap(),
        second.to_str().unwrap(),
        "--name=test",
        "-e=proofmint ptau test entropy",
    ]);
    let fresh = Ptau::open(&first, 4).unwrap();
    assert_eq!(fresh.contributions, 0);
    assert_eq!(
        fresh.tau_g1[5],
        G1Affine::generator(),
        "τ = 1 before any contribution"
    );
    fresh.check_consistency(&mut rng()).unwrap();
    let contributed = Ptau::open(&second, 4).unwrap();
    assert_eq!((contributed.power, contributed.contributions), (4, 1));
    assert_ne!(contributed.tau_g1[1], G1Affine::generator());
    contributed.check_consistency(&mut rng()).unwrap();
    assert!(matches!(
        Ptau::open(&second, 5),
        Err(PtauError::PowerTooSmall { have: 4, need: 5 })
    ));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// A valid file with bytes changed and its end cut: an error or a
    /// reading, never a panic, and never an allocation past the file.
    #[test]
    fn damaged_files_never_panic(
        changes in proptest::collection::vec((0usize..4000, proptest::prelude::any::<u8>()), 1..6),
        cut in 0usize..4000,
    ) {
        let (_, mut bytes) = small();
        for (at, value) in changes {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        let cut = cut.min(bytes.len());
        for log_size in [0, 2, 3] {
            if let Ok(ptau) = read(&bytes[..bytes.len() - cut / 8], log_size) {
                let _ = ptau.check_consistency(&mut rng());
            }
        }
    }
}
