//! The `proofmint` commands as library functions: each takes plain values,
//! does its work, prints what a user needs to see, and returns a typed result
//! or an error naming the file, line or field at fault.

use std::path::Path;
use std::time::{Duration, Instant};

use alloy_primitives::Address;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use proofmint_circuits::claim::{ClaimShape, ClaimWitness};
use proofmint_circuits::epoch::{EpochBundle, ReceiptLines};
use proofmint_circuits::field::{fr_to_address, fr_to_hex, parse_address};
use proofmint_circuits::receipt::{Receipt, ReceiptDomain};
use proofmint_gpu::{select_backend, BackendChoice};
use proofmint_verifier::verify::ClaimVerifier;
use proofmint_verifier::{audit, AuditReport, ClaimProof, SetupKind, VerifyingKeyFile};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::files;
use crate::keys::{constraint_count, setup_development, ProvingKeyFile};
use crate::prove::prove_claim;

/// The deployment a command works for: `--chain-id` and `--registry`.
pub fn parse_domain(chain_id: u64, registry: &str) -> Result<ReceiptDomain> {
    let registry = address_flag("registry", registry)?;
    Ok(ReceiptDomain::new(chain_id, registry))
}

/// An address given on the command line as `--{flag} {text}`.
pub fn address_flag(flag: &str, text: &str) -> Result<Address> {
    parse_address(text).with_context(|| format!("--{flag} {text}"))
}

/// A job's salt given on the command line (decimal or 0x-hex, up to 256 bits).
pub fn salt_flag(text: &str) -> Result<alloy_primitives::U256> {
    text.parse()
        .map_err(|e| anyhow::anyhow!("--salt {text}: {e}"))
}

/// `proofmint epoch build`: admit a JSON Lines file of receipts as an epoch,
/// each receipt backed by a payment in `payments` and signed for `domain`.
/// Where the work proofs of matrix-product receipts (kind 1) come from.
#[derive(Debug, Clone, Default)]
pub struct EvidenceOptions {
    /// A folder of `<jobId>.proof` files (`epoch build`); a bundle keeps its
    /// own in `evidence/`.
    pub dir: Option<std::path::PathBuf>,
    /// The Powers of Tau file the work proofs' parameters come from.
    pub ptau: Option<std::path::PathBuf>,
}

/// `proofmint epoch build`: check receipts against payments (and the work
/// proofs of matrix-product receipts), build the tree, write the bundle.
pub fn epoch_build(
    receipts: &Path,
    payments: &Path,
    epoch: u64,
    domain: ReceiptDomain,
    depth: usize,
    out: &Path,
    evidence: &EvidenceOptions,
) -> Result<EpochBundle> {
    let paid = files::load_payments(payments)?;
    let max = if depth >= 32 {
        usize::MAX
    } else {
        1usize << depth
    };
    let mut lines = ReceiptLines::default();
    files::for_each_line(receipts, max, |line, text| lines.push(line, text))?;
    let numbered: Vec<(usize, Receipt)> = lines
        .receipts
        .iter()
        .map(|(line, signed)| (*line, signed.receipt))
        .collect();
    let (bundle, _) = EpochBundle::build_parsed(epoch, domain, depth, lines, &paid)
        .with_context(|| receipts.display().to_string())?;
    let proofs = crate::evidence::check_evidence(
        &numbered,
        evidence.dir.as_deref(),
        evidence.ptau.as_deref(),
        "line",
    )
    .map_err(|problems| {
        anyhow::anyhow!(
            "{}: {} receipt(s) without valid work proofs:\n  {}",
            receipts.display(),
            problems.len(),
            problems.join("\n  ")
        )
    })?;
    files::write_epoch(out, &bundle)?;
    if !proofs.is_empty() {
        let dir = out.join(crate::evidence::EVIDENCE_DIR);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        for (name, bytes) in &proofs {
            files::write(&dir.join(name), bytes)?;
        }
        println!(
            "{} work proof(s) checked and kept in {}",
            proofs.len(),
            dir.display()
        );
    }
    let s = bundle.summary;
    println!(
        "epoch {} ({}): {} receipts, {} units, all paid on chain ({} units paid for the epoch)",
        s.epoch,
        s.domain,
        s.count,
        s.total_units,
        paid.paid_units(s.epoch)
    );
    println!("root {}", fr_to_hex(&s.root));
    println!(
        "wrote {} and {}",
        out.join(files::EPOCH_JSON).display(),
        out.join(files::EPOCH_BIN).display()
    );
    Ok(bundle)
}

