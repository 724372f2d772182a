//! The proving-key file (`claim.pk`) and the development setup.
//!
//! Layout (FORMATS.md): `PMPK`, version 2, the H query's form (0 libsnark's,
//! 1 snarkjs's; version 1 files, which lack the byte, are libsnark's), a u32
//! length and the complete verifying-key file (so the proving key names the
//! key digest its proofs carry), then beta_g1 and delta_g1, then the vectors a_query, b_g1_query,
//! b_g2_query, h_query and l_query, each a u32 count and uncompressed points
//! (uncompressed: a large key loads without square roots). Every point is
//! validated on load, as a parallel batch.

use ark_bn254::{Bn254, Fr};
use ark_groth16::ProvingKey;
use ark_serialize::Compress;
use proofmint_circuits::claim::{ClaimCircuit, ClaimShape};
use proofmint_circuits::codec::{DecodeError, Reader};
use proofmint_verifier::keys::{KeyError, SetupKind, VerifyingKeyFile};
use proofmint_verifier::points::{
    put_point, put_points, read_point, read_points, read_points_trusted,
    read_points_with_subgroup_check,
};
use rand::{CryptoRng, RngCore};

use crate::groth16::{ConstraintMatrices, Groth16Error};
use crate::matrices::MatricesOrigin;
use std::sync::{Arc, OnceLock};

use proofmint_gpu::IcicleBackend;

use crate::groth16::QapForm;
use crate::resident::{ResidentKey, ResidentSlot};

pub const MAGIC: &[u8; 4] = b"PMPK";
pub const VERSION: u8 = 2;

/// A claim circuit's proving key with its verifying-key file.
#[derive(Debug, Clone)]
pub struct ProvingKeyFile {
    pub key: VerifyingKeyFile,
    pub pk: ProvingKey<Bn254>,
    /// The form of `pk`'s H query: which witness map proofs with it take.
    pub form: QapForm,
    /// The shape's R1CS matrices, built (or read from the template cache)
    /// on first use and kept for every proof, with where they came from.
    matrices: OnceLock<(ConstraintMatrices, MatricesOrigin)>,
    /// The matrices built again from the circuit after a proof made with
    /// cached ones did not verify; used from then on.
    rebuilt: OnceLock<ConstraintMatrices>,
    /// The key's queries on a GPU, uploaded at the first proof there and
    /// kept for every later one.
    resident: ResidentSlot,
}

/// A development setup for `shape`: one machine draws the toxic waste from
/// `rng`, so the keys are labelled not for production. The key is in the
/// form a ceremony's is ([`development_key`]), so development proofs take
/// the production path.
pub fn setup_development<R: RngCore + CryptoRng>(
    shape: ClaimShape,
    rng: &mut R,
) -> Result<ProvingKeyFile, Groth16Error> {
    let matrices = crate::matrices::claim_matrices(shape)?;
    let pk = development_key(&matrices, rng);
    let key = VerifyingKeyFile {
        shape,
        setup: SetupKind::Development,
        transcript: None,
        vk: pk.vk.clone(),
    };
    let key = ProvingKeyFile::with_form(key, pk, QapForm::Circom);
    key.adopt_matrices(shape, matrices, MatricesOrigin::Built);
    Ok(key)
}

