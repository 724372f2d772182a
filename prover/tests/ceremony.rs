//! Phase 2 against snarkjs: our initial key is `snarkjs zkey new`'s, our
//! contributions and snarkjs's mix in one transcript, our beacon is
//! snarkjs's, and each tool verifies the other's transcripts and refuses the
//! same altered ones. The Powers of Tau come from snarkjs (a real phase 1
//! with one contribution, prepared for phase 2).

mod js;

use std::path::Path;

use ark_bn254::{Fr, G1Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError, Variable};
use ark_relations::lc;
use js::{run, snarkjs, snarkjs_ptau, tools};
use proofmint_prover::ceremony::{self, CeremonyError, ContributionReport};
use proofmint_prover::groth16::ConstraintMatrices;
use proofmint_prover::zkey::{ContributionKind, Zkey};
use rand::SeedableRng;

/// z = x·y and p = x + y public; w = x + 3y, v = 2x·p: four constraints,
/// two public inputs, coefficients other than one, a public input in B.
struct Small {
    extra: bool,
}

impl ConstraintSynthesizer<Fr> for Small {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let (x, y) = (Fr::from(3u64), Fr::from(5u64));
        let z = cs.new_input_variable(|| Ok(x * y))?;
        let p = cs.new_input_variable(|| Ok(x + y))?;
        let xv = cs.new_witness_variable(|| Ok(x))?;
        let yv = cs.new_witness_variable(|| Ok(y))?;
        let w = cs.new_witness_variable(|| Ok(x + y * Fr::from(3u64)))?;
        let v = cs.new_witness_variable(|| Ok(Fr::from(2u64) * x * (x + y)))?;
        cs.enforce_r1cs_constraint(|| lc![xv], || lc![yv], || lc![z])?;
        cs.enforce_r1cs_constraint(
            || lc![(Fr::from(1u64), xv), (Fr::from(3u64), yv)],
            || lc![Variable::One],
            || lc![w],
        )?;
        cs.enforce_r1cs_constraint(|| lc![(Fr::from(2u64), xv)], || lc![p], || lc![v])?;
        cs.enforce_r1cs_constraint(|| lc![xv, yv], || lc![Variable::One], || lc![p])?;
        if self.extra {
            cs.enforce_r1cs_constraint(|| lc![xv], || lc![xv], || lc![(Fr::from(3u64), xv)])?;
        }
        Ok(())
    }
}

