//! `proofmint ceremony` and `proofmint import zkey`: a Groth16 phase 2 for
//! the claim circuit on public Powers of Tau, in snarkjs's `.zkey` files, so
//! that contributors may use proofmint or `snarkjs zkey contribute`.

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use proofmint_circuits::claim::ClaimShape;
use proofmint_prover::ceremony::{self, Transcript};
use proofmint_prover::groth16::ConstraintMatrices;
use proofmint_prover::matrices::claim_matrices;
use proofmint_prover::zkey::{ContributionKind, Zkey};
use proofmint_prover::{files, ProvingKeyFile};

/// The final `.zkey` `ceremony finalize` writes beside the keys.
pub const FINAL_ZKEY: &str = "final.zkey";

/// A claim circuit shape on the command line.
#[derive(clap::Args)]
pub struct ShapeArgs {
    /// Receipt slots per claim.
    #[arg(long)]
    pub slots: usize,
    /// Depth of the epoch tree.
    #[arg(long)]
    pub depth: usize,
}

impl ShapeArgs {
    pub fn shape(&self) -> Result<ClaimShape> {
        Ok(ClaimShape::new(self.slots, self.depth)?)
    }
}

/// The Powers of Tau and the claim shape a phase 2 is for.
#[derive(clap::Args)]
pub struct Phase1Args {
    /// A prepared Powers of Tau file (snarkjs's .ptau).
    #[arg(long)]
    ptau: PathBuf,
    #[command(flatten)]
    shape: ShapeArgs,
}

#[derive(Subcommand)]
pub enum CeremonyCommand {
    /// Derive the initial phase-2 key of a claim shape from a prepared
    /// Powers of Tau file (snarkjs's .ptau; the published Perpetual Powers of
    /// Tau files are prepared): what `snarkjs zkey new` makes.
    Init {
        #[command(flatten)]
        phase1: Phase1Args,
        /// The .zkey to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Add one contribution: a secret from the operating system's randomness
    /// (and --entropy, if given), used and forgotten. Prints the
    /// contribution hash for you to publish.
    Contribute {
        /// The latest .zkey of the ceremony.
        state: PathBuf,
        /// The .zkey to write.
        #[arg(long)]
        out: PathBuf,
        /// Your name in the transcript (up to 64 bytes).
        #[arg(long)]
        name: Option<String>,
        /// Extra entropy mixed into the operating system's.
        #[arg(long)]
        entropy: Option<String>,
    },
    /// Check a whole transcript against the Powers of Tau and the circuit;
    /// prints each contribution's name and hash.
    Verify {
        state: PathBuf,
        #[command(flatten)]
        phase1: Phase1Args,
    },
    /// Verify the transcript, apply the public random beacon and write the
    /// claim keys (claim.pk, claim.vk, verification_key.json, and final.zkey
    /// for snarkjs), labelled as ceremony keys with the transcript hash.
    Finalize {
        state: PathBuf,
        #[command(flatten)]
        phase1: Phase1Args,
        /// The beacon, in hex (say a block hash announced in advance).
        #[arg(long)]
        beacon: String,
        /// 2^iterations SHA-256 rounds of the beacon (10 to 63).
        #[arg(long)]
        iterations: u8,
        #[arg(long, default_value = "final beacon")]
        name: String,
        /// The keys directory to write.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Claim keys from a snarkjs .zkey of the claim circuit (section 4 must
    /// be the circuit's). With --ptau the whole transcript is verified and
    /// the keys are ceremony keys; with --unverified they are labelled
    /// development keys, which nothing posts on chain.
    Zkey {
        file: PathBuf,
        #[command(flatten)]
        shape: ShapeArgs,
        #[arg(long, conflicts_with = "unverified")]
        ptau: Option<PathBuf>,
        #[arg(long)]
        unverified: bool,
        /// The keys directory to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Peak resident memory of this process so far, where the system says.
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!(", peak memory {:.2} GB", kib / (1 << 20) as f64))
        })
        .unwrap_or_default()
}

fn done(step: &str, start: Instant) {
    eprintln!(
        "{step}: {:.2} s{}",
        start.elapsed().as_secs_f64(),
        peak_memory()
    );
}

