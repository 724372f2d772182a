//! The `proofmint` binary as a user meets it: good runs succeed, and every
//! kind of bad input gets a message naming the file, line or field and a
//! non-zero exit, never a panic.

mod binary;
#[path = "../../prover/tests/common/mod.rs"]
mod common;

use std::path::Path;

use binary::*;
use common::*;

fn write_receipts(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// The registry the fixtures' receipts are signed for, as a flag value.
fn registry() -> String {
    REGISTRY.to_string()
}

/// `payments.jsonl` in `dir` backing every fixture receipt; returns its path.
fn write_payments(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("payments.jsonl");
    std::fs::write(&path, payments().to_jsonl()).unwrap();
    path
}

fn good_lines() -> Vec<String> {
    signed_receipts()
        .iter()
        .map(|(_, r)| r.to_json_line())
        .collect()
}

fn build_epoch(dir: &Path) -> std::path::PathBuf {
    let receipts = dir.join("receipts.jsonl");
    write_receipts(&receipts, &good_lines());
    let payments = write_payments(dir);
    let epoch = dir.join("epoch");
    let depth = SHAPE.depth.to_string();
    ok(&[
        "epoch",
        "build",
        "--receipts",
        s(&receipts),
        "--payments",
        s(&payments),
        "--epoch",
        &EPOCH.to_string(),
        "--chain-id",
        &CHAIN.to_string(),
        "--registry",
        &registry(),
        "--depth",
        &depth,
        "--out",
        s(&epoch),
    ]);
    epoch
}

#[test]
fn epoch_build_names_every_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = good_lines();
    lines[1] = "{not json".into();
    lines[3] = lines[3].replace("\"units\":400", "\"units\":401"); // signature no longer matches
    lines[5] = lines[4].clone(); // repeated jobId
    let other_epoch = {
        let mut v: serde_json::Value = serde_json::from_str(&lines[7]).unwrap();
        v["epoch"] = (EPOCH + 1).into();
        v.to_string()
    };
    lines[7] = other_epoch;
    lines[8] = lines[8].replacen(
        "\"jobId\":\"0x",
        "\"jobId\":\"0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001",
        1,
    );
    let receipts = dir.path().join("receipts.jsonl");
    write_receipts(&receipts, &lines);
    let payments = write_payments(dir.path());
    let out = dir.path().join("epoch");
    let registry = registry();
    let args = [
        "epoch",
        "build",
        "--receipts",
        s(&receipts),
        "--payments",
        s(&payments),
        "--epoch",
        "9",
        "--chain-id",
        "31337",
        "--registry",
        &registry,
        "--out",
        s(&out),
    ];
    // One run names every bad line, unparseable and inadmissible alike.
    let stderr = fails(&args);
    assert!(stderr.contains("5 receipt(s) refused"), "{stderr}");
    assert!(
        stderr.contains("line 2") && stderr.contains("line 9: field `jobId`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 4") && stderr.contains("signature"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 6") && stderr.contains("repeats line 5"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 8") && stderr.contains("epoch 10"),
        "{stderr}"
    );
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "\n").unwrap();
    assert!(fails(&[
        "epoch",
        "build",
        "--receipts",
        s(&empty),
        "--payments",
        s(&payments),
        "--epoch",
        "9",
        "--chain-id",
        "1",
        "--registry",
        &registry,
        "--out",
        s(&out)
    ])
    .contains("no receipts"));
    assert!(
        !out.join("epoch.json").exists(),
        "a refused batch writes nothing"
    );
    let missing = dir.path().join("nope.jsonl");
    assert!(fails(&[
        "epoch",
        "build",
        "--receipts",
        s(&missing),
        "--payments",
        s(&payments),
        "--epoch",
        "9",
        "--chain-id",
        "1",
        "--registry",
        &registry,
        "--out",
        s(&out)
    ])
    .contains("nope.jsonl"));
}

fn audit_args<'a>(epoch: &'a Path, payments: &'a Path, registry: &'a str) -> Vec<&'a str> {
    vec![
        "audit",
        s(epoch),
        "--payments",
        s(payments),
        "--chain-id",
        "31337",
        "--registry",
        registry,
    ]
}

