//! Before anything links: `.cargo/config.toml` links every executable of
//! the workspace statically against glibc, which takes glibc's static
//! library, `libc.a`. Debian and Ubuntu install it with `libc6-dev` (which
//! Rust needs anyway); Fedora, RHEL and openSUSE ship it apart. Without it
//! the linker's own error names neither the package nor a way out, so the
//! build of the kit, which every executable depends on, stops first with
//! both.

use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CC");
    let static_glibc = std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu")
        && std::env::var("CARGO_CFG_TARGET_FEATURE").is_ok_and(|f| f.split(',').any(|x| x == "crt-static"));
    // A cross build links with a toolchain of its own, which `cc` says nothing about.
    if !static_glibc || std::env::var("HOST").ok() != std::env::var("TARGET").ok() {
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    // `cc -print-file-name=libc.a` prints the library's path, or only its
    // name when the library is not there.
    let found = Command::new(&cc)
        .arg("-print-file-name=libc.a")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .is_some_and(|o| std::path::Path::new(String::from_utf8_lossy(&o.stdout).trim()).is_absolute());
    if !found {
        eprintln!(
            "error: lab is linked statically (.cargo/config.toml), which needs glibc's static library \
             (libc.a), and `{cc}` does not find it. Install it: Fedora, RHEL: sudo dnf install glibc-static; \
             openSUSE: sudo zypper install glibc-devel-static; Debian, Ubuntu: sudo apt-get install libc6-dev. \
             Or build a dynamically linked lab, for this machine only: RUSTFLAGS= cargo build"
        );
        std::process::exit(1);
    }
}
