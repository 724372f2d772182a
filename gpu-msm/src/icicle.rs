//! ICICLE (Ingonyama's GPU library) as a [`Backend`], through its C ABI,
//! loaded at run time with `libloading` so that nothing of ICICLE is needed
//! to build or test the project.
//!
//! The declarations below are our own, of ICICLE's C API, unchanged from v3.0
//! to v4.0: `icicle_load_backend`, `icicle_load_backend_from_env_or_default`,
//! `icicle_is_device_available`, `icicle_set_device`, `icicle_malloc`,
//! `icicle_free`, `icicle_copy_to_device`, `icicle_copy_to_host`
//! (libicicle_device), `bn254_ntt_init_domain`, `bn254_ntt`,
//! `bn254_ntt_release_domain`, `bn254_vector_mul`, `bn254_vector_sub`,
//! `bn254_scalar_mul_vec`, `bn254_scalar_convert_montgomery`
//! (libicicle_field_bn254), and `bn254_msm`, `bn254_g2_msm`
//! (libicicle_curve_bn254). The `#[repr(C)]` configs mirror ICICLE's
//! `MSMConfig`, `NTTConfig<scalar_t>`, `NTTInitDomainConfig`,
//! `VecOpsConfig` and `Device`, and their sizes are asserted at compile time.
//!
//! Every operation runs on data in device buffers ([`DeviceBuffer`]); the
//! [`Backend`] calls upload their inputs first and download the result.
//! On the device, data is canonical (not Montgomery) little-endian limbs: a
//! field element as 4 u64 limbs, an affine point as (x, y) with the point at
//! infinity as (0, 0); MSM results come back as projective (X, Y, Z) with
//! x = X/Z, y = Y/Z. Scalars go up as their Montgomery limbs and the device
//! converts them; points are converted on the host, once per upload. Known
//! traps, each handled here:
//! - the points-in-Montgomery flag gives wrong results on ICICLE's CPU device:
//!   we never set it, and convert to canonical form ourselves;
//! - the NTT domain is initialised once per process for a maximum size: we
//!   size it for the largest NTT asked so far and release it to grow, never
//!   while a transform on another thread uses it (a read-write lock), and
//!   since the domain is the process's, so is the lock: loading the same
//!   install again returns the backend already loaded;
//! - asking for a device type that is not loaded throws a C++ exception
//!   through the C ABI (an abort): we ask `icicle_is_device_available` first;
//! - ICICLE's CUDA backend needs a licence: a licence error is reported as
//!   such, with what to do.

use std::ffi::{c_char, c_int, c_void, CString};
use std::marker::PhantomData;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, FftField, Field, PrimeField, Zero};
use libloading::Library;
use rayon::prelude::*;

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
type Malloc = unsafe extern "C" fn(*mut *mut c_void, usize) -> c_int;
type Free = unsafe extern "C" fn(*mut c_void) -> c_int;
type CopyMemory = unsafe extern "C" fn(*mut c_void, *const c_void, usize) -> c_int;
type VectorOp = unsafe extern "C" fn(
    *const [u64; 4],
    *const [u64; 4],
    u64,
    *const VecOpsConfig,
    *mut [u64; 4],
) -> c_int;
type ConvertMontgomery =
    unsafe extern "C" fn(*const [u64; 4], u64, bool, *const VecOpsConfig, *mut [u64; 4]) -> c_int;

/// `icicle::VecOpsConfig`.
#[repr(C)]
struct VecOpsConfig {
    stream: *mut c_void,
    is_a_on_device: bool,
    is_b_on_device: bool,
    is_result_on_device: bool,
    is_async: bool,
    batch_size: c_int,
    columns_batch: bool,
    ext: *mut c_void,
}

const _: () = assert!(std::mem::size_of::<VecOpsConfig>() == 32);

impl VecOpsConfig {
    /// `a` (a vector, or the scalar of `scalar_mul_vec`), `b` and the result
    /// where the flags say; synchronous, one batch.
    fn new(a_on_device: bool, b_on_device: bool) -> Self {
        Self {
            stream: std::ptr::null_mut(),
            is_a_on_device: a_on_device,
            is_b_on_device: b_on_device,
            is_result_on_device: true,
            is_async: false,
            batch_size: 1,
            columns_batch: false,
            ext: std::ptr::null_mut(),
        }
    }
}

