//! `proofmint chain ...`: the protocol's transactions against an Ethereum
//! JSON-RPC endpoint (anvil for development, any node in production), signed
//! by a key read from a file or `PROOFMINT_PRIVATE_KEY`, never from a flag.
//!
//! `deploy` writes a deployment file (every address, the chain id and the
//! parameters); every other command reads it, so nobody retypes addresses.
//! A revert is reported by the contracts' error name and arguments.

use std::path::{Path, PathBuf};

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolEvent;
use anyhow::{bail, Context, Result};
use proofmint_circuits::epoch::EpochBundle;
use proofmint_circuits::field::{
    fr_from_u256, fr_to_address, fr_to_hex, fr_to_u256, parse_address,
};
use proofmint_circuits::payment::{Payment, Payments};
use proofmint_circuits::receipt::{Receipt, ReceiptDomain};
use proofmint_contracts::abi::*;
use proofmint_contracts::deploy::{deploy_all, Deployment, Params};
use proofmint_contracts::rpc::{load_signer, RpcChain};
use proofmint_contracts::{compile, describe_revert, sources, ChainError, Transact};
use proofmint_verifier::solidity::{claim_verifier, proof_words};
use proofmint_verifier::{ClaimProof, SetupKind};
use serde_json::{json, Value};

use crate::files;

/// The deployment file's `format` tag.
pub const DEPLOYMENT_FORMAT: &str = "proofmint-deployment";

/// How a command reaches the chain.
#[derive(Debug, Clone)]
pub struct Connection {
    pub rpc: String,
    /// A file holding the signing key; `None` reads `PROOFMINT_PRIVATE_KEY`.
    pub key_file: Option<PathBuf>,
}

impl Connection {
    fn open(&self) -> Result<RpcChain> {
        let signer = load_signer(self.key_file.as_deref())?;
        Ok(RpcChain::connect(&self.rpc, signer)?)
    }
}

/// A deployment as its file describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeploymentFile {
    pub chain_id: u64,
    pub addresses: Deployment,
    pub tree_depth: usize,
    pub genesis_epoch: u64,
}

impl DeploymentFile {
    /// The EIP-712 domain receipts of this deployment are signed under.
    pub fn domain(&self) -> ReceiptDomain {
        ReceiptDomain::new(self.chain_id, self.addresses.registry)
    }

    pub fn to_json(&self, p: &Params) -> Value {
        let a = &self.addresses;
        json!({
            "format": DEPLOYMENT_FORMAT,
            "version": 1,
            "chainId": self.chain_id,
            "governance": a.governance.to_checksum(None),
            "poseidon2": a.poseidon2.to_checksum(None),
            "poseidon9": a.poseidon9.to_checksum(None),
            "token": a.token.to_checksum(None),
            "verifier": a.verifier.to_checksum(None),
            "registry": a.registry.to_checksum(None),
            "market": a.market.to_checksum(None),
            "minter": a.minter.to_checksum(None),
            "vault": a.vault.to_checksum(None),
            "treeDepth": self.tree_depth,
            "genesisEpoch": self.genesis_epoch,
            "parameters": {
                "operator": p.operator.to_checksum(None),
                "proposer": p.proposer.to_checksum(None),
                "governanceDelay": p.governance_delay,
                "cap": p.cap.to_string(),
                "genesisSupply": p.genesis_supply.to_string(),
                "genesisHolder": p.genesis_holder.to_checksum(None),
                "initialEmission": p.initial_emission.to_string(),
                "decayPerEpoch": p.decay_per_epoch.to_string(),
                "graceEpochs": p.grace_epochs,
                "price": p.price.to_string(),
                "stakePerUnit": p.stake_per_unit.to_string(),
                "bond": p.bond.to_string(),
                "challengeWindow": p.challenge_window,
                "answerWindow": p.answer_window,
                "disputeDeposit": p.dispute_deposit.to_string(),
            }
        })
    }