/// The key a phase 2 with one contribution would give on Powers of Tau of
/// known τ, α, β, computed in the field: γ = 1; for each variable with
/// A(τ), B(τ), C(τ) its columns on the Lagrange basis (A with snarkjs's row
/// for each public input), the A, B queries, IC = β·A + α·B + C and
/// L = (β·A + α·B + C)/δ; H the odd Lagrange points of the doubled domain,
/// divided by δ (snarkjs's form, [`QapForm::Circom`]).
pub fn development_key<R: RngCore + CryptoRng>(
    matrices: &ConstraintMatrices,
    rng: &mut R,
) -> ProvingKey<Bn254> {
    use ark_ec::{scalar_mul::ScalarMul, AffineRepr};
    use ark_ff::{Field, UniformRand, Zero};
    use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
    use rayon::prelude::*;
    let (inputs, constraints, witnesses) = matrices.counts();
    let n = matrices.domain_size();
    let nonzero = |rng: &mut R| loop {
        let x = Fr::rand(rng);
        if !x.is_zero() {
            break x;
        }
    };
    // τ off both domains, so that the Lagrange formula holds.
    let tau = loop {
        let tau = nonzero(rng);
        if tau.pow([2 * n as u64]) != Fr::from(1u64) {
            break tau;
        }
    };
    let (alpha, beta, delta) = (nonzero(rng), nonzero(rng), nonzero(rng));
    let delta_inverse = delta.inverse().expect("nonzero");
    let domain = Radix2EvaluationDomain::<Fr>::new(n).expect("a power of two");
    let lagrange = domain.evaluate_all_lagrange_coefficients(tau);
    let variables = inputs + witnesses;
    let mut columns = [
        vec![Fr::zero(); variables],
        vec![Fr::zero(); variables],
        vec![Fr::zero(); variables],
    ];
    // A and B from section 4's entries, which hold snarkjs's input rows
    // (A[constraints + s][s] = 1), C from the matrices.
    for entry in crate::zkey::coefficients(matrices) {
        columns[entry.matrix as usize][entry.signal as usize] +=
            entry.value * lagrange[entry.constraint as usize];
    }
    for (row, at_tau) in lagrange.iter().enumerate().take(constraints) {
        for (value, signal) in matrices.row(2, row) {
            columns[2][signal] += value * at_tau;
        }
    }
    let [a, b, c] = columns;
    let mut abc: Vec<Fr> = (0..variables)
        .into_par_iter()
        .map(|s| beta * a[s] + alpha * b[s] + c[s])
        .collect();
    let l: Vec<Fr> = abc
        .split_off(inputs)
        .into_par_iter()
        .map(|v| v * delta_inverse)
        .collect();
    let double = Radix2EvaluationDomain::<Fr>::new(2 * n).expect("a power of two");
    let h: Vec<Fr> = double
        .evaluate_all_lagrange_coefficients(tau)
        .into_iter()
        .skip(1)
        .step_by(2)
        .map(|v| v * delta_inverse)
        .collect();
    let g1 = ark_bn254::G1Affine::generator().into_group();
    let g2 = ark_bn254::G2Affine::generator().into_group();
    ProvingKey {
        vk: ark_groth16::VerifyingKey {
            alpha_g1: (g1 * alpha).into(),
            beta_g2: (g2 * beta).into(),
            gamma_g2: g2.into(),
            delta_g2: (g2 * delta).into(),
            gamma_abc_g1: g1.batch_mul(&abc),
        },
        beta_g1: (g1 * beta).into(),
        delta_g1: (g1 * delta).into(),
        a_query: g1.batch_mul(&a),
        b_g1_query: g1.batch_mul(&b),
        b_g2_query: g2.batch_mul(&b),
        h_query: g1.batch_mul(&h),
        l_query: g1.batch_mul(&l),
    }
}

impl ProvingKeyFile {
    /// A key in libsnark's form (ark-groth16's setup, ours).
    pub fn new(key: VerifyingKeyFile, pk: ProvingKey<Bn254>) -> Self {
        Self::with_form(key, pk, QapForm::Libsnark)
    }

    /// A key whose H query is in `form` (snarkjs's for a `.zkey`).
    pub fn with_form(key: VerifyingKeyFile, pk: ProvingKey<Bn254>, form: QapForm) -> Self {
        Self {
            key,
            pk,
            form,
            matrices: OnceLock::new(),
            rebuilt: OnceLock::new(),
            resident: ResidentSlot::default(),
        }
    }

    /// This key on `device`, uploaded at the first call and kept.
    pub fn resident_on(&self, device: &IcicleBackend) -> Result<Arc<ResidentKey>, Groth16Error> {
        self.resident.on(device, &self.pk, self.form)
    }

    /// The R1CS matrices of this key's circuit shape (built once, from the
    /// template cache of [`matrices_cache_dir`] where it has one).
    pub fn matrices(&self) -> Result<&ConstraintMatrices, Groth16Error> {
        if let Some(rebuilt) = self.rebuilt.get() {
            return Ok(rebuilt);
        }
        if let Some((matrices, _)) = self.matrices.get() {
            return Ok(matrices);
        }
        let built =
            crate::matrices::claim_matrices_cached(self.shape(), matrices_cache_dir().as_deref())?;
        Ok(&self.matrices.get_or_init(|| built).0)
    }

    /// Where [`Self::matrices`] came from, once they are there.
    pub fn matrices_origin(&self) -> Option<&MatricesOrigin> {
        match self.rebuilt.get() {
            Some(_) => Some(&MatricesOrigin::Built),
            None => self.matrices.get().map(|(_, origin)| origin),
        }
    }

    /// After a proof made with matrices from the template cache did not
    /// verify: forgets the cached file, builds the matrices from the circuit
    /// and keeps those for every later proof. None where the matrices in use
    /// were built here already (building them again cannot help).
    pub fn rebuild_cached_matrices(&self) -> Option<Result<&ConstraintMatrices, Groth16Error>> {
        let origin = self.matrices_origin()?;
        if *origin == MatricesOrigin::Built {
            return None;
        }
        crate::matrices::discard_cached(origin);
        Some(
            crate::matrices::claim_matrices(self.shape())
                .map(|fresh| self.rebuilt.get_or_init(|| fresh)),
        )
    }

