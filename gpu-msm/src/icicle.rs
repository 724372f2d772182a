//! ICICLE (Ingonyama's GPU library) as a [`Backend`], through its C ABI,
//! loaded at run time with `libloading` so that nothing of ICICLE is needed
//! to build or test the project.
//!
//! The declarations below are our own, of ICICLE's C API, unchanged from v3.0
//! to v4.0: `icicle_load_backend`, `icicle_load_backend_from_env_or_default`,
//! `icicle_is_device_available`, `icicle_set_device` (libicicle_device),
//! `bn254_ntt_init_domain`, `bn254_ntt`, `bn254_ntt_release_domain`
//! (libicicle_field_bn254), and `bn254_msm`, `bn254_g2_msm`
//! (libicicle_curve_bn254). The `#[repr(C)]` configs mirror ICICLE's
//! `MSMConfig`, `NTTConfig<scalar_t>`, `NTTInitDomainConfig` and `Device`,
//! and their sizes are asserted at compile time.
//!
//! Data crosses as canonical (not Montgomery) little-endian limbs: a field
//! element as 4 u64 limbs, an affine point as (x, y) with the point at
//! infinity as (0, 0), and results come back as projective (X, Y, Z) with
//! x = X/Z, y = Y/Z. Known traps, each handled here:
//! - the points-in-Montgomery flag gives wrong results on ICICLE's CPU device:
//!   we never set it, and convert to canonical form ourselves;
//! - the NTT domain is initialised once per process for a maximum size: we
//!   size it for the largest NTT asked so far and release it to grow;
//! - asking for a device type that is not loaded throws a C++ exception
//!   through the C ABI (an abort): we ask `icicle_is_device_available` first;
//! - ICICLE's CUDA backend needs a licence: a licence error is reported as
//!   such, with what to do.

use std::ffi::{c_char, c_int, c_void, CString};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, FftField, Field, PrimeField, Zero};
use libloading::Library;

use crate::{check_lengths, ntt, Backend, BackendError, NttDirection};

/// The environment variable naming ICICLE's install directory (the folder
/// holding `lib/libicicle_device.so`).
pub const ICICLE_DIR_ENV: &str = "PROOFMINT_ICICLE_DIR";

const NAME: &str = "icicle";

/// `icicle::Device`.
#[repr(C)]
struct Device {
    device_type: [c_char; 64],
    id: c_int,
}

impl Device {
    fn new(kind: &str) -> Self {
        let mut device_type = [0 as c_char; 64];
        for (slot, byte) in device_type.iter_mut().zip(kind.bytes().take(63)) {
            *slot = byte as c_char;
        }
        Self { device_type, id: 0 }
    }
}

/// `icicle::MSMConfig`.
#[repr(C)]
struct MsmConfig {
    stream: *mut c_void,
    precompute_factor: c_int,
    c: c_int,
    bitsize: c_int,
    batch_size: c_int,
    are_points_shared_in_batch: bool,
    are_scalars_on_device: bool,
    are_scalars_montgomery_form: bool,
    are_points_on_device: bool,
    are_points_montgomery_form: bool,
    are_results_on_device: bool,
    is_async: bool,
    ext: *mut c_void,
}

/// `icicle::NTTConfig<bn254::scalar_t>`.
#[repr(C)]
struct NttConfig {
    stream: *mut c_void,
    coset_gen: [u32; 8],
    batch_size: c_int,
    columns_batch: bool,
    ordering: c_int,
    are_inputs_on_device: bool,
    are_outputs_on_device: bool,
    is_async: bool,
    ext: *mut c_void,
}

/// `icicle::NTTInitDomainConfig`.
#[repr(C)]
struct NttInitDomainConfig {
    stream: *mut c_void,
    is_async: bool,
    ext: *mut c_void,
}

const _: () = assert!(std::mem::size_of::<Device>() == 68);
const _: () = assert!(std::mem::size_of::<MsmConfig>() == 40);
const _: () = assert!(std::mem::size_of::<NttConfig>() == 64);
const _: () = assert!(std::mem::size_of::<NttInitDomainConfig>() == 24);