#[test]
fn unpaid_or_mismatched_receipts_are_refused_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let receipts = dir.path().join("receipts.jsonl");
    write_receipts(&receipts, &good_lines());
    let all: Vec<proofmint_circuits::Payment> = signed_receipts()
        .iter()
        .map(|(_, r)| proofmint_circuits::Payment::for_receipt(&r.receipt))
        .collect();
    let mut paid = all.clone();
    paid.remove(2); // line 3's job was never paid for
    paid[4].units -= 1; // line 6 claims one unit more than was paid (index 4 is line 6 now)
    paid[5].node = node(7); // line 7 was paid for another node
    paid[6].client = node(8); // line 8 was paid by someone else
    paid[7].epoch += 1; // line 9 was paid for another epoch
    let payments = dir.path().join("payments.jsonl");
    std::fs::write(
        &payments,
        proofmint_circuits::Payments::new(paid).unwrap().to_jsonl(),
    )
    .unwrap();
    let out = dir.path().join("epoch");
    let registry = registry();
    let build = [
        "epoch",
        "build",
        "--receipts",
        s(&receipts),
        "--payments",
        s(&payments),
        "--epoch",
        "9",
        "--chain-id",
        "31337",
        "--registry",
        &registry,
        "--out",
        s(&out),
    ];
    let stderr = fails(&build);
    assert!(stderr.contains("5 receipt(s) refused"), "{stderr}");
    for (line, what) in [
        (3, "no payment on chain"),
        (6, "units"),
        (7, "paid for node"),
        (8, "paid by"),
        (9, "paid for epoch"),
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&format!("line {line}:")) && l.contains(what)),
            "line {line} ({what}): {stderr}"
        );
    }
    assert!(!out.join("epoch.json").exists());

    // A bad payments file is refused naming its line; an overlong line is refused, not read.
    std::fs::write(&payments, "{\"jobId\":\"0x1\"}\n").unwrap();
    let stderr = fails(&build);
    assert!(
        stderr.contains("payments.jsonl") && stderr.contains("line 1"),
        "{stderr}"
    );
    std::fs::write(&payments, "x".repeat(64 << 10)).unwrap();
    let stderr = fails(&build);
    assert!(stderr.contains("line 1 is longer than"), "{stderr}");

    // Receipts signed for another deployment (same chain id) are refused.
    std::fs::write(
        &payments,
        proofmint_circuits::Payments::new(all).unwrap().to_jsonl(),
    )
    .unwrap();
    let mut other = build;
    let elsewhere = alloy_primitives::Address::repeat_byte(0x43).to_string();
    other[11] = &elsewhere;
    let stderr = fails(&other);
    assert!(
        stderr.contains("10 receipt(s) refused") && stderr.contains("signature"),
        "{stderr}"
    );
    ok(&build);
}

#[test]
fn audit_checks_the_deployment_and_the_payments() {
    let dir = tempfile::tempdir().unwrap();
    let epoch = build_epoch(dir.path());
    let payments = dir.path().join("payments.jsonl");
    ok(&audit_args(&epoch, &payments, &registry()));
    // Another deployment on the same chain id: the domain is named.
    let elsewhere = alloy_primitives::Address::repeat_byte(0x43).to_string();
    let stderr = fails(&audit_args(&epoch, &payments, &elsewhere));
    assert!(
        stderr.contains("domain") && stderr.contains("signature"),
        "{stderr}"
    );
    // A receipt whose payment is missing on chain.
    let mut paid: Vec<_> = signed_receipts()
        .iter()
        .map(|(_, r)| proofmint_circuits::Payment::for_receipt(&r.receipt))
        .collect();
    paid.remove(4);
    std::fs::write(
        &payments,
        proofmint_circuits::Payments::new(paid).unwrap().to_jsonl(),
    )
    .unwrap();
    let stderr = fails(&audit_args(&epoch, &payments, &registry()));
    assert!(
        stderr.contains("leaf 4") && stderr.contains("no payment"),
        "{stderr}"
    );
}