    pub fn from_json(value: &Value) -> Result<Self> {
        if value["format"] != DEPLOYMENT_FORMAT || value["version"] != 1 {
            bail!("not a proofmint deployment file (format {DEPLOYMENT_FORMAT}, version 1)");
        }
        let address = |name: &str| -> Result<Address> {
            let text = value[name]
                .as_str()
                .with_context(|| format!("field `{name}` is missing"))?;
            parse_address(text).with_context(|| format!("field `{name}`"))
        };
        let int = |name: &str| -> Result<u64> {
            value[name]
                .as_u64()
                .with_context(|| format!("field `{name}` is missing or not an integer"))
        };
        Ok(Self {
            chain_id: int("chainId")?,
            addresses: Deployment {
                governance: address("governance")?,
                poseidon2: address("poseidon2")?,
                poseidon9: address("poseidon9")?,
                token: address("token")?,
                verifier: address("verifier")?,
                registry: address("registry")?,
                market: address("market")?,
                minter: address("minter")?,
                vault: address("vault")?,
            },
            tree_depth: int("treeDepth")? as usize,
            genesis_epoch: int("genesisEpoch")?,
        })
    }

    pub fn load(path: &Path) -> Result<Self> {
        Self::from_json(&files::read_json(path)?).with_context(|| path.display().to_string())
    }
}

/// Amounts in the token's (or ether's) 18 decimals: "2500", "0.5".
pub fn parse_amount(text: &str) -> Result<U256> {
    alloy_primitives::utils::parse_units(text, 18)
        .map(Into::into)
        .with_context(|| format!("{text:?} is not an amount (up to 18 decimals)"))
}

/// Runs a transaction, turning a revert into the contracts' error by name.
fn tx<T>(what: &str, result: Result<T, ChainError>) -> Result<T> {
    result.map_err(|e| anyhow::anyhow!("{what}: {}", describe_revert(&e)))
}

/// Chain ids of local development nodes (anvil and hardhat, geth's and
/// ganache's dev mode): the only chains development keys may be deployed on.
pub const DEVELOPMENT_CHAINS: [u64; 2] = [31337, 1337];

/// Whether keys of `setup` may be deployed on chain `chain_id`. Keys from a
/// development setup let whoever ran it forge any claim, so mint at will:
/// they are refused unless `allow_development` is given, and even then
/// anywhere but a local development chain.
pub fn check_keys_for_chain(
    setup: SetupKind,
    allow_development: bool,
    chain_id: u64,
) -> Result<()> {
    if setup != SetupKind::Development {
        return Ok(());
    }
    if !allow_development {
        bail!(
            "these keys come from a {}: deploy ceremony keys, or pass --allow-development-keys on a local development chain",
            setup.label()
        );
    }
    if !DEVELOPMENT_CHAINS.contains(&chain_id) {
        bail!(
            "chain {chain_id} is not a local development chain ({DEVELOPMENT_CHAINS:?}): development keys are refused there even with --allow-development-keys"
        );
    }
    eprintln!(
        "warning: deploying keys from a {} on development chain {chain_id}",
        setup.label()
    );
    Ok(())
}