fn open_zkey(path: &Path) -> Result<Zkey> {
    Zkey::open(path).with_context(|| path.display().to_string())
}

fn write_zkey(path: &Path, key: &Zkey) -> Result<()> {
    files::write_with(path, |out| {
        key.write(out)
            .with_context(|| format!("cannot write {}", path.display()))
    })
}

fn shape_and_matrices(args: &ShapeArgs) -> Result<(ClaimShape, ConstraintMatrices)> {
    let shape = args.shape()?;
    Ok((shape, claim_matrices(shape)?))
}

fn read_phase1(ptau: &Path, matrices: &ConstraintMatrices) -> Result<ceremony::Phase1> {
    let mut file =
        BufReader::new(std::fs::File::open(ptau).with_context(|| ptau.display().to_string())?);
    ceremony::read_phase1(&mut file, matrices, &mut rand::thread_rng())
        .with_context(|| ptau.display().to_string())
}

fn print_transcript(transcript: &Transcript) {
    println!("circuit hash {}", hex::encode(transcript.cs_hash));
    for (i, c) in transcript.contributions.iter().enumerate() {
        let name = c.name.as_deref().unwrap_or("(no name)");
        match &c.kind {
            ContributionKind::Secret => println!("contribution {} by {name}", i + 1),
            ContributionKind::Beacon {
                hash,
                iterations_exp,
            } => println!(
                "contribution {} by {name}: beacon 0x{}, 2^{iterations_exp} iterations",
                i + 1,
                hex::encode(hash)
            ),
        }
        println!("  hash {}", hex::encode(c.hash));
    }
    println!("transcript hash {}", hex::encode(transcript.hash));
}

/// The transcript in `file` (named `name`) verified a section at a time: the
/// header and transcript first, and the circuit's shape checked before the
/// Powers of Tau are read; each section's counterpart is computed, then the
/// section read and compared, both dropped before the next.
fn verify_streamed<R: Read + Seek>(
    file: &mut R,
    name: &Path,
    phase1: &Phase1Args,
) -> Result<Transcript> {
    let (_, matrices) = shape_and_matrices(&phase1.shape)?;
    let context = || name.display().to_string();
    let (head, layout) = Zkey::read_head(file).with_context(context)?;
    ceremony::check_shape(&head, &matrices).with_context(context)?;
    let ptau = read_phase1(&phase1.ptau, &matrices)?;
    ceremony::verify_file(
        file,
        (&head, layout),
        &ptau,
        &matrices,
        &mut rand::thread_rng(),
    )
    .with_context(context)
}

/// Verifies `key` in full against the Powers of Tau and the circuit.
fn verify(key: &Zkey, ptau: &Path, matrices: &ConstraintMatrices) -> Result<Transcript> {
    // The circuit first: a key of another shape is named as such before the
    // Powers of Tau are read.
    key.check_circuit(matrices)?;
    let phase1 = read_phase1(ptau, matrices)?;
    Ok(ceremony::verify(
        key,
        &phase1,
        matrices,
        &mut rand::thread_rng(),
    )?)
}

fn write_keys(out: &Path, keys: &ProvingKeyFile) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| out.display().to_string())?;
    files::write_keys(out, keys)?;
    println!(
        "keys for {} written to {} (digest {}): {}",
        keys.shape(),
        out.display(),
        keys.key.digest_hex(),
        keys.key.provenance()
    );
    Ok(())
}

