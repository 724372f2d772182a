//! A GEMM work proof as it travels with a receipt (kind 1): the shape, the
//! two commitments that are its public inputs and the receipt's
//! `inputCommitment` and `outputCommitment`, and the halo2 proof. Proving
//! from int8 matrices, verifying against parameters from a Powers of Tau, and
//! the binary file (`work.proof`, FORMATS.md).

use halo2_proofs::halo2curves::bn256::{Bn256, Fr};
use halo2_proofs::halo2curves::ff::PrimeField as _;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;

use std::collections::{BTreeMap, HashMap};

use halo2_proofs::halo2curves::bn256::G1Affine;
use halo2_proofs::plonk::{verify_proof, ProvingKey, VerifyingKey};
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::KZGCommitmentScheme;
use halo2_proofs::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_proofs::poly::kzg::strategy::AccumulatorStrategy;
use halo2_proofs::poly::VerificationStrategy;
use halo2_proofs::transcript::{Blake2bRead, Challenge255, TranscriptReadBuffer};
use proofmint_circuits::receipt::Receipt;
use rayon::prelude::*;

use alloy_primitives::Address;
use ark_bn254::Fr as ArkFr;

use crate::commitment::{from_ark, input_commitment, output_commitment, to_ark};
use crate::gemm::{GemmCircuit, Shape};
use crate::npy::{Matrix, WideMatrix, MAX_DIMENSION};
use crate::proof;

/// The receipt kind of a matrix product.
pub const KIND_GEMM: u32 = 1;
const MAGIC: &[u8; 4] = b"PMWK";
const VERSION: u8 = 1;
/// Longest proof read (a GEMM proof is about 3 KB at every shape).
pub const MAX_PROOF_BYTES: usize = 1 << 16;
/// Largest circuit (log2 of rows) a work proof may need.
pub const MAX_LOG_SIZE: u32 = crate::srs::MAX_K;

