//! Field products for the scalar (one element at a time) paths of the MSM and
//! the NTT: arkworks' own ([`Generic`], any CPU) or MULX/ADX assembly
//! (`crate::adx::Adx`, x86-64 CPUs that have it). The MSM and NTT are generic
//! over [`Products`], so each path is compiled once per arithmetic and the
//! choice is made once, outside the loops.

use ark_ff::Field;

/// Multiplication and squaring in `F`, and the additions around them.
pub(crate) trait Products<F: Copy>: Copy + Send + Sync {
    fn mul(self, a: &F, b: &F) -> F;

    fn square(self, a: &F) -> F {
        self.mul(a, a)
    }

    fn add(self, a: &F, b: &F) -> F;

    fn sub(self, a: &F, b: &F) -> F;

    /// The NTT butterfly `(a, b) ← (a + w·b, a − w·b)`. An implementation
    /// may leave its results lazily reduced (not canonical) for the next
    /// butterfly; [`Products::normalize`] makes them canonical again.
    #[inline(always)]
    fn butterfly(self, a: &mut F, b: &mut F, w: &F) {
        let t = self.mul(b, w);
        *b = self.sub(a, &t);
        *a = self.add(a, &t);
    }

    /// The butterfly with `w = 1`.
    #[inline(always)]
    fn add_sub(self, a: &mut F, b: &mut F) {
        let (x, y) = (*a, *b);
        *a = self.add(&x, &y);
        *b = self.sub(&x, &y);
    }

    /// Replaces every element by its inverse with one field inversion
    /// (Montgomery's trick: three products an element, [`inverses`]),
    /// serially, the caller being already one of many threads; `prefix` is
    /// scratch. No element may be zero.
    fn invert_all(self, values: &mut [F], prefix: &mut Vec<F>)
    where
        F: Field,
    {
        assert!(self.invert_all_lazy(values, prefix), "no element is zero");
        for v in values.iter_mut() {
            self.normalize(v);
        }
    }

    /// The lockstep loops' operations (`lockstep`): values between them may
    /// stay lazily reduced (any representative below a bound the
    /// implementation keeps: `2p` for the MULX/ADX ones in Fq and Fq2), and
    /// [`Products::normalize`] makes them canonical. By default, the reduced
    /// operations.
    #[inline(always)]
    fn mul_lazy(self, a: &F, b: &F) -> F {
        self.mul(a, b)
    }

    #[inline(always)]
    fn square_lazy(self, a: &F) -> F {
        self.square(a)
    }

    #[inline(always)]
    fn add_lazy(self, a: &F, b: &F) -> F {
        self.add(a, b)
    }

    #[inline(always)]
    fn sub_lazy(self, a: &F, b: &F) -> F {
        self.sub(a, b)
    }

    /// [`Products::invert_all`] on lazily reduced values, in and out; false
    /// (the values then unspecified) where one of them is zero.
    fn invert_all_lazy(self, values: &mut [F], prefix: &mut Vec<F>) -> bool
    where
        F: Field,
    {
        inverses(
            values,
            prefix,
            |a, b| self.mul_lazy(a, b),
            |a| {
                let mut a = *a;
                self.normalize(&mut a);
                a
            },
        )
    }

    /// A lazily reduced value (a butterfly's or a lazy operation's) back in
    /// canonical form; `LAZY`: whether the butterflies leave anything to do.
    const LAZY: bool = false;
    #[inline(always)]
    fn normalize(self, _value: &mut F) {}
}

/// Every element replaced by its inverse with one field inversion
/// (Montgomery's trick), `mul` the products and `canonical` the reduction
/// before the inversion; false where an element is zero (the chains'
/// product is then zero). The running products are four interleaved chains
/// (the elements of each residue mod 4), so that a product need not wait
/// for the one before it: each chain's inverse comes from the inverse of the
/// four chains' product.
fn inverses<F: Field>(
    values: &mut [F],
    prefix: &mut Vec<F>,
    mul: impl Fn(&F, &F) -> F,
    canonical: impl Fn(&F) -> F,
) -> bool {
    const WAYS: usize = 4;
    prefix.clear();
    let mut running = [F::ONE; WAYS];
    for chunk in values.chunks(WAYS) {
        for (r, v) in running.iter_mut().zip(chunk) {
            prefix.push(*r);
            *r = mul(r, v);
        }
    }
    let [r0, r1, r2, r3] = running;
    let (r01, r23) = (mul(&r0, &r1), mul(&r2, &r3));
    let Some(all) = canonical(&mul(&r01, &r23)).inverse() else {
        return false;
    };
    let (i01, i23) = (mul(&all, &r23), mul(&all, &r01));
    let mut inverse = [
        mul(&i01, &r1),
        mul(&i01, &r0),
        mul(&i23, &r3),
        mul(&i23, &r2),
    ];
    for (at, v) in values.iter_mut().enumerate().rev() {
        let way = at % WAYS;
        let next = mul(&inverse[way], v);
        *v = mul(&inverse[way], &prefix[at]);
        inverse[way] = next;
    }
    true
}

