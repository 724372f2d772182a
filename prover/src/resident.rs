//! Groth16 with the proving key resident on a GPU (ICICLE).
//!
//! [`ResidentKey::upload`] puts a key's five queries on the device once, in
//! the layout ICICLE's MSM takes (canonical affine coordinates), and a
//! prover keeps it for every proof of that key. A proof then sends up only
//! the A·z, B·z and C·z evaluations on H and the assignment (Montgomery limbs
//! as they are; the device takes them out of Montgomery form), runs the
//! witness map there (the seven NTTs of [`groth16::witness_map`], or the six
//! of [`groth16::witness_map_circom`], and the pointwise products with
//! ICICLE's vector operations), leaves h there for the H query's MSM, and
//! brings back five points. The blinding is on the host, as in
//! [`groth16::prove_assignment`], drawing r then s from the same generator,
//! so a seeded proof is the same bytes on either path (the tests hold it so).

use std::sync::{Arc, Mutex};

use ark_bn254::{Bn254, Fr, G1Affine};
use ark_ff::{AdditiveGroup, Field};
use ark_groth16::{Proof, ProvingKey};
use ark_std::UniformRand;
use proofmint_circuits::field::concat_par;
use proofmint_gpu::icicle::{DeviceBuffer, IcicleBackend, Scalar, G1, G2};
use proofmint_gpu::NttDirection;
use rand::{CryptoRng, RngCore};

use crate::groth16::{self, ConstraintMatrices, Groth16Error, Sums};

pub use crate::groth16::QapForm;

/// A proving key's queries on the device.
pub struct ResidentKey {
    device: IcicleBackend,
    form: QapForm,
    /// `a_query[1..]`, `b_g1_query[1..]`, `b_g2_query[1..]` (the constant's
    /// terms stay on the host), `l_query`, `h_query`.
    a: DeviceBuffer<G1>,
    b_g1: DeviceBuffer<G1>,
    b_g2: DeviceBuffer<G2>,
    l: DeviceBuffer<G1>,
    h: DeviceBuffer<G1>,
    /// Which key this is: δ in G1 (fresh for every setup) and the lengths.
    delta_g1: G1Affine,
    /// The host's A·z, B·z, C·z vectors of finished proofs, for the next.
    host: Mutex<Vec<[Vec<Fr>; 3]>>,
}

impl ResidentKey {
    /// Uploads `pk`'s queries to `device`.
    pub fn upload(
        device: &IcicleBackend,
        pk: &ProvingKey<Bn254>,
        form: QapForm,
    ) -> Result<Self, Groth16Error> {
        if pk.a_query.is_empty() || pk.b_g1_query.is_empty() || pk.b_g2_query.is_empty() {
            return Err(Groth16Error::KeyMismatch(
                "the key has an empty query".into(),
            ));
        }
        let key = Self {
            device: device.clone(),
            form,
            a: device.upload_g1(&pk.a_query[1..])?,
            b_g1: device.upload_g1(&pk.b_g1_query[1..])?,
            b_g2: device.upload_g2(&pk.b_g2_query[1..])?,
            l: device.upload_g1(&pk.l_query)?,
            h: device.upload_g1(&pk.h_query)?,
            delta_g1: pk.delta_g1,
            host: Mutex::default(),
        };
        key.warm(pk)?;
        Ok(key)
    }

    /// Makes now what the first proof would otherwise make: ICICLE's NTT
    /// domain, the coset powers (forward and inverse) and the host's
    /// vectors, touched so that their pages exist. The first proof after an
    /// upload is then as fast as the later ones (it was 1.6x slower).
    fn warm(&self, pk: &ProvingKey<Bn254>) -> Result<(), Groth16Error> {
        let Some(size) = self.form.domain_of(pk.h_query.len()) else {
            return Ok(()); // not a key of ours: the proof will say so
        };
        let offset = self.form.coset(size)?;
        let zeros = vec![Fr::ZERO; size];
        let input = self.device.upload_scalars(&zeros)?;
        let mut output = self.device.allocate::<Scalar>(size)?;
        for direction in [NttDirection::Forward, NttDirection::Inverse] {
            self.device
                .ntt_resident(&input, &mut output, offset, direction)?;
        }
        // Written element by element (a clone copies), so the pages exist.
        let host = [zeros.clone(), zeros.clone(), zeros];
        self.host
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(host);
        Ok(())
    }

    /// Whether this key lives on `device`.
    pub fn is_on(&self, device: &IcicleBackend) -> bool {
        self.device.same_as(device)
    }

    /// Device memory held, in bytes.
    pub fn bytes(&self) -> usize {
        64 * (self.a.len() + self.b_g1.len() + self.l.len() + self.h.len()) + 128 * self.b_g2.len()
    }

