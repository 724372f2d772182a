//! Cross-checks against the JavaScript tools the ecosystem uses: snarkjs must
//! accept our keys and proofs (and reject altered ones), and circomlibjs's
//! Poseidon must agree with ours on random inputs and on receipt leaves.
//!
//! The tools come from `tools/js` (`npm ci --prefix tools/js`, which the test
//! script runs). Where they are absent these tests say so and pass, unless
//! `PROOFMINT_REQUIRE_JS=1` (set by the test script), when absence fails.

mod common;
mod js;

use std::path::Path;

use ark_bn254::Fr;
use ark_ff::UniformRand;
use common::*;
use js::{run_script, snarkjs, snarkjs_output, tools};
use proofmint_circuits::field::{fr_from_decimal, fr_from_hex, fr_to_decimal, fr_to_hex};
use proofmint_circuits::poseidon;
use proofmint_prover::{files, prove_claim};
use proofmint_verifier::solidity::proof_words;

fn snarkjs_verify(tools: &Path, vk: &Path, public: &Path, proof: &Path) -> bool {
    let args = [
        "groth16".as_ref(),
        "verify".as_ref(),
        vk.as_os_str(),
        public.as_os_str(),
        proof.as_os_str(),
    ];
    let out = snarkjs_output(tools, &args);
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("OK")
}

#[test]
fn snarkjs_accepts_our_proofs_and_rejects_altered_ones() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = shared_key();
    files::write_keys(dir.path(), key).unwrap();
    let claim = prove_claim(
        key,
        claim_of(1, 0),
        &proofmint_gpu::CpuBackend::new(),
        &mut rng(11),
    )
    .unwrap();
    files::write_proof(dir.path(), &claim).unwrap();
    let vk = dir.path().join(files::SNARKJS_VK);
    let public = dir.path().join(files::PUBLIC_JSON);
    let proof = dir.path().join(files::PROOF_JSON);
    assert!(
        snarkjs_verify(&tools, &vk, &public, &proof),
        "snarkjs rejected a valid proof"
    );
    let values: Vec<String> = serde_json::from_slice(&std::fs::read(&public).unwrap()).unwrap();
    for which in 0..values.len() {
        let mut altered = values.clone();
        altered[which] =
            fr_to_decimal(&(fr_from_decimal(&altered[which]).unwrap() + Fr::from(1u64)));
        let path = dir.path().join(format!("public-{which}.json"));
        std::fs::write(&path, serde_json::to_string(&altered).unwrap()).unwrap();
        assert!(
            !snarkjs_verify(&tools, &vk, &path, &proof),
            "snarkjs accepted altered input {which}"
        );
    }
}

/// snarkjs's own Solidity calldata for our proof is exactly the words our
/// generated verifier takes, in the same order: the ABI is snarkjs's.
#[test]
fn snarkjs_solidity_calldata_matches_ours() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let claim = prove_claim(
        shared_key(),
        claim_of(0, 0),
        &proofmint_gpu::CpuBackend::new(),
        &mut rng(12),
    )
    .unwrap();
    files::write_proof(dir.path(), &claim).unwrap();
    let (public, proof) = (
        dir.path().join(files::PUBLIC_JSON),
        dir.path().join(files::PROOF_JSON),
    );
    let args = [
        "zkey".as_ref(),
        "export".as_ref(),
        "soliditycalldata".as_ref(),
        public.as_os_str(),
        proof.as_os_str(),
    ];
    let out = snarkjs_output(&tools, &args);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let words: Vec<[u8; 32]> =
        serde_json::from_str::<serde_json::Value>(&format!("[{}]", text.trim()))
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .flat_map(flatten)
            .map(|hex_word| word_from_hex(&hex_word))
            .collect();
    let mut ours: Vec<[u8; 32]> = proof_words(&claim.proof).to_vec();
    ours.extend(
        claim
            .public
            .to_inputs()
            .iter()
            .map(proofmint_circuits::field::fr_to_be_bytes),
    );
    assert_eq!(words, ours);
}