#[test]
fn audit_accepts_a_bundle_and_names_every_alteration() {
    let dir = tempfile::tempdir().unwrap();
    let epoch = build_epoch(dir.path());
    let payments = dir.path().join("payments.jsonl");
    assert!(ok(&audit_args(&epoch, &payments, &registry())).contains("audited"));
    // Alter the JSON (and drop the binary twin so the JSON alone is judged).
    std::fs::remove_file(epoch.join("epoch.bin")).unwrap();
    let path = epoch.join("epoch.json");
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut altered = original.clone();
    altered["receipts"][2]["units"] = 999.into();
    altered["totalUnits"] = "1".into();
    std::fs::write(&path, altered.to_string()).unwrap();
    let stderr = fails(&audit_args(&epoch, &payments, &registry()));
    assert!(
        stderr.contains("leaf 2") && stderr.contains("signature"),
        "{stderr}"
    );
    assert!(
        stderr.contains("totalUnits") || stderr.contains("root"),
        "{stderr}"
    );
    let mut reroot = original.clone();
    reroot["root"] = "0x01".into();
    std::fs::write(&path, reroot.to_string()).unwrap();
    assert!(fails(&audit_args(&epoch, &payments, &registry())).contains("root"));
    let mut version = original.clone();
    version["version"] = 7.into();
    std::fs::write(&path, version.to_string()).unwrap();
    assert!(fails(&audit_args(&epoch, &payments, &registry())).contains("unknown version 7"));
    std::fs::write(&path, "{").unwrap();
    assert!(fails(&audit_args(&epoch, &payments, &registry())).contains("epoch.json"));
}

#[test]
fn setup_prove_verify_and_every_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let epoch = build_epoch(dir.path());
    let keys = dir.path().join("keys");
    let slots = SHAPE.slots.to_string();
    let depth = SHAPE.depth.to_string();
    ok(&[
        "setup",
        "--slots",
        &slots,
        "--depth",
        &depth,
        "--out",
        s(&keys),
        "--seed",
        "1",
    ]);
    let vk_json = std::fs::read_to_string(keys.join("verification_key.json")).unwrap();
    assert!(vk_json.contains("NOT FOR PRODUCTION"));
    let node0 = node(0).to_string();
    let proof = dir.path().join("proof");
    let stdout = ok(&[
        "prove",
        "claim",
        "--epoch",
        s(&epoch),
        "--node",
        &node0,
        "--keys",
        s(&keys),
        "--out",
        s(&proof),
    ]);
    assert!(
        stdout.contains("--from-index 8"),
        "node 0 has a fifth receipt past 4 slots: {stdout}"
    );
    assert!(ok(&["verify", "claim", s(&proof), "--keys", s(&keys)]).contains("valid claim"));
    let rest = dir.path().join("rest");
    ok(&[
        "prove",
        "claim",
        "--epoch",
        s(&epoch),
        "--node",
        &node0,
        "--keys",
        s(&keys),
        "--out",
        s(&rest),
        "--from-index",
        "8",
    ]);
    ok(&["verify", "claim", s(&rest), "--keys", s(&keys)]);

    // Tampered public.json.
    let public_path = proof.join("public.json");
    let public = std::fs::read_to_string(&public_path).unwrap();
    let mut values: Vec<String> = serde_json::from_str(&public).unwrap();
    values[3] = "1700".into();
    std::fs::write(&public_path, serde_json::to_string(&values).unwrap()).unwrap();
    assert!(fails(&["verify", "claim", s(&proof), "--keys", s(&keys)]).contains("public.json"));
    std::fs::write(&public_path, public).unwrap();
    // Truncated proof.
    let proof_path = proof.join("claim.proof");
    let bytes = std::fs::read(&proof_path).unwrap();
    std::fs::write(&proof_path, &bytes[..bytes.len() - 3]).unwrap();
    assert!(fails(&["verify", "claim", s(&proof), "--keys", s(&keys)]).contains("truncated"));
    // A public input altered in the binary proof itself (totalUnits, with the JSON twins gone).
    let mut altered = bytes.clone();
    altered[42 + 3 * 32 + 31] ^= 1;
    std::fs::write(&proof_path, &altered).unwrap();
    std::fs::remove_file(proof.join("public.json")).unwrap();
    std::fs::remove_file(proof.join("proof.json")).unwrap();
    assert!(fails(&["verify", "claim", s(&proof), "--keys", s(&keys)]).contains("does not verify"));
    std::fs::write(&proof_path, &bytes).unwrap();
    ok(&["verify", "claim", s(&proof), "--keys", s(&keys)]);

    // Keys of another shape.
    let other = dir.path().join("other-keys");
    ok(&[
        "setup",
        "--slots",
        "2",
        "--depth",
        &depth,
        "--out",
        s(&other),
        "--seed",
        "2",
    ]);
    assert!(fails(&["verify", "claim", s(&proof), "--keys", s(&other)]).contains("2 slots"));
    let deeper = dir.path().join("deeper-keys");
    ok(&[
        "setup",
        "--slots",
        "2",
        "--depth",
        "9",
        "--out",
        s(&deeper),
        "--seed",
        "3",
    ]);
    let stderr = fails(&[
        "prove",
        "claim",
        "--epoch",
        s(&epoch),
        "--node",
        &node0,
        "--keys",
        s(&deeper),
        "--out",
        s(&dir.path().join("x")),
    ]);
    assert!(
        stderr.contains("depth 8") && stderr.contains("depth 9"),
        "{stderr}"
    );
    // Truncated and missing keys.
    let vk = std::fs::read(keys.join("claim.vk")).unwrap();
    std::fs::write(keys.join("claim.vk"), &vk[..20]).unwrap();
    assert!(fails(&["verify", "claim", s(&proof), "--keys", s(&keys)]).contains("claim.vk"));
    let pk = std::fs::read(keys.join("claim.pk")).unwrap();
    std::fs::write(keys.join("claim.pk"), &pk[..pk.len() / 3]).unwrap();
    assert!(fails(&[
        "prove",
        "claim",
        "--epoch",
        s(&epoch),
        "--node",
        &node0,
        "--keys",
        s(&keys),
        "--out",
        s(&proof)
    ])
    .contains("claim.pk"));
    assert!(fails(&[
        "verify",
        "claim",
        s(&proof),
        "--keys",
        s(&dir.path().join("none"))
    ])
    .contains("claim.vk"));
    // A node with no receipts, and a malformed address.
    let stranger = node(7).to_string();
    assert!(fails(&[
        "prove",
        "claim",
        "--epoch",
        s(&epoch),
        "--node",
        &stranger,
        "--keys",
        s(&other),
        "--out",
        s(&proof)
    ])
    .contains("no receipts"));
    assert!(fails(&[
        "prove",
        "claim",
        "--epoch",
        s(&epoch),
        "--node",
        "0x1234",
        "--keys",
        s(&other),
        "--out",
        s(&proof)
    ])
    .contains("--node"));
    assert!(
        fails(&["setup", "--slots", "0", "--out", s(&dir.path().join("k0"))]).contains("slots")
    );
}