/// arkworks' arithmetic (portable Rust).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Generic;

impl<F: Field> Products<F> for Generic {
    #[inline(always)]
    fn mul(self, a: &F, b: &F) -> F {
        *a * b
    }

    #[inline(always)]
    fn square(self, a: &F) -> F {
        a.square()
    }

    #[inline(always)]
    fn add(self, a: &F, b: &F) -> F {
        *a + b
    }

    #[inline(always)]
    fn sub(self, a: &F, b: &F) -> F {
        *a - b
    }
}

#[cfg(target_arch = "x86_64")]
mod adx_products {
    use super::Products;
    use crate::adx::{
        add_fq, add_fq_lazy, add_fr, add_sub_fr_lazy, butterfly_fr_lazy, mul_fq, mul_fq_lazy,
        mul_fr, normalize_fr, reduce_fq, sub_fq, sub_fq_lazy, sub_fr, Adx,
    };
    use ark_bn254::{Fq, Fq2, Fr};
    use ark_ff::Zero;

    impl Products<Fq> for Adx {
        #[inline(always)]
        fn mul(self, a: &Fq, b: &Fq) -> Fq {
            mul_fq(self, a, b)
        }

        #[inline(always)]
        fn add(self, a: &Fq, b: &Fq) -> Fq {
            add_fq(a, b)
        }

        #[inline(always)]
        fn sub(self, a: &Fq, b: &Fq) -> Fq {
            sub_fq(a, b)
        }

        /// Below `2p`: no final subtraction in a product, sums and
        /// differences modulo `2p`.
        #[inline(always)]
        fn mul_lazy(self, a: &Fq, b: &Fq) -> Fq {
            mul_fq_lazy(self, a, b)
        }

        #[inline(always)]
        fn add_lazy(self, a: &Fq, b: &Fq) -> Fq {
            add_fq_lazy(a, b)
        }

        #[inline(always)]
        fn sub_lazy(self, a: &Fq, b: &Fq) -> Fq {
            sub_fq_lazy(a, b)
        }

        #[inline(always)]
        fn normalize(self, value: &mut Fq) {
            *value = reduce_fq(value);
        }
    }

    impl Products<Fr> for Adx {
        #[inline(always)]
        fn mul(self, a: &Fr, b: &Fr) -> Fr {
            mul_fr(self, a, b)
        }

        #[inline(always)]
        fn add(self, a: &Fr, b: &Fr) -> Fr {
            add_fr(a, b)
        }

        #[inline(always)]
        fn sub(self, a: &Fr, b: &Fr) -> Fr {
            sub_fr(a, b)
        }

        #[inline(always)]
        fn butterfly(self, a: &mut Fr, b: &mut Fr, w: &Fr) {
            butterfly_fr_lazy(self, a, b, w)
        }

        #[inline(always)]
        fn add_sub(self, a: &mut Fr, b: &mut Fr) {
            add_sub_fr_lazy(a, b)
        }

        const LAZY: bool = true;
        #[inline(always)]
        fn normalize(self, value: &mut Fr) {
            normalize_fr(value)
        }
    }

    /// Fq2 = Fq[u]/(u² + 1), each coordinate below `2p` in the lazy
    /// operations; the reduced products are the lazy ones, reduced.
    impl Products<Fq2> for Adx {
        #[inline(always)]
        fn mul(self, a: &Fq2, b: &Fq2) -> Fq2 {
            let mut product = self.mul_lazy(a, b);
            self.normalize(&mut product);
            product
        }

        #[inline(always)]
        fn square(self, a: &Fq2) -> Fq2 {
            let mut square = self.square_lazy(a);
            self.normalize(&mut square);
            square
        }

