//! The deterministic randomness of snarkjs's phase 2, reproduced so that
//! transcripts mix with `snarkjs zkey contribute / beacon / verify`: the
//! ChaCha20 generator of ffjavascript, its field and curve sampling
//! (`fromRng`), the hash to G2 that binds a proof of knowledge to its
//! transcript, and the random beacon's generator.
//!
//! ffjavascript's field elements live in Montgomery form, and `fromRng`
//! fills that form with random bits: the sampled element is v·R⁻¹ for the
//! random v < p (R = 2^256). arkworks keeps the same form, so
//! `new_unchecked(v)` is the same element.

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine, G2Projective};
use ark_ec::short_weierstrass::SWCurveConfig;
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{BigInt, BigInteger, Field, Fp256, MontBackend, MontConfig, PrimeField, Zero};
use sha2::{Digest, Sha256};

/// G2's cofactor as ffjavascript multiplies by it (bn128.js).
const G2_COFACTOR: [u64; 4] = [
    0x345f2299c0f9fa8d,
    0x06ceecda572a2489,
    0xb85045b68181585e,
    0x30644e72e131a029,
];

/// ffjavascript's ChaCha20: the seed is the key (8 words), words 12 to 15
/// a block counter carried upwards, the nonce zero.
pub struct ChaCha {
    state: [u32; 16],
    block: [u32; 16],
    index: usize,
}

fn quarter_round(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(7);
}

impl ChaCha {
    pub fn new(seed: [u32; 8]) -> Self {
        let mut state = [0u32; 16];
        state[..4].copy_from_slice(&[0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]);
        state[4..12].copy_from_slice(&seed);
        Self {
            state,
            block: [0; 16],
            index: 16,
        }
    }

    /// Seeded with the first 32 bytes of `hash` as big-endian words, as
    /// snarkjs seeds it from a transcript or a beacon.
    pub fn from_hash(hash: &[u8]) -> Self {
        Self::new(std::array::from_fn(|i| {
            u32::from_be_bytes(hash[4 * i..4 * i + 4].try_into().expect("4 bytes"))
        }))
    }

    fn refill(&mut self) {
        let mut block = self.state;
        for _ in 0..10 {
            quarter_round(&mut block, 0, 4, 8, 12);
            quarter_round(&mut block, 1, 5, 9, 13);
            quarter_round(&mut block, 2, 6, 10, 14);
            quarter_round(&mut block, 3, 7, 11, 15);
            quarter_round(&mut block, 0, 5, 10, 15);
            quarter_round(&mut block, 1, 6, 11, 12);
            quarter_round(&mut block, 2, 7, 8, 13);
            quarter_round(&mut block, 3, 4, 9, 14);
        }
        for (out, input) in block.iter_mut().zip(self.state) {
            *out = out.wrapping_add(input);
        }
        self.block = block;
        self.index = 0;
        for word in 12..16 {
            self.state[word] = self.state[word].wrapping_add(1);
            if self.state[word] != 0 {
                break;
            }
        }
    }

    pub fn next_u32(&mut self) -> u32 {
        if self.index == 16 {
            self.refill();
        }
        self.index += 1;
        self.block[self.index - 1]
    }

    /// Two words, the first the high half.
    pub fn next_u64(&mut self) -> u64 {
        let high = self.next_u32() as u64;
        (high << 32) | self.next_u32() as u64
    }

    pub fn next_bool(&mut self) -> bool {
        self.next_u32() & 1 == 1
    }

    /// `F.fromRng`: four 64-bit limbs, the low first, cut to the modulus's
    /// bit length, drawn again until below the modulus; taken as the
    /// element's Montgomery form.
    pub fn field<P: MontConfig<4>>(&mut self) -> Fp256<MontBackend<P, 4>> {
        let bits = P::MODULUS.num_bits();
        loop {
            let mut limbs = [0u64; 4];
            for limb in limbs.iter_mut() {
                *limb = self.next_u64();
            }
            limbs[3] &= u64::MAX >> (256 - bits);
            let v = BigInt(limbs);
            if v < P::MODULUS {
                return Fp256::new_unchecked(v);
            }
        }
    }

    /// `G1.fromRng`: x from the generator, a bit choosing the sign of y,
    /// again until x³ + 3 is a square.
    pub fn g1(&mut self) -> G1Affine {
        loop {
            let x: Fq = self.field();
            let greatest = self.next_bool();
            let rhs = x.square() * x + ark_bn254::g1::Config::COEFF_B;
            if let Some(y) = rhs.sqrt() {
                let y = if negative_fq(&y) == greatest { y } else { -y };
                return G1Affine::new_unchecked(x, y);
            }
        }
    }

    /// `G2.fromRng`: as [`ChaCha::g1`] over Fq2 (c0 drawn first), then
    /// multiplied by G2's cofactor.
    pub fn g2(&mut self) -> G2Affine {
        loop {
            let c0: Fq = self.field();
            let c1: Fq = self.field();
            let x = Fq2::new(c0, c1);
            let greatest = self.next_bool();
            let rhs = x.square() * x + ark_bn254::g2::Config::COEFF_B;
            if let Some(y) = rhs.sqrt() {
                let negative = if y.c1.is_zero() {
                    negative_fq(&y.c0)
                } else {
                    negative_fq(&y.c1)
                };
                let y = if negative == greatest { y } else { -y };
                let point = G2Projective::from(G2Affine::new_unchecked(x, y));
                return point.mul_bigint(G2_COFACTOR).into_affine();
            }
        }
    }
}

/// ffjavascript's sign: above (p − 1)/2 is negative.
fn negative_fq(value: &Fq) -> bool {
    value.into_bigint() > Fq::MODULUS_MINUS_ONE_DIV_TWO
}

/// snarkjs's `hashToG2`: the G2 point a proof of knowledge pairs with,
/// drawn from ChaCha seeded with the transcript hash.
pub fn hash_to_g2(transcript: &[u8; 64]) -> G2Affine {
    ChaCha::from_hash(transcript).g2()
}

/// The random beacon's generator (`rngFromBeaconParams`): SHA-256 applied
/// 2^`iterations_exp` times to the beacon's bytes seeds ChaCha.
pub fn beacon_rng(hash: &[u8], iterations_exp: u8) -> ChaCha {
    let mut current = Sha256::digest(hash);
    let rounds = 1u128 << iterations_exp;
    for _ in 1..rounds {
        current = Sha256::digest(current);
    }
    ChaCha::from_hash(&current)
}

/// A point's uncompressed big-endian encoding (ffjavascript's
/// `toRprUncompressed`), which snarkjs hashes: x then y, Fq2 as c1 then c0,
/// zeros for infinity.
pub fn g1_uncompressed(point: &G1Affine) -> [u8; 64] {
    let mut out = [0u8; 64];
    if let Some((x, y)) = point.xy() {
        out[..32].copy_from_slice(&x.into_bigint().to_bytes_be());
        out[32..].copy_from_slice(&y.into_bigint().to_bytes_be());
    }
    out
}

/// [`g1_uncompressed`] for G2.
pub fn g2_uncompressed(point: &G2Affine) -> [u8; 128] {
    let mut out = [0u8; 128];
    if let Some((x, y)) = point.xy() {
        for (i, c) in [x.c1, x.c0, y.c1, y.c0].iter().enumerate() {
            out[32 * i..32 * i + 32].copy_from_slice(&c.into_bigint().to_bytes_be());
        }
    }
    out
}