/// `export r1cs` and `export wtns` write circom's formats for a shape and a
/// node's claim (snarkjs's checks of them are in the prover's cross-checks);
/// a node with no receipts, a bad shape and a bad address are refused.
#[test]
fn export_r1cs_and_wtns() {
    let dir = tempfile::tempdir().unwrap();
    let epoch = build_epoch(dir.path());
    let slots = SHAPE.slots.to_string();
    let depth = SHAPE.depth.to_string();
    let r1cs = dir.path().join("claim.r1cs");
    let wtns = dir.path().join("claim.wtns");
    let said = ok(&[
        "export",
        "r1cs",
        "--slots",
        &slots,
        "--depth",
        &depth,
        "--out",
        s(&r1cs),
    ]);
    assert!(said.contains("constraints"), "{said}");
    let bytes = std::fs::read(&r1cs).unwrap();
    assert_eq!(&bytes[0..4], b"r1cs");
    let node0 = node(0).to_string();
    let export_wtns = |node: &str, out: &Path| {
        vec![
            "export".to_string(),
            "wtns".into(),
            "--epoch".into(),
            s(&epoch).into(),
            "--node".into(),
            node.into(),
            "--slots".into(),
            slots.clone(),
            "--depth".into(),
            depth.clone(),
            "--out".into(),
            s(out).into(),
        ]
    };
    let args = export_wtns(&node0, &wtns);
    let said = ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(said.contains("values"), "{said}");
    // Wire counts agree: the header's wire count is the witness's value count.
    let wires = u32::from_le_bytes(
        bytes[12 + 12 + 4 + 32..12 + 12 + 4 + 32 + 4]
            .try_into()
            .unwrap(),
    );
    let witness = std::fs::read(&wtns).unwrap();
    assert_eq!(&witness[0..4], b"wtns");
    let values = u32::from_le_bytes(
        witness[12 + 12 + 4 + 32..12 + 12 + 4 + 32 + 4]
            .try_into()
            .unwrap(),
    );
    assert_eq!(wires, values);

    let stranger = "0x00000000000000000000000000000000000000aa";
    let args = export_wtns(stranger, &dir.path().join("none.wtns"));
    let error = fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(error.contains("receipt"), "{error}");
    let args = export_wtns("not-an-address", &dir.path().join("bad.wtns"));
    assert!(fails(&args.iter().map(String::as_str).collect::<Vec<_>>()).contains("--node"));
    assert!(fails(&[
        "export",
        "r1cs",
        "--slots",
        "0",
        "--depth",
        &depth,
        "--out",
        s(&r1cs)
    ])
    .contains("slot"));
}