        #[inline(always)]
        fn add(self, a: &Fq2, b: &Fq2) -> Fq2 {
            Fq2::new(add_fq(&a.c0, &b.c0), add_fq(&a.c1, &b.c1))
        }

        #[inline(always)]
        fn sub(self, a: &Fq2, b: &Fq2) -> Fq2 {
            Fq2::new(sub_fq(&a.c0, &b.c0), sub_fq(&a.c1, &b.c1))
        }

        /// Karatsuba: three Fq products.
        #[inline(always)]
        fn mul_lazy(self, a: &Fq2, b: &Fq2) -> Fq2 {
            let v0 = mul_fq_lazy(self, &a.c0, &b.c0);
            let v1 = mul_fq_lazy(self, &a.c1, &b.c1);
            let (a01, b01) = (add_fq_lazy(&a.c0, &a.c1), add_fq_lazy(&b.c0, &b.c1));
            let cross = mul_fq_lazy(self, &a01, &b01);
            Fq2::new(
                sub_fq_lazy(&v0, &v1),
                sub_fq_lazy(&sub_fq_lazy(&cross, &v0), &v1),
            )
        }

        /// (a0 + a1 u)² = (a0 + a1)(a0 - a1) + 2 a0 a1 u: two Fq products.
        #[inline(always)]
        fn square_lazy(self, a: &Fq2) -> Fq2 {
            let (sum, difference) = (add_fq_lazy(&a.c0, &a.c1), sub_fq_lazy(&a.c0, &a.c1));
            let c0 = mul_fq_lazy(self, &sum, &difference);
            let c1 = mul_fq_lazy(self, &a.c0, &a.c1);
            Fq2::new(c0, add_fq_lazy(&c1, &c1))
        }

        #[inline(always)]
        fn add_lazy(self, a: &Fq2, b: &Fq2) -> Fq2 {
            Fq2::new(add_fq_lazy(&a.c0, &b.c0), add_fq_lazy(&a.c1, &b.c1))
        }

        #[inline(always)]
        fn sub_lazy(self, a: &Fq2, b: &Fq2) -> Fq2 {
            Fq2::new(sub_fq_lazy(&a.c0, &b.c0), sub_fq_lazy(&a.c1, &b.c1))
        }

        #[inline(always)]
        fn normalize(self, value: &mut Fq2) {
            *value = Fq2::new(reduce_fq(&value.c0), reduce_fq(&value.c1));
        }

