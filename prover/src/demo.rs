//! `proofmint demo`: the whole protocol on embedded defaults, nothing to
//! prepare. Clients and nodes get keys, clients pay and sign receipts, the operator
//! builds and audits the epoch, keys are set up, one node proves its claim
//! (in as many batches as its receipts need) and every proof is verified.
//! One job is a matrix product (receipt kind 1) whose node proves it did the
//! work: the operator admits its receipt only with that work proof.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy_primitives::{Address, U256};
use anyhow::Result;
use ark_bn254::Fr;
use ark_ff::UniformRand;
use k256::ecdsa::SigningKey;
use proofmint_circuits::field::fr_to_hex;
use proofmint_circuits::payment::{job_id_of, Payment, Payments};
use proofmint_circuits::receipt::{address_of, Receipt, ReceiptDomain};
use proofmint_verifier::ptau::Ptau;
use proofmint_work::evidence::{check_shape, prove_gemm, WorkProof};
use proofmint_work::gemm::Shape;
use proofmint_work::npy::Matrix;
use proofmint_work::srs::params_from_ptau;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::cli::{self, timed, BackendOptions};
use crate::files;

/// What the demo runs on.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub out: PathBuf,
    pub receipts: usize,
    pub nodes: usize,
    pub clients: usize,
    pub slots: usize,
    pub depth: usize,
    pub epoch: u64,
    pub chain_id: u64,
    /// The EpochRegistry receipts are signed for (the demo's simulated deployment).
    pub registry: Address,
    pub seed: u64,
    pub backend: BackendOptions,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            out: PathBuf::from("proofmint-demo"),
            receipts: 300,
            nodes: 8,
            clients: 5,
            slots: 16,
            depth: 20,
            epoch: 1,
            chain_id: 31337,
            registry: Address::repeat_byte(0xe9),
            seed: 2026,
            backend: BackendOptions::default(),
        }
    }
}

/// The side of the demo's matrix product.
const GEMM: usize = 16;
/// Where the demo keeps its work proofs (`<jobId>.proof`) for the operator.
const WORK_DIR: &str = "work-proofs";
/// The demo's Powers of Tau: a development one, made here.
const WORK_PTAU: &str = "work-dev.ptau";

/// The demo's matrix-product job: random int8 A and B, C = A·B proven on a
/// development Powers of Tau (its secrets are drawn here and dropped: NOT
/// FOR PRODUCTION, where a public ceremony's file is used), the proof kept
/// for the operator under the job's id. Returns the proof and the time the
/// node spent proving.
fn gemm_job(rng: &mut ChaCha20Rng, out: &Path, job_id: Fr) -> Result<(WorkProof, Duration)> {
    proofmint_work::check_cpu()?;
    let shape = Shape {
        m: GEMM,
        k: GEMM,
        n: GEMM,
    };
    let k = check_shape(shape)?;
    let ptau = Ptau::from_secrets(k, Fr::rand(rng), Fr::rand(rng), Fr::rand(rng));
    let mut bytes = Vec::new();
    ptau.write(&mut bytes)?;
    files::write(&out.join(WORK_PTAU), &bytes)?;
    let matrix = |rng: &mut ChaCha20Rng| Matrix {
        rows: GEMM,
        columns: GEMM,
        entries: (0..GEMM * GEMM).map(|_| rng.gen()).collect(),
    };
    let (a, b) = (matrix(rng), matrix(rng));
    let params = params_from_ptau(&ptau, k)?;
    let start = std::time::Instant::now();
    let (_, proof) = prove_gemm(&params, &a, &b, ChaCha20Rng::from_rng(&mut *rng)?)?;
    let took = start.elapsed();
    let dir = out.join(WORK_DIR);
    std::fs::create_dir_all(&dir)?;
    files::write(
        &dir.join(format!("{}.proof", fr_to_hex(&job_id))),
        &proof.to_bytes(),
    )?;
    println!(
        "a node proved C = A·B for {GEMM}x{GEMM}x{GEMM} int8 matrices in {:.2} s ({} units, receipt kind 1; development Powers of Tau in {})",
        took.as_secs_f64(),
        proof.units(),
        out.join(WORK_PTAU).display()
    );
    Ok((proof, took))
}

fn random_key(rng: &mut ChaCha20Rng) -> SigningKey {
    loop {
        let bytes: [u8; 32] = rng.gen();
        if let Ok(key) = SigningKey::from_bytes(&bytes.into()) {
            return key;
        }
    }
}