/// `proofmint audit`: re-check a bundle against the deployment it belongs to
/// and the payments on chain.
pub fn audit_dir(
    dir: &Path,
    domain: ReceiptDomain,
    payments: &Path,
    ptau: Option<&Path>,
) -> Result<AuditReport> {
    let bundle = files::load_epoch(dir)?;
    let paid = files::load_payments(payments)?;
    let leaves: Vec<(usize, Receipt)> = bundle
        .receipts
        .iter()
        .enumerate()
        .map(|(leaf, signed)| (leaf, signed.receipt))
        .collect();
    let evidence = crate::evidence::check_evidence(
        &leaves,
        Some(&dir.join(crate::evidence::EVIDENCE_DIR)),
        ptau,
        "leaf",
    )
    .err()
    .unwrap_or_default();
    let (report, mut problems) = match audit(&bundle, &domain, &paid) {
        Ok(report) => (Some(report), Vec::new()),
        Err(failures) => (None, failures.iter().map(|f| f.to_string()).collect()),
    };
    problems.extend(evidence);
    match report {
        Some(report) if problems.is_empty() => {
            let s = report.summary;
            println!(
                "epoch {} audited: {} receipts, {} units, root {} — every signature, payment, leaf, total and the root check out",
                s.epoch,
                s.count,
                s.total_units,
                fr_to_hex(&s.root)
            );
            if crate::evidence::needs_evidence(leaves.iter().map(|(_, r)| r)) {
                println!("every work proof verifies and matches its receipt");
            }
            Ok(report)
        }
        _ => bail!(
            "{}: audit failed, {} problem(s):\n  {}",
            dir.display(),
            problems.len(),
            problems.join("\n  ")
        ),
    }
}

/// `proofmint setup`: a development Groth16 setup for one claim shape.
pub fn setup(slots: usize, depth: usize, out: &Path, seed: Option<u64>) -> Result<ProvingKeyFile> {
    let shape = ClaimShape::new(slots, depth)?;
    let constraints = constraint_count(shape);
    eprintln!("setting up the claim circuit ({shape}, {constraints} constraints)");
    eprintln!("warning: {}", SetupKind::Development.label());
    let mut rng = match seed {
        Some(seed) => ChaCha20Rng::seed_from_u64(seed),
        None => ChaCha20Rng::from_entropy(),
    };
    let spinner = spinner("generating keys");
    let key = setup_development(shape, &mut rng)?;
    spinner.finish_and_clear();
    files::write_keys(out, &key)?;
    println!(
        "keys for {shape} written to {} (digest {})",
        out.display(),
        key.key.digest_hex()
    );
    Ok(key)
}

/// Which MSM/NTT backend to prove with.
#[derive(Debug, Clone, Default)]
pub struct BackendOptions {
    pub choice: BackendChoice,
    /// ICICLE's install directory (else `PROOFMINT_ICICLE_DIR`).
    pub icicle_dir: Option<std::path::PathBuf>,
}

/// What `prove claim` proved.
pub struct ClaimOutcome {
    pub proof: ClaimProof,
    pub receipts: usize,
    /// Where the node's next claim starts, if receipts remain past this one.
    pub next_from_index: Option<u64>,
}