/// Why a work proof was refused or could not be made.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error("not a work proof (no PMWK magic)")]
    Magic,
    #[error("work proof version {0} is not supported (1)")]
    Version(u8),
    #[error("work proof kind {0} is not a matrix product (1)")]
    Kind(u32),
    #[error("the work proof ends inside {0}")]
    Truncated(&'static str),
    #[error("{0} bytes after the work proof")]
    Trailing(usize),
    #[error("{0} is not a canonical field element")]
    NonCanonical(&'static str),
    #[error("the proof is {0} bytes, more than the {MAX_PROOF_BYTES} a work proof may have")]
    ProofLength(usize),
    #[error("shape {m}x{k}x{n} is outside the limits (each dimension 1..={MAX_DIMENSION}, at most 2^{MAX_LOG_SIZE} rows)", m = .0.m, k = .0.k, n = .0.n)]
    Shape(Shape),
    #[error("A is {0}x{1} and B is {2}x{3}: A's columns must be B's rows")]
    Mismatch(usize, usize, usize, usize),
    #[error("the parameters are for 2^{have} rows; this shape needs 2^{need}")]
    Params { have: u32, need: u32 },
    #[error("halo2: {0}")]
    Halo2(String),
    #[error("the proof does not verify against its commitments and shape")]
    Invalid,
    #[error("no parameters for 2^{0} rows")]
    NoParams(u32),
    #[error("the receipt is of kind {0}, not a matrix product (1)")]
    ReceiptKind(u32),
    #[error("the receipt claims {receipt} units; the proven product is {proof} (m·k·n)")]
    Units { receipt: u64, proof: u64 },
    #[error("the receipt's {0} is not the work proof's")]
    Commitment(&'static str),
    #[error("this build proves and verifies work with MULX/ADX assembly, and this CPU lacks BMI2 or ADX: use a build without proofmint-work's asm feature")]
    Cpu,
}

/// A product's work proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkProof {
    pub shape: Shape,
    /// The commitment to `A‖B` (the receipt's `inputCommitment`).
    pub input: Fr,
    /// The commitment to `C` (the receipt's `outputCommitment`).
    pub output: Fr,
    pub proof: Vec<u8>,
}

/// Whether `shape` is one a work proof may have; the circuit size it needs.
pub fn check_shape(shape: Shape) -> Result<u32, WorkError> {
    let dims = [shape.m, shape.k, shape.n];
    if dims.iter().any(|&d| d == 0 || d > MAX_DIMENSION) {
        return Err(WorkError::Shape(shape));
    }
    let k = shape.circuit_log_size();
    if k > MAX_LOG_SIZE {
        return Err(WorkError::Shape(shape));
    }
    Ok(k)
}

fn blank(shape: Shape) -> GemmCircuit {
    GemmCircuit {
        shape,
        matrices: None,
        tamper: None,
    }
}

fn halo2(e: halo2_proofs::plonk::Error) -> WorkError {
    WorkError::Halo2(e.to_string())
}

fn params_fit(params: &ParamsKZG<Bn256>, need: u32) -> Result<(), WorkError> {
    use halo2_proofs::poly::commitment::Params;
    if params.k() != need {
        return Err(WorkError::Params {
            have: params.k(),
            need,
        });
    }
    Ok(())
}

/// The verifying key of `shape`'s circuit (it depends on the shape and the
/// parameters only). `params` must be for the shape's circuit size.
pub fn verifying_key(
    params: &ParamsKZG<Bn256>,
    shape: Shape,
) -> Result<VerifyingKey<G1Affine>, WorkError> {
    params_fit(params, check_shape(shape)?)?;
    proof::verifying_key(params, &blank(shape)).map_err(halo2)
}

/// The proving key of `shape`'s circuit (it depends on the shape and the
/// parameters only): made once per shape by a prover that proves many
/// products of it. `params` must be for the shape's circuit size.
pub fn proving_key(
    params: &ParamsKZG<Bn256>,
    shape: Shape,
) -> Result<ProvingKey<G1Affine>, WorkError> {
    params_fit(params, check_shape(shape)?)?;
    proof::proving_key(params, &blank(shape)).map_err(halo2)
}

/// The shape of `A·B`, refused unless A's columns are B's rows.
pub fn product_shape(a: &Matrix, b: &Matrix) -> Result<Shape, WorkError> {
    if a.columns != b.rows {
        return Err(WorkError::Mismatch(a.rows, a.columns, b.rows, b.columns));
    }
    Ok(Shape {
        m: a.rows,
        k: a.columns,
        n: b.columns,
    })
}

/// Computes `C = A·B` and proves it, making the shape's proving key first.
/// `params` must be for the shape's circuit size ([`check_shape`]).
pub fn prove_gemm(
    params: &ParamsKZG<Bn256>,
    a: &Matrix,
    b: &Matrix,
    rng: impl rand::RngCore,
) -> Result<(WideMatrix, WorkProof), WorkError> {
    let key = proving_key(params, product_shape(a, b)?)?;
    prove_gemm_with(params, &key, a, b, rng)
}

/// [`prove_gemm`] with the shape's proving key made before ([`proving_key`]).
pub fn prove_gemm_with(
    params: &ParamsKZG<Bn256>,
    key: &ProvingKey<G1Affine>,
    a: &Matrix,
    b: &Matrix,
    rng: impl rand::RngCore,
) -> Result<(WideMatrix, WorkProof), WorkError> {
    let shape = product_shape(a, b)?;
    params_fit(params, check_shape(shape)?)?;
    let circuit = GemmCircuit::new(shape, a.entries.clone(), b.entries.clone());
    let c = circuit.matrices.as_ref().expect("a witness").2.clone();
    let [input, output] = circuit.public_inputs().expect("a witness");
    let proof = proof::prove(params, key, &circuit, &[&[input, output]], rng).map_err(halo2)?;
    Ok((
        WideMatrix {
            rows: shape.m,
            columns: shape.n,
            entries: c,
        },
        WorkProof {
            shape,
            input,
            output,
            proof,
        },
    ))
}

impl WorkProof {
    /// The receipt's `units` for this product: m·k·n multiply-adds.
    pub fn units(&self) -> u64 {
        (self.shape.m * self.shape.k * self.shape.n) as u64
    }

    /// Verifies the proof against its shape and commitments. `params` must
    /// be for the shape's circuit size.
    pub fn verify(&self, params: &ParamsKZG<Bn256>) -> Result<(), WorkError> {
        self.verify_with(params, &verifying_key(params, self.shape)?)
    }

    /// [`Self::verify`] with the shape's verifying key made before
    /// ([`verifying_key`]), for a verifier that checks many proofs of a shape.
    pub fn verify_with(
        &self,
        params: &ParamsKZG<Bn256>,
        key: &VerifyingKey<G1Affine>,
    ) -> Result<(), WorkError> {
        params_fit(params, check_shape(self.shape)?)?;
        if proof::verify(params, key, &[&[self.input, self.output]], &self.proof) {
            Ok(())
        } else {
            Err(WorkError::Invalid)
        }
    }

    /// Whether this proof is the evidence of `receipt`: a matrix product
    /// (kind 1) of the receipt's units, whose commitments are the receipt's.
    /// (The proof itself is checked by [`Self::verify`] or
    /// [`WorkVerifier::verify_many`].)
    pub fn matches_receipt(&self, receipt: &Receipt) -> Result<(), WorkError> {
        if receipt.kind != KIND_GEMM {
            return Err(WorkError::ReceiptKind(receipt.kind));
        }
        if receipt.units != self.units() {
            return Err(WorkError::Units {
                receipt: receipt.units,
                proof: self.units(),
            });
        }
        if from_ark(receipt.input_commitment) != self.input {
            return Err(WorkError::Commitment("inputCommitment"));
        }
        if from_ark(receipt.output_commitment) != self.output {
            return Err(WorkError::Commitment("outputCommitment"));
        }
        Ok(())
    }

    /// The receipt this proof is the evidence of, for `job_id` done by
    /// `node` for `client` in `epoch`: kind 1, the proof's units and its
    /// commitments (what the client signs).
    pub fn receipt(&self, job_id: ArkFr, node: Address, client: Address, epoch: u64) -> Receipt {
        Receipt {
            job_id,
            node,
            client,
            epoch,
            units: self.units(),
            kind: KIND_GEMM,
            input_commitment: to_ark(self.input),
            output_commitment: to_ark(self.output),
        }
    }

    /// Whether `a`, `b` and `c` are the matrices this proof commits to.
    pub fn commits_to(&self, a: &Matrix, b: &Matrix, c: &WideMatrix) -> bool {
        self.commits_to_inputs(a, b) && self.commits_to_product(c)
    }

    /// Whether `a` and `b` are the input matrices this proof commits to.
    pub fn commits_to_inputs(&self, a: &Matrix, b: &Matrix) -> bool {
        let Shape { m, k, n } = self.shape;
        (a.rows, a.columns, b.rows, b.columns) == (m, k, k, n)
            && input_commitment(self.shape, &a.entries, &b.entries) == self.input
    }

    /// Whether `c` is the product this proof commits to.
    pub fn commits_to_product(&self, c: &WideMatrix) -> bool {
        (c.rows, c.columns) == (self.shape.m, self.shape.n)
            && output_commitment(self.shape, &c.entries) == self.output
    }

    /// `PMWK`, version, kind (u32), m, k, n (u32 each), the input and output
    /// commitments (32 bytes each, big-endian), the proof's length (u32) and
    /// the proof; integers big-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 1 + 16 + 64 + 4 + self.proof.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&KIND_GEMM.to_be_bytes());
        for d in [self.shape.m, self.shape.k, self.shape.n] {
            out.extend_from_slice(&(d as u32).to_be_bytes());
        }
        for x in [self.input, self.output] {
            let mut bytes = x.to_repr();
            bytes.reverse();
            out.extend_from_slice(&bytes);
        }
        out.extend_from_slice(&(self.proof.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.proof);
        out
    }

    /// Reads [`Self::to_bytes`]'s layout, refusing anything else with the reason.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WorkError> {
        let mut at = 0usize;
        let mut take = |len: usize, what: &'static str| -> Result<&[u8], WorkError> {
            let part = bytes.get(at..at + len).ok_or(WorkError::Truncated(what))?;
            at += len;
            Ok(part)
        };
        if take(4, "the magic")? != MAGIC {
            return Err(WorkError::Magic);
        }
        let version = take(1, "the version")?[0];
        if version != VERSION {
            return Err(WorkError::Version(version));
        }
        let mut u32_of = |what| -> Result<u32, WorkError> {
            Ok(u32::from_be_bytes(
                take(4, what)?.try_into().expect("4 bytes"),
            ))
        };
        let kind = u32_of("the kind")?;
        if kind != KIND_GEMM {
            return Err(WorkError::Kind(kind));
        }
        let shape = Shape {
            m: u32_of("the shape")? as usize,
            k: u32_of("the shape")? as usize,
            n: u32_of("the shape")? as usize,
        };
        check_shape(shape)?;
        let mut fr = |what| -> Result<Fr, WorkError> {
            let mut repr: [u8; 32] = take(32, what)?.try_into().expect("32 bytes");
            repr.reverse();
            Option::from(Fr::from_repr(repr)).ok_or(WorkError::NonCanonical(what))
        };
        let input = fr("the input commitment")?;
        let output = fr("the output commitment")?;
        let length =
            u32::from_be_bytes(take(4, "the proof length")?.try_into().expect("4")) as usize;
        if length > MAX_PROOF_BYTES {
            return Err(WorkError::ProofLength(length));
        }
        let proof = take(length, "the proof")?.to_vec();
        if at != bytes.len() {
            return Err(WorkError::Trailing(bytes.len() - at));
        }
        Ok(Self {
            shape,
            input,
            output,
            proof,
        })
    }
}