/// `eIcicleError` values, in ICICLE's order.
const ERRORS: [&str; 15] = [
    "SUCCESS",
    "INVALID_DEVICE",
    "OUT_OF_MEMORY",
    "INVALID_POINTER",
    "ALLOCATION_FAILED",
    "DEALLOCATION_FAILED",
    "COPY_FAILED",
    "SYNCHRONIZATION_FAILED",
    "STREAM_CREATION_FAILED",
    "STREAM_DESTRUCTION_FAILED",
    "API_NOT_IMPLEMENTED",
    "INVALID_ARGUMENT",
    "BACKEND_LOAD_FAILED",
    "LICENSE_CHECK_ERROR",
    "UNKNOWN_ERROR",
];
const BACKEND_LOAD_FAILED: c_int = 12;
const LICENSE_CHECK_ERROR: c_int = 13;
const NTT_FORWARD: c_int = 0;
const NTT_INVERSE: c_int = 1;
const ORDERING_NN: c_int = 0;

fn device_error(message: impl Into<String>) -> BackendError {
    BackendError::Device {
        backend: NAME,
        message: message.into(),
    }
}

fn check(call: &str, code: c_int) -> Result<(), BackendError> {
    match code {
        0 => Ok(()),
        LICENSE_CHECK_ERROR => Err(device_error(format!(
            "{call}: ICICLE's licence check failed; its CUDA backend needs a licence \
             (see ICICLE's documentation), or use --backend cpu"
        ))),
        other => {
            let name = ERRORS
                .get(other as usize)
                .copied()
                .unwrap_or("unknown error code");
            Err(device_error(format!("{call} failed: {name} ({other})")))
        }
    }
}

type LoadBackend = unsafe extern "C" fn(*const c_char, bool) -> c_int;
type LoadBackendFromEnv = unsafe extern "C" fn() -> c_int;
type DeviceCall = unsafe extern "C" fn(*const Device) -> c_int;
type Msm = unsafe extern "C" fn(
    *const c_void,
    *const c_void,
    c_int,
    *const MsmConfig,
    *mut c_void,
) -> c_int;
type NttInitDomain = unsafe extern "C" fn(*const [u64; 4], *const NttInitDomainConfig) -> c_int;
type Ntt =
    unsafe extern "C" fn(*const [u64; 4], c_int, c_int, *const NttConfig, *mut [u64; 4]) -> c_int;
type NttReleaseDomain = unsafe extern "C" fn() -> c_int;

/// ICICLE's libraries, loaded, with the device we run on.
pub struct IcicleBackend {
    is_device_available: DeviceCall,
    set_device: DeviceCall,
    msm_g1: Msm,
    msm_g2: Msm,
    ntt_init_domain: NttInitDomain,
    ntt: Ntt,
    ntt_release_domain: NttReleaseDomain,
    device: &'static str,
    /// log2 of the NTT domain initialised so far.
    domain: Mutex<Option<u32>>,
    // Kept last so the function pointers above never outlive them.
    _libraries: Vec<Library>,
}

// SAFETY: ICICLE's C API may be called from any thread once the device is set
// on that thread (done before every call); the domain is guarded by a mutex.
unsafe impl Send for IcicleBackend {}
unsafe impl Sync for IcicleBackend {}

fn open(dir: &Path, name: &str) -> Result<Library, BackendError> {
    open_library(&dir.join("lib").join(name))
}

/// Opens a shared library the way ICICLE's must be opened:
/// - `RTLD_GLOBAL`, so that the device backends ICICLE itself `dlopen`s
///   later (`libicicle_backend_cuda_device.so` needs
///   `icicle::register_deviceAPI` from `libicicle_device.so`) resolve their
///   symbols against the libraries opened here; with libloading's default
///   (`RTLD_LOCAL`) the dynamic linker ends the process at the first call
///   ("symbol lookup error", exit 127);
/// - `RTLD_NOW`, so that a symbol missing from this library is an error
///   value naming the library and the symbol, not a dead process later.
pub fn open_library(path: &Path) -> Result<Library, BackendError> {
    // SAFETY: loading a shared library runs its initialisers; ICICLE's are
    // its own registration code, which is what this backend is for.
    #[cfg(unix)]
    let opened = unsafe {
        use libloading::os::unix::{Library as UnixLibrary, RTLD_GLOBAL, RTLD_NOW};
        UnixLibrary::open(Some(path), RTLD_NOW | RTLD_GLOBAL).map(Library::from)
    };
    #[cfg(not(unix))]
    let opened = unsafe { Library::new(path) };
    opened.map_err(|e| device_error(format!("cannot load {}: {e}", path.display())))
}