    /// Refuses to prove with another key's bases.
    fn check_is(&self, pk: &ProvingKey<Bn254>) -> Result<(), Groth16Error> {
        let same = self.delta_g1 == pk.delta_g1
            && self.a.len() + 1 == pk.a_query.len()
            && self.b_g1.len() + 1 == pk.b_g1_query.len()
            && self.b_g2.len() + 1 == pk.b_g2_query.len()
            && self.l.len() == pk.l_query.len()
            && self.h.len() == pk.h_query.len();
        if !same {
            return Err(Groth16Error::KeyMismatch(
                "the key on the device is not this proving key".into(),
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for ResidentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResidentKey")
            .field("device", &self.device.device())
            .field("form", &self.form)
            .field("bytes", &self.bytes())
            .finish()
    }
}

/// Where a proving key keeps its [`ResidentKey`]: empty until the first
/// proof on a device. A clone of the key shares the device copy.
#[derive(Debug, Default)]
pub(crate) struct ResidentSlot(Mutex<Option<Arc<ResidentKey>>>);

impl Clone for ResidentSlot {
    fn clone(&self) -> Self {
        Self(Mutex::new(self.lock().clone()))
    }
}

impl ResidentSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<ResidentKey>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `pk` on `device`: uploaded at the first call, then kept (one upload
    /// even when several workers ask at once). Another device's copy is
    /// released before this one is made.
    pub(crate) fn on(
        &self,
        device: &IcicleBackend,
        pk: &ProvingKey<Bn254>,
        form: QapForm,
    ) -> Result<Arc<ResidentKey>, Groth16Error> {
        let mut resident = self.lock();
        if let Some(key) = resident.as_ref().filter(|key| key.is_on(device)) {
            return Ok(key.clone());
        }
        *resident = None;
        let key = Arc::new(ResidentKey::upload(device, pk, form)?);
        *resident = Some(key.clone());
        Ok(key)
    }
}

/// h on the device (canonical), from the full assignment: the witness map of
/// `form` on ICICLE's NTTs and vector operations.
pub fn witness_map_resident(
    device: &IcicleBackend,
    matrices: &ConstraintMatrices,
    assignment: &[Fr],
    form: QapForm,
) -> Result<DeviceBuffer<Scalar>, Groth16Error> {
    witness_map_into(device, matrices, assignment, form, &mut Default::default())
}

/// [`witness_map_resident`] with the host's A·z, B·z, C·z in `host` (kept
/// between proofs).
fn witness_map_into(
    device: &IcicleBackend,
    matrices: &ConstraintMatrices,
    assignment: &[Fr],
    form: QapForm,
    host: &mut [Vec<Fr>; 3],
) -> Result<DeviceBuffer<Scalar>, Groth16Error> {
    groth16::on_domain_all_into(matrices, assignment, host);
    let size = host[0].len();
    let offset = form.coset(size)?;
    let [a, b, c] = &*host;
    let mut a = device.upload_scalars(a)?;
    let mut b = device.upload_scalars(b)?;
    let mut c = device.upload_scalars(c)?;
    let mut scratch = device.allocate::<Scalar>(size)?;
    // Evaluations on H → coefficients → evaluations on the coset.
    for values in [&mut a, &mut b, &mut c] {
        device.ntt_resident(values, &mut scratch, Fr::ONE, NttDirection::Inverse)?;
        device.ntt_resident(&scratch, values, offset, NttDirection::Forward)?;
    }
    device.mul_assign(&mut a, &b)?;
    device.sub_assign(&mut a, &c)?;
    match form {
        QapForm::Libsnark => {
            // Dividing by Z_H, constant on gH, then back to coefficients.
            device.scale(&mut a, groth16::vanishing_inverse_on_coset(offset, size))?;
            device.ntt_resident(&a, &mut scratch, offset, NttDirection::Inverse)?;
            Ok(scratch)
        }
        QapForm::Circom => Ok(a),
    }
}

/// [`groth16::prove_assignment`] (or its circom form, as the key says) with
/// the key resident on its device: the same proof for the same generator.
pub fn prove_assignment_resident<R: RngCore + CryptoRng>(
    pk: &ProvingKey<Bn254>,
    key: &ResidentKey,
    matrices: &ConstraintMatrices,
    instance: &[Fr],
    witness: &[Fr],
    rng: &mut R,
) -> Result<Proof<Bn254>, Groth16Error> {
    groth16::check_assignment(matrices, instance, witness)?;
    key.check_is(pk)?;
    let r = Fr::rand(rng);
    let s = Fr::rand(rng);
    let assignment: Vec<Fr> = concat_par(&[instance, witness]);
    groth16::check_fits(pk, assignment.len(), witness.len(), matrices.domain_size())?;
    let device = &key.device;
    let (n, inputs) = (assignment.len(), instance.len());
    let z = device.upload_scalars(&assignment)?;
    // The four MSMs over the assignment run on the device while the host
    // evaluates A·z, B·z and C·z for the witness map; then h and its MSM.
    let (over_z, h) = std::thread::scope(|scope| {
        let over_z = scope.spawn(|| -> Result<_, Groth16Error> {
            Ok((
                device.msm_g1_resident(key.l.all(), z.slice(inputs..n)?)?,
                device.msm_g1_resident(key.a.all(), z.slice(1..n)?)?,
                device.msm_g1_resident(key.b_g1.all(), z.slice(1..n)?)?,
                device.msm_g2_resident(key.b_g2.all(), z.slice(1..n)?)?,
            ))
        });
        let pool = || key.host.lock().unwrap_or_else(|p| p.into_inner());
        let mut host = pool().pop().unwrap_or_default();
        let h = witness_map_into(device, matrices, &assignment, key.form, &mut host);
        pool().push(host);
        let over_z = over_z
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (over_z, h)
    });
    let (l, a, b_g1, b_g2) = over_z?;
    let h = h?;
    let sums = Sums {
        h: device.msm_g1_resident(key.h.all(), h.slice(0..key.h.len())?)?,
        l,
        a,
        b_g1,
        b_g2,
    };
    Ok(groth16::blind(pk, &sums, r, s))
}
