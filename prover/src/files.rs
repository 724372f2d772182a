//! Where artifacts live on disk and how they are read back, every failure
//! naming the file it concerns.
//!
//! - receipts and payments: JSON Lines, read a line at a time with bounded lines;
//! - epoch bundle directory: `epoch.json` (JSON form) and `epoch.bin` (binary);
//! - keys directory: `claim.pk`, `claim.vk`, `verification_key.json` (snarkjs);
//! - proof directory: `claim.proof` (binary), `proof.json` and `public.json` (snarkjs).

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use proofmint_circuits::epoch::EpochBundle;
use proofmint_circuits::payment::{PaymentLines, Payments};
use proofmint_verifier::{snarkjs, ClaimProof, VerifyingKeyFile};

use crate::keys::ProvingKeyFile;

pub const EPOCH_JSON: &str = "epoch.json";
pub const EPOCH_BIN: &str = "epoch.bin";
pub const PROVING_KEY: &str = "claim.pk";
pub const VERIFYING_KEY: &str = "claim.vk";
pub const SNARKJS_VK: &str = "verification_key.json";
pub const PROOF_BIN: &str = "claim.proof";
pub const PROOF_JSON: &str = "proof.json";
pub const PUBLIC_JSON: &str = "public.json";

/// Largest JSON file read whole (an epoch of 2^20 receipts is ~750 MB as JSON;
/// its `epoch.bin` is ~250 MB).
const MAX_JSON_BYTES: u64 = 1 << 30;
/// Longest line of a JSON Lines file (a receipt line is about 700 bytes).
pub const MAX_LINE_BYTES: usize = 16 << 10;

/// Reads a JSON Lines file one line at a time, never more than
/// [`MAX_LINE_BYTES`] of a line and never more than `max_lines` non-blank
/// lines: memory follows what the caller keeps, not the file's size. Calls
/// `each(line_number, line)` for every non-blank line (numbered from 1); a
/// line that is too long or not UTF-8 is an error naming the file and line.
pub fn for_each_line(
    path: &Path,
    max_lines: usize,
    mut each: impl FnMut(usize, &str),
) -> Result<()> {
    use std::io::{BufRead, Read};
    let file = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut reader = std::io::BufReader::new(file);
    let mut buffer = Vec::new();
    let mut number = 0usize;
    let mut seen = 0usize;
    loop {
        buffer.clear();
        number += 1;
        let read = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buffer)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if read == 0 {
            return Ok(());
        }
        if buffer.last() != Some(&b'\n') && buffer.len() > MAX_LINE_BYTES {
            bail!(
                "{}: line {number} is longer than {MAX_LINE_BYTES} bytes",
                path.display()
            );
        }
        let line = std::str::from_utf8(&buffer)
            .with_context(|| format!("{}: line {number} is not UTF-8", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        seen += 1;
        if seen > max_lines {
            bail!(
                "{}: more than {max_lines} lines (line {number})",
                path.display()
            );
        }
        each(number, line.trim_end_matches(['\n', '\r']));
    }
}

/// Reads a payments file (JSON Lines, as `proofmint chain payments` writes),
/// refusing it with every bad line named.
pub fn load_payments(path: &Path) -> Result<Payments> {
    let mut lines = PaymentLines::default();
    for_each_line(path, MAX_PAYMENTS, |line, text| lines.push(line, text))?;
    lines.finish().map_err(|errors| {
        let list: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        anyhow::anyhow!(
            "{}: {} bad payment line(s):\n{}",
            path.display(),
            errors.len(),
            list.join("\n")
        )
    })
}

/// Most payments one file may hold (the chain's payments for a few epochs).
pub const MAX_PAYMENTS: usize = 1 << 24;

/// Reads a file of at most [`MAX_JSON_BYTES`] bytes (bundles, proofs, JSON).
pub fn read_capped(path: &Path) -> Result<Vec<u8>> {
    let size = fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if size > MAX_JSON_BYTES {
        bail!(
            "{}: {size} bytes is more than the {MAX_JSON_BYTES} this tool reads",
            path.display()
        );
    }
    read(path)
}

pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Creates the directory `path` is to be written in, where it names one.
fn create_parent(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    Ok(())
}

pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    create_parent(path)?;
    fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes a file as `body` makes it, through a buffer: for files too large
/// to hold in memory twice. Where `body` fails, the partial file is removed.
pub fn write_with<T>(
    path: &Path,
    body: impl FnOnce(&mut std::io::BufWriter<fs::File>) -> Result<T>,
) -> Result<T> {
    use std::io::Write;
    create_parent(path)?;
    let file =
        fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let result = body(&mut out).and_then(|value| {
        out.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(value)
    });
    if result.is_err() {
        drop(out);
        let _ = fs::remove_file(path);
    }
    result
}

pub fn read_json(path: &Path) -> Result<serde_json::Value> {
    let bytes = read_capped(path)?;
    serde_json::from_slice(&bytes).with_context(|| format!("{}: not valid JSON", path.display()))
}

pub fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values serialize");
    text.push('\n');
    write(path, text.as_bytes())
}