/// `proofmint prove claim`: prove a node's claim over its receipts in an epoch.
pub fn prove(
    epoch_dir: &Path,
    node: Address,
    keys_dir: &Path,
    out: &Path,
    from_index: u64,
    backend: &BackendOptions,
) -> Result<ClaimOutcome> {
    let (backend, picked) = select_backend(backend.choice, backend.icicle_dir.as_deref())?;
    eprintln!("{picked}");
    let progress = ProgressBar::new(5).with_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .expect("valid template"),
    );
    progress.enable_steady_tick(Duration::from_millis(120));
    progress.set_message("loading the epoch and the proving key");
    // A one-shot proof's start, overlapped: the epoch tree and the circuit's
    // matrices (one thread each, for the shape `claim.vk` names) while the
    // proving key is read and checked on the others.
    let hinted_shape = files::load_verifying_key(keys_dir).ok().map(|k| k.shape);
    let (epoch, matrices, key) = std::thread::scope(|scope| {
        let epoch = scope.spawn(|| -> Result<_> {
            let bundle = files::load_epoch(epoch_dir)?;
            let tree = checked_tree(epoch_dir, &bundle)?;
            Ok((bundle, tree))
        });
        let matrices = scope.spawn(|| {
            let shape = hinted_shape?;
            let cache = crate::keys::matrices_cache_dir();
            let (matrices, origin) =
                crate::matrices::claim_matrices_cached(shape, cache.as_deref()).ok()?;
            Some((shape, matrices, origin))
        });
        let key = files::load_proving_key(keys_dir);
        (joined(epoch), joined(matrices), key)
    });
    let (bundle, tree) = epoch?;
    progress.inc(1);
    let key = key?;
    if let Some((shape, matrices, origin)) = matrices {
        key.adopt_matrices(shape, matrices, origin);
    }
    warn_if_development(key.key.setup);
    progress.inc(1);
    progress.set_message("assembling the witness");
    let epoch = bundle.summary.epoch;
    let circuit = ClaimWitness::build(
        key.shape(),
        epoch,
        &bundle.receipts,
        &tree,
        node,
        from_index,
    )?;
    let receipts = circuit.receipt_count();
    let last = circuit.slots[receipts - 1].index;
    let next_from_index = bundle.receipts[(last as usize + 1)..]
        .iter()
        .position(|r| r.receipt.node == node)
        .map(|offset| last + 1 + offset as u64);
    progress.inc(1);
    progress.set_message("proving");
    let proof = prove_claim(
        &key,
        circuit,
        backend.as_ref(),
        &mut ChaCha20Rng::from_entropy(),
    )?;
    progress.inc(1);
    progress.set_message("writing");
    files::write_proof(out, &proof)?;
    progress.inc(1);
    progress.finish_and_clear();
    println!(
        "proved node {node}'s claim in epoch {epoch}: {receipts} receipts, leaves {}..={}, {} units",
        proof.public.first_index, proof.public.last_index, proof.public.total_units
    );
    println!(
        "wrote {}, {} and {}",
        out.join(files::PROOF_BIN).display(),
        out.join(files::PROOF_JSON).display(),
        out.join(files::PUBLIC_JSON).display()
    );
    if let Some(next) = next_from_index {
        println!("node has more receipts: claim them next with --from-index {next}");
    }
    Ok(ClaimOutcome {
        proof,
        receipts,
        next_from_index,
    })
}

/// A scoped thread's result; its panic, if it panicked, goes on in this thread.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The bundle's epoch tree, refused unless its root is the bundle's.
fn checked_tree(
    epoch_dir: &Path,
    bundle: &EpochBundle,
) -> Result<proofmint_circuits::tree::EpochTree> {
    let tree = bundle
        .tree()
        .with_context(|| epoch_dir.display().to_string())?;
    if tree.root() != bundle.summary.root {
        bail!(
            "{}: the receipts do not give the bundle's root; run `proofmint audit` on it",
            epoch_dir.display()
        );
    }
    Ok(tree)
}