/// ICICLE's entry points and the libraries they live in, shared by the
/// backend and every buffer it allocated (a buffer is freed through them).
struct Api {
    is_device_available: DeviceCall,
    set_device: DeviceCall,
    msm_g1: Msm,
    msm_g2: Msm,
    ntt_init_domain: NttInitDomain,
    ntt: Ntt,
    ntt_release_domain: NttReleaseDomain,
    malloc: Malloc,
    free: Free,
    copy_to_device: CopyMemory,
    copy_to_host: CopyMemory,
    vector_mul: VectorOp,
    vector_sub: VectorOp,
    scalar_mul_vec: VectorOp,
    convert_montgomery: ConvertMontgomery,
    device: &'static str,
    /// log2 of the NTT domain initialised so far.
    domain: RwLock<Option<u32>>,
    // Kept last so the function pointers above never outlive them.
    _libraries: Vec<Library>,
}

/// ICICLE's libraries, loaded, with the device we run on. Cloning shares
/// them (and the NTT domain, and the coset powers).
#[derive(Clone)]
pub struct IcicleBackend {
    api: Arc<Api>,
    /// Powers `base^i` on the device for coset NTTs, by (base, length): made
    /// once, kept for every later transform (at most [`COSETS_KEPT`]).
    /// Outside `Api`, since each buffer holds the `Api`.
    cosets: Arc<Mutex<Vec<CosetPowers>>>,
}

/// `base^i` for i below the length, on the device: (base, length, powers).
type CosetPowers = (Fr, usize, Arc<DeviceBuffer<Scalar>>);

/// How many coset power vectors a backend keeps (a prover needs two: the
/// forward and inverse powers of its coset at its domain size).
const COSETS_KEPT: usize = 4;

// SAFETY: ICICLE's C API may be called from any thread once the device is set
// on that thread (done before every call); the domain is guarded by a lock.
unsafe impl Send for Api {}
unsafe impl Sync for Api {}

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

fn device_available(is_device_available: DeviceCall, kind: &str) -> bool {
    let device = Device::new(kind);
    // SAFETY: a valid Device; this call never throws for unknown types.
    unsafe { is_device_available(&device) == 0 }
}