/// Writes `epoch.json` and `epoch.bin`.
pub fn write_epoch(dir: &Path, bundle: &EpochBundle) -> Result<()> {
    write_json(&dir.join(EPOCH_JSON), &bundle.to_json())?;
    write(&dir.join(EPOCH_BIN), &bundle.to_bytes())
}

/// Reads `epoch.json`; where `epoch.bin` is present too it must say the same.
pub fn load_epoch(dir: &Path) -> Result<EpochBundle> {
    let json_path = dir.join(EPOCH_JSON);
    let bundle = EpochBundle::from_json(&read_json(&json_path)?)
        .with_context(|| json_path.display().to_string())?;
    let bin_path = dir.join(EPOCH_BIN);
    if bin_path.exists() {
        let binary = EpochBundle::from_bytes(&read_capped(&bin_path)?)
            .with_context(|| bin_path.display().to_string())?;
        if binary != bundle {
            bail!(
                "{} and {} disagree: the bundle was altered",
                json_path.display(),
                bin_path.display()
            );
        }
    }
    Ok(bundle)
}

/// Writes `claim.pk`, `claim.vk` and `verification_key.json`.
pub fn write_keys(dir: &Path, key: &ProvingKeyFile) -> Result<()> {
    write(&dir.join(PROVING_KEY), &key.to_bytes())?;
    write(&dir.join(VERIFYING_KEY), &key.key.to_bytes())?;
    write_json(
        &dir.join(SNARKJS_VK),
        &snarkjs::verifying_key_json(&key.key),
    )
}

pub fn load_verifying_key(dir: &Path) -> Result<VerifyingKeyFile> {
    let path = dir.join(VERIFYING_KEY);
    VerifyingKeyFile::from_bytes(&read(&path)?).with_context(|| path.display().to_string())
}

/// Loads `claim.pk`, validated, or known valid from an earlier validation
/// on this machine ([`crate::keys::load_proving_key`]).
pub fn load_proving_key(dir: &Path) -> Result<ProvingKeyFile> {
    let path = dir.join(PROVING_KEY);
    let cache = crate::keys::validated_keys_dir();
    let (key, _) = crate::keys::load_proving_key(&read(&path)?, cache.as_deref())
        .with_context(|| path.display().to_string())?;
    Ok(key)
}

/// Writes `claim.proof`, `proof.json` and `public.json`.
pub fn write_proof(dir: &Path, claim: &ClaimProof) -> Result<()> {
    write(&dir.join(PROOF_BIN), &claim.to_bytes())?;
    write_json(&dir.join(PROOF_JSON), &snarkjs::proof_json(&claim.proof))?;
    write_json(&dir.join(PUBLIC_JSON), &snarkjs::public_json(&claim.public))
}

/// Reads `claim.proof`; `proof.json` and `public.json`, where present, must
/// agree with it (so an edit to either is caught, not ignored).
pub fn load_proof(dir: &Path) -> Result<ClaimProof> {
    let path = dir.join(PROOF_BIN);
    let claim =
        ClaimProof::from_bytes(&read(&path)?).with_context(|| path.display().to_string())?;
    let proof_json = dir.join(PROOF_JSON);
    if proof_json.exists() {
        let proof = snarkjs::proof_from_json(&read_json(&proof_json)?)
            .with_context(|| proof_json.display().to_string())?;
        if proof != claim.proof {
            bail!("{} disagrees with {}", proof_json.display(), path.display());
        }
    }
    let public_json = dir.join(PUBLIC_JSON);
    if public_json.exists() {
        let public = snarkjs::public_from_json(&read_json(&public_json)?)
            .with_context(|| public_json.display().to_string())?;
        if public != claim.public {
            bail!(
                "{} disagrees with {}",
                public_json.display(),
                path.display()
            );
        }
    }
    Ok(claim)
}