pub fn run(command: CeremonyCommand) -> Result<()> {
    let start = Instant::now();
    match command {
        CeremonyCommand::Init { phase1, out } => {
            let (shape, matrices) = shape_and_matrices(&phase1.shape)?;
            let ptau = read_phase1(&phase1.ptau, &matrices)?;
            let key = ceremony::initial_key(&ptau, &matrices)?;
            write_zkey(&out, &key)?;
            let cs_hash = key.mpc.as_ref().map(|m| m.cs_hash).unwrap_or([0; 64]);
            println!(
                "wrote {} ({shape}, domain of {}): circuit hash {}",
                out.display(),
                key.domain_size,
                hex::encode(cs_hash)
            );
            done("init", start);
        }
        CeremonyCommand::Contribute {
            state,
            out,
            name,
            entropy,
        } => {
            // Streamed from one file to the other, a chunk at a time: the
            // output must not be the input, which writing would truncate.
            let same = std::fs::canonicalize(&out)
                .ok()
                .is_some_and(|o| std::fs::canonicalize(&state).ok() == Some(o));
            if same {
                bail!("--out is the state being read; write the contribution to a new file");
            }
            let mut input = BufReader::new(
                std::fs::File::open(&state).with_context(|| state.display().to_string())?,
            );
            let mut rng = ceremony::contributor_rng(entropy.as_deref());
            let hash = files::write_with(&out, |w| {
                ceremony::contribute_streamed(&mut input, w, name.as_deref(), &mut rng)
                    .with_context(|| state.display().to_string())
            })?;
            println!("wrote {}", out.display());
            println!("your contribution hash (publish it): {}", hex::encode(hash));
            done("contribute", start);
        }
        CeremonyCommand::Verify { state, phase1 } => {
            let mut file = BufReader::new(
                std::fs::File::open(&state).with_context(|| state.display().to_string())?,
            );
            let transcript = verify_streamed(&mut file, &state, &phase1)?;
            print_transcript(&transcript);
            println!(
                "{}: a valid transcript of {} contributions",
                state.display(),
                transcript.contributions.len()
            );
            done("verify", start);
        }
        CeremonyCommand::Finalize {
            state,
            phase1,
            beacon,
            iterations,
            name,
            out,
        } => {
            let beacon =
                hex::decode(beacon.trim_start_matches("0x")).context("--beacon is not hex")?;
            let shape = phase1.shape.shape()?;
            // Verified a section at a time (the Powers of Tau and the
            // matrices are dropped after), then read whole from the same open
            // file: a file put in its place by name meanwhile is not read.
            let mut file = BufReader::new(
                std::fs::File::open(&state).with_context(|| state.display().to_string())?,
            );
            verify_streamed(&mut file, &state, &phase1)?;
            file.seek(SeekFrom::Start(0))?;
            let mut key = Zkey::read(&mut file).with_context(|| state.display().to_string())?;
            drop(file);
            ceremony::apply_beacon(&mut key, &beacon, iterations, Some(&name))?;
            let transcript = ceremony::check_transcript(&key)?;
            // Refuses a transcript with no secret contribution, before any
            // file is written.
            let keys = ceremony::claim_keys(&key, shape, Some(&transcript))?;
            std::fs::create_dir_all(&out).with_context(|| out.display().to_string())?;
            write_zkey(&out.join(FINAL_ZKEY), &key)?;
            print_transcript(&transcript);
            write_keys(&out, &keys)?;
            done("finalize", start);
        }
    }
    Ok(())
}

pub fn import(command: ImportCommand) -> Result<()> {
    let ImportCommand::Zkey {
        file,
        shape,
        ptau,
        unverified,
        out,
    } = command;
    let key = open_zkey(&file)?;
    let (shape, matrices) = shape_and_matrices(&shape)?;
    let keys = match (ptau, unverified) {
        (Some(ptau), _) => {
            let transcript =
                verify(&key, &ptau, &matrices).with_context(|| file.display().to_string())?;
            print_transcript(&transcript);
            ceremony::claim_keys(&key, shape, Some(&transcript))?
        }
        (None, true) => {
            key.check_circuit(&matrices)
                .with_context(|| file.display().to_string())?;
            eprintln!(
                "warning: the transcript was not verified: the keys are labelled as development keys"
            );
            ceremony::claim_keys(&key, shape, None)?
        }
        (None, false) => bail!(
            "give --ptau FILE to verify the key's transcript (ceremony keys), or --unverified to import it as development keys"
        ),
    };
    write_keys(&out, &keys)
}

/// `proofmint export zkey`: our keys in snarkjs's format.
pub fn export_zkey(keys: &Path, out: &Path) -> Result<()> {
    let key = files::load_proving_key(keys)?;
    let zkey = ceremony::zkey_of(&key)?;
    write_zkey(out, &zkey)?;
    println!(
        "wrote {} ({}, {}; no transcript section)",
        out.display(),
        key.shape(),
        key.key.provenance()
    );
    Ok(())
}