impl Api {
    /// Sets our device on the calling thread (ICICLE's device is per thread).
    fn activate(&self) -> Result<(), BackendError> {
        let device = Device::new(self.device);
        // SAFETY: the device type was checked available in `load`.
        check("icicle_set_device", unsafe { (self.set_device)(&device) })
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

/// The environment variable that makes [`for_tests`] fail where ICICLE is
/// not installed, instead of skipping (for runs on a GPU machine).
pub const REQUIRE_ICICLE_ENV: &str = "PROOFMINT_REQUIRE_ICICLE";

/// ICICLE for a test: loaded from [`ICICLE_DIR_ENV`], or `None` (saying the
/// test was skipped) where that is not set, unless [`REQUIRE_ICICLE_ENV`] is
/// `1`. Panics where ICICLE is required or named but does not load: a test
/// helper, not for servers.
pub fn for_tests() -> Option<IcicleBackend> {
    let Some(dir) = install_dir(None) else {
        assert!(
            std::env::var(REQUIRE_ICICLE_ENV).as_deref() != Ok("1"),
            "{ICICLE_DIR_ENV} is not set"
        );
        eprintln!("skipped: no ICICLE installed (set {ICICLE_DIR_ENV} to run the ICICLE tests)");
        return None;
    };
    match IcicleBackend::load(&dir) {
        Ok(backend) => Some(backend),
        Err(e) => panic!("ICICLE does not load from {}: {e}", dir.display()),
    }
}

impl IcicleBackend {
    /// Loads ICICLE from `dir` (holding `lib/`), loads its device backends
    /// (from `dir/lib/backend`, or where ICICLE's own environment says), and
    /// picks CUDA if a CUDA device is available, else ICICLE's CPU device.
    ///
    /// ICICLE keeps its state per process (the NTT domain, the registered
    /// devices), so a process holds one loaded ICICLE: a second `load` of the
    /// same install returns the first (sharing its domain lock, without which
    /// two backends' transforms could release the domain under each other:
    /// an abort), and a load of another install is refused.
    pub fn load(dir: &Path) -> Result<Self, BackendError> {
        static LOADED: Mutex<Option<(PathBuf, IcicleBackend)>> = Mutex::new(None);
        let key = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        // Held while loading: ICICLE's loader is not made for two at once.
        let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
        match &*loaded {
            Some((first, backend)) if *first == key => return Ok(backend.clone()),
            Some((first, _)) => {
                return Err(device_error(format!(
                    "ICICLE is already loaded from {} in this process; one install per process (not {})",
                    first.display(),
                    dir.display()
                )))
            }
            None => {}
        }
        let backend = Self::load_first(dir)?;
        *loaded = Some((key, backend.clone()));
        Ok(backend)
    }

    /// [`Self::load`] for the first time in this process.
    fn load_first(dir: &Path) -> Result<Self, BackendError> {
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
        let is_device_available: DeviceCall = symbol(&device_lib, "icicle_is_device_available")?;
        let device = if device_available(is_device_available, "CUDA") {
            "CUDA"
        } else if device_available(is_device_available, "CPU") {
            "CPU"
        } else {
            return Err(device_error("neither a CUDA nor a CPU device is loaded"));
        };
        let api = Api {
            is_device_available,
            set_device: symbol(&device_lib, "icicle_set_device")?,
            msm_g1: symbol(&curve_lib, "bn254_msm")?,
            msm_g2: symbol(&curve_lib, "bn254_g2_msm")?,
            ntt_init_domain: symbol(&field_lib, "bn254_ntt_init_domain")?,
            ntt: symbol(&field_lib, "bn254_ntt")?,
            ntt_release_domain: symbol(&field_lib, "bn254_ntt_release_domain")?,
            malloc: symbol(&device_lib, "icicle_malloc")?,
            free: symbol(&device_lib, "icicle_free")?,
            copy_to_device: symbol(&device_lib, "icicle_copy_to_device")?,
            copy_to_host: symbol(&device_lib, "icicle_copy_to_host")?,
            vector_mul: symbol(&field_lib, "bn254_vector_mul")?,
            vector_sub: symbol(&field_lib, "bn254_vector_sub")?,
            scalar_mul_vec: symbol(&field_lib, "bn254_scalar_mul_vec")?,
            convert_montgomery: symbol(&field_lib, "bn254_scalar_convert_montgomery")?,
            device,
            domain: RwLock::new(None),
            _libraries: {
                libraries.extend([curve_lib, field_lib, device_lib]);
                libraries
            },
        };
        let backend = Self {
            api: Arc::new(api),
            cosets: Arc::default(),
        };
        backend.activate()?;
        Ok(backend)
    }

    /// Whether ICICLE has a device of this type loaded.
    pub fn available(&self, kind: &str) -> bool {
        device_available(self.api.is_device_available, kind)
    }

    /// "CUDA" or "CPU".
    pub fn device(&self) -> &'static str {
        self.api.device
    }

    /// Whether `other` is this backend (or a clone of it): device buffers
    /// of one are usable by the other.
    pub fn same_as(&self, other: &IcicleBackend) -> bool {
        Arc::ptr_eq(&self.api, &other.api)
    }

    /// Sets our device on the calling thread (ICICLE's device is per thread).
    fn activate(&self) -> Result<(), BackendError> {
        self.api.activate()
    }

    /// The NTT domain, holding at least 2^log_size, read-locked for the
    /// caller's transform. ICICLE's domain is one per process: growing it
    /// (release, then init) takes the write lock, so it never happens while
    /// a transform on another thread (a worker of the service) uses it.
    fn domain_for(&self, log_size: u32) -> Result<RwLockReadGuard<'_, Option<u32>>, BackendError> {
        loop {
            let domain = self.api.domain.read().unwrap_or_else(|p| p.into_inner());
            if domain.is_some_and(|current| current >= log_size) {
                return Ok(domain);
            }
            drop(domain);
            let mut domain = self.api.domain.write().unwrap_or_else(|p| p.into_inner());
            if domain.is_some_and(|current| current >= log_size) {
                continue; // grown meanwhile by another thread
            }
            if domain.is_some() {
                // SAFETY: no arguments; a domain exists, and no transform runs
                // (they hold the read lock).
                check("bn254_ntt_release_domain", unsafe {
                    (self.api.ntt_release_domain)()
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
                (self.api.ntt_init_domain)(&root, &config)
            })?;
            *domain = Some(log_size);
        }
    }

    /// One NTT over the subgroup of `size` elements from `input` to `output`
    /// on the device (the same buffer is allowed: ICICLE works in place).
    fn ntt_raw(
        &self,
        input: *const [u64; 4],
        output: *mut [u64; 4],
        size: usize,
        direction: NttDirection,
    ) -> Result<(), BackendError> {
        let log_size = ntt::log_size_of(size)?;
        self.activate()?;
        let _domain = self.domain_for(log_size)?;
        let config = NttConfig {
            stream: std::ptr::null_mut(),
            coset_gen: limbs32(&Fr::ONE.into_bigint().0),
            batch_size: 1,
            columns_batch: false,
            ordering: ORDERING_NN,
            are_inputs_on_device: true,
            are_outputs_on_device: true,
            is_async: false,
            ext: std::ptr::null_mut(),
        };
        let dir = match direction {
            NttDirection::Forward => NTT_FORWARD,
            NttDirection::Inverse => NTT_INVERSE,
        };
        // SAFETY: the caller passes `size` elements at `input` and room for
        // `size` at `output`, on the device.
        check("bn254_ntt", unsafe {
            (self.api.ntt)(input, size as c_int, dir, &config, output)
        })
    }

    /// A transform of host values through the device: up, [`Self::ntt_resident`]
    /// (whose coset powers stay on the device), and back.
    fn run_ntt(
        &self,
        values: &mut [Fr],
        offset: Fr,
        direction: NttDirection,
    ) -> Result<(), BackendError> {
        ntt::log_size_of(values.len())?;
        let input = self.upload_scalars(values)?;
        let mut output = self.allocate(values.len())?;
        self.ntt_resident(&input, &mut output, offset, direction)?;
        values.copy_from_slice(&self.download_scalars(&output)?);
        Ok(())
    }

    /// One MSM of device-resident bases and scalars, of equal lengths.
    fn msm_resident<P: Group>(
        &self,
        bases: DeviceSlice<'_, P>,
        scalars: DeviceSlice<'_, Scalar>,
    ) -> Result<P::Sum, BackendError> {
        check_lengths(bases.len, scalars.len)?;
        if bases.len == 0 {
            return Ok(P::Sum::zero());
        }
        self.activate()?;
        let size = c_int::try_from(bases.len)
            .map_err(|_| device_error(format!("{} points exceed ICICLE's int sizes", bases.len)))?;
        let config = MsmConfig {
            stream: std::ptr::null_mut(),
            precompute_factor: 1,
            c: 0,
            bitsize: 0,
            batch_size: 1,
            are_points_shared_in_batch: true,
            are_scalars_on_device: true,
            are_scalars_montgomery_form: false,
            are_points_on_device: true,
            are_points_montgomery_form: false,
            are_results_on_device: false,
            is_async: false,
            ext: std::ptr::null_mut(),
        };
        let mut out = vec![[0u64; 4]; P::RESULT_LIMBS];
        // SAFETY: `size` points and scalars on the device, and room for one
        // projective result on the host.
        check(P::CALL, unsafe {
            (P::msm(&self.api))(
                scalars.ptr,
                bases.ptr,
                size,
                &config,
                out.as_mut_ptr().cast(),
            )
        })?;
        P::result(&out)
    }

    /// Allocates room for `len` elements of `T` on the device.
    pub fn allocate<T: DeviceLayout>(&self, len: usize) -> Result<DeviceBuffer<T>, BackendError> {
        self.activate()?;
        let mut ptr = std::ptr::null_mut();
        if len > 0 {
            let bytes = len.checked_mul(T::BYTES).ok_or_else(|| {
                device_error(format!("{len} elements overflow the address space"))
            })?;
            // SAFETY: `ptr` is a valid out-pointer.
            check("icicle_malloc", unsafe {
                (self.api.malloc)(&mut ptr, bytes)
            })?;
        }
        Ok(DeviceBuffer {
            ptr,
            len,
            api: self.api.clone(),
            _layout: PhantomData,
        })
    }

    /// Copies `limbs` (whole elements of `T`'s layout, 32 bytes a limb
    /// group) to a new device buffer.
    fn copy_in<T: DeviceLayout>(
        &self,
        limbs: &[[u64; 4]],
    ) -> Result<DeviceBuffer<T>, BackendError> {
        let bytes = std::mem::size_of_val(limbs);
        debug_assert_eq!(bytes % T::BYTES, 0, "whole elements");
        let buffer = self.allocate::<T>(bytes / T::BYTES)?;
        if bytes > 0 {
            // SAFETY: the buffer holds `bytes` bytes, as does `limbs`.
            check("icicle_copy_to_device", unsafe {
                (self.api.copy_to_device)(buffer.ptr, limbs.as_ptr().cast(), bytes)
            })?;
        }
        Ok(buffer)
    }

    /// Uploads scalars: their Montgomery limbs cross as they are (no work on
    /// the host), and the device takes them out of Montgomery form, so that
    /// the buffer holds canonical elements, as ICICLE's MSM and NTT take them.
    pub fn upload_scalars(&self, values: &[Fr]) -> Result<DeviceBuffer<Scalar>, BackendError> {
        let mut buffer = self.copy_in::<Scalar>(montgomery_limbs(values))?;
        self.convert_montgomery(&mut buffer, false)?;
        Ok(buffer)
    }

    /// The canonical scalars of a device buffer, checked canonical.
    pub fn download_scalars(&self, buffer: &DeviceBuffer<Scalar>) -> Result<Vec<Fr>, BackendError> {
        let mut limbs = vec![[0u64; 4]; buffer.len];
        self.activate()?;
        if buffer.len > 0 {
            // SAFETY: both sides hold len * 32 bytes.
            check("icicle_copy_to_host", unsafe {
                (self.api.copy_to_host)(limbs.as_mut_ptr().cast(), buffer.ptr, buffer.len * 32)
            })?;
        }
        limbs
            .par_iter()
            .map(|l| {
                Fr::from_bigint(BigInt::new(*l))
                    .ok_or_else(|| device_error("a device scalar is not canonical"))
            })
            .collect()
    }

    /// Uploads G1 bases in ICICLE's affine layout (canonical coordinates, the
    /// point at infinity as (0, 0)), to be kept for many MSMs.
    pub fn upload_g1(&self, bases: &[G1Affine]) -> Result<DeviceBuffer<G1>, BackendError> {
        self.copy_in::<G1>(&G1::layout(bases))
    }

    /// [`IcicleBackend::upload_g1`] for G2.
    pub fn upload_g2(&self, bases: &[G2Affine]) -> Result<DeviceBuffer<G2>, BackendError> {
        self.copy_in::<G2>(&G2::layout(bases))
    }

    /// `Σ scalars[i] · bases[i]` in G1 over device-resident `bases` and
    /// `scalars`, each a range of its buffer; only the sum comes back.
    pub fn msm_g1_resident(
        &self,
        bases: DeviceSlice<'_, G1>,
        scalars: DeviceSlice<'_, Scalar>,
    ) -> Result<G1Projective, BackendError> {
        self.msm_resident(bases, scalars)
    }

    /// [`IcicleBackend::msm_g1_resident`] in G2.
    pub fn msm_g2_resident(
        &self,
        bases: DeviceSlice<'_, G2>,
        scalars: DeviceSlice<'_, Scalar>,
    ) -> Result<G2Projective, BackendError> {
        self.msm_resident(bases, scalars)
    }

    /// An MSM over bases and scalars from the host, through the device.
    fn msm_host<P: Group>(
        &self,
        bases: &[P::Affine],
        scalars: &[Fr],
    ) -> Result<P::Sum, BackendError> {
        check_lengths(bases.len(), scalars.len())?;
        let bases = self.copy_in::<P>(&P::layout(bases))?;
        let scalars = self.upload_scalars(scalars)?;
        self.msm_resident(bases.all(), scalars.all())
    }

    /// An NTT from `input` into `output` (of the same power-of-two length),
    /// both on the device: over the subgroup for `offset` = 1, else over the
    /// coset `offset · H`, natural order in and out.
    ///
    /// A coset transform scales by the powers of the offset on the device
    /// (forward: the coefficients by `offset^i` before the transform; inverse:
    /// the result by `offset^-i` after it), with the powers made once and
    /// kept: ICICLE's own coset NTT computes them on the host, one at a time,
    /// at every call when the offset is outside the NTT domain (400 ms of a
    /// 256-slot proof's witness map were that).
    pub fn ntt_resident(
        &self,
        input: &DeviceBuffer<Scalar>,
        output: &mut DeviceBuffer<Scalar>,
        offset: Fr,
        direction: NttDirection,
    ) -> Result<(), BackendError> {
        if offset.is_zero() {
            return Err(BackendError::ZeroOffset);
        }
        if input.len != output.len {
            return Err(device_error(format!(
                "an NTT of {} elements into {}",
                input.len, output.len
            )));
        }
        let n = input.len;
        ntt::log_size_of(n)?;
        if offset == Fr::ONE {
            return self.ntt_raw(input.ptr.cast(), output.ptr.cast(), n, direction);
        }
        match direction {
            NttDirection::Forward => {
                let powers = self.coset_powers(offset, n)?;
                let input = input.ptr.cast_const();
                self.vector_op(
                    "bn254_vector_mul",
                    self.api.vector_mul,
                    input,
                    &powers,
                    output,
                )?;
                // In place: ICICLE's NTT takes the same buffer in and out.
                let ptr = output.ptr.cast::<[u64; 4]>();
                self.ntt_raw(ptr, ptr, n, direction)
            }
            NttDirection::Inverse => {
                let inverse = offset.inverse().expect("a non-zero offset");
                let powers = self.coset_powers(inverse, n)?;
                self.ntt_raw(input.ptr.cast(), output.ptr.cast(), n, direction)?;
                self.mul_assign(output, &powers)
            }
        }
    }

    /// `base^i` for i below `n`, on the device, made at the first call.
    fn coset_powers(&self, base: Fr, n: usize) -> Result<Arc<DeviceBuffer<Scalar>>, BackendError> {
        let mut cosets = self.cosets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, _, powers)) = cosets.iter().find(|(b, len, _)| *b == base && *len == n) {
            return Ok(powers.clone());
        }
        const CHUNK: usize = 1 << 12;
        let mut powers = vec![Fr::ONE; n];
        powers
            .par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(chunk, values)| {
                let mut power = base.pow([(chunk * CHUNK) as u64]);
                for value in values {
                    *value = power;
                    power *= base;
                }
            });
        let powers = Arc::new(self.upload_scalars(&powers)?);
        if cosets.len() == COSETS_KEPT {
            cosets.remove(0);
        }
        cosets.push((base, n, powers.clone()));
        Ok(powers)
    }

    /// `result = a op b`, elementwise, all on the device (`result` may be `a`).
    fn vector_op(
        &self,
        call: &str,
        op: VectorOp,
        a: *const c_void,
        b: &DeviceBuffer<Scalar>,
        result: &mut DeviceBuffer<Scalar>,
    ) -> Result<(), BackendError> {
        self.activate()?;
        let config = VecOpsConfig::new(true, true);
        // SAFETY: `a`, `b` and `result` hold result.len elements on the device.
        check(call, unsafe {
            op(
                a.cast(),
                b.ptr.cast(),
                result.len as u64,
                &config,
                result.ptr.cast(),
            )
        })
    }

    fn same_length(a: usize, b: usize) -> Result<(), BackendError> {
        if a != b {
            return Err(device_error(format!("vectors of {a} and {b} elements")));
        }
        Ok(())
    }

    /// `a[i] *= b[i]` on the device.
    pub fn mul_assign(
        &self,
        a: &mut DeviceBuffer<Scalar>,
        b: &DeviceBuffer<Scalar>,
    ) -> Result<(), BackendError> {
        Self::same_length(a.len, b.len)?;
        let a_ptr = a.ptr.cast_const();
        self.vector_op("bn254_vector_mul", self.api.vector_mul, a_ptr, b, a)
    }

    /// `a[i] -= b[i]` on the device.
    pub fn sub_assign(
        &self,
        a: &mut DeviceBuffer<Scalar>,
        b: &DeviceBuffer<Scalar>,
    ) -> Result<(), BackendError> {
        Self::same_length(a.len, b.len)?;
        let a_ptr = a.ptr.cast_const();
        self.vector_op("bn254_vector_sub", self.api.vector_sub, a_ptr, b, a)
    }

    /// `a[i] *= k` on the device.
    pub fn scale(&self, a: &mut DeviceBuffer<Scalar>, k: Fr) -> Result<(), BackendError> {
        let k = k.into_bigint().0;
        self.activate()?;
        // `scalar_mul_vec(k, a)`: `a` is its vector operand `b`, in place.
        let config = VecOpsConfig::new(false, true);
        // SAFETY: one scalar on the host; `a` holds a.len elements on the device.
        check("bn254_scalar_mul_vec", unsafe {
            (self.api.scalar_mul_vec)(&k, a.ptr.cast(), a.len as u64, &config, a.ptr.cast())
        })
    }

    /// Converts a device buffer into (`into` = true) or out of Montgomery form, in place.
    fn convert_montgomery(
        &self,
        buffer: &mut DeviceBuffer<Scalar>,
        into: bool,
    ) -> Result<(), BackendError> {
        if buffer.len == 0 {
            return Ok(());
        }
        self.activate()?;
        let config = VecOpsConfig::new(true, true);
        // SAFETY: the buffer holds len elements on the device, in and out.
        check("bn254_scalar_convert_montgomery", unsafe {
            (self.api.convert_montgomery)(
                buffer.ptr.cast(),
                buffer.len as u64,
                into,
                &config,
                buffer.ptr.cast(),
            )
        })
    }
}