/// `proofmint export r1cs`: the claim circuit of a shape in circom's `.r1cs`
/// format.
pub fn export_r1cs(shape: ClaimShape, out: &Path) -> Result<()> {
    let matrices = crate::matrices::claim_matrices(shape)?;
    let mut bytes = Vec::new();
    crate::circom::write_r1cs(&matrices, &mut bytes)?;
    files::write(out, &bytes)?;
    let (inputs, constraints, witnesses) = matrices.counts();
    println!(
        "wrote {} ({shape}: {constraints} constraints, {} wires, {} public inputs)",
        out.display(),
        inputs + witnesses,
        inputs - 1
    );
    Ok(())
}

/// `proofmint export wtns`: a node's claim witness in circom's `.wtns`
/// format, for the circuit `export r1cs` writes for the same shape.
pub fn export_wtns(
    epoch_dir: &Path,
    node: Address,
    shape: ClaimShape,
    from_index: u64,
    out: &Path,
) -> Result<()> {
    let bundle = files::load_epoch(epoch_dir)?;
    let tree = checked_tree(epoch_dir, &bundle)?;
    let circuit = ClaimWitness::build(
        shape,
        bundle.summary.epoch,
        &bundle.receipts,
        &tree,
        node,
        from_index,
    )?;
    let (instance, witness) = circuit.witness()?;
    let mut bytes = Vec::new();
    crate::circom::write_wtns(&instance, &witness, &mut bytes)?;
    files::write(out, &bytes)?;
    println!(
        "wrote {} (node {node}, epoch {}, {} values)",
        out.display(),
        bundle.summary.epoch,
        instance.len() + witness.len()
    );
    Ok(())
}

/// `proofmint verify claim`: check a proof directory against a key.
pub fn verify(proof_dir: &Path, keys_dir: &Path) -> Result<ClaimProof> {
    let key = files::load_verifying_key(keys_dir)?;
    warn_if_development(key.setup);
    println!("key {}: {}", key.digest_hex(), key.provenance());
    let claim = files::load_proof(proof_dir)?;
    ClaimVerifier::new(key)
        .verify(&claim)
        .with_context(|| format!("{} rejected", proof_dir.join(files::PROOF_BIN).display()))?;
    let p = claim.public;
    println!(
        "valid claim: epoch {}, node {}, {} units over leaves {}..={} of root {}",
        p.epoch,
        fr_to_address(&p.node).map_or_else(|| fr_to_hex(&p.node), |a| a.to_string()),
        p.total_units,
        p.first_index,
        p.last_index,
        fr_to_hex(&p.root)
    );
    Ok(claim)
}

/// `proofmint export solidity`: the verifier contract for a key.
pub fn export_solidity(vk: &Path, out: &Path, contract_name: &str) -> Result<()> {
    let valid_name = contract_name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && contract_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        bail!("--name {contract_name:?} is not a Solidity identifier");
    }
    let key = if vk.is_dir() {
        files::load_verifying_key(vk)?
    } else {
        VerifyingKeyFile::from_bytes(&files::read(vk)?).with_context(|| vk.display().to_string())?
    };
    warn_if_development(key.setup);
    files::write(
        out,
        proofmint_verifier::solidity::claim_verifier(&key, contract_name).as_bytes(),
    )?;
    println!(
        "wrote {} ({contract_name}, key {}, {})",
        out.display(),
        key.digest_hex(),
        key.shape
    );
    Ok(())
}

fn warn_if_development(setup: SetupKind) {
    if setup == SetupKind::Development {
        eprintln!(
            "warning: this key comes from a {}",
            SetupKind::Development.label()
        );
    }
}

fn spinner(message: &'static str) -> ProgressBar {
    let spinner = ProgressBar::new_spinner().with_message(message);
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

/// Times a step for the demo's report.
pub fn timed<T>(label: &str, step: impl FnOnce() -> Result<T>) -> Result<(T, Duration)> {
    let start = Instant::now();
    let value = step().with_context(|| label.to_string())?;
    Ok((value, start.elapsed()))
}