fn write(key: &Zkey, path: &Path) {
    let mut bytes = Vec::new();
    key.write(&mut bytes).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn snarkjs_verifies(tools: &Path, r1cs: &Path, ptau: &Path, key: &Path) -> (bool, String) {
    let (ok, text) = snarkjs(
        tools,
        &[
            "zkey".as_ref(),
            "verify".as_ref(),
            r1cs.as_os_str(),
            ptau.as_os_str(),
            key.as_os_str(),
        ],
    );
    (ok && text.contains("ZKey Ok!"), text)
}

fn phase1(ptau: &Path, matrices: &ConstraintMatrices) -> Result<ceremony::Phase1, CeremonyError> {
    let mut file = std::io::BufReader::new(std::fs::File::open(ptau).unwrap());
    ceremony::read_phase1(&mut file, matrices, &mut rand::thread_rng())
}

#[test]
fn transcripts_mix_with_snarkjs_and_each_verifies_the_other() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let small = ConstraintMatrices::of(Small { extra: false }).unwrap();
    let other = ConstraintMatrices::of(Small { extra: true }).unwrap();
    assert_eq!(ceremony::circuit_power(&small), 3);
    let mut bytes = Vec::new();
    proofmint_prover::circom::write_r1cs(&small, &mut bytes).unwrap();
    std::fs::write(path("small.r1cs"), bytes).unwrap();
    let r1cs = path("small.r1cs");
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);

    // Power 3 is the circuit's own (the doubled domain's basis then lacks
    // its top power); power 5 is larger.
    for power in [3u32, 5] {
        let ptau = snarkjs_ptau(&tools, dir.path(), power);
        let name = |stem: &str| path(&format!("{stem}{power}.zkey"));
        run(
            &tools,
            &[
                "zkey",
                "new",
                r1cs.to_str().unwrap(),
                ptau.to_str().unwrap(),
                name("s0").to_str().unwrap(),
            ],
        );
        let theirs = Zkey::open(&name("s0")).unwrap();
        let phase1 = phase1(&ptau, &small).unwrap();
        let ours = ceremony::initial_key(&phase1, &small).unwrap();
        assert_eq!(
            ours, theirs,
            "power {power}: our initial key is not snarkjs's"
        );

        // Ours, then snarkjs's, then a beacon.
        let mut key = ours;
        let first = ceremony::contribute(&mut key, Some("proofmint"), &mut rng).unwrap();
        write(&key, &name("c1"));
        run(
            &tools,
            &[
                "zkey",
                "contribute",
                name("c1").to_str().unwrap(),
                name("c2").to_str().unwrap(),
                "--name=snarkjs",
                "-e=snarkjs entropy",
            ],
        );
        let mut key = Zkey::open(&name("c2")).unwrap();
        let beacon =
            hex::decode("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20")
                .unwrap();
        ceremony::apply_beacon(&mut key, &beacon, 10, Some("beacon")).unwrap();
        write(&key, &name("final"));
        run(
            &tools,
            &[
                "zkey",
                "beacon",
                name("c2").to_str().unwrap(),
                name("sfinal").to_str().unwrap(),
                &hex::encode(&beacon),
                "10",
                "-n=beacon",
            ],
        );
        assert_eq!(
            Zkey::open(&name("sfinal")).unwrap(),
            key,
            "our beacon is not snarkjs's"
        );

        let transcript = ceremony::verify(&key, &phase1, &small, &mut rng).unwrap();
        let names: Vec<_> = transcript
            .contributions
            .iter()
            .map(|c| c.name.clone().unwrap_or_default())
            .collect();
        assert_eq!(names, ["proofmint", "snarkjs", "beacon"]);
        assert_eq!(transcript.contributions[0].hash, first);
        assert!(matches!(
            transcript.contributions[2].kind,
            ContributionKind::Beacon {
                iterations_exp: 10,
                ..
            }
        ));
        let (ok, text) = snarkjs_verifies(&tools, &r1cs, &ptau, &name("final"));
        assert!(ok, "snarkjs refused our transcript: {text}");
        // snarkjs prints each contribution's hash: ours are the same.
        let printed: String = text.split_whitespace().collect();
        for ContributionReport { hash, .. } in &transcript.contributions {
            assert!(printed.contains(&hex::encode(hash)), "{text}");
        }

        // The final key proves: arkworks' verifier and snarkjs's accept.
        let pk = key.proving_key();
        let instance = [Fr::from(1u64), Fr::from(15u64), Fr::from(8u64)];
        let witness = [3u64, 5, 18, 48].map(Fr::from);
        let proof = proofmint_prover::groth16::prove_assignment(
            &pk,
            proofmint_prover::groth16::QapForm::Circom,
            &small,
            &instance,
            &witness,
            &proofmint_gpu::CpuBackend::new(),
            &mut rng,
        )
        .unwrap();
        use ark_snark::SNARK;
        let prepared = ark_groth16::prepare_verifying_key(&pk.vk);
        assert!(
            ark_groth16::Groth16::<ark_bn254::Bn254>::verify_with_processed_vk(
                &prepared,
                &instance[1..],
                &proof
            )
            .unwrap()
        );
        run(
            &tools,
            &[
                "zkey",
                "export",
                "verificationkey",
                name("final").to_str().unwrap(),
                path("vk.json").to_str().unwrap(),
            ],
        );
        std::fs::write(
            path("proof.json"),
            proofmint_verifier::snarkjs::proof_json(&proof).to_string(),
        )
        .unwrap();
        std::fs::write(path("public.json"), r#"["15", "8"]"#).unwrap();
        let text = run(
            &tools,
            &[
                "groth16",
                "verify",
                path("vk.json").to_str().unwrap(),
                path("public.json").to_str().unwrap(),
                path("proof.json").to_str().unwrap(),
            ],
        );
        assert!(text.contains("OK"), "{text}");

        // Altered transcripts: each tool refuses each, ours naming where.
        let refused = |altered: &Zkey, what: &str, expect: &str| {
            let error = ceremony::verify(altered, &phase1, &small, &mut rand::thread_rng())
                .unwrap_err()
                .to_string();
            assert!(error.contains(expect), "{what}: {error}");
            write(altered, &path("altered.zkey"));
            let (ok, text) = snarkjs_verifies(&tools, &r1cs, &ptau, &path("altered.zkey"));
            assert!(!ok, "snarkjs accepted {what}: {text}");
        };
        let mut altered = key.clone();
        let c = &mut altered.mpc.as_mut().unwrap().contributions[0];
        c.g1_sx = (c.g1_sx * Fr::from(2u64)).into_affine();
        refused(
            &altered,
            "a contribution altered",
            "contribution 1 (proofmint)",
        );
        let mut altered = key.clone();
        altered.mpc.as_mut().unwrap().contributions.swap(0, 1);
        refused(
            &altered,
            "two contributions reordered",
            "contribution 1 (snarkjs)",
        );
        let mut altered = key.clone();
        altered.mpc.as_mut().unwrap().contributions.pop();
        refused(&altered, "the beacon dropped", "δ in G1");
        let mut altered = key.clone();
        altered.h_g1.swap(0, 1);
        refused(&altered, "two H points swapped", "section 9");
        let mut altered = key.clone();
        altered.c_g1[1] = (altered.c_g1[1] + G1Affine::generator()).into_affine();
        refused(&altered, "a C point moved", "section 8");
        let mut altered = key.clone();
        altered.a_g1[2] = altered.a_g1[3];
        refused(&altered, "an A point replaced", "section 5");

        // A contribution made to another circuit's key, spliced in.
        let mut foreign = ceremony::initial_key(&phase1, &other).unwrap();
        ceremony::contribute(&mut foreign, Some("elsewhere"), &mut rng).unwrap();
        let mut altered = key.clone();
        altered.mpc.as_mut().unwrap().contributions[1] =
            foreign.mpc.unwrap().contributions.remove(0);
        refused(
            &altered,
            "another circuit's contribution",
            "contribution 2 (elsewhere)",
        );

        // A key for another circuit shape.
        let error = ceremony::verify(&key, &phase1, &other, &mut rng).unwrap_err();
        assert!(
            matches!(
                error,
                CeremonyError::OtherCircuit(_) | CeremonyError::Section { .. }
            ),
            "{error}"
        );
    }

    // A truncated key, a Powers of Tau too small, one of another curve.
    let bytes = std::fs::read(path("final5.zkey")).unwrap();
    let error = Zkey::read(&mut std::io::Cursor::new(&bytes[..bytes.len() - 100])).unwrap_err();
    assert!(error.to_string().contains("section 10"), "{error}");
    let small_ptau = snarkjs_ptau(&tools, dir.path(), 2);
    let error = phase1(&small_ptau, &small).err().unwrap().to_string();
    assert!(error.contains("power 3"), "{error}");
    run(
        &tools,
        &[
            "powersoftau",
            "new",
            "bls12381",
            "3",
            path("bls.ptau").to_str().unwrap(),
        ],
    );
    let error = phase1(&path("bls.ptau"), &small).err().unwrap().to_string();
    assert!(error.contains("another curve"), "{error}");
}

