//! KZG parameters from a Powers of Tau: the points are the powers of its τ,
//! and a halo2 proof (SHPLONK) made on them verifies on them and on nothing
//! else.

use ark_bn254::Fr as ArkFr;
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine};
use halo2_proofs::halo2curves::group::Curve;
use halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Instance, Selector};
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::poly::Rotation;
use proofmint_circuits::ptau::Ptau;
use proofmint_work::proof;
use proofmint_work::srs::params_from_ptau;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// `a · b = c` with `c` public: the smallest circuit with a gate and an instance.
#[derive(Clone, Default)]
struct Product {
    a: Fr,
    b: Fr,
}

#[derive(Clone)]
struct ProductConfig {
    a: Column<Advice>,
    b: Column<Advice>,
    c: Column<Advice>,
    product: Selector,
    public: Column<Instance>,
}

impl Circuit<Fr> for Product {
    type Config = ProductConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        Self::default()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> ProductConfig {
        let [a, b, c] = [(); 3].map(|_| meta.advice_column());
        let product = meta.selector();
        let public = meta.instance_column();
        meta.enable_equality(c);
        meta.enable_equality(public);
        meta.create_gate("a · b = c", |meta| {
            let s = meta.query_selector(product);
            let [a, b, c] = [a, b, c].map(|col| meta.query_advice(col, Rotation::cur()));
            vec![s * (a * b - c)]
        });
        ProductConfig {
            a,
            b,
            c,
            product,
            public,
        }
    }

    fn synthesize(
        &self,
        config: ProductConfig,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        let c = layouter.assign_region(
            || "product",
            |mut region| {
                config.product.enable(&mut region, 0)?;
                region.assign_advice(config.a, 0, Value::known(self.a));
                region.assign_advice(config.b, 0, Value::known(self.b));
                Ok(region.assign_advice(config.c, 0, Value::known(self.a * self.b)))
            },
        )?;
        layouter.constrain_instance(c.cell(), config.public, 0);
        Ok(())
    }
}

const K: u32 = 4;

fn params(tau: u64) -> ParamsKZG<Bn256> {
    let ptau = Ptau::from_secrets(K, ArkFr::from(tau), ArkFr::from(3u64), ArkFr::from(5u64));
    params_from_ptau(&ptau, K).unwrap()
}

fn prove(params: &ParamsKZG<Bn256>, circuit: &Product, public: Fr) -> Vec<u8> {
    let key = proof::proving_key(params, circuit).unwrap();
    proof::prove(
        params,
        &key,
        circuit,
        &[&[public]],
        ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap()
}

fn verifies(params: &ParamsKZG<Bn256>, proof: &[u8], public: Fr) -> bool {
    let key = proof::verifying_key(params, &Product::default()).unwrap();
    proof::verify(params, &key, &[&[public]], proof)
}

#[test]
fn parameters_are_the_powers_of_tau() {
    let params = params(7);
    let g = G1Affine::generator();
    let mut power = Fr::one();
    for point in params.get_g().iter().take(1 << K) {
        assert_eq!(*point, (g * power).to_affine());
        power *= Fr::from(7u64);
    }
    assert_eq!(params.g2(), G2Affine::generator());
    assert_eq!(
        params.s_g2(),
        (G2Affine::generator() * Fr::from(7u64)).to_affine()
    );
}

#[test]
fn a_proof_on_ptau_parameters_verifies_there_and_nowhere_else() {
    let params_a = params(7);
    let circuit = Product {
        a: Fr::from(6u64),
        b: Fr::from(9u64),
    };
    let proof = prove(&params_a, &circuit, Fr::from(54u64));
    assert!(verifies(&params_a, &proof, Fr::from(54u64)));
    // Another public output, another setup, a damaged proof: each refused.
    assert!(!verifies(&params_a, &proof, Fr::from(55u64)));
    assert!(!verifies(&params(8), &proof, Fr::from(54u64)));
    let mut damaged = proof.clone();
    damaged[40] ^= 1;
    assert!(!verifies(&params_a, &damaged, Fr::from(54u64)));
}