/// The layout of what a [`DeviceBuffer`] holds: bytes per element.
pub trait DeviceLayout {
    const BYTES: usize;
}

/// BN254 scalars, canonical (not Montgomery), 4 little-endian u64 limbs.
pub struct Scalar;
/// G1 affine points, canonical (x, y), the point at infinity as (0, 0).
pub struct G1;
/// G2 affine points, canonical (x.c0, x.c1, y.c0, y.c1).
pub struct G2;

impl DeviceLayout for Scalar {
    const BYTES: usize = 32;
}
impl DeviceLayout for G1 {
    const BYTES: usize = 64;
}
impl DeviceLayout for G2 {
    const BYTES: usize = 128;
}

/// What differs between G1 and G2 for ICICLE's MSM.
trait Group: DeviceLayout {
    type Affine: Sync;
    type Sum: Zero;
    const CALL: &'static str;
    /// Limbs of a projective result (3 or 6 coordinates' worth).
    const RESULT_LIMBS: usize;
    fn msm(api: &Api) -> Msm;
    /// Points in ICICLE's affine layout (canonical coordinates, the point at
    /// infinity as zeros), a point's coordinates one after another.
    fn layout(points: &[Self::Affine]) -> Vec<[u64; 4]>;
    /// ICICLE's projective result (X, Y, Z), x = X/Z, checked on the curve.
    fn result(out: &[[u64; 4]]) -> Result<Self::Sum, BackendError>;
}

