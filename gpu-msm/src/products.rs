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
    /// (Montgomery's trick: three products an element), serially, the caller
    /// being already one of many threads; `prefix` is scratch. No element
    /// may be zero. The running products are four interleaved chains (the
    /// elements of each residue mod 4), so that a product need not wait for
    /// the one before it: each chain's inverse comes from the inverse of the
    /// four chains' product.
    fn invert_all(self, values: &mut [F], prefix: &mut Vec<F>)
    where
        F: Field,
    {
        const WAYS: usize = 4;
        prefix.clear();
        let mut running = [F::ONE; WAYS];
        for chunk in values.chunks(WAYS) {
            for (r, v) in running.iter_mut().zip(chunk) {
                prefix.push(*r);
                *r = self.mul(r, v);
            }
        }
        let [r0, r1, r2, r3] = running;
        let (r01, r23) = (self.mul(&r0, &r1), self.mul(&r2, &r3));
        let all = self.mul(&r01, &r23).inverse().expect("no element is zero");
        let (i01, i23) = (self.mul(&all, &r23), self.mul(&all, &r01));
        let mut inverse = [
            self.mul(&i01, &r1),
            self.mul(&i01, &r0),
            self.mul(&i23, &r3),
            self.mul(&i23, &r2),
        ];
        for (at, v) in values.iter_mut().enumerate().rev() {
            let way = at % WAYS;
            let next = self.mul(&inverse[way], v);
            *v = self.mul(&inverse[way], &prefix[at]);
            inverse[way] = next;
        }
    }

    /// A result of [`Products::butterfly`] back in canonical form (and
    /// whether there is anything to do).
    const LAZY: bool = false;
    #[inline(always)]
    fn normalize(self, _value: &mut F) {}
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
        add_fq, add_fr, add_sub_fr_lazy, butterfly_fr_lazy, mul_fq, mul_fr, normalize_fr, sub_fq,
        sub_fr, Adx,
    };
    use ark_bn254::{Fq, Fq2, Fr};

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

    /// Fq2 = Fq[u]/(u² + 1): Karatsuba, three Fq products.
    impl Products<Fq2> for Adx {
        #[inline(always)]
        fn mul(self, a: &Fq2, b: &Fq2) -> Fq2 {
            let v0 = mul_fq(self, &a.c0, &b.c0);
            let v1 = mul_fq(self, &a.c1, &b.c1);
            let cross = mul_fq(self, &add_fq(&a.c0, &a.c1), &add_fq(&b.c0, &b.c1));
            Fq2::new(sub_fq(&v0, &v1), sub_fq(&sub_fq(&cross, &v0), &v1))
        }

        /// (a0 + a1 u)² = (a0 + a1)(a0 - a1) + 2 a0 a1 u: two Fq products.
        #[inline(always)]
        fn square(self, a: &Fq2) -> Fq2 {
            let c0 = mul_fq(self, &add_fq(&a.c0, &a.c1), &sub_fq(&a.c0, &a.c1));
            let c1 = mul_fq(self, &a.c0, &a.c1);
            Fq2::new(c0, add_fq(&c1, &c1))
        }

        #[inline(always)]
        fn add(self, a: &Fq2, b: &Fq2) -> Fq2 {
            Fq2::new(add_fq(&a.c0, &b.c0), add_fq(&a.c1, &b.c1))
        }

        #[inline(always)]
        fn sub(self, a: &Fq2, b: &Fq2) -> Fq2 {
            Fq2::new(sub_fq(&a.c0, &b.c0), sub_fq(&a.c1, &b.c1))
        }

        /// 1/a = conj(a)/N(a), N(a) = a0² + a1² in Fq: the norms are
        /// inverted together in Fq (seven Fq products an element, against
        /// nine for Montgomery's trick in Fq2).
        fn invert_all(self, values: &mut [Fq2], _prefix: &mut Vec<Fq2>) {
            let mut norms: Vec<Fq> = values
                .iter()
                .map(|a| add_fq(&mul_fq(self, &a.c0, &a.c0), &mul_fq(self, &a.c1, &a.c1)))
                .collect();
            let mut prefix = Vec::with_capacity(norms.len());
            self.invert_all(&mut norms, &mut prefix);
            for (a, n) in values.iter_mut().zip(&norms) {
                *a = Fq2::new(mul_fq(self, &a.c0, n), -mul_fq(self, &a.c1, n));
            }
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fq, Fq2, Fr};
    use rand::SeedableRng;

    fn inverts<F: Field, A: Products<F>>(products: A, rng: &mut rand_chacha::ChaCha20Rng) {
        for len in (0..14).chain([255, 256, 1001]) {
            let values: Vec<F> = (0..len).map(|_| F::rand(rng)).collect();
            let mut inverses = values.clone();
            products.invert_all(&mut inverses, &mut Vec::new());
            for (v, i) in values.iter().zip(&inverses) {
                assert_eq!(*i, v.inverse().unwrap(), "{len} elements");
            }
        }
    }

    /// Every batch length (the four chains unequal or empty) gives every
    /// element's inverse, on each arithmetic and field.
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