/// Proofs that share one final pairing check in [`WorkVerifier::verify_many`].
const BATCH: usize = 16;

/// A verifying key, or why the shape's key could not be made.
type Key = std::sync::Arc<Result<VerifyingKey<G1Affine>, String>>;

/// What a checker of many work proofs keeps: the parameters of each circuit
/// size (2^k rows, by k) and the verifying key of every shape it has met,
/// each made once.
pub struct WorkVerifier {
    params: BTreeMap<u32, ParamsKZG<Bn256>>,
    keys: std::sync::Mutex<HashMap<Shape, Key>>,
}

impl WorkVerifier {
    pub fn new(params: BTreeMap<u32, ParamsKZG<Bn256>>) -> Self {
        Self {
            params,
            keys: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The keys of `shapes` (each with its circuit size), making the missing
    /// ones in parallel.
    fn keys(&self, shapes: &[(Shape, u32)]) -> HashMap<Shape, Key> {
        let known = self.keys.lock().expect("no panic holds the lock").clone();
        let made: Vec<(Shape, Key)> = shapes
            .par_iter()
            .filter(|(shape, _)| !known.contains_key(shape))
            .map(|&(shape, k)| {
                let key = proof::verifying_key(&self.params[&k], &blank(shape))
                    .map_err(|e| e.to_string());
                (shape, std::sync::Arc::new(key))
            })
            .collect();
        let mut keys = self.keys.lock().expect("no panic holds the lock");
        keys.extend(made);
        keys.clone()
    }

    /// Verifies many work proofs at once. Proofs of one circuit size are cut
    /// into batches that each end in a single pairing check (halo2's
    /// `AccumulatorStrategy`: every proof's contribution is scaled by a fresh
    /// random factor, so one bad proof fails its batch with overwhelming
    /// probability), and the batches run on every core; a batch that fails
    /// is checked again one proof at a time, to name the bad ones. Returns
    /// every failing proof's index with the reason, in index order.
    pub fn verify_many(&self, proofs: &[WorkProof]) -> Vec<(usize, WorkError)> {
        let mut failures = Vec::new();
        let mut by_size: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        let mut shapes: Vec<(Shape, u32)> = Vec::new();
        for (index, proof) in proofs.iter().enumerate() {
            match check_shape(proof.shape) {
                Err(e) => failures.push((index, e)),
                Ok(k) if !self.params.contains_key(&k) => {
                    failures.push((index, WorkError::NoParams(k)))
                }
                Ok(k) => {
                    by_size.entry(k).or_default().push(index);
                    if !shapes.iter().any(|(s, _)| *s == proof.shape) {
                        shapes.push((proof.shape, k));
                    }
                }
            }
        }
        let keys = self.keys(&shapes);
        let batches: Vec<(u32, &[usize])> = by_size
            .iter()
            .flat_map(|(&k, indices)| indices.chunks(BATCH).map(move |chunk| (k, chunk)))
            .collect();
        let batch_failures: Vec<(usize, WorkError)> = batches
            .par_iter()
            .flat_map_iter(|&(k, chunk)| {
                let params = &self.params[&k];
                if verify_batch(params, &keys, proofs, chunk) {
                    return Vec::new();
                }
                chunk
                    .iter()
                    .filter(|&&index| !verify_batch(params, &keys, proofs, &[index]))
                    .map(|&index| {
                        let reason = match keys[&proofs[index].shape].as_ref() {
                            Err(e) => WorkError::Halo2(e.clone()),
                            Ok(_) => WorkError::Invalid,
                        };
                        (index, reason)
                    })
                    .collect()
            })
            .collect();
        failures.extend(batch_failures);
        failures.sort_by_key(|(index, _)| *index);
        failures
    }
}

/// Whether every proof of `chunk` verifies, with one final pairing check.
fn verify_batch(
    params: &ParamsKZG<Bn256>,
    keys: &HashMap<Shape, Key>,
    proofs: &[WorkProof],
    chunk: &[usize],
) -> bool {
    let mut strategy = AccumulatorStrategy::new(params.verifier_params());
    for &index in chunk {
        let proof = &proofs[index];
        let Ok(key) = keys[&proof.shape].as_ref() else {
            return false;
        };
        let mut transcript = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(&proof.proof[..]);
        let public: &[Fr] = &[proof.input, proof.output];
        strategy = match verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<_>, _, _, _>(
            params.verifier_params(),
            key,
            strategy,
            &[&[public]],
            &mut transcript,
        ) {
            Ok(strategy) => strategy,
            Err(_) => return false,
        };
    }
    VerificationStrategy::<_, VerifierSHPLONK<_>>::finalize(strategy)
}