impl Group for G1 {
    type Affine = G1Affine;
    type Sum = G1Projective;
    const CALL: &'static str = "bn254_msm";
    const RESULT_LIMBS: usize = 3;
    fn msm(api: &Api) -> Msm {
        api.msm_g1
    }
    fn layout(points: &[G1Affine]) -> Vec<[u64; 4]> {
        points
            .par_iter()
            .flat_map_iter(|p| {
                p.xy()
                    .map_or([[0; 4]; 2], |(x, y)| [x.into_bigint().0, y.into_bigint().0])
            })
            .collect()
    }
    fn result(out: &[[u64; 4]]) -> Result<G1Projective, BackendError> {
        let [x, y, z] = [fq(&out[0])?, fq(&out[1])?, fq(&out[2])?];
        let Some(z_inverse) = z.inverse() else {
            return Ok(G1Projective::zero());
        };
        on_curve(
            G1Affine::new_unchecked(x * z_inverse, y * z_inverse),
            Self::CALL,
        )
    }
}

impl Group for G2 {
    type Affine = G2Affine;
    type Sum = G2Projective;
    const CALL: &'static str = "bn254_g2_msm";
    const RESULT_LIMBS: usize = 6;
    fn msm(api: &Api) -> Msm {
        api.msm_g2
    }
    fn layout(points: &[G2Affine]) -> Vec<[u64; 4]> {
        points
            .par_iter()
            .flat_map_iter(|p| {
                p.xy().map_or([[0; 4]; 4], |(x, y)| {
                    [
                        x.c0.into_bigint().0,
                        x.c1.into_bigint().0,
                        y.c0.into_bigint().0,
                        y.c1.into_bigint().0,
                    ]
                })
            })
            .collect()
    }
    fn result(out: &[[u64; 4]]) -> Result<G2Projective, BackendError> {
        let fq2 = |i: usize| -> Result<Fq2, BackendError> {
            Ok(Fq2::new(fq(&out[i])?, fq(&out[i + 1])?))
        };
        let [x, y, z] = [fq2(0)?, fq2(2)?, fq2(4)?];
        let Some(z_inverse) = z.inverse() else {
            return Ok(G2Projective::zero());
        };
        on_curve(
            G2Affine::new_unchecked(x * z_inverse, y * z_inverse),
            Self::CALL,
        )
    }
}