/// `proofmint chain deploy`: compiles the contracts with the verifier for the
/// keys in `keys_dir`, deploys everything, and writes the deployment file.
/// Development keys only with `allow_development`, on a development chain
/// ([`check_keys_for_chain`]).
pub fn deploy(
    conn: &Connection,
    keys_dir: &Path,
    mut params: Params,
    out: &Path,
    allow_development: bool,
) -> Result<DeploymentFile> {
    let key = files::load_verifying_key(keys_dir)?;
    let mut chain = conn.open()?;
    check_keys_for_chain(key.setup, allow_development, chain.chain_id())
        .with_context(|| keys_dir.display().to_string())?;
    params.deployer = chain.account();
    params.tree_depth = u8::try_from(key.shape.depth).context("tree depth")?;
    let scratch = tempfile_dir()?;
    let verifier = scratch.join("ClaimVerifier.sol");
    files::write(&verifier, claim_verifier(&key, "ClaimVerifier").as_bytes())?;
    let mut sources = sources();
    sources.push(verifier);
    let artifacts = compile(&sources);
    // The generated source was only for the compiler.
    let _ = std::fs::remove_dir_all(&scratch);
    let artifacts =
        artifacts.context("compiling the contracts (needs node and `npm ci --prefix tools/js`)")?;
    let addresses = tx(
        "deploy",
        deploy_all(&mut chain, &artifacts, "ClaimVerifier", &params),
    )?;
    let file = DeploymentFile {
        chain_id: chain.chain_id(),
        addresses,
        tree_depth: key.shape.depth,
        genesis_epoch: params.genesis_epoch,
    };
    files::write_json(out, &file.to_json(&params))?;
    println!(
        "deployed on chain {}: registry {}, minter {}, market {}, vault {}, token {}; governance (timelock) {}",
        file.chain_id, addresses.registry, addresses.minter, addresses.market, addresses.vault, addresses.token, addresses.governance
    );
    println!("wrote {}", out.display());
    Ok(file)
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("proofmint-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// `proofmint chain transfer`: sends tokens.
pub fn transfer(conn: &Connection, d: &DeploymentFile, to: Address, amount: U256) -> Result<()> {
    let mut chain = conn.open()?;
    let me = chain.account();
    tx(
        "transfer",
        chain.send(
            me,
            d.addresses.token,
            &IWorkToken::transferCall { to, value: amount },
        ),
    )?;
    println!("sent {amount} (18 decimals) to {to}");
    Ok(())
}

fn ensure_allowance(
    chain: &mut RpcChain,
    d: &DeploymentFile,
    spender: Address,
    needed: U256,
) -> Result<()> {
    let me = chain.account();
    let allowance = tx(
        "allowance",
        chain.view(
            me,
            d.addresses.token,
            &IWorkToken::allowanceCall { owner: me, spender },
        ),
    )?;
    if allowance < needed {
        tx(
            "approve",
            chain.send(
                me,
                d.addresses.token,
                &IWorkToken::approveCall {
                    spender,
                    value: needed,
                },
            ),
        )?;
    }
    Ok(())
}

/// `proofmint chain pay`: the caller (a client) pays for job `salt` run by
/// `node` in `epoch`; prints and returns the job id.
pub fn pay(
    conn: &Connection,
    d: &DeploymentFile,
    salt: U256,
    node: Address,
    epoch: u64,
    units: u64,
) -> Result<U256> {
    let mut chain = conn.open()?;
    let me = chain.account();
    let market = d.addresses.market;
    let price = tx("price", chain.view(me, market, &IJobMarket::priceCall {}))?;
    ensure_allowance(&mut chain, d, market, price * U256::from(units))?;
    let job_id = tx(
        "jobIdOf",
        chain.view(me, market, &IJobMarket::jobIdOfCall { client: me, salt }),
    )?;
    let call = IJobMarket::payForJobCall {
        salt,
        node,
        epoch,
        units,
    };
    let receipt = tx("payForJob", chain.send(me, market, &call))?;
    println!(
        "paid for job {job_id:#066x}: {units} units by {node} in epoch {epoch} ({} gas)",
        receipt.gas_used
    );
    Ok(job_id)
}

/// `proofmint chain payments`: every `JobPaid` event of the market, as the
/// payments file `epoch build` and `audit` read.
pub fn export_payments(conn: &Connection, d: &DeploymentFile, out: &Path) -> Result<Payments> {
    let chain = conn.open()?;
    let logs = tx(
        "eth_getLogs",
        chain.logs(d.addresses.market, IJobMarket::JobPaid::SIGNATURE_HASH),
    )?;
    let mut list = Vec::with_capacity(logs.len());
    for log in &logs {
        let event = IJobMarket::JobPaid::decode_log_data(&log.data)
            .context("a JobPaid event that does not decode")?;
        list.push(Payment {
            job_id: fr_from_u256(event.jobId).context("a job id outside the field")?,
            client: event.client,
            node: event.node,
            epoch: event.epoch,
            units: event.units,
        });
    }
    let payments = Payments::new(list).map_err(anyhow::Error::msg)?;
    files::write(out, payments.to_jsonl().as_bytes())?;
    println!(
        "{} payments from {} written to {}",
        payments.len(),
        d.addresses.market,
        out.display()
    );
    Ok(payments)
}

/// `proofmint chain stake`: stakes `amount` for epochs `start..=end`.
pub fn stake(
    conn: &Connection,
    d: &DeploymentFile,
    amount: U256,
    start: u64,
    end: u64,
) -> Result<()> {
    let mut chain = conn.open()?;
    let me = chain.account();
    ensure_allowance(&mut chain, d, d.addresses.vault, amount)?;
    let receipt = tx(
        "stake",
        chain.send(
            me,
            d.addresses.vault,
            &IStakeVault::stakeCall {
                amount,
                startEpoch: start,
                endEpoch: end,
            },
        ),
    )?;
    println!(
        "{me} staked {amount} (18 decimals) for epochs {start}..={end} ({} gas)",
        receipt.gas_used
    );
    Ok(())
}

/// `proofmint chain post-epoch`: the operator posts a bundle's root with the bond.
pub fn post_epoch(conn: &Connection, d: &DeploymentFile, epoch_dir: &Path) -> Result<()> {
    let bundle = files::load_epoch(epoch_dir)?;
    let s = bundle.summary;
    if s.domain != d.domain() {
        bail!(
            "{}: signed for {}, the deployment is {}",
            epoch_dir.display(),
            s.domain,
            d.domain()
        );
    }
    let mut chain = conn.open()?;
    let me = chain.account();
    let bond = tx(
        "bond",
        chain.view(me, d.addresses.registry, &IEpochRegistry::bondCall {}),
    )?;
    let call = IEpochRegistry::postEpochCall {
        epoch: s.epoch,
        root: fr_to_u256(&s.root),
        count: s.count,
    };
    let receipt = tx(
        "postEpoch",
        chain.send_value(me, d.addresses.registry, &call, bond),
    )?;
    println!(
        "posted epoch {} (root {}, {} leaves) with a bond of {bond} wei ({} gas)",
        s.epoch,
        fr_to_hex(&s.root),
        s.count,
        receipt.gas_used
    );
    Ok(())
}

/// The minter's `ClaimInput` for a proof: its public inputs (the root comes
/// from the registry) and its points in the verifier's word order.
pub fn claim_input(proof: &ClaimProof) -> Result<ClaimInput> {
    let p = proof.public;
    let node = fr_to_address(&p.node).context("the proof's node is not an address")?;
    let epoch = u64::try_from(fr_to_u256(&p.epoch)).context("the proof's epoch")?;
    let w: Vec<U256> = proof_words(&proof.proof)
        .iter()
        .map(|w| U256::from_be_bytes(*w))
        .collect();
    Ok(ClaimInput {
        epoch,
        node,
        totalUnits: fr_to_u256(&p.total_units),
        firstIndex: fr_to_u256(&p.first_index),
        lastIndex: fr_to_u256(&p.last_index),
        a: [w[0], w[1]],
        b: [[w[2], w[3]], [w[4], w[5]]],
        c: [w[6], w[7]],
    })
}

/// `proofmint chain claim`: the node submits its claim proof.
pub fn claim(conn: &Connection, d: &DeploymentFile, proof_dir: &Path) -> Result<U256> {
    let proof = files::load_proof(proof_dir)?;
    let input = claim_input(&proof)?;
    let (node, epoch, p) = (input.node, input.epoch, proof.public);
    let mut chain = conn.open()?;
    let me = chain.account();
    let balance = |chain: &mut RpcChain| {
        let call = IWorkToken::balanceOfCall { account: node };
        tx("balanceOf", chain.view(me, d.addresses.token, &call))
    };
    let before = balance(&mut chain)?;
    let receipt = tx(
        "claim",
        chain.send(me, d.addresses.minter, &IRewardMinter::claimCall { input }),
    )?;
    let after = balance(&mut chain)?;
    println!(
        "claimed {} units of epoch {epoch} for {node}: {} minted (18 decimals) ({} gas)",
        p.total_units,
        after - before,
        receipt.gas_used
    );
    Ok(after - before)
}

/// `proofmint chain release`: releases `node`'s stake (anyone may).
pub fn release(conn: &Connection, d: &DeploymentFile, node: Address) -> Result<()> {
    let mut chain = conn.open()?;
    let me = chain.account();
    let receipt = tx(
        "release",
        chain.send(me, d.addresses.vault, &IStakeVault::releaseCall { node }),
    )?;
    let released = receipt
        .logs
        .iter()
        .find_map(|l| IStakeVault::Released::decode_log_data(&l.data).ok());
    match released {
        Some(r) => println!(
            "released {node}: {} returned, {} slashed and burned",
            r.returned, r.slashed
        ),
        None => println!("released {node}"),
    }
    Ok(())
}

/// `proofmint receipt sign`: the client's EIP-712 signature over a receipt for
/// this deployment, printed as the receipt's JSON line (what the node keeps and
/// the operator admits). The job id is the client's `jobIdOf(client, salt)`.
#[allow(clippy::too_many_arguments)]
pub fn sign_receipt(
    key_file: Option<&Path>,
    d: &DeploymentFile,
    salt: U256,
    node: Address,
    epoch: u64,
    units: u64,
    kind: u32,
    input: proofmint_circuits::Fr,
    output: proofmint_circuits::Fr,
) -> Result<String> {
    let signer = load_signer(key_file)?;
    let key =
        k256::ecdsa::SigningKey::from_slice(&signer.to_bytes()[..]).context("the signing key")?;
    let client = signer.address();
    let receipt = Receipt {
        job_id: proofmint_circuits::payment::job_id_of(client, salt),
        node,
        client,
        epoch,
        units,
        kind,
        input_commitment: input,
        output_commitment: output,
    };
    let line = receipt.sign(&d.domain(), &key).to_json_line();
    println!("{line}");
    Ok(line)
}

/// `proofmint chain advance-time`: moves a development node's clock.
pub fn advance_time(conn: &Connection, seconds: u64) -> Result<()> {
    // The node's own method: no key needed.
    RpcChain::connect_unsigned(&conn.rpc)?.advance_time(seconds)?;
    println!("the node's clock moved {seconds} s forward");
    Ok(())
}

/// What a challenge of a bad bundle found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offence {
    Unpaid { index: u64 },
    Duplicate { first: u64, second: u64 },
    BadSignature { index: u64 },
}

/// The first offence in `bundle` that a challenge can prove, if any: a
/// receipt with no matching payment, a job id twice, a bad client signature.
pub fn find_offence(bundle: &EpochBundle, payments: &Payments) -> Option<Offence> {
    let mut seen = std::collections::HashMap::new();
    for (i, r) in bundle.receipts.iter().enumerate() {
        let i = i as u64;
        if let Some(first) = seen.insert(r.receipt.job_id, i) {
            return Some(Offence::Duplicate { first, second: i });
        }
        if r.receipt.epoch != bundle.summary.epoch || payments.refusal(&r.receipt).is_some() {
            return Some(Offence::Unpaid { index: i });
        }
    }
    bundle
        .receipts
        .iter()
        .position(|r| r.verify_signature(&bundle.summary.domain).is_err())
        .map(|i| Offence::BadSignature { index: i as u64 })
}

/// A receipt as the registry's challenges take it.
pub fn receipt_data(r: &Receipt) -> ReceiptData {
    ReceiptData {
        jobId: fr_to_u256(&r.job_id),
        node: r.node,
        client: r.client,
        epoch: r.epoch,
        units: r.units,
        kind: r.kind,
        inputCommitment: fr_to_u256(&r.input_commitment),
        outputCommitment: fr_to_u256(&r.output_commitment),
    }
}

/// `proofmint chain challenge`: audits the posted bundle against the chain's
/// payments and submits the challenge for its first offence.
pub fn challenge(
    conn: &Connection,
    d: &DeploymentFile,
    epoch_dir: &Path,
    payments: &Path,
) -> Result<Offence> {
    let bundle = files::load_epoch(epoch_dir)?;
    let paid = files::load_payments(payments)?;
    let Some(offence) = find_offence(&bundle, &paid) else {
        bail!(
            "{}: no offence a challenge can prove (the bundle audits clean)",
            epoch_dir.display()
        );
    };
    let tree = bundle.tree()?;
    let path = |i: u64| -> Result<Vec<U256>> { Ok(tree.path(i)?.iter().map(fr_to_u256).collect()) };
    let receipt = |i: u64| receipt_data(&bundle.receipts[i as usize].receipt);
    let epoch = bundle.summary.epoch;
    let mut chain = conn.open()?;
    let me = chain.account();
    let registry = d.addresses.registry;
    let gas = match &offence {
        Offence::Unpaid { index } => {
            let call = IEpochRegistry::challengeUnpaidCall {
                epoch,
                r: receipt(*index),
                index: U256::from(*index),
                siblings: path(*index)?,
            };
            tx("challengeUnpaid", chain.send(me, registry, &call))?.gas_used
        }
        Offence::Duplicate { first, second } => {
            let call = IEpochRegistry::challengeDuplicateCall {
                epoch,
                a: receipt(*first),
                indexA: U256::from(*first),
                siblingsA: path(*first)?,
                b: receipt(*second),
                indexB: U256::from(*second),
                siblingsB: path(*second)?,
            };
            tx("challengeDuplicate", chain.send(me, registry, &call))?.gas_used
        }
        Offence::BadSignature { index } => {
            let deposit = tx(
                "disputeDeposit",
                chain.view(me, registry, &IEpochRegistry::disputeDepositCall {}),
            )?;
            let call = IEpochRegistry::disputeSignatureCall {
                epoch,
                r: receipt(*index),
                index: U256::from(*index),
                siblings: path(*index)?,
            };
            tx(
                "disputeSignature",
                chain.send_value(me, registry, &call, deposit),
            )?
            .gas_used
        }
    };
    match &offence {
        Offence::BadSignature { index } => println!(
            "disputed the signature of leaf {index} of epoch {epoch} ({gas} gas): unless the operator answers in time, `resolveDispute` voids the epoch"
        ),
        other => println!("challenged epoch {epoch} ({other:?}, {gas} gas): the epoch is voided and half the bond is credited to {me}"),
    }
    Ok(offence)
}

#[cfg(test)]
mod key_policy_tests {
    use super::*;

    #[test]
    fn development_keys_only_where_allowed_and_on_development_chains() {
        let dev = SetupKind::Development;
        let refused = check_keys_for_chain(dev, false, 31337)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("--allow-development-keys"), "{refused}");
        check_keys_for_chain(dev, true, 31337).unwrap();
        check_keys_for_chain(dev, true, 1337).unwrap();
        for chain in [1u64, 10, 8453, 11155111] {
            let refused = check_keys_for_chain(dev, true, chain)
                .unwrap_err()
                .to_string();
            assert!(
                refused.contains("not a local development chain"),
                "{refused}"
            );
        }
        for chain in [1u64, 31337] {
            check_keys_for_chain(SetupKind::Ceremony, false, chain).unwrap();
        }
    }
}
