//! Prints the claim circuit's constraint count for each preset.
use proofmint_circuits::claim::{ClaimShape, PRESET_SLOTS};
use proofmint_prover::keys::constraint_count;

fn main() {
    let depth = std::env::args()
        .nth(1)
        .and_then(|d| d.parse().ok())
        .unwrap_or(20);
    for slots in PRESET_SLOTS {
        let shape = ClaimShape::new(slots, depth).expect("preset shapes are valid");
        println!("{shape}: {} constraints", constraint_count(shape));
    }
}