    pub fn shape(&self) -> ClaimShape {
        self.key.shape
    }

    /// Keeps matrices built elsewhere (on another thread while this key
    /// loaded) if they are `shape`'s and this key's shape is `shape`: the
    /// matrices are a function of the shape alone. Others are dropped, and
    /// [`Self::matrices`] builds the right ones when first asked.
    pub fn adopt_matrices(
        &self,
        shape: ClaimShape,
        matrices: ConstraintMatrices,
        origin: MatricesOrigin,
    ) {
        if shape == self.shape() {
            let _ = self.matrices.set((matrices, origin));
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let vk_bytes = self.key.to_bytes();
        let pk = &self.pk;
        let points = pk.a_query.len() + pk.b_g1_query.len() + pk.h_query.len() + pk.l_query.len();
        let mut out =
            Vec::with_capacity(64 + vk_bytes.len() + points * 64 + pk.b_g2_query.len() * 128);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(match self.form {
            QapForm::Libsnark => 0,
            QapForm::Circom => 1,
        });
        out.extend_from_slice(&(vk_bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&vk_bytes);
        put_point(&mut out, &pk.beta_g1, Compress::No);
        put_point(&mut out, &pk.delta_g1, Compress::No);
        put_points(&mut out, &pk.a_query, Compress::No);
        put_points(&mut out, &pk.b_g1_query, Compress::No);
        put_points(&mut out, &pk.b_g2_query, Compress::No);
        put_points(&mut out, &pk.h_query, Compress::No);
        put_points(&mut out, &pk.l_query, Compress::No);
        out
    }

    /// Reads a key file, validating every point (on the curve; G2 points in
    /// the subgroup).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        Self::parse(bytes, false)
    }

    /// Reads a key file whose points were validated before: the same
    /// layout, lengths and canonical coordinates are checked, the curve and
    /// subgroup checks (most of a load's time) are not. Only for bytes known
    /// valid, as [`load_proving_key`] establishes by their SHA-256.
    pub fn from_validated_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        Self::parse(bytes, true)
    }

    fn parse(bytes: &[u8], trusted: bool) -> Result<Self, KeyError> {
        let mut reader = Reader::new(bytes);
        let form = read_header(&mut reader)?;
        let vk_len = reader.u32("verifying key length")? as usize;
        let key = VerifyingKeyFile::from_bytes(reader.take("verifying key", vk_len)?)?;
        let beta_g1 = read_point(&mut reader, "beta_g1", Compress::No)?;
        let delta_g1 = read_point(&mut reader, "delta_g1", Compress::No)?;
        // A trusted read checks lengths and canonical coordinates only.
        let read_g1 = |r: &mut Reader<'_>, field| {
            if trusted {
                read_points_trusted(r, field, Compress::No)
            } else {
                read_points(r, field, Compress::No)
            }
        };
        let a_query = read_g1(&mut reader, "a_query")?;
        let b_g1_query = read_g1(&mut reader, "b_g1_query")?;
        let b_g2_query = if trusted {
            read_points_trusted(&mut reader, "b_g2_query", Compress::No)?
        } else {
            // G2 subgroup checks are most of a key's loading time: done as one
            // batch (vectorized where the CPU allows) rather than point by point.
            read_points_with_subgroup_check(
                &mut reader,
                "b_g2_query",
                Compress::No,
                proofmint_gpu::subgroup::check_g2_subgroup,
            )?
        };
        let h_query = read_g1(&mut reader, "h_query")?;
        let l_query = read_g1(&mut reader, "l_query")?;
        reader.finish("proving key")?;
        if form.domain_of(h_query.len()).is_none() {
            return Err(DecodeError::Invalid {
                field: "h_query",
                reason: format!(
                    "{} points: not an H query of {form:?} form (|H| {} points, |H| a power of two)",
                    h_query.len(),
                    if form == QapForm::Libsnark { "− 1" } else { "" }
                ),
            }
            .into());
        }
        if a_query.len() != b_g1_query.len() || a_query.len() != b_g2_query.len() {
            return Err(DecodeError::Invalid {
                field: "b_query",
                reason: "a, b_g1 and b_g2 queries differ in length".into(),
            }
            .into());
        }
        let pk = ProvingKey {
            vk: key.vk.clone(),
            beta_g1,
            delta_g1,
            a_query,
            b_g1_query,
            b_g2_query,
            h_query,
            l_query,
        };
        Ok(Self::with_form(key, pk, form))
    }
}