/// Opens every shared library under `dir` (ICICLE's `lib/backend`, searched
/// recursively) with [`open_library`], before ICICLE's own loader does:
/// a backend whose symbols do not resolve becomes an error naming it and
/// the symbol, where ICICLE's lazy `dlopen` would end the process at the
/// backend's first call. Libraries that need a sibling are retried once the
/// others are open. Returns the libraries, to be kept open.
pub fn open_backend_libraries(dir: &Path) -> Result<Vec<Library>, BackendError> {
    fn shared_objects(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                shared_objects(&path, found)?;
            } else if path.extension().is_some_and(|e| e == "so") {
                found.push(path);
            }
        }
        Ok(())
    }
    let mut pending = Vec::new();
    shared_objects(dir, &mut pending)
        .map_err(|e| device_error(format!("cannot list {}: {e}", dir.display())))?;
    pending.sort();
    let mut opened = Vec::new();
    loop {
        let mut failed = Vec::new();
        let before = pending.len();
        for path in pending {
            match open_library(&path) {
                Ok(library) => opened.push(library),
                Err(e) => failed.push((path, e)),
            }
        }
        if failed.is_empty() {
            return Ok(opened);
        }
        if failed.len() == before {
            let (_, first) = failed.swap_remove(0);
            return Err(first);
        }
        pending = failed.into_iter().map(|(path, _)| path).collect();
    }
}

fn symbol<T: Copy>(library: &Library, name: &str) -> Result<T, BackendError> {
    // SAFETY: the type T is the one ICICLE's header declares for `name`.
    unsafe { library.get::<T>(name.as_bytes()) }
        .map(|s| *s)
        .map_err(|e| device_error(format!("missing symbol {name}: {e}")))
}

/// Where ICICLE is installed: the given directory, else `PROOFMINT_ICICLE_DIR`.
pub fn install_dir(given: Option<&Path>) -> Option<PathBuf> {
    given
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(ICICLE_DIR_ENV).map(PathBuf::from))
}

impl IcicleBackend {
    /// Loads ICICLE from `dir` (holding `lib/`), loads its device backends
    /// (from `dir/lib/backend`, or where ICICLE's own environment says), and
    /// picks CUDA if a CUDA device is available, else ICICLE's CPU device.
    pub fn load(dir: &Path) -> Result<Self, BackendError> {
        let device_lib = open(dir, "libicicle_device.so")?;
        let field_lib = open(dir, "libicicle_field_bn254.so")?;
        let curve_lib = open(dir, "libicicle_curve_bn254.so")?;
        let load_backend: LoadBackend = symbol(&device_lib, "icicle_load_backend")?;
        let load_from_env: LoadBackendFromEnv =
            symbol(&device_lib, "icicle_load_backend_from_env_or_default")?;
        let backend_dir = dir.join("lib").join("backend");
        // Dropped first, before the libraries they resolve against.
        let mut libraries = Vec::new();
        if backend_dir.is_dir() {
            libraries.extend(open_backend_libraries(&backend_dir)?);
            let path = CString::new(backend_dir.to_string_lossy().as_bytes())
                .map_err(|e| device_error(e.to_string()))?;
            // SAFETY: a NUL-terminated path, as the C API takes.
            check("icicle_load_backend", unsafe {
                load_backend(path.as_ptr(), true)
            })?;
        } else {
            // ICICLE's CPU device is built into its libraries; device backends
            // (CUDA) come from $ICICLE_BACKEND_INSTALL_DIR or /opt/icicle. Finding
            // none is not an error: the CPU device remains.
            // SAFETY: no arguments.
            let code = unsafe { load_from_env() };
            if code != BACKEND_LOAD_FAILED {
                check("icicle_load_backend_from_env_or_default", code)?;
            }
        }
        let mut backend = Self {
            is_device_available: symbol(&device_lib, "icicle_is_device_available")?,
            set_device: symbol(&device_lib, "icicle_set_device")?,
            msm_g1: symbol(&curve_lib, "bn254_msm")?,
            msm_g2: symbol(&curve_lib, "bn254_g2_msm")?,
            ntt_init_domain: symbol(&field_lib, "bn254_ntt_init_domain")?,
            ntt: symbol(&field_lib, "bn254_ntt")?,
            ntt_release_domain: symbol(&field_lib, "bn254_ntt_release_domain")?,
            device: "CPU",
            domain: Mutex::new(None),
            _libraries: {
                libraries.extend([curve_lib, field_lib, device_lib]);
                libraries
            },
        };
        backend.device = if backend.available("CUDA") {
            "CUDA"
        } else if backend.available("CPU") {
            "CPU"
        } else {
            return Err(device_error("neither a CUDA nor a CPU device is loaded"));
        };
        backend.activate()?;
        Ok(backend)
    }

    /// Whether ICICLE has a device of this type loaded.
    pub fn available(&self, kind: &str) -> bool {
        let device = Device::new(kind);
        // SAFETY: a valid Device; this call never throws for unknown types.
        unsafe { (self.is_device_available)(&device) == 0 }
    }

