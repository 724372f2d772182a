//! How ICICLE's libraries are opened, tested without ICICLE or a GPU: two
//! small shared libraries built here with the C compiler, where the second,
//! `dlopen`ed lazily by the first (as ICICLE's `icicle_load_backend` opens
//! its CUDA backend), calls a function of the first from its initialiser (as
//! the CUDA backend calls `icicle::register_deviceAPI`). Opened the way
//! `IcicleBackend::load` opens ICICLE, this works; opened with libloading's
//! default (RTLD_LOCAL), the dynamic linker kills the process, which a child
//! process shows. A backend library with a symbol nobody defines is an error
//! naming it, never a dead process.

use std::ffi::{c_char, c_int, CString};
use std::path::{Path, PathBuf};
use std::process::Command;

use proofmint_gpu::icicle::{open_backend_libraries, open_library};

const HOST: &str = r#"
#include <dlfcn.h>
static int registered = 0;
void pm_register_device(int value) { registered = value; }
int pm_registered(void) { return registered; }
/* As ICICLE's loader: lazy binding, global scope. */
int pm_load_backend(const char *path) { return dlopen(path, RTLD_LAZY | RTLD_GLOBAL) ? 0 : 1; }
"#;

const BACKEND: &str = r#"
extern void pm_register_device(int value);
__attribute__((constructor)) static void registration(void) { pm_register_device(42); }
"#;

const BROKEN: &str = r#"
extern void pm_symbol_nobody_defines(void);
void pm_broken(void) { pm_symbol_nobody_defines(); }
"#;

fn compile(dir: &Path, name: &str, source: &str, libs: &[&str]) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, source).unwrap();
    let so = dir.join(format!("lib{name}.so"));
    let out = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(&c)
        .args(libs)
        .output()
        .expect("a C compiler (cc) is on the path");
    assert!(
        out.status.success(),
        "cc {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    so
}

struct Libraries {
    _dir: tempfile::TempDir,
    host: PathBuf,
    backend: PathBuf,
}

fn libraries() -> Libraries {
    let dir = tempfile::tempdir().unwrap();
    let host = compile(dir.path(), "pmhost", HOST, &["-ldl"]);
    let backend_dir = dir.path().join("backend");
    std::fs::create_dir(&backend_dir).unwrap();
    let backend = compile(&backend_dir, "pmbackend", BACKEND, &[]);
    Libraries {
        _dir: dir,
        host,
        backend,
    }
}

type Load = unsafe extern "C" fn(*const c_char) -> c_int;
type Registered = unsafe extern "C" fn() -> c_int;

/// Loads the backend through the host, as ICICLE loads its CUDA backend.
fn load_backend_through(host: &libloading::Library, backend: &Path) -> c_int {
    let path = CString::new(backend.to_str().unwrap()).unwrap();
    unsafe {
        let load: libloading::Symbol<Load> = host.get(b"pm_load_backend").unwrap();
        assert_eq!(load(path.as_ptr()), 0, "dlopen of the backend failed");
        let registered: libloading::Symbol<Registered> = host.get(b"pm_registered").unwrap();
        registered()
    }
}

/// One test, one host library: with RTLD_GLOBAL, the first definition of a
/// symbol in the process wins, so parallel tests would register into each
/// other's copies.
#[test]
fn backends_resolve_against_libraries_opened_as_icicle_is() {
    let libs = libraries();
    let host = open_library(&libs.host).unwrap();
    // Loaded by the host's lazy dlopen, as ICICLE loads its CUDA backend.
    assert_eq!(load_backend_through(&host, &libs.backend), 42);

    // Opened first by us, as IcicleBackend::load now does before ICICLE's loader.
    let second = libs._dir.path().join("second");
    std::fs::create_dir(&second).unwrap();
    compile(&second, "pmsecond", &BACKEND.replace("42", "43"), &[]);
    let opened = open_backend_libraries(&second).unwrap();
    assert_eq!(opened.len(), 1);
    let registered: Registered = unsafe { *host.get(b"pm_registered").unwrap() };
    assert_eq!(unsafe { registered() }, 43);

    // A backend with a symbol nobody defines: an error naming both.
    compile(&second, "pmbroken", BROKEN, &[]);
    let error = open_backend_libraries(&second)
        .expect_err("refused")
        .to_string();
    assert!(error.contains("libpmbroken.so"), "{error}");
    assert!(error.contains("pm_symbol_nobody_defines"), "{error}");
    // Opening ICICLE from a folder without it is an error too, not a crash.
    let missing = proofmint_gpu::IcicleBackend::load(&second).err().unwrap();
    assert!(
        missing.to_string().contains("libicicle_device.so"),
        "{missing}"
    );
}

/// The failure this guards against: the same libraries opened with
/// libloading's default flags end the process. Run in a child.
#[test]
fn with_libloading_defaults_the_process_dies() {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            "child_opens_with_rtld_local",
            "--include-ignored",
            "--nocapture",
        ])
        .env("PROOFMINT_LOADING_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("symbol lookup error"), "{stderr}");
}

#[test]
#[ignore = "run by with_libloading_defaults_the_process_dies"]
fn child_opens_with_rtld_local() {
    if std::env::var_os("PROOFMINT_LOADING_CHILD").is_none() {
        return;
    }
    let libs = libraries();
    let host = unsafe { libloading::Library::new(&libs.host) }.unwrap();
    load_backend_through(&host, &libs.backend);
    unreachable!("the dynamic linker should have ended this process");
}