/// The shape the ceremony test makes keys for: one slot keeps it quick.
const CEREMONY_SHAPE: proofmint_circuits::claim::ClaimShape =
    proofmint_circuits::claim::ClaimShape {
        slots: 1,
        depth: SHAPE.depth,
    };

/// A prepared Powers of Tau of known secrets (a test-only phase 1) of the
/// ceremony shape's own power.
fn write_prepared_ptau(path: &Path) -> u32 {
    use proofmint_circuits::ptau::Ptau;
    let matrices = proofmint_prover::matrices::claim_matrices(CEREMONY_SHAPE).unwrap();
    let power = matrices.domain_size().trailing_zeros();
    let (tau, alpha, beta) = (
        ark_bn254::Fr::from(123_456_789u64),
        ark_bn254::Fr::from(5u64),
        ark_bn254::Fr::from(7u64),
    );
    let mut bytes = Vec::new();
    Ptau::from_secrets(power, tau, alpha, beta)
        .write_with(&mut bytes, Ptau::lagrange_sections(power, tau, alpha, beta))
        .unwrap();
    std::fs::write(path, bytes).unwrap();
    power
}

/// The ceremony end to end: init on a Powers of Tau, two contributions,
/// verify, finalize with a beacon; the keys prove and say where they came
/// from; imports and exports of the .zkey; and the refusals: finalizing
/// with no contribution, another shape, a damaged state, an import with
/// nothing to check it against.
#[test]
fn a_ceremony_makes_keys_that_prove_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let ptau = path("phase1.ptau");
    write_prepared_ptau(&ptau);
    let slots = CEREMONY_SHAPE.slots.to_string();
    let depth = CEREMONY_SHAPE.depth.to_string();
    let shape = ["--slots", &slots, "--depth", &depth];
    fn with<'a>(args: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [args, extra].concat()
    }
    let owned = |args: Vec<&str>| args.into_iter().map(String::from).collect::<Vec<_>>();
    fn refs(args: &[String]) -> Vec<&str> {
        args.iter().map(String::as_str).collect()
    }
    ok(&with(
        &[
            "ceremony",
            "init",
            "--ptau",
            s(&ptau),
            "--out",
            s(&path("s0.zkey")),
        ],
        &shape,
    ));
    let finalize = |state: &Path, out: &Path| {
        owned(with(
            &[
                "ceremony",
                "finalize",
                s(state),
                "--ptau",
                s(&ptau),
                "--beacon",
                "0x00ff00ff00ff00ff",
                "--iterations",
                "10",
                "--out",
                s(out),
            ],
            &shape,
        ))
    };
    let error = fails(&refs(&finalize(&path("s0.zkey"), &path("never"))));
    assert!(error.contains("no contribution"), "{error}");

    let first = ok(&[
        "ceremony",
        "contribute",
        s(&path("s0.zkey")),
        "--out",
        s(&path("s1.zkey")),
        "--name",
        "alice",
        "--entropy",
        "keyboard mash",
    ]);
    let hash = first
        .lines()
        .find_map(|l| l.strip_prefix("your contribution hash (publish it): "))
        .expect("the hash is printed")
        .to_owned();
    ok(&[
        "ceremony",
        "contribute",
        s(&path("s1.zkey")),
        "--out",
        s(&path("s2.zkey")),
        "--name",
        "bob",
    ]);
    // A contribution written over the state it reads would truncate it
    // before reading: refused, the state left whole.
    let before = std::fs::read(path("s2.zkey")).unwrap();
    let error = fails(&[
        "ceremony",
        "contribute",
        s(&path("s2.zkey")),
        "--out",
        s(&path("s2.zkey")),
    ]);
    assert!(error.contains("the state being read"), "{error}");
    assert!(std::fs::read(path("s2.zkey")).unwrap() == before);
    let verify = |state: &Path, shape: &[&str]| {
        let mut args = owned(vec!["ceremony", "verify", s(state), "--ptau", s(&ptau)]);
        args.extend(shape.iter().map(|a| a.to_string()));
        args
    };
    let report = ok(&refs(&verify(&path("s2.zkey"), &shape)));
    assert!(
        report.contains("by alice") && report.contains("by bob") && report.contains(&hash),
        "{report}"
    );
    let other = ["--slots", "2", "--depth", &depth];
    let error = fails(&refs(&verify(&path("s2.zkey"), &other)));
    assert!(error.contains("another circuit"), "{error}");
    let mut damaged = std::fs::read(path("s2.zkey")).unwrap();
    let at = damaged.len() - 200;
    damaged[at] ^= 1;
    std::fs::write(path("damaged.zkey"), &damaged).unwrap();
    let error = fails(&refs(&verify(&path("damaged.zkey"), &shape)));
    assert!(
        error.contains("contribution 2") || error.contains("section 10"),
        "{error}"
    );

    // Finalize verifies before it writes anything: the damaged state is
    // refused with the same line, and no keys appear.
    let refused = path("refused");
    let error = fails(&refs(&finalize(&path("damaged.zkey"), &refused)));
    assert!(
        error.contains("contribution 2") || error.contains("section 10"),
        "{error}"
    );
    assert!(!refused.exists());

    let keys = path("keys");
    let out = ok(&refs(&finalize(&path("s2.zkey"), &keys)));
    assert!(out.contains("multi-party ceremony, transcript 0x"), "{out}");
    let transcript = out
        .lines()
        .find_map(|l| l.strip_prefix("transcript hash "))
        .unwrap()
        .to_owned();
    let vk_json = std::fs::read_to_string(keys.join("verification_key.json")).unwrap();
    assert!(vk_json.contains(&transcript), "{vk_json}");

    // The keys prove, and verification says where the key came from.
    let epoch = build_epoch(dir.path());
    let proof = path("proof");
    ok(&[
        "prove",
        "claim",
        "--epoch",
        s(&epoch),
        "--node",
        &node(0).to_string(),
        "--keys",
        s(&keys),
        "--out",
        s(&proof),
    ]);
    let verified = ok(&["verify", "claim", s(&proof), "--keys", s(&keys)]);
    assert!(
        verified.contains("valid claim")
            && verified.contains(&format!("transcript 0x{transcript}")),
        "{verified}"
    );

    // Import of the final .zkey: refused with nothing to check it against,
    // a development key when unverified, the same ceremony key when verified.
    let final_zkey = keys.join("final.zkey");
    let import = |extra: &[&str], out: &Path| {
        let mut args = owned(with(
            &["import", "zkey", s(&final_zkey), "--out", s(out)],
            &shape,
        ));
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    let error = fails(&refs(&import(&[], &path("k0"))));
    assert!(
        error.contains("--ptau") && error.contains("--unverified"),
        "{error}"
    );
    ok(&refs(&import(&["--unverified"], &path("k1"))));
    let vk_json = std::fs::read_to_string(path("k1").join("verification_key.json")).unwrap();
    assert!(vk_json.contains("NOT FOR PRODUCTION"));
    ok(&refs(&import(&["--ptau", s(&ptau)], &path("k2"))));
    assert_eq!(
        std::fs::read(path("k2").join("claim.vk")).unwrap(),
        std::fs::read(keys.join("claim.vk")).unwrap()
    );
    let error = fails(&[
        "import",
        "zkey",
        s(&final_zkey),
        "--slots",
        "2",
        "--depth",
        &depth,
        "--unverified",
        "--out",
        s(&path("k3")),
    ]);
    assert!(error.contains("another circuit"), "{error}");

    // Export: the keys as a .zkey are the final one without its transcript.
    ok(&[
        "export",
        "zkey",
        "--keys",
        s(&keys),
        "--out",
        s(&path("exported.zkey")),
    ]);
    let exported = proofmint_prover::zkey::Zkey::open(&path("exported.zkey")).unwrap();
    let mut expected = proofmint_prover::zkey::Zkey::open(&final_zkey).unwrap();
    expected.mpc = None;
    assert_eq!(exported, expected);
}