    /// "CUDA" or "CPU".
    pub fn device(&self) -> &'static str {
        self.device
    }

    /// Sets our device on the calling thread (ICICLE's device is per thread).
    fn activate(&self) -> Result<(), BackendError> {
        let device = Device::new(self.device);
        // SAFETY: the device type was checked available in `load`.
        check("icicle_set_device", unsafe { (self.set_device)(&device) })
    }

    /// Initialises (or grows) the NTT domain to hold 2^log_size.
    fn ensure_domain(&self, log_size: u32) -> Result<(), BackendError> {
        let mut domain = self.domain.lock().unwrap_or_else(|p| p.into_inner());
        if domain.is_some_and(|current| current >= log_size) {
            return Ok(());
        }
        if domain.is_some() {
            // SAFETY: no arguments; a domain exists.
            check("bn254_ntt_release_domain", unsafe {
                (self.ntt_release_domain)()
            })?;
            *domain = None;
        }
        let root = Fr::get_root_of_unity(1u64 << log_size).ok_or(BackendError::TooLarge {
            log_size,
            max_log_size: ntt::MAX_LOG_SIZE,
        })?;
        let root = root.into_bigint().0;
        let config = NttInitDomainConfig {
            stream: std::ptr::null_mut(),
            is_async: false,
            ext: std::ptr::null_mut(),
        };
        // SAFETY: pointers to live values of the declared layouts.
        check("bn254_ntt_init_domain", unsafe {
            (self.ntt_init_domain)(&root, &config)
        })?;
        *domain = Some(log_size);
        Ok(())
    }

    fn run_ntt(
        &self,
        values: &mut [Fr],
        offset: Fr,
        direction: NttDirection,
    ) -> Result<(), BackendError> {
        let n = values.len();
        let log_size = ntt::log_size_of(n)?;
        self.activate()?;
        self.ensure_domain(log_size)?;
        let input: Vec<[u64; 4]> = values.iter().map(|v| v.into_bigint().0).collect();
        let mut output = vec![[0u64; 4]; n];
        let config = NttConfig {
            stream: std::ptr::null_mut(),
            coset_gen: limbs32(&offset.into_bigint().0),
            batch_size: 1,
            columns_batch: false,
            ordering: ORDERING_NN,
            are_inputs_on_device: false,
            are_outputs_on_device: false,
            is_async: false,
            ext: std::ptr::null_mut(),
        };
        let dir = match direction {
            NttDirection::Forward => NTT_FORWARD,
            NttDirection::Inverse => NTT_INVERSE,
        };
        // SAFETY: input and output hold n elements of 4 limbs each.
        check("bn254_ntt", unsafe {
            (self.ntt)(
                input.as_ptr(),
                n as c_int,
                dir,
                &config,
                output.as_mut_ptr(),
            )
        })?;
        for (value, limbs) in values.iter_mut().zip(&output) {
            *value = Fr::from_bigint(BigInt::new(*limbs))
                .ok_or_else(|| device_error("bn254_ntt returned a non-canonical element"))?;
        }
        Ok(())
    }

    /// Runs one MSM: `points` holds `scalars.len()` points in ICICLE's affine
    /// layout, and `out` has room for one projective result.
    fn call_msm(
        &self,
        call: &str,
        msm: Msm,
        points: *const c_void,
        scalars: &[Fr],
        out: *mut c_void,
    ) -> Result<(), BackendError> {
        self.activate()?;
        let size = c_int::try_from(scalars.len()).map_err(|_| {
            device_error(format!(
                "{} points exceed ICICLE's int sizes",
                scalars.len()
            ))
        })?;
        let scalars: Vec<[u64; 4]> = scalars.iter().map(|s| s.into_bigint().0).collect();
        // SAFETY: the caller passes `size` points and room for one result; the
        // scalars are `size` canonical elements of 4 limbs.
        check(call, unsafe {
            msm(
                scalars.as_ptr().cast(),
                points,
                size,
                &Self::msm_config(),
                out,
            )
        })
    }

    fn msm_config() -> MsmConfig {
        MsmConfig {
            stream: std::ptr::null_mut(),
            precompute_factor: 1,
            c: 0,
            bitsize: 0,
            batch_size: 1,
            are_points_shared_in_batch: true,
            are_scalars_on_device: false,
            are_scalars_montgomery_form: false,
            are_points_on_device: false,
            are_points_montgomery_form: false,
            are_results_on_device: false,
            is_async: false,
            ext: std::ptr::null_mut(),
        }
    }
}

