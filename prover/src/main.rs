//! The `proofmint` command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use proofmint_gpu::BackendChoice;
use proofmint_prover::cli::{self, BackendOptions};
use proofmint_prover::demo::{self, DemoOptions};

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
    /// Export keys for other systems.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
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

fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
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
                },
        } => {
            let domain = cli::parse_domain(chain_id, &registry)?;
            cli::epoch_build(&receipts, &payments, epoch, domain, depth, &out).map(drop)
        }
        Command::Audit {
            dir,
            payments,
            chain_id,
            registry,
        } => {
            let domain = cli::parse_domain(chain_id, &registry)?;
            cli::audit_dir(&dir, domain, &payments).map(drop)
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
            let node = cli::parse_node(&node)?;
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