fn flatten(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Array(items) => items.iter().flat_map(flatten).collect(),
        serde_json::Value::String(s) => vec![s.clone()],
        other => panic!("unexpected {other}"),
    }
}

fn word_from_hex(hex_word: &str) -> [u8; 32] {
    let bytes = hex::decode(hex_word.trim_start_matches("0x")).unwrap();
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    out
}

#[test]
fn circomlibjs_poseidon_agrees_on_random_inputs_and_leaves() {
    let Some(tools) = tools() else { return };
    let mut rng = rng(21);
    let mut cases: Vec<Vec<Fr>> = Vec::new();
    for arity in 1..=12usize {
        for _ in 0..3 {
            cases.push((0..arity).map(|_| Fr::rand(&mut rng)).collect());
        }
    }
    for (_, signed) in signed_receipts() {
        cases.push(signed.receipt.leaf_inputs().to_vec());
    }
    let request: Vec<Vec<String>> = cases
        .iter()
        .map(|c| c.iter().map(fr_to_hex).collect())
        .collect();
    let out = run_script(
        &tools,
        "poseidon.mjs",
        &serde_json::to_string(&request).unwrap(),
    );
    let hashes: Vec<String> = serde_json::from_slice(&out).unwrap();
    assert_eq!(hashes.len(), cases.len());
    for (inputs, expected) in cases.iter().zip(hashes) {
        assert_eq!(
            poseidon::hash(inputs),
            fr_from_hex(&expected).unwrap(),
            "arity {}",
            inputs.len()
        );
    }
}

/// Our `.r1cs` and `.wtns` files are circom's: snarkjs reads the circuit's
/// counts as ours, finds our witness satisfies every constraint, and finds a
/// witness with one value changed does not.
#[test]
fn snarkjs_checks_our_r1cs_and_witness() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let circuit = claim_of(1, 0);
    let matrices = proofmint_prover::matrices::claim_matrices(circuit.shape).unwrap();
    let (inputs, constraints, witnesses) = matrices.counts();
    let r1cs = dir.path().join("claim.r1cs");
    let mut bytes = Vec::new();
    proofmint_prover::circom::write_r1cs(&matrices, &mut bytes).unwrap();
    std::fs::write(&r1cs, &bytes).unwrap();
    let (instance, witness) = circuit.witness().unwrap();
    assert_eq!((instance.len(), witness.len()), (inputs, witnesses));
    let write_wtns = |name: &str, witness: &[Fr]| {
        let path = dir.path().join(name);
        let mut bytes = Vec::new();
        proofmint_prover::circom::write_wtns(&instance, witness, &mut bytes).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let good = write_wtns("claim.wtns", &witness);

    let (ok, info) = snarkjs(
        &tools,
        &["r1cs".as_ref(), "info".as_ref(), r1cs.as_os_str()],
    );
    assert!(ok, "{info}");
    assert!(
        info.contains(&format!("# of Constraints: {constraints}")),
        "{info}"
    );
    assert!(
        info.contains(&format!("# of Wires: {}", inputs + witnesses)),
        "{info}"
    );
    assert!(
        info.contains(&format!("# of Public Inputs: {}", inputs - 1)),
        "{info}"
    );

    let (ok, text) = snarkjs(
        &tools,
        &[
            "wtns".as_ref(),
            "check".as_ref(),
            r1cs.as_os_str(),
            good.as_os_str(),
        ],
    );
    assert!(ok && text.contains("WITNESS IS CORRECT"), "{text}");

    let mut altered = witness.clone();
    altered[witness.len() / 2] += Fr::from(1u64);
    let bad = write_wtns("altered.wtns", &altered);
    let (ok, text) = snarkjs(
        &tools,
        &[
            "wtns".as_ref(),
            "check".as_ref(),
            r1cs.as_os_str(),
            bad.as_os_str(),
        ],
    );
    assert!(!ok || !text.contains("WITNESS IS CORRECT"), "{text}");
}

