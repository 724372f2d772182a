//! The cold-start parts of a proof, each beside ark-relations' way, timed
//! once in this fresh process (no other key held): the claim circuit's
//! matrices (our slot template against `ConstraintMatrices::of`) and its
//! witness (native, slot by slot in parallel, against one constraint system), for
//! each slot count given (default 16 64 256; depth 20).
//!
//! `cargo run --release -p proofmint-prover --example cold_start -- 64 256`

use std::time::Instant;

use ark_bn254::Fr;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, SynthesisMode};
use proofmint_circuits::claim::{ClaimCircuit, ClaimShape};
use proofmint_prover::groth16::ConstraintMatrices;
use proofmint_prover::matrices::claim_matrices;

fn timed<T>(step: impl FnOnce() -> T) -> f64 {
    let start = Instant::now();
    drop(step());
    start.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let mut slots: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if slots.is_empty() {
        slots = vec![16, 64, 256];
    }
    println!("slots  matrices: template / ark-relations   witness: native / constraint system");
    for slots in slots {
        let shape = ClaimShape::new(slots, 20).expect("a valid shape");
        let template = timed(|| claim_matrices(shape).expect("matrices"));
        let ark = timed(|| ConstraintMatrices::of(ClaimCircuit::blank(shape)).expect("matrices"));
        let circuit = proofmint_prover::sample::full_claim(shape);
        let native = timed(|| circuit.witness().expect("witness"));
        let system = timed(|| {
            let cs = ConstraintSystem::<Fr>::new_ref();
            cs.set_mode(SynthesisMode::Prove {
                construct_matrices: false,
                generate_lc_assignments: false,
            });
            circuit
                .clone()
                .generate_constraints(cs.clone())
                .expect("synthesis");
            cs.witness_assignment().expect("assignment")
        });
        println!(
            "{slots:>5}  {template:>9.1} ms / {ark:>9.1} ms ({:.1}x)   {native:>7.1} ms / {system:>7.1} ms ({:.1}x)",
            ark / template,
            system / native
        );
    }
}
