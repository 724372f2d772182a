//! Making and checking work proofs: SHPLONK multi-opening KZG proofs with a
//! Blake2b transcript, the one proof system every work kernel uses.

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{
    create_proof, keygen_pk, keygen_vk, verify_proof, Circuit, Error, ProvingKey, VerifyingKey,
};
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::{
    Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer,
};

/// The verifying key of a circuit (its shape only: witnesses are not read).
pub fn verifying_key<C: Circuit<Fr>>(
    params: &ParamsKZG<Bn256>,
    circuit: &C,
) -> Result<VerifyingKey<G1Affine>, Error> {
    keygen_vk(params, circuit)
}

/// The proving key of a circuit.
pub fn proving_key<C: Circuit<Fr>>(
    params: &ParamsKZG<Bn256>,
    circuit: &C,
) -> Result<ProvingKey<G1Affine>, Error> {
    keygen_pk(params, verifying_key(params, circuit)?, circuit)
}

/// A proof of `circuit` with one instance column's values `public`.
pub fn prove<C: Circuit<Fr>, R: rand::RngCore>(
    params: &ParamsKZG<Bn256>,
    key: &ProvingKey<G1Affine>,
    circuit: &C,
    public: &[&[Fr]],
    rng: R,
) -> Result<Vec<u8>, Error> {
    let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<_>, _, _, _, _>(
        params,
        key,
        std::slice::from_ref(circuit),
        &[public],
        rng,
        &mut transcript,
    )?;
    Ok(transcript.finalize())
}

/// Whether `proof` proves the circuit of `key` with public values `public`.
pub fn verify(
    params: &ParamsKZG<Bn256>,
    key: &VerifyingKey<G1Affine>,
    public: &[&[Fr]],
    proof: &[u8],
) -> bool {
    let mut transcript = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(proof);
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<_>, _, _, _>(
        params.verifier_params(),
        key,
        SingleStrategy::new(params),
        &[public],
        &mut transcript,
    )
    .is_ok()
}