fn limbs32(limbs: &[u64; 4]) -> [u32; 8] {
    let mut out = [0u32; 8];
    for (i, limb) in limbs.iter().enumerate() {
        out[2 * i] = *limb as u32;
        out[2 * i + 1] = (*limb >> 32) as u32;
    }
    out
}

fn fq(limbs: &[u64; 4]) -> Result<Fq, BackendError> {
    Fq::from_bigint(BigInt::new(*limbs))
        .ok_or_else(|| device_error("a result coordinate is not canonical"))
}

/// A result point, checked to be on the curve before it is trusted.
fn on_curve<P: ark_ec::short_weierstrass::SWCurveConfig>(
    point: ark_ec::short_weierstrass::Affine<P>,
    call: &str,
) -> Result<ark_ec::short_weierstrass::Projective<P>, BackendError> {
    if !point.is_on_curve() {
        return Err(device_error(format!(
            "{call} returned a point off the curve"
        )));
    }
    Ok(point.into_group())
}

impl Backend for IcicleBackend {
    fn name(&self) -> &str {
        match self.device {
            "CUDA" => "icicle-cuda",
            _ => "icicle-cpu",
        }
    }

    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective, BackendError> {
        check_lengths(bases.len(), scalars.len())?;
        if bases.is_empty() {
            return Ok(G1Projective::zero());
        }
        let points: Vec<[[u64; 4]; 2]> = bases
            .iter()
            .map(|p| {
                p.xy()
                    .map_or([[0; 4]; 2], |(x, y)| [x.into_bigint().0, y.into_bigint().0])
            })
            .collect();
        let mut out = [[0u64; 4]; 3];
        self.call_msm(
            "bn254_msm",
            self.msm_g1,
            points.as_ptr().cast(),
            scalars,
            out.as_mut_ptr().cast(),
        )?;
        let [x, y, z] = [fq(&out[0])?, fq(&out[1])?, fq(&out[2])?];
        let Some(z_inverse) = z.inverse() else {
            return Ok(G1Projective::zero());
        };
        on_curve(
            G1Affine::new_unchecked(x * z_inverse, y * z_inverse),
            "bn254_msm",
        )
    }

    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective, BackendError> {
        check_lengths(bases.len(), scalars.len())?;
        if bases.is_empty() {
            return Ok(G2Projective::zero());
        }
        let points: Vec<[[u64; 4]; 4]> = bases
            .iter()
            .map(|p| {
                p.xy().map_or([[0; 4]; 4], |(x, y)| {
                    [
                        x.c0.into_bigint().0,
                        x.c1.into_bigint().0,
                        y.c0.into_bigint().0,
                        y.c1.into_bigint().0,
                    ]
                })
            })
            .collect();
        let mut out = [[0u64; 4]; 6];
        self.call_msm(
            "bn254_g2_msm",
            self.msm_g2,
            points.as_ptr().cast(),
            scalars,
            out.as_mut_ptr().cast(),
        )?;
        let fq2 = |i: usize| -> Result<Fq2, BackendError> {
            Ok(Fq2::new(fq(&out[i])?, fq(&out[i + 1])?))
        };
        let [x, y, z] = [fq2(0)?, fq2(2)?, fq2(4)?];
        let Some(z_inverse) = z.inverse() else {
            return Ok(G2Projective::zero());
        };
        on_curve(
            G2Affine::new_unchecked(x * z_inverse, y * z_inverse),
            "bn254_g2_msm",
        )
    }

    fn ntt(&self, values: &mut [Fr], direction: NttDirection) -> Result<(), BackendError> {
        self.run_ntt(values, Fr::ONE, direction)
    }

    fn coset_ntt(
        &self,
        values: &mut [Fr],
        offset: Fr,
        direction: NttDirection,
    ) -> Result<(), BackendError> {
        if offset.is_zero() {
            return Err(BackendError::ZeroOffset);
        }
        self.run_ntt(values, offset, direction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limbs_split_little_endian() {
        assert_eq!(
            limbs32(&[0x1122334455667788, 0, 0, 0x99]),
            [0x55667788, 0x11223344, 0, 0, 0, 0, 0x99, 0]
        );
    }

    #[test]
    fn a_missing_install_is_an_error_not_a_crash() {
        let dir = std::env::temp_dir().join("proofmint-no-icicle-here");
        let error = IcicleBackend::load(&dir).err().expect("nothing to load");
        assert!(error.to_string().contains("libicicle_device.so"), "{error}");
    }
}