        /// 1/a = conj(a)/N(a), N(a) = a0² + a1², the norms inverted together
        /// in Fq (seven Fq products an element, against nine for
        /// Montgomery's trick in Fq2). A norm is zero only for a = 0, -1
        /// being a non-residue in Fq.
        fn invert_all_lazy(self, values: &mut [Fq2], _prefix: &mut Vec<Fq2>) -> bool {
            let mut norms: Vec<Fq> = values
                .iter()
                .map(|a| {
                    let (c0, c1) = (
                        mul_fq_lazy(self, &a.c0, &a.c0),
                        mul_fq_lazy(self, &a.c1, &a.c1),
                    );
                    add_fq_lazy(&c0, &c1)
                })
                .collect();
            if !self.invert_all_lazy(&mut norms, &mut Vec::with_capacity(values.len())) {
                return false;
            }
            for (a, n) in values.iter_mut().zip(&norms) {
                let (c0, c1) = (mul_fq_lazy(self, &a.c0, n), mul_fq_lazy(self, &a.c1, n));
                *a = Fq2::new(c0, sub_fq_lazy(&Fq::zero(), &c1));
            }
            true
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use ark_ff::{Field, UniformRand};
        use rand::SeedableRng;

        #[test]
        fn fq2_products_agree_with_arkworks() {
            let Some(token) = crate::adx::detect() else {
                return;
            };
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
            for _ in 0..2000 {
                let (a, b) = (Fq2::rand(&mut rng), Fq2::rand(&mut rng));
                assert_eq!(token.mul(&a, &b), a * b);
                assert_eq!(token.square(&a), a.square());
                assert_eq!(token.add(&a, &b), a + b);
                assert_eq!(token.sub(&a, &b), a - b);
            }
            let values: Vec<Fq2> = (0..300).map(|_| Fq2::rand(&mut rng)).collect();
            let mut inverses = values.clone();
            token.invert_all(&mut inverses, &mut Vec::new());
            for (v, i) in values.iter().zip(&inverses) {
                assert_eq!(*i, v.inverse().unwrap());
            }
            let minus_one = -Fq2::ONE;
            assert_eq!(token.square(&minus_one), Fq2::ONE);
        }

        /// The lazy Fq2 operations on every mix of representatives below
        /// `2p` (each coordinate, or it plus p) stay below `2p` and agree
        /// with arkworks once reduced.
        #[test]
        fn lazy_fq2_operations_stay_below_2p_and_agree() {
            use ark_ff::{BigInteger, PrimeField};
            let Some(token) = crate::adx::detect() else {
                return;
            };
            let p = Fq::MODULUS;
            let mut twice = p;
            twice.mul2();
            let high = |c: Fq| {
                let mut limbs = c.0;
                limbs.add_with_carry(&p);
                Fq::new_unchecked(limbs)
            };
            let representatives = |a: Fq2| {
                [
                    a,
                    Fq2::new(high(a.c0), a.c1),
                    Fq2::new(a.c0, high(a.c1)),
                    Fq2::new(high(a.c0), high(a.c1)),
                ]
            };
            let below = |v: &Fq2| v.c0.0 < twice && v.c1.0 < twice;
            let reduced = |mut v: Fq2| {
                assert!(below(&v));
                token.normalize(&mut v);
                v
            };
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
            let mut values: Vec<Fq2> = (0..150).map(|_| Fq2::rand(&mut rng)).collect();
            values.extend([
                Fq2::zero(),
                Fq2::ONE,
                -Fq2::ONE,
                Fq2::new(Fq::zero(), -Fq::ONE),
            ]);
            for (x, y) in values.iter().zip(values.iter().rev()) {
                for a in representatives(*x) {
                    assert_eq!(reduced(token.square_lazy(&a)), x.square());
                    for b in representatives(*y) {
                        assert_eq!(reduced(token.mul_lazy(&a, &b)), *x * y);
                        assert_eq!(reduced(token.add_lazy(&a, &b)), *x + y);
                        assert_eq!(reduced(token.sub_lazy(&a, &b)), *x - y);
                    }
                }
            }
            // Inverses of lazily reduced values.
            let nonzero: Vec<Fq2> = values.iter().copied().filter(|v| !v.is_zero()).collect();
            let mut inverses: Vec<Fq2> = nonzero.iter().map(|v| representatives(*v)[3]).collect();
            assert!(token.invert_all_lazy(&mut inverses, &mut Vec::new()));
            for (v, i) in nonzero.iter().zip(inverses) {
                assert_eq!(reduced(i), v.inverse().unwrap());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fq, Fq2, Fr};
    use rand::SeedableRng;

    fn inverts<F: Field, A: Products<F>>(products: A, rng: &mut rand_chacha::ChaCha20Rng) {
        for len in (0usize..14).chain([255, 256, 1001]) {
            let values: Vec<F> = (0..len).map(|_| F::rand(rng)).collect();
            let mut inverses = values.clone();
            products.invert_all(&mut inverses, &mut Vec::new());
            for (v, i) in values.iter().zip(&inverses) {
                assert_eq!(*i, v.inverse().unwrap(), "{len} elements");
            }
            // A zero anywhere, in any chain: refused.
            for at in [0, len / 2, len.saturating_sub(1)]
                .into_iter()
                .filter(|_| len > 0)
            {
                let mut with_zero = values.clone();
                with_zero[at] = F::zero();
                assert!(
                    !products.invert_all_lazy(&mut with_zero, &mut Vec::new()),
                    "{len} elements, zero at {at}"
                );
            }
        }
    }

    /// Every batch length (the four chains unequal or empty) gives every
    /// element's inverse, on each arithmetic and field, and a batch with a
    /// zero is refused.
    #[test]
    fn invert_all_inverts_each_element() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(4);
        inverts::<Fq, _>(Generic, &mut rng);
        inverts::<Fq2, _>(Generic, &mut rng);
        inverts::<Fr, _>(Generic, &mut rng);
        #[cfg(target_arch = "x86_64")]
        if let Some(token) = crate::adx::cpu_check() {
            inverts::<Fq, _>(token, &mut rng);
            inverts::<Fq2, _>(token, &mut rng);
            inverts::<Fr, _>(token, &mut rng);
        }
    }
}