/// `x·y = z` (z public), `(x + 3y)·1 = w`, and with `extra` also `x·x = v`:
/// a circuit small enough for a power-4 Powers of Tau.
struct Toy {
    extra: bool,
}

impl ark_relations::gr1cs::ConstraintSynthesizer<Fr> for Toy {
    fn generate_constraints(
        self,
        cs: ark_relations::gr1cs::ConstraintSystemRef<Fr>,
    ) -> Result<(), ark_relations::gr1cs::SynthesisError> {
        use ark_relations::gr1cs::Variable;
        use ark_relations::lc;
        let (x, y) = (Fr::from(3u64), Fr::from(5u64));
        let z = cs.new_input_variable(|| Ok(x * y))?;
        let xv = cs.new_witness_variable(|| Ok(x))?;
        let yv = cs.new_witness_variable(|| Ok(y))?;
        let w = cs.new_witness_variable(|| Ok(x + y * Fr::from(3u64)))?;
        cs.enforce_r1cs_constraint(|| lc![xv], || lc![yv], || lc![z])?;
        cs.enforce_r1cs_constraint(
            || lc![(Fr::from(1u64), xv), (Fr::from(3u64), yv)],
            || lc![Variable::One],
            || lc![w],
        )?;
        if self.extra {
            let v = cs.new_witness_variable(|| Ok(x * x))?;
            cs.enforce_r1cs_constraint(|| lc![xv], || lc![xv], || lc![v])?;
        }
        Ok(())
    }
}