/// x_(i+1) = x_i², `steps` times, the last public: a circuit of any size.
struct Squares {
    steps: usize,
}

impl ConstraintSynthesizer<Fr> for Squares {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let out = cs.new_input_variable(|| Ok(Fr::from(0u64)))?;
        let mut x = cs.new_witness_variable(|| Ok(Fr::from(0u64)))?;
        for _ in 1..self.steps {
            let next = cs.new_witness_variable(|| Ok(Fr::from(0u64)))?;
            cs.enforce_r1cs_constraint(|| lc![x], || lc![x], || lc![next])?;
            x = next;
        }
        cs.enforce_r1cs_constraint(|| lc![x], || lc![x], || lc![out])?;
        Ok(())
    }
}

/// Past a domain of 2^14 snarkjs's circuit hash takes one more point, which
/// needs τ^(2n−1): our initial key (hash included) is still snarkjs's on a
/// Powers of Tau one power above the circuit, and one of the circuit's own
/// power is refused at once, naming the power needed.
#[test]
fn large_domains_hash_as_snarkjs_does() {
    use proofmint_circuits::ptau::Ptau;
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let squares = ConstraintMatrices::of(Squares { steps: 16_400 }).unwrap();
    assert_eq!(ceremony::circuit_power(&squares), 15);
    let mut bytes = Vec::new();
    proofmint_prover::circom::write_r1cs(&squares, &mut bytes).unwrap();
    std::fs::write(path("squares.r1cs"), bytes).unwrap();
    let (tau, alpha, beta) = (Fr::from(987_654_321u64), Fr::from(3u64), Fr::from(4u64));
    for power in [15u32, 16] {
        let mut bytes = Vec::new();
        Ptau::from_secrets(power, tau, alpha, beta)
            .write_with(&mut bytes, Ptau::lagrange_sections(power, tau, alpha, beta))
            .unwrap();
        std::fs::write(path(&format!("p{power}.ptau")), bytes).unwrap();
    }
    let error = phase1(&path("p15.ptau"), &squares)
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("power 16"), "{error}");
    let ours =
        ceremony::initial_key(&phase1(&path("p16.ptau"), &squares).unwrap(), &squares).unwrap();
    let zkey = path("squares.zkey");
    run(
        &tools,
        &[
            "zkey",
            "new",
            path("squares.r1cs").to_str().unwrap(),
            path("p16.ptau").to_str().unwrap(),
            zkey.to_str().unwrap(),
        ],
    );
    assert_eq!(ours, Zkey::open(&zkey).unwrap());
}