/// Memory on ICICLE's device holding `len` elements of `T`, freed on drop.
pub struct DeviceBuffer<T: DeviceLayout> {
    ptr: *mut c_void,
    len: usize,
    api: Arc<Api>,
    _layout: PhantomData<T>,
}

// SAFETY: device memory is not tied to a host thread; ICICLE's calls on it
// set the device on the calling thread first.
unsafe impl<T: DeviceLayout> Send for DeviceBuffer<T> {}
unsafe impl<T: DeviceLayout> Sync for DeviceBuffer<T> {}

impl<T: DeviceLayout> DeviceBuffer<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Elements `range` of the buffer, for a resident MSM.
    pub fn slice(&self, range: Range<usize>) -> Result<DeviceSlice<'_, T>, BackendError> {
        if range.start > range.end || range.end > self.len {
            return Err(device_error(format!(
                "elements {range:?} of a device buffer of {}",
                self.len
            )));
        }
        Ok(DeviceSlice {
            // SAFETY: within the allocation (checked above).
            ptr: unsafe { self.ptr.cast::<u8>().add(range.start * T::BYTES) }.cast(),
            len: range.len(),
            _buffer: PhantomData,
        })
    }

    /// The whole buffer.
    pub fn all(&self) -> DeviceSlice<'_, T> {
        DeviceSlice {
            ptr: self.ptr,
            len: self.len,
            _buffer: PhantomData,
        }
    }
}