/// A key snarkjs makes for our `.r1cs` (`zkey new` on a power-4 Powers of
/// Tau) reads and holds our matrices; a key for another circuit, or with a
/// point damaged, is refused.
#[test]
fn snarkjs_zkey_for_our_r1cs_reads_and_matches() {
    use proofmint_prover::groth16::ConstraintMatrices;
    use proofmint_prover::zkey::{Zkey, ZkeyError};
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let toy = ConstraintMatrices::of(Toy { extra: false }).unwrap();
    let other = ConstraintMatrices::of(Toy { extra: true }).unwrap();
    let mut bytes = Vec::new();
    proofmint_prover::circom::write_r1cs(&toy, &mut bytes).unwrap();
    std::fs::write(path("toy.r1cs"), bytes).unwrap();
    let ptau = js::snarkjs_ptau(&tools, dir.path(), 4);
    let s = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    js::run(
        &tools,
        &[
            "zkey",
            "new",
            &s(&path("toy.r1cs")),
            &s(&ptau),
            &s(&path("toy.zkey")),
        ],
    );

    let key = Zkey::open(&path("toy.zkey")).unwrap();
    let (inputs, constraints, witnesses) = toy.counts();
    assert_eq!(
        (key.variables, key.public_inputs),
        (inputs + witnesses, inputs - 1)
    );
    assert!(key.domain_size >= constraints + inputs);
    assert_eq!(key.h_g1.len(), key.domain_size);
    // snarkjs's keys have γ = 1.
    assert_eq!(
        key.gamma_g2,
        <ark_bn254::G2Affine as ark_ec::AffineRepr>::generator()
    );
    key.check_circuit(&toy).unwrap();
    let error = key.check_circuit(&other).unwrap_err();
    assert!(matches!(error, ZkeyError::OtherCircuit(_)), "{error}");

    // Our prover proves with snarkjs's key (its H query in snarkjs's form):
    // arkworks' verifier and snarkjs's accept the proof, and not for another
    // public input.
    let pk = key.proving_key();
    let instance = [Fr::from(1u64), Fr::from(15u64)];
    let witness = [Fr::from(3u64), Fr::from(5u64), Fr::from(18u64)];
    let proof = proofmint_prover::groth16::prove_assignment(
        &pk,
        proofmint_prover::groth16::QapForm::Circom,
        &toy,
        &instance,
        &witness,
        &proofmint_gpu::CpuBackend::new(),
        &mut rng(12),
    )
    .unwrap();
    let prepared = ark_groth16::prepare_verifying_key(&pk.vk);
    use ark_snark::SNARK;
    assert!(
        ark_groth16::Groth16::<ark_bn254::Bn254>::verify_with_processed_vk(
            &prepared,
            &[Fr::from(15u64)],
            &proof
        )
        .unwrap()
    );
    assert!(
        !ark_groth16::Groth16::<ark_bn254::Bn254>::verify_with_processed_vk(
            &prepared,
            &[Fr::from(16u64)],
            &proof
        )
        .unwrap()
    );
    js::run(
        &tools,
        &[
            "zkey",
            "export",
            "verificationkey",
            &s(&path("toy.zkey")),
            &s(&path("vk.json")),
        ],
    );
    std::fs::write(
        path("proof.json"),
        proofmint_verifier::snarkjs::proof_json(&proof).to_string(),
    )
    .unwrap();
    std::fs::write(path("public.json"), r#"["15"]"#).unwrap();
    std::fs::write(path("other.json"), r#"["16"]"#).unwrap();
    assert!(snarkjs_verify(
        &tools,
        &path("vk.json"),
        &path("public.json"),
        &path("proof.json")
    ));
    assert!(!snarkjs_verify(
        &tools,
        &path("vk.json"),
        &path("other.json"),
        &path("proof.json")
    ));

    // A damaged point of the A query is refused, naming the section.
    let mut bytes = std::fs::read(path("toy.zkey")).unwrap();
    let a_query = find_section(&bytes, 5);
    bytes[a_query + 64 + 3] ^= 0x40; // the second point's x
    let error = Zkey::read(&mut std::io::Cursor::new(&bytes)).unwrap_err();
    assert!(error.to_string().contains("section 5"), "{error}");
}

/// Byte offset of section `id`'s contents in an iden3 container.
fn find_section(bytes: &[u8], id: u32) -> usize {
    let count = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let mut at = 12usize;
    for _ in 0..count {
        let section = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let size = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap()) as usize;
        if section == id {
            return at + 12;
        }
        at += 12 + size;
    }
    panic!("no section {id}");
}

/// snarkjs's roots of unity are arkworks': the same two-adicity (28), the
/// same non-residue (5, arkworks' generator, on whose coset our witness map
/// evaluates), and the same root of order 2^k for every k, so that the odd
/// coset snarkjs's keys are made for (`w[p + 1]` for a domain of 2^p) is the
/// one our circom-form witness map evaluates on.
#[test]
fn snarkjs_roots_of_unity_are_arkworks() {
    use ark_ff::{FftField, Field, PrimeField};
    let Some(tools) = tools() else { return };
    let out = run_script(&tools, "roots.mjs", "");
    let view: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(view["s"], Fr::TWO_ADICITY);
    assert_eq!(view["nqr"], "5");
    assert_eq!(Fr::GENERATOR, Fr::from(5u64));
    let roots = view["w"].as_array().unwrap();
    assert_eq!(roots.len(), Fr::TWO_ADICITY as usize + 1);
    for (k, root) in roots.iter().enumerate() {
        let theirs = fr_from_decimal(root.as_str().unwrap()).unwrap();
        assert_eq!(
            Some(theirs),
            Fr::get_root_of_unity(1u64 << k),
            "the root of order 2^{k}"
        );
    }
    // The largest is 5^((r − 1) / 2^28), of order exactly 2^28.
    let largest = fr_from_decimal(roots[28].as_str().unwrap()).unwrap();
    assert_eq!(largest, Fr::from(5u64).pow(<Fr as PrimeField>::TRACE));
    assert_ne!(largest.pow([1u64 << 27]), Fr::from(1u64));
}
