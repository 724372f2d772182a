//! The proving keys a service holds: loaded and validated once at start,
//! their R1CS matrices built once, and kept for every job of their shape.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use proofmint_circuits::claim::{ClaimShape, NUM_PUBLIC_INPUTS};
use proofmint_prover::files;
use proofmint_prover::keys::constraint_count;
use proofmint_prover::ProvingKeyFile;

/// One loaded key.
pub struct LoadedKey {
    pub key: ProvingKeyFile,
    pub digest: String,
    pub dir: PathBuf,
    /// Bytes a proof of this shape needs beyond the key itself (see
    /// [`proving_memory`]).
    pub proving_bytes: u64,
}

impl LoadedKey {
    pub fn shape(&self) -> ClaimShape {
        self.key.shape()
    }

    /// The label metrics and logs use: `slots16-depth20`.
    pub fn preset(&self) -> String {
        let shape = self.shape();
        format!("slots{}-depth{}", shape.slots, shape.depth)
    }
}

/// Every key of a service, looked up by digest or by shape.
#[derive(Default, Clone)]
pub struct KeySet {
    keys: Vec<Arc<LoadedKey>>,
}

/// Memory one proof takes beyond its loaded key and matrices: 512 bytes per
/// element of the evaluation domain (the witness, the A, B, C and h
/// vectors, synthesis and MSM scratch). Measured as the peak resident growth
/// during a proof on `CpuBackend`: 58 MiB at 16 slots (domain 2^17) and
/// 220 MiB at 64 slots (2^19), about 450 bytes an element.
pub fn proving_memory(constraints: usize) -> u64 {
    let domain = (constraints + NUM_PUBLIC_INPUTS + 1).next_power_of_two() as u64;
    domain * 512
}

impl KeySet {
    /// Loads the keys in each directory (as `proofmint setup` or a ceremony
    /// writes them), validating every point once, and builds each shape's
    /// matrices so that the first job is as fast as the next.
    pub fn load(dirs: &[PathBuf]) -> Result<Self> {
        let mut set = KeySet::default();
        for dir in dirs {
            let key = files::load_proving_key(dir)?;
            key.matrices()
                .with_context(|| format!("{}: building the circuit's matrices", dir.display()))?;
            set.add(key, dir)?;
        }
        Ok(set)
    }

    /// Adds a loaded key (tests build keys in memory).
    pub fn add(&mut self, key: ProvingKeyFile, dir: &Path) -> Result<()> {
        let digest = key.key.digest_hex();
        if let Some(other) = self.keys.iter().find(|k| k.shape() == key.shape()) {
            bail!(
                "{}: a second key for {} (the first is in {}); a service proves each shape with one key",
                dir.display(),
                key.shape(),
                other.dir.display()
            );
        }
        let proving_bytes = proving_memory(constraint_count(key.shape()));
        self.keys.push(Arc::new(LoadedKey {
            key,
            digest,
            dir: dir.to_path_buf(),
            proving_bytes,
        }));
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<LoadedKey>> {
        self.keys.iter()
    }

    pub fn by_digest(&self, digest: &str) -> Option<&Arc<LoadedKey>> {
        self.keys
            .iter()
            .find(|k| k.digest.eq_ignore_ascii_case(digest))
    }

    pub fn by_shape(&self, slots: usize, depth: usize) -> Option<&Arc<LoadedKey>> {
        self.keys
            .iter()
            .find(|k| k.shape().slots == slots && k.shape().depth == depth)
    }

    /// "slots16-depth20 (digest …), …" for error messages.
    pub fn describe(&self) -> String {
        if self.keys.is_empty() {
            return "none".into();
        }
        self.keys
            .iter()
            .map(|k| format!("{} ({})", k.preset(), &k.digest[..16]))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