impl<T: DeviceLayout> Drop for DeviceBuffer<T> {
    fn drop(&mut self) {
        if self.ptr.is_null() {
            return;
        }
        // A buffer that cannot be freed is leaked, never a panic in drop.
        if self.api.activate().is_ok() {
            // SAFETY: allocated by icicle_malloc on this device, freed once.
            unsafe { (self.api.free)(self.ptr) };
        }
    }
}

/// A borrowed range of a [`DeviceBuffer`].
#[derive(Clone, Copy)]
pub struct DeviceSlice<'a, T: DeviceLayout> {
    ptr: *const c_void,
    len: usize,
    _buffer: PhantomData<&'a DeviceBuffer<T>>,
}

impl<T: DeviceLayout> DeviceSlice<'_, T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

// An `Fr` is its Montgomery limbs and nothing else: 32 bytes, the `BigInt`
// at offset 0, whose `[u64; 4]` is at offset 0 (the rest is a `PhantomData`).
const _: () = assert!(
    std::mem::size_of::<Fr>() == 32
        && std::mem::align_of::<Fr>() == std::mem::align_of::<[u64; 4]>()
        && std::mem::offset_of!(Fr, 0) == 0
        && std::mem::offset_of!(BigInt<4>, 0) == 0
);

/// The Montgomery limbs of `values`, in place: no copy of a proof's
/// vectors (tens of megabytes each) on the host before they go up.
fn montgomery_limbs(values: &[Fr]) -> &[[u64; 4]] {
    // SAFETY: by the assertion above, an Fr is exactly its [u64; 4] limbs,
    // with the same size and alignment, so a slice of one is a slice of the other.
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast(), values.len()) }
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
        match self.api.device {
            "CUDA" => "icicle-cuda",
            _ => "icicle-cpu",
        }
    }

    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective, BackendError> {
        self.msm_host::<G1>(bases, scalars)
    }

    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective, BackendError> {
        self.msm_host::<G2>(bases, scalars)
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

    fn resident(&self) -> Option<&IcicleBackend> {
        Some(self)
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
    fn montgomery_limbs_are_the_elements_limbs_in_place() {
        let values = [
            Fr::from(0u64),
            Fr::from(1u64),
            -Fr::from(2u64),
            Fr::from(u64::MAX),
        ];
        let limbs = montgomery_limbs(&values);
        assert_eq!(limbs.len(), values.len());
        for (value, limbs) in values.iter().zip(limbs) {
            assert_eq!(*limbs, value.0 .0);
            assert_eq!(Fr::new_unchecked(BigInt::new(*limbs)), *value);
        }
    }

    #[test]
    fn a_missing_install_is_an_error_not_a_crash() {
        let dir = std::env::temp_dir().join("proofmint-no-icicle-here");
        let error = IcicleBackend::load(&dir).err().expect("nothing to load");
        assert!(error.to_string().contains("libicicle_device.so"), "{error}");
    }
}