/// Runs the demo and prints a report of each step and its time.
pub fn run(options: &DemoOptions) -> Result<()> {
    let o = options;
    let mut rng = ChaCha20Rng::seed_from_u64(o.seed);
    let mut steps: Vec<(String, Duration)> = Vec::new();
    println!(
        "proofmint demo: {} receipts, {} nodes, {} clients, epoch {}, chain {}",
        o.receipts, o.nodes, o.clients, o.epoch, o.chain_id
    );
    println!("artifacts go to {}\n", o.out.display());

    let (jsonl, took) = timed("signing receipts", || {
        let clients: Vec<SigningKey> = (0..o.clients).map(|_| random_key(&mut rng)).collect();
        let nodes: Vec<Address> = (0..o.nodes)
            .map(|_| address_of(&random_key(&mut rng)))
            .collect();
        let domain = ReceiptDomain::new(o.chain_id, o.registry);
        let mut lines = String::new();
        let mut paid = Vec::new();
        for job in 0..o.receipts {
            let client = &clients[rng.gen_range(0..clients.len())];
            // The client pays for the job on chain first; its id is namespaced by the client.
            let job_id = job_id_of(address_of(client), U256::from(job));
            let receipt = Receipt {
                job_id,
                node: nodes[rng.gen_range(0..nodes.len())],
                client: address_of(client),
                epoch: o.epoch,
                units: rng.gen_range(1..=5_000),
                // Kinds without evidence: kind 1 (a matrix product) counts
                // only with its work proof, which these made-up jobs lack.
                kind: [0, 2, 3][rng.gen_range(0..3)],
                input_commitment: Fr::rand(&mut rng),
                output_commitment: Fr::rand(&mut rng),
            };
            paid.push(Payment::for_receipt(&receipt));
            lines.push_str(&receipt.sign(&domain, client).to_json_line());
            lines.push('\n');
        }
        // One more job for the first node: a matrix product it proves.
        let client = &clients[0];
        let job_id = job_id_of(address_of(client), U256::from(o.receipts));
        let (proof, gemm_took) = gemm_job(&mut rng, &o.out, job_id)?;
        let receipt = proof.receipt(job_id, nodes[0], address_of(client), o.epoch);
        paid.push(Payment::for_receipt(&receipt));
        lines.push_str(&receipt.sign(&domain, client).to_json_line());
        lines.push('\n');
        let path = o.out.join("receipts.jsonl");
        files::write(&path, lines.as_bytes())?;
        let payments = Payments::new(paid).map_err(anyhow::Error::msg)?;
        let payments_path = o.out.join("payments.jsonl");
        files::write(&payments_path, payments.to_jsonl().as_bytes())?;
        println!(
            "clients paid for {} jobs ({}) and signed their receipts (EIP-712) into {}",
            o.receipts + 1,
            payments_path.display(),
            path.display()
        );
        Ok((path, payments_path, nodes[0], gemm_took))
    })?;
    let (receipts_path, payments_path, node, gemm_took) = jsonl;
    steps.push((
        format!("node proves a {GEMM}x{GEMM}x{GEMM} product (kind 1)"),
        gemm_took,
    ));
    steps.push(("clients pay and sign receipts".into(), took - gemm_took));
    let evidence = cli::EvidenceOptions {
        dir: Some(o.out.join(WORK_DIR)),
        ptau: Some(o.out.join(WORK_PTAU)),
    };
    let domain = ReceiptDomain::new(o.chain_id, o.registry);

    let epoch_dir = o.out.join("epoch");
    let (bundle, took) = timed("building the epoch", || {
        cli::epoch_build(
            &receipts_path,
            &payments_path,
            o.epoch,
            domain,
            o.depth,
            &epoch_dir,
            &evidence,
        )
    })?;
    steps.push(("operator builds the epoch tree".into(), took));
    let (_, took) = timed("auditing the epoch", || {
        cli::audit_dir(&epoch_dir, domain, &payments_path, evidence.ptau.as_deref())
    })?;
    steps.push(("auditor re-checks the bundle".into(), took));

    let keys_dir = o.out.join("keys");
    let (_, took) = timed("setting up keys", || {
        cli::setup(o.slots, o.depth, &keys_dir, None)
    })?;
    steps.push((
        format!("Groth16 setup ({} slots, depth {})", o.slots, o.depth),
        took,
    ));

    let held = bundle
        .receipts
        .iter()
        .filter(|r| r.receipt.node == node)
        .count();
    println!(
        "\nnode {node} holds {held} receipts; it claims them {} at a time",
        o.slots
    );
    let mut from_index = 0;
    let mut batch = 1;
    let mut claimed_units = 0u128;
    loop {
        let proof_dir = o.out.join(format!("claim-{batch}"));
        let (outcome, took) = timed("proving a claim", || {
            cli::prove(
                &epoch_dir, node, &keys_dir, &proof_dir, from_index, &o.backend,
            )
        })?;
        steps.push((
            format!("node proves claim {batch} ({} receipts)", outcome.receipts),
            took,
        ));
        let (claim, took) = timed("verifying a claim", || cli::verify(&proof_dir, &keys_dir))?;
        steps.push((format!("operator verifies claim {batch}"), took));
        claimed_units += claim
            .public
            .total_units
            .to_string()
            .parse::<u128>()
            .unwrap_or(0);
        match outcome.next_from_index {
            Some(next) => from_index = next,
            None => break,
        }
        batch += 1;
    }
    let expected: u128 = bundle
        .receipts
        .iter()
        .filter(|r| r.receipt.node == node)
        .map(|r| r.receipt.units as u128)
        .sum();
    println!("\nnode {node} proved {claimed_units} units in {batch} claim(s); its receipts hold {expected}");
    anyhow::ensure!(
        claimed_units == expected,
        "claimed units do not add up to the node's receipts"
    );

    println!("\n{:<48} {:>10}", "step", "time");
    for (label, took) in &steps {
        println!("{label:<48} {:>9.2}s", took.as_secs_f64());
    }
    let total: Duration = steps.iter().map(|(_, d)| *d).sum();
    println!("{:<48} {:>9.2}s", "total", total.as_secs_f64());
    Ok(())
}