/// The magic, the version and (from version 2) the H query's form.
fn read_header(reader: &mut Reader<'_>) -> Result<QapForm, DecodeError> {
    let magic: [u8; 4] = reader.array("magic")?;
    if &magic != MAGIC {
        return Err(DecodeError::BadMagic {
            expected: "proving key",
            found: magic,
        });
    }
    match reader.u8("version")? {
        1 => Ok(QapForm::Libsnark),
        2 => match reader.u8("H query form")? {
            0 => Ok(QapForm::Libsnark),
            1 => Ok(QapForm::Circom),
            other => Err(DecodeError::Invalid {
                field: "H query form",
                reason: format!("{other} is neither 0 (libsnark's) nor 1 (snarkjs's)"),
            }),
        },
        found => Err(DecodeError::UnknownVersion {
            artifact: "proving key",
            found,
            supported: VERSION,
        }),
    }
}

/// Constraint count of the claim circuit of `shape`.
pub fn constraint_count(shape: ClaimShape) -> usize {
    use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, SynthesisMode};
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_mode(SynthesisMode::Setup);
    ClaimCircuit::blank(shape)
        .generate_constraints(cs.clone())
        .expect("the blank circuit synthesizes");
    cs.num_constraints()
}

/// Where this machine records the key files it has validated: the folder
/// `PROOFMINT_KEY_CACHE` names (`off` for none), else
/// `$XDG_CACHE_HOME/proofmint/validated-keys`, else
/// `$HOME/.cache/proofmint/validated-keys`.
pub fn validated_keys_dir() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    match std::env::var_os("PROOFMINT_KEY_CACHE") {
        Some(v) if v == "off" => None,
        Some(v) => Some(PathBuf::from(v)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|base| base.join("proofmint").join("validated-keys")),
    }
}

/// Where the claim circuit's template is kept from one process to the next
/// ([`crate::matrices::claim_matrices_cached`]): `matrices` in
/// [`validated_keys_dir`] (none where that is `off`).
pub fn matrices_cache_dir() -> Option<std::path::PathBuf> {
    validated_keys_dir().map(|dir| dir.join("matrices"))
}

/// How a key was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLoad {
    /// Every point checked.
    Validated,
    /// The same bytes (by SHA-256) were validated on this machine before.
    KnownValid,
}

/// Loads a key file's bytes, validating them unless `cache` records that
/// these exact bytes (their SHA-256) were validated before; after a full
/// validation, records them there (best effort: a cache that cannot be
/// written only costs the next load its time). A record names the key's
/// digest too, and a key read on a record's word must have that digest.
pub fn load_proving_key(
    bytes: &[u8],
    cache: Option<&std::path::Path>,
) -> Result<(ProvingKeyFile, KeyLoad), KeyError> {
    use sha2::{Digest, Sha256};
    let digest = || hex::encode(Sha256::digest(bytes));
    // Where this machine has validated keys before, the file is hashed on
    // one thread while the others read it as a validated key (a third of
    // the load at 256 slots was the hash alone); the read is used only if
    // the hash names a record.
    // (Files only: the folder also holds the claim template's, `matrices`.)
    let has_records = cache
        .and_then(|dir| std::fs::read_dir(dir).ok())
        .is_some_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_type().is_ok_and(|t| t.is_file()))
        });
    let (file_digest, read) = if has_records {
        let (digest, read) = rayon::join(digest, || ProvingKeyFile::from_validated_bytes(bytes));
        (digest, Some(read))
    } else {
        (digest(), None)
    };
    let record = cache.map(|dir| dir.join(&file_digest));
    if let Some(record) = &record {
        if let Ok(recorded) = std::fs::read_to_string(record) {
            let key = match read {
                Some(read) => read?,
                None => ProvingKeyFile::from_validated_bytes(bytes)?,
            };
            if recorded.trim() == key.key.digest_hex() {
                return Ok((key, KeyLoad::KnownValid));
            }
        }
    }
    let key = ProvingKeyFile::from_bytes(bytes)?;
    if let (Some(dir), Some(record)) = (cache, &record) {
        let written = std::fs::create_dir_all(dir).and_then(|()| {
            // Written whole, then renamed: a record is complete or absent.
            let partial = record.with_extension("partial");
            std::fs::write(&partial, key.key.digest_hex())?;
            std::fs::rename(&partial, record)
        });
        if let Err(e) = written {
            eprintln!(
                "note: cannot record the validated key in {}: {e}",
                dir.display()
            );
        }
    }
    Ok((key, KeyLoad::Validated))
}
