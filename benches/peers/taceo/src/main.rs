//! taceo-groth16, a peer in proofmint's proving benchmark
//! (`benches/ceremony/prove.sh`): loads a snarkjs `.zkey` and a `.wtns`
//! with taceo-circom-types, proves with snarkjs's reduction, checks the proof
//! with ark-groth16's verifier, and prints the time of each step.
//!
//!   taceo-prove KEY.zkey WITNESS.wtns [REPEAT]
//!
//! REPEAT proofs follow the first on the loaded key (the warm figure).

use std::fs::File;
use std::io::BufReader;
use std::time::Instant;

use ark_bn254::{Bn254, Fr};
use ark_ff::UniformRand;
use taceo_circom_types::groth16::Zkey;
use taceo_circom_types::{CheckElement, Witness};
use taceo_groth16::{CircomReduction, ConstraintMatrices, Groth16, ProvingKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, zkey, wtns, rest @ ..] = args.as_slice() else {
        return Err("usage: taceo-prove KEY.zkey WITNESS.wtns [REPEAT]".into());
    };
    let repeat: usize = rest.first().map(|r| r.parse()).transpose()?.unwrap_or(0);

    let start = Instant::now();
    // Points are not checked, as snarkjs and rapidsnark load them.
    let zkey = Zkey::<Bn254>::from_reader(BufReader::new(File::open(zkey)?), CheckElement::No)?;
    let (matrices, pk): (ConstraintMatrices<Fr>, ProvingKey<Bn254>) = zkey.into();
    let witness = Witness::<Fr>::from_reader(BufReader::new(File::open(wtns)?))?.values;
    let load = start.elapsed().as_secs_f64();

    let mut rng = rand::thread_rng();
    let mut times = Vec::new();
    let mut proof = None;
    for _ in 0..=repeat {
        let (r, s) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
        let start = Instant::now();
        proof = Some(Groth16::<Bn254>::prove::<CircomReduction>(
            &pk, r, s, &matrices, &witness,
        )?);
        times.push(start.elapsed().as_secs_f64());
    }
    let public = &witness[1..matrices.num_instance_variables];
    Groth16::<Bn254>::verify(&pk.vk, &proof.expect("one proof at least"), public)?;
    let warm = &times[1.min(times.len() - 1)..];
    println!(
        "taceo-groth16: load {load:.2} s, first proof {:.2} s, warm proof {:.2} s (best of {}), proof verifies",
        times[0],
        warm.iter().copied().fold(f64::INFINITY, f64::min),
        warm.len()
    );
    Ok(())
}
