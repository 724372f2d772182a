//! The `proofmint` command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use proofmint_circuits::claim::ClaimShape;
use proofmint_gpu::BackendChoice;
use proofmint_prover::cli::{self, BackendOptions};
use proofmint_prover::demo::{self, DemoOptions};

mod ceremony_cmd;
mod service_cmd;
mod work_cmd;

#[derive(Parser)]
#[command(
    name = "proofmint",
    version,
    about = "Proofs of work done for decentralized GPU networks"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run
enum Command {
    /// Run the whole protocol on embedded defaults: receipts, epoch, audit, keys, claim, verification.
    Demo {
        /// Directory for the demo's artifacts.
        #[arg(long, default_value = "proofmint-demo")]
        out: PathBuf,
        /// Receipt slots per claim.
        #[arg(long, default_value_t = 16)]
        slots: usize,
        /// Receipts the clients sign.
        #[arg(long, default_value_t = 300)]
        receipts: usize,
        /// MSM/NTT backend for proving: auto, cpu or icicle.
        #[arg(long, default_value = "auto")]
        backend: BackendChoice,
        /// ICICLE's install directory (default: $PROOFMINT_ICICLE_DIR).
        #[arg(long = "icicle-dir")]
        icicle_dir: Option<PathBuf>,
    },
    /// The protocol's transactions on an Ethereum node (JSON-RPC): deploy, pay, stake,
    /// post epochs, claim, challenge, release. The signing key comes from --key-file or
    /// PROOFMINT_PRIVATE_KEY, never from a flag.
    Chain {
        /// The node's JSON-RPC endpoint.
        #[arg(long, global = true, default_value = "http://127.0.0.1:8545")]
        rpc: String,
        /// File holding the signing key (hex); default: $PROOFMINT_PRIVATE_KEY.
        #[arg(long = "key-file", global = true)]
        key_file: Option<PathBuf>,
        #[command(subcommand)]
        command: ChainCommand,
    },
    /// Receipts, as a client makes them.
    Receipt {
        #[command(subcommand)]
        command: ReceiptCommand,
    },
    /// Epoch trees.
    Epoch {
        #[command(subcommand)]
        command: EpochCommand,
    },
    /// Re-check an epoch bundle from its content alone.
    Audit {
        /// The bundle directory (holding epoch.json).
        dir: PathBuf,
        /// JSON Lines file of the chain's payments.
        #[arg(long)]
        payments: PathBuf,
        /// The deployment's chain id.
        #[arg(long = "chain-id")]
        chain_id: u64,
        /// The deployment's EpochRegistry: the bundle must be signed for it.
        #[arg(long)]
        registry: String,
        /// The Powers of Tau file of the work proofs' parameters (needed when
        /// the bundle holds matrix-product receipts, kind 1).
        #[arg(long)]
        ptau: Option<PathBuf>,
    },
    /// Make claim-circuit keys with a development setup (not for production).
    Setup {
        /// Receipt slots per claim (presets: 16, 64, 256).
        #[arg(long, default_value_t = 16)]
        slots: usize,
        /// Depth of the epoch tree.
        #[arg(long, default_value_t = 20)]
        depth: usize,
        /// Output directory for claim.pk, claim.vk and verification_key.json.
        #[arg(long)]
        out: PathBuf,
        /// Seed the setup's randomness (reproducible keys; tests only).
        #[arg(long, hide = true)]
        seed: Option<u64>,
    },
    /// Prove statements.
    Prove {
        #[command(subcommand)]
        command: ProveCommand,
    },
    /// Verify proofs.
    Verify {
        #[command(subcommand)]
        command: VerifyCommand,
    },
    /// Work proofs: prove a job's output is the function of its input (GEMM), and check them.
    Work {
        #[command(subcommand)]
        command: work_cmd::WorkCommand,
    },
    /// The claim keys' phase-2 ceremony on public Powers of Tau, in snarkjs's
    /// .zkey files: init, contribute, verify, finalize.
    Ceremony {
        #[command(subcommand)]
        command: ceremony_cmd::CeremonyCommand,
    },
    /// Import keys made elsewhere.
    Import {
        #[command(subcommand)]
        command: ceremony_cmd::ImportCommand,
    },
    /// Export keys for other systems.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Run the prover service: an HTTP API taking claim jobs, proven by
    /// workers that keep the keys loaded.
    Serve(service_cmd::ServeArgs),
    /// The service's API keys.
    Apikey {
        #[command(subcommand)]
        command: service_cmd::ApiKeyCommand,
    },
    /// Call a prover service (the token comes from PROOFMINT_TOKEN).
    Client {
        /// The service's address.
        #[arg(
            long,
            global = true,
            env = "PROOFMINT_SERVER",
            default_value = "http://127.0.0.1:8080"
        )]
        server: String,
        #[command(subcommand)]
        command: service_cmd::ClientCommand,
    },
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Write a Solidity Groth16 verifier for a claim key.
    Solidity {
        /// The verifying key: a claim.vk file, or a keys directory holding one.
        #[arg(long)]
        vk: PathBuf,
        /// The .sol file to write.
        #[arg(long)]
        out: PathBuf,
        /// The contract's name.
        #[arg(long, default_value = "ClaimVerifier")]
        name: String,
    },
    /// Write claim keys (in snarkjs's form: the development setup's and the
    /// ceremony's) as a snarkjs .zkey, for snarkjs and the provers that read it.
    Zkey {
        /// The keys directory.
        #[arg(long)]
        keys: PathBuf,
        /// The .zkey to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the claim circuit of a shape in circom's .r1cs format (for
    /// snarkjs: `r1cs info`, `wtns check`, `zkey new`).
    R1cs {
        #[command(flatten)]
        shape: ceremony_cmd::ShapeArgs,
        /// The .r1cs file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a node's claim witness in circom's .wtns format, for the circuit
    /// `export r1cs` writes for the same shape.
    Wtns {
        /// The epoch bundle directory.
        #[arg(long)]
        epoch: PathBuf,
        /// The node's address.
        #[arg(long)]
        node: String,
        #[arg(long)]
        slots: usize,
        #[arg(long)]
        depth: usize,
        /// Claim the node's receipts from this leaf index on.
        #[arg(long = "from-index", default_value_t = 0)]
        from_index: u64,
        /// The .wtns file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run
enum ChainCommand {
    /// Deploy the whole system for the keys in --keys; writes the deployment file.
    /// Keys from a development setup are refused (whoever ran the setup could mint
    /// at will) unless --allow-development-keys, on a local development chain.
    Deploy {
        #[arg(long)]
        keys: PathBuf,
        /// Deploy keys from `proofmint setup` anyway: only on a local development
        /// chain (chain id 31337 or 1337).
        #[arg(long = "allow-development-keys")]
        allow_development_keys: bool,
        /// Where to write the deployment file.
        #[arg(long, default_value = "deployment.json")]
        out: PathBuf,
        /// The account allowed to post epochs.
        #[arg(long)]
        operator: String,
        /// The account that may propose governance (timelock) operations.
        #[arg(long)]
        proposer: String,
        /// Receives the genesis supply.
        #[arg(long = "genesis-holder")]
        genesis_holder: String,
        #[arg(long = "genesis-supply", default_value = "500000")]
        genesis_supply: String,
        #[arg(long, default_value = "2000000")]
        cap: String,
        #[arg(long = "initial-emission", default_value = "10000")]
        initial_emission: String,
        /// Emission kept from one epoch to the next.
        #[arg(long, default_value = "0.99")]
        decay: String,
        /// Tokens burned per unit of work.
        #[arg(long, default_value = "1")]
        price: String,
        /// Tokens staked per unit of capacity.
        #[arg(long = "stake-per-unit", default_value = "1")]
        stake_per_unit: String,
        /// Ether bonded with each epoch.
        #[arg(long, default_value = "1")]
        bond: String,
        /// Ether a signature dispute deposits.
        #[arg(long = "dispute-deposit", default_value = "0.1")]
        dispute_deposit: String,
        /// Seconds an epoch stays open to challenges.
        #[arg(long = "challenge-window", default_value_t = 86_400)]
        challenge_window: u64,
        /// Seconds the operator has to answer a signature dispute.
        #[arg(long = "answer-window", default_value_t = 21_600)]
        answer_window: u64,
        /// Seconds between scheduling and running a governance operation.
        #[arg(long = "governance-delay", default_value_t = 172_800)]
        governance_delay: u64,
        #[arg(long = "genesis-epoch", default_value_t = 1)]
        genesis_epoch: u64,
        /// Epochs posted after a stake's range before it can be released.
        #[arg(long = "grace-epochs", default_value_t = 1)]
        grace_epochs: u64,
    },
    /// Send tokens.
    Transfer {
        #[arg(long, default_value = "deployment.json")]
        deployment: PathBuf,
        #[arg(long)]
        to: String,
        /// Whole tokens (up to 18 decimals).
        #[arg(long)]
        amount: String,
    },
    /// Pay for a job before it runs (as its client): burns price x units.
    Pay {
        #[arg(long, default_value = "deployment.json")]
        deployment: PathBuf,
        /// The client's number for the job; the job id is keccak256(client, salt) mod r.
        #[arg(long)]
        salt: String,
        #[arg(long)]
        node: String,
        #[arg(long)]
        epoch: u64,
        #[arg(long)]
        units: u64,
    },
    /// Export every payment on chain as a payments file for `epoch build` and `audit`.
    Payments {
        #[arg(long, default_value = "deployment.json")]
        deployment: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Stake (as a node) for future epochs.
    Stake {
        #[arg(long, default_value = "deployment.json")]
        deployment: PathBuf,
        /// Whole tokens (up to 18 decimals).
        #[arg(long)]
        amount: String,
        #[arg(long)]
        start: u64,
        #[arg(long)]
        end: u64,
    },
    /// Post an epoch bundle's root with the bond (as the operator).
    PostEpoch {
        #[arg(long, default_value = "deployment.json")]
        deployment: PathBuf,
        /// The bundle directory.
        #[arg(long)]
        epoch: PathBuf,
    },
    /// Submit a claim proof (as its node).
    Claim {
        #[arg(long, default_value = "deployment.json")]
        deployment: PathBuf,
        /// The proof directory `prove claim` wrote.
        #[arg(long)]
        proof: PathBuf,
    },
    /// Challenge a posted bundle that does not audit: an unpaid leaf, a job id twice, a bad signature.
    Challenge {
        #[arg(long, default_value = "deployment.json")]
        deployment: PathBuf,
        #[arg(long)]
        epoch: PathBuf,
        #[arg(long)]
        payments: PathBuf,
    },
    /// Release a node's stake after its range (anyone may).
    Release {
        #[arg(long, default_value = "deployment.json")]
        deployment: PathBuf,
        #[arg(long)]
        node: String,
    },
    /// Move a development node's clock (anvil's evm_increaseTime).
    AdvanceTime {
        #[arg(long)]
        seconds: u64,
    },
}

#[derive(Subcommand)]
enum ReceiptCommand {
    /// Sign a receipt as its client (key from --key-file or PROOFMINT_PRIVATE_KEY) for a
    /// deployment; prints the receipt's JSON line.
    Sign {
        #[arg(long, default_value = "deployment.json")]
        deployment: PathBuf,
        #[arg(long = "key-file")]
        key_file: Option<PathBuf>,
        /// The salt the job was paid with (its id is keccak256(client, salt) mod r).
        #[arg(long)]
        salt: String,
        #[arg(long)]
        node: String,
        #[arg(long)]
        epoch: u64,
        #[arg(long)]
        units: u64,
        #[arg(long, default_value_t = 0)]
        kind: u32,
        /// Commitment to the job's input (a field element, 0x-hex).
        #[arg(long, default_value = "0x0")]
        input: String,
        /// Commitment to the job's output (a field element, 0x-hex).
        #[arg(long, default_value = "0x0")]
        output: String,
    },
}

#[derive(Subcommand)]
enum EpochCommand {
    /// Check receipts and build the epoch's tree and bundle.
    Build {
        /// JSON Lines file, one signed receipt a line.
        #[arg(long)]
        receipts: PathBuf,
        #[arg(long)]
        epoch: u64,
        /// JSON Lines file of the chain's payments (`proofmint chain payments` exports it).
        #[arg(long)]
        payments: PathBuf,
        #[arg(long = "chain-id")]
        chain_id: u64,
        /// The deployment's EpochRegistry: the receipts' EIP-712 verifying contract.
        #[arg(long)]
        registry: String,
        #[arg(long, default_value_t = 20)]
        depth: usize,
        #[arg(long)]
        out: PathBuf,
        /// Folder of work proofs (`<jobId>.proof`, as `proofmint work gemm`
        /// writes `work.proof`) for the matrix-product receipts (kind 1).
        #[arg(long)]
        evidence: Option<PathBuf>,
        /// The Powers of Tau file of the work proofs' parameters.
        #[arg(long)]
        ptau: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ProveCommand {
    /// Prove a node's reward claim over its receipts in an epoch.
    Claim {
        /// The epoch bundle directory.
        #[arg(long)]
        epoch: PathBuf,
        /// The node's address.
        #[arg(long)]
        node: String,
        /// The keys directory.
        #[arg(long)]
        keys: PathBuf,
        /// Output directory for claim.proof, proof.json and public.json.
        #[arg(long)]
        out: PathBuf,
        /// Claim the node's receipts from this leaf index on.
        #[arg(long = "from-index", default_value_t = 0)]
        from_index: u64,
        /// MSM/NTT backend: auto (ICICLE only with a CUDA device; says which it picked), cpu or icicle.
        #[arg(long, default_value = "auto")]
        backend: BackendChoice,
        /// ICICLE's install directory (default: $PROOFMINT_ICICLE_DIR).
        #[arg(long = "icicle-dir")]
        icicle_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum VerifyCommand {
    /// Verify a claim proof directory.
    Claim {
        /// The directory holding claim.proof.
        dir: PathBuf,
        #[arg(long)]
        keys: PathBuf,
    },
}

fn run_chain(rpc: String, key_file: Option<PathBuf>, command: ChainCommand) -> anyhow::Result<()> {
    use proofmint_prover::chain::{self, parse_amount, Connection, DeploymentFile};
    let conn = Connection { rpc, key_file };
    let address = |text: &str, flag: &str| cli::address_flag(flag, text);
    match command {
        ChainCommand::Deploy {
            keys,
            allow_development_keys,
            out,
            operator,
            proposer,
            genesis_holder,
            genesis_supply,
            cap,
            initial_emission,
            decay,
            price,
            stake_per_unit,
            bond,
            dispute_deposit,
            challenge_window,
            answer_window,
            governance_delay,
            genesis_epoch,
            grace_epochs,
        } => {
            let params = proofmint_contracts::deploy::Params {
                deployer: alloy_primitives::Address::ZERO,
                proposer: address(&proposer, "proposer")?,
                governance_delay,
                operator: address(&operator, "operator")?,
                cap: parse_amount(&cap)?,
                genesis_supply: parse_amount(&genesis_supply)?,
                genesis_holder: address(&genesis_holder, "genesis-holder")?,
                initial_emission: parse_amount(&initial_emission)?,
                decay_per_epoch: parse_amount(&decay)?,
                genesis_epoch,
                grace_epochs,
                tree_depth: 0,
                price: parse_amount(&price)?,
                stake_per_unit: parse_amount(&stake_per_unit)?,
                bond: parse_amount(&bond)?,
                challenge_window,
                answer_window,
                dispute_deposit: parse_amount(&dispute_deposit)?,
            };
            chain::deploy(&conn, &keys, params, &out, allow_development_keys).map(drop)
        }
        ChainCommand::Transfer {
            deployment,
            to,
            amount,
        } => {
            let d = DeploymentFile::load(&deployment)?;
            chain::transfer(&conn, &d, address(&to, "to")?, parse_amount(&amount)?)
        }
        ChainCommand::Pay {
            deployment,
            salt,
            node,
            epoch,
            units,
        } => {
            let d = DeploymentFile::load(&deployment)?;
            chain::pay(
                &conn,
                &d,
                cli::salt_flag(&salt)?,
                address(&node, "node")?,
                epoch,
                units,
            )
            .map(drop)
        }
        ChainCommand::Payments { deployment, out } => {
            let d = DeploymentFile::load(&deployment)?;
            chain::export_payments(&conn, &d, &out).map(drop)
        }
        ChainCommand::Stake {
            deployment,
            amount,
            start,
            end,
        } => {
            let d = DeploymentFile::load(&deployment)?;
            chain::stake(&conn, &d, parse_amount(&amount)?, start, end)
        }
        ChainCommand::PostEpoch { deployment, epoch } => {
            let d = DeploymentFile::load(&deployment)?;
            chain::post_epoch(&conn, &d, &epoch)
        }
        ChainCommand::Claim { deployment, proof } => {
            let d = DeploymentFile::load(&deployment)?;
            chain::claim(&conn, &d, &proof).map(drop)
        }
        ChainCommand::Challenge {
            deployment,
            epoch,
            payments,
        } => {
            let d = DeploymentFile::load(&deployment)?;
            chain::challenge(&conn, &d, &epoch, &payments).map(drop)
        }
        ChainCommand::Release { deployment, node } => {
            let d = DeploymentFile::load(&deployment)?;
            chain::release(&conn, &d, address(&node, "node")?)
        }
        ChainCommand::AdvanceTime { seconds } => chain::advance_time(&conn, seconds),
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Chain {
            rpc,
            key_file,
            command,
        } => run_chain(rpc, key_file, command),
        Command::Receipt {
            command:
                ReceiptCommand::Sign {
                    deployment,
                    key_file,
                    salt,
                    node,
                    epoch,
                    units,
                    kind,
                    input,
                    output,
                },
        } => {
            use proofmint_circuits::field::fr_from_hex;
            let d = proofmint_prover::chain::DeploymentFile::load(&deployment)?;
            let salt = cli::salt_flag(&salt)?;
            let node = cli::address_flag("node", &node)?;
            let input = fr_from_hex(&input).map_err(|e| anyhow::anyhow!("--input {input}: {e}"))?;
            let output =
                fr_from_hex(&output).map_err(|e| anyhow::anyhow!("--output {output}: {e}"))?;
            proofmint_prover::chain::sign_receipt(
                key_file.as_deref(),
                &d,
                salt,
                node,
                epoch,
                units,
                kind,
                input,
                output,
            )
            .map(drop)
        }
        Command::Demo {
            out,
            slots,
            receipts,
            backend,
            icicle_dir,
        } => demo::run(&DemoOptions {
            out,
            slots,
            receipts,
            backend: BackendOptions {
                choice: backend,
                icicle_dir,
            },
            ..DemoOptions::default()
        }),
        Command::Epoch {
            command:
                EpochCommand::Build {
                    receipts,
                    payments,
                    epoch,
                    chain_id,
                    registry,
                    depth,
                    out,
                    evidence,
                    ptau,
                },
        } => {
            let domain = cli::parse_domain(chain_id, &registry)?;
            let evidence = cli::EvidenceOptions {
                dir: evidence,
                ptau,
            };
            cli::epoch_build(&receipts, &payments, epoch, domain, depth, &out, &evidence).map(drop)
        }
        Command::Audit {
            dir,
            payments,
            chain_id,
            registry,
            ptau,
        } => {
            let domain = cli::parse_domain(chain_id, &registry)?;
            cli::audit_dir(&dir, domain, &payments, ptau.as_deref()).map(drop)
        }
        Command::Setup {
            slots,
            depth,
            out,
            seed,
        } => cli::setup(slots, depth, &out, seed).map(drop),
        Command::Prove {
            command:
                ProveCommand::Claim {
                    epoch,
                    node,
                    keys,
                    out,
                    from_index,
                    backend,
                    icicle_dir,
                },
        } => {
            let node = cli::address_flag("node", &node)?;
            let backend = BackendOptions {
                choice: backend,
                icicle_dir,
            };
            cli::prove(&epoch, node, &keys, &out, from_index, &backend).map(drop)
        }
        Command::Verify {
            command: VerifyCommand::Claim { dir, keys },
        } => cli::verify(&dir, &keys).map(drop),
        Command::Export {
            command: ExportCommand::Solidity { vk, out, name },
        } => cli::export_solidity(&vk, &out, &name),
        Command::Export {
            command: ExportCommand::R1cs { shape, out },
        } => cli::export_r1cs(shape.shape()?, &out),
        Command::Export {
            command:
                ExportCommand::Wtns {
                    epoch,
                    node,
                    slots,
                    depth,
                    from_index,
                    out,
                },
        } => {
            let node = cli::address_flag("node", &node)?;
            cli::export_wtns(
                &epoch,
                node,
                ClaimShape::new(slots, depth)?,
                from_index,
                &out,
            )
        }
        Command::Work { command } => work_cmd::run(command),
        Command::Ceremony { command } => ceremony_cmd::run(command),
        Command::Import { command } => ceremony_cmd::import(command),
        Command::Export {
            command: ExportCommand::Zkey { keys, out },
        } => ceremony_cmd::export_zkey(&keys, &out),
        Command::Serve(args) => service_cmd::serve(args),
        Command::Apikey { command } => service_cmd::apikey(command),
        Command::Client { server, command } => service_cmd::client(&server, command),
    }
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
