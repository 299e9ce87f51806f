//! `lab vm`: run the suite on another kernel without installing it. The
//! kernel (a bzImage, or a `.deb` unpacked into a temporary directory)
//! boots under qemu with an initramfs assembled here (`initramfs.rs`), whose
//! `/init` is this very executable (`init.rs`). The guest's results come
//! back framed on a serial port of their own (`framing.rs`); the kernel's
//! console, on the first serial port, is only read to tell a kernel panic
//! and to quote what happened.
//!
//! KVM is tried first when `/dev/kvm` opens, behind a boot watchdog (the
//! guest must say `hello` in time); otherwise, or when it does not, TCG
//! (`-accel tcg -cpu max,cx16=off`) runs. The report's `environment.vm` says which.

pub mod command;
pub mod framing;
pub mod init;
pub mod initramfs;
pub mod kernel;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use init::{Done, GuestConfig, Hello, RunEnd};
use kernel::Kernel;

/// The cgroup layout of the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum CgroupLayout {
    /// Pure cgroup v2: the unified hierarchy on /sys/fs/cgroup.
    V2,
    /// Pure cgroup v1: one hierarchy per controller, no unified hierarchy.
    V1,
    /// v1 controllers and an empty unified hierarchy on /sys/fs/cgroup/unified.
    Hybrid,
}

impl CgroupLayout {
    /// `v2`, `v1`, `hybrid`.
    pub fn as_str(self) -> &'static str {
        match self {
            CgroupLayout::V2 => "v2",
            CgroupLayout::V1 => "v1",
            CgroupLayout::Hybrid => "hybrid",
        }
    }
}

/// Which accelerator to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    /// KVM behind a boot watchdog, else TCG.
    Auto,
    /// KVM only.
    Kvm,
    /// TCG (emulation) only.
    Tcg,
}

/// One `lab vm` run.
#[derive(Debug, Clone)]
pub struct VmOptions {
    /// A bzImage or a linux-image .deb.
    pub kernel: PathBuf,
    /// The cgroup layout.
    pub cgroup: CgroupLayout,
    /// None: root; else the uid (and gid) to run as.
    pub user: Option<u32>,
    /// Whether that user gets a delegated cgroup v2 subtree.
    pub delegated: bool,
    /// Guest memory in MiB.
    pub memory_mb: u32,
    /// How long the guest may take after it booted.
    pub timeout: Duration,
    /// How long the boot may take before `hello`.
    pub boot_timeout: Duration,
    /// The accelerator.
    pub accel: Accel,
    /// The `lab` executable to boot (default: this one).
    pub lab: Option<PathBuf>,
    /// Arguments of `lab run` in the guest (without `--format`).
    pub run_args: Vec<String>,
    /// Kernel modules to load (with their dependencies).
    pub modules: Vec<String>,
    /// Leave `/` the kernel's initial rootfs (see [`GuestConfig::initial_rootfs`]).
    pub initial_rootfs: bool,
}

/// How a VM run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The suite ran and the guest powered off; the kernel log is clean.
    Completed,
    /// The suite ran, but the kernel logged an Oops, a BUG or a WARNING, or tainted itself.
    KernelOops,
    /// The kernel panicked.
    KernelPanic,
    /// The guest did not reach `/init` in time.
    BootTimeout,
    /// The guest booted but did not finish in time.
    GuestTimeout,
    /// The guest stopped before it finished (no panic on the console).
    GuestDied,
    /// qemu could not run this kernel.
    QemuFailed,
}

impl Outcome {
    /// `completed`, `kernel-panic`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::KernelOops => "kernel-oops",
            Outcome::KernelPanic => "kernel-panic",
            Outcome::BootTimeout => "boot-timeout",
            Outcome::GuestTimeout => "guest-timeout",
            Outcome::GuestDied => "guest-died",
            Outcome::QemuFailed => "qemu-failed",
        }
    }
}

/// What a report's `environment.vm` holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VmEnvironment {
    /// How the run ended.
    pub outcome: Outcome,
    /// `kvm` or `tcg`: what ran the guest that reported.
    pub accelerator: String,
    /// Why KVM was not used, when it was tried or not available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kvm_fallback: Option<String>,
    /// The kernel's release.
    pub kernel_release: String,
    /// The kernel package or image booted (file name only).
    pub kernel_source: String,
    /// The cgroup layout asked for.
    pub cgroup: CgroupLayout,
    /// `root` or `uid N`.
    pub user: String,
    /// Modules loaded from the kernel's own `lib/modules`.
    pub modules_loaded: Vec<String>,
    /// Modules that are built in (nothing to load).
    pub modules_builtin: Vec<String>,
    /// Modules that could not be found or loaded, with why.
    pub modules_failed: Vec<String>,
    /// What `/` was when the suite ran.
    pub root: String,
    /// The cgroup mounts made, with their results.
    pub cgroup_mounts: Vec<String>,
    /// The cgroup the suite ran in.
    pub suite_cgroup: String,
    /// `/proc/sys/kernel/tainted` at the end.
    pub tainted: u64,
    /// Milliseconds from qemu's start to `hello`.
    pub boot_ms: u64,
    /// Milliseconds from qemu's start to its end.
    pub total_ms: u64,
    /// Notes of the guest's set-up, and the suite's stderr tail when it failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Console (and kernel log) lines that show what went wrong.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub console_excerpt: Vec<String>,
}

/// A VM run's result: the guest's report with `environment.vm` added (or,
/// when the guest reported nothing, a report with no labs).
#[derive(Debug, Clone)]
pub struct VmRun {
    /// What `environment.vm` says.
    pub vm: VmEnvironment,
    /// The report as JSON, `environment.vm` included.
    pub report: serde_json::Value,
}

impl VmRun {
    /// The exit code: the guest report's, or 4 when the VM did not complete.
    pub fn exit_code(&self) -> u8 {
        if self.vm.outcome != Outcome::Completed {
            return 4;
        }
        let s = &self.report["summary"];
        let n = |k: &str| s[k].as_u64().unwrap_or(0);
        if self.report["interrupted"].as_bool() == Some(true) {
            130
        } else if n("error") > 0 {
            3
        } else if n("fail") > 0 {
            1
        } else {
            0
        }
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|c| c.is_file()))
}

/// The `lab` executable for the guest, without its debug sections when
/// objcopy is there (a debug build is mostly DWARF).
fn guest_lab(opts: &VmOptions, dir: &Path) -> anyhow::Result<Vec<u8>> {
    let exe = match &opts.lab {
        Some(p) => p.clone(),
        None => std::env::current_exe().context("find this executable (/proc/self/exe)")?,
    };
    if let Some(objcopy) = which("objcopy") {
        let out = dir.join("lab.stripped");
        let ok = Command::new(objcopy)
            .arg("--strip-debug")
            .arg(&exe)
            .arg(&out)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return std::fs::read(&out).with_context(|| format!("read {}", out.display()));
        }
    }
    std::fs::read(&exe).with_context(|| format!("read {}", exe.display()))
}

/// Assemble the initramfs for `opts` and `kernel`; returns it with the
/// module names it will load and what could not be had.
fn build_initramfs(
    opts: &VmOptions,
    kernel: &Kernel,
    dir: &Path,
) -> anyhow::Result<(initramfs::Initramfs, kernel::Modules)> {
    use initramfs::Initramfs;
    let mut a = Initramfs::new();
    for d in ["proc", "sys", "dev", "tmp", "run", "root", "newroot", "etc", "usr/bin"] {
        a.dir(d, 0o755);
    }
    a.char_dev("dev/console", 0o600, 5, 1);
    a.file("usr/bin/lab", 0o755, guest_lab(opts, dir)?);
    a.symlink("init", "usr/bin/lab");
    let exe = opts.lab.clone().map_or_else(std::env::current_exe, Ok)?;
    let mut host = initramfs::shared_libraries(&exe)?;
    // The labs execute /bin/sh (lab 03 and 17) and ls (lab 03).
    for tool in ["/bin/sh", "/bin/ls"] {
        let p = PathBuf::from(tool);
        if p.exists() {
            host.extend(initramfs::shared_libraries(&std::fs::canonicalize(&p)?)?);
            host.push(p);
        }
    }
    host.sort();
    host.dedup();
    for p in &host {
        a.host_path(p)?;
    }
    a.file(
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n".to_vec(),
    );
    a.file("etc/group", 0o644, b"root:x:0:\nnogroup:x:65534:\n".to_vec());
    a.file("etc/hostname", 0o644, b"lab-vm\n".to_vec());
    let wanted: Vec<&str> = opts.modules.iter().map(String::as_str).collect();
    let modules = kernel.modules(&wanted);
    for m in &modules.load {
        a.file(format!("{}/{}.ko", init::MODULES, m.name), 0o644, m.data.clone());
    }
    let cfg = GuestConfig {
        cgroup: opts.cgroup.as_str().into(),
        user: opts.user,
        delegated: opts.delegated,
        run_args: opts.run_args.clone(),
        modules: modules.load.iter().map(|m| m.name.clone()).collect(),
        initial_rootfs: opts.initial_rootfs,
    };
    a.file(init::CONFIG, 0o644, serde_json::to_vec(&cfg)?);
    Ok((a, modules))
}

/// The kernel command line: the console on the first serial port, a panic
/// ends the VM at once (with -no-reboot), and the layout is init's to mount.
const CMDLINE: &str = "console=ttyS0 rdinit=/init panic=-1 loglevel=4 random.trust_cpu=on";

struct Attempt {
    outcome: Outcome,
    data: Vec<u8>,
    console: Vec<u8>,
    boot_ms: u64,
    total_ms: u64,
    problem: Option<String>,
}

fn kvm_usable() -> Result<(), String> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .map(drop)
        .map_err(|e| format!("/dev/kvm: {e}"))
}

fn qemu_binary() -> anyhow::Result<PathBuf> {
    which("qemu-system-x86_64").context(lab_kit::tr!(
        "qemu-system-x86_64 is not installed (Debian/Ubuntu: apt-get install qemu-system-x86)"
    ))
}

fn boot(
    opts: &VmOptions,
    kernel: &Kernel,
    initrd: &Path,
    dir: &Path,
    kvm: bool,
    boot_timeout: Duration,
) -> anyhow::Result<Attempt> {
    let tag = if kvm { "kvm" } else { "tcg" };
    let console = dir.join(format!("console-{tag}.log"));
    let data = dir.join(format!("data-{tag}.log"));
    let mut cmd = Command::new(qemu_binary()?);
    cmd.args([
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
        "-monitor",
        "none",
    ]);
    if kvm {
        cmd.args(["-accel", "kvm", "-cpu", "host"]);
    } else {
        // Without CMPXCHG16B: qemu 7.2's emulation of it under TCG corrupts
        // SLUB's lockless per-CPU freelists (this_cpu_try_cmpxchg128) on
        // 6.12, which panicked in kmem_cache_alloc or slab_sysfs_init in
        // about three boots of four; without it SLUB takes its locked path.
        cmd.args(["-accel", "tcg", "-cpu", "max,cx16=off"]);
    }
    cmd.arg("-m")
        .arg(opts.memory_mb.to_string())
        .args(["-smp", "1"])
        .arg("-kernel")
        .arg(&kernel.image)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(CMDLINE)
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .arg("-serial")
        .arg(format!("file:{}", data.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // qemu dies with us (SIGKILL of lab vm leaves no VM running).
    lab_kit::sys::kill_with_parent(&mut cmd);
    let start = Instant::now();
    let mut child = cmd.spawn().context("start qemu-system-x86_64")?;
    let mut stderr = child.stderr.take();
    let read = |p: &Path| std::fs::read(p).unwrap_or_default();
    let mut boot_ms = 0;
    let mut outcome = None;
    let mut since_done: Option<Instant> = None;
    let exit = loop {
        std::thread::sleep(Duration::from_millis(100));
        if lab_kit::sys::interrupted() {
            stop(&mut child);
            bail!("{}", lab_kit::tr!("interrupted"));
        }
        let d = framing::decode(&read(&data));
        if boot_ms == 0 && d.last("hello").is_some() {
            boot_ms = ms(start.elapsed());
        }
        if d.last("done").is_some() && since_done.is_none() {
            since_done = Some(Instant::now());
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        let c = read(&console);
        if panicked(&c) && outcome.is_none() {
            // Give the console a moment to take the rest of the panic.
            outcome = Some((Outcome::KernelPanic, Instant::now()));
        }
        let now = start.elapsed();
        match () {
            _ if outcome.is_some_and(|(_, t)| t.elapsed() > Duration::from_secs(2)) => break None,
            _ if since_done.is_some_and(|t| t.elapsed() > Duration::from_secs(10)) => break None,
            _ if boot_ms == 0 && now > boot_timeout => {
                outcome = Some((Outcome::BootTimeout, Instant::now()));
                break None;
            }
            _ if boot_ms > 0 && now > Duration::from_millis(boot_ms) + opts.timeout => {
                outcome = Some((Outcome::GuestTimeout, Instant::now()));
                break None;
            }
            _ => {}
        }
    };
    if exit.is_none() {
        stop(&mut child);
    }
    let mut qemu_err = String::new();
    if let Some(e) = stderr.as_mut() {
        let _ = e.read_to_string(&mut qemu_err);
    }
    let total_ms = ms(start.elapsed());
    let data = read(&data);
    let console = read(&console);
    let d = framing::decode(&data);
    let outcome = match outcome.map(|o| o.0) {
        Some(o) => o,
        None if d.last("done").is_some() => Outcome::Completed,
        None if panicked(&console) => Outcome::KernelPanic,
        None if exit.is_some_and(|s| !s.success()) && boot_ms == 0 => Outcome::QemuFailed,
        None if boot_ms == 0 => Outcome::BootTimeout,
        None => Outcome::GuestDied,
    };
    let problem = (!qemu_err.trim().is_empty()).then(|| format!("qemu: {}", qemu_err.trim()));
    Ok(Attempt {
        outcome,
        data,
        console,
        boot_ms,
        total_ms,
        problem,
    })
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn panicked(console: &[u8]) -> bool {
    String::from_utf8_lossy(console).contains("Kernel panic - not syncing")
}

/// Whether a kernel log line marks an Oops, a BUG, a WARNING, a lockup or
/// a hung task.
fn is_oops_mark(line: &str) -> bool {
    const MARKS: &[&str] = &[
        "Oops:",
        "BUG:",
        "kernel BUG at",
        "WARNING: CPU:",
        "general protection fault",
        "Kernel panic",
        "soft lockup",
        "blocked for more than",
    ];
    // Not "Call Trace:" alone: the OOM killer prints one whenever a memory
    // limit is enforced, which lab 16 does on purpose.
    MARKS.iter().any(|m| line.contains(m))
}

/// The part of the kernel log that shows the first Oops, BUG or WARNING:
/// from a few lines before its first mark to the end of its trace.
pub fn oops_lines(log: &str) -> Vec<String> {
    let lines: Vec<&str> = log.lines().collect();
    let Some(first) = lines.iter().position(|l| is_oops_mark(l)) else {
        return Vec::new();
    };
    lines[first.saturating_sub(8)..(first + 40).min(lines.len())]
        .iter()
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// Taint flags that say something went wrong (everything but `E`, an
/// unsigned module: the kernel's own modules here carry no signature).
pub const TAINT_BAD: u64 = !(1 << 13);

fn tail(text: &[u8], n: usize) -> Vec<String> {
    let t = String::from_utf8_lossy(text);
    let lines: Vec<&str> = t.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// Boot `opts.kernel`, run the suite in it, and bring back its report.
pub fn run(opts: &VmOptions) -> anyhow::Result<VmRun> {
    run_kernel(opts, &Kernel::resolve(&opts.kernel)?)
}

/// [`run`] with the kernel already resolved (`lab matrix` unpacks each
/// package once for all its configurations).
pub fn run_kernel(opts: &VmOptions, kernel: &Kernel) -> anyhow::Result<VmRun> {
    let dir = tempfile::Builder::new()
        .prefix("container-labs-vm-")
        .tempdir()
        .context("make a temporary directory")?;
    let (archive, modules) = build_initramfs(opts, kernel, dir.path())?;
    let initrd = dir.path().join("initramfs.cpio");
    std::fs::write(&initrd, archive.to_bytes()).with_context(|| format!("write {}", initrd.display()))?;
    qemu_binary()?;

    let mut kvm_fallback = None;
    let mut attempt = None;
    let try_kvm = match opts.accel {
        Accel::Tcg => {
            kvm_fallback = Some("--accel tcg".to_string());
            false
        }
        Accel::Kvm => true,
        Accel::Auto => match kvm_usable() {
            Ok(()) => true,
            Err(e) => {
                kvm_fallback = Some(e);
                false
            }
        },
    };
    if try_kvm {
        let watchdog = if opts.accel == Accel::Kvm {
            opts.boot_timeout
        } else {
            Duration::from_secs(10).min(opts.boot_timeout)
        };
        let a = boot(opts, kernel, &initrd, dir.path(), true, watchdog)?;
        if opts.accel == Accel::Kvm || !matches!(a.outcome, Outcome::BootTimeout | Outcome::QemuFailed) {
            attempt = Some((a, "kvm"));
        } else {
            kvm_fallback = Some(match &a.problem {
                Some(p) => lab_kit::tr!("KVM did not boot ({}): {p}", a.outcome.as_str()),
                None => lab_kit::tr!("KVM did not reach /init within {} s", watchdog.as_secs()),
            });
        }
    }
    let (a, accel) = match attempt {
        Some(a) => a,
        None => (
            boot(opts, kernel, &initrd, dir.path(), false, opts.boot_timeout)?,
            "tcg",
        ),
    };
    Ok(assemble(opts, kernel, &modules, a, accel, kvm_fallback))
}

fn assemble(
    opts: &VmOptions,
    kernel: &Kernel,
    modules: &kernel::Modules,
    a: Attempt,
    accel: &str,
    kvm_fallback: Option<String>,
) -> VmRun {
    let d = framing::decode(&a.data);
    let parse = |kind: &str| {
        d.last(kind)
            .and_then(|m| serde_json::from_str::<serde_json::Value>(&m.payload).ok())
    };
    let hello: Hello = parse("hello")
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let end: RunEnd = parse("run-end")
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let done: Option<Done> = parse("done").and_then(|v| serde_json::from_value(v).ok());
    let dmesg: String = parse("dmesg")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut report = parse("report").filter(|r| r.is_object());
    let mut notes = hello.notes.clone();
    if let Some(p) = &a.problem {
        notes.push(p.clone());
    }
    if let Some(f) = parse("fatal") {
        notes.push(format!("guest: {}", f.as_str().unwrap_or_default()));
    }
    if d.bad_frames > 0 || !d.incomplete.is_empty() {
        notes.push(format!(
            "data channel: {} bad frame(s), {} incomplete message(s){}",
            d.bad_frames,
            d.incomplete.len(),
            d.incomplete
                .iter()
                .map(|(_, k, got, n)| format!(" {k} {got}/{n}"))
                .collect::<String>()
        ));
    }
    if report.is_none() || end.exit_code.is_some_and(|c| c != 0 && c != 1) {
        notes.extend(end.stderr_tail.iter().cloned());
    }
    let tainted = done.as_ref().map_or(0, |d| d.tainted);
    let oops = oops_lines(&dmesg);
    let mut outcome = a.outcome;
    let mut excerpt = Vec::new();
    if outcome == Outcome::Completed && (!oops.is_empty() || tainted & TAINT_BAD != 0) {
        outcome = Outcome::KernelOops;
        excerpt = oops;
        excerpt.push(format!("tainted: {tainted}"));
    } else if outcome != Outcome::Completed {
        excerpt = tail(&a.console, 40);
    }
    if outcome == Outcome::Completed && report.is_none() {
        outcome = Outcome::GuestDied;
        excerpt = tail(&a.console, 20);
    }
    let mut failed: Vec<String> = modules.missing.iter().map(|(n, why)| format!("{n}: {why}")).collect();
    failed.extend(hello.modules_failed.iter().cloned());
    let vm = VmEnvironment {
        outcome,
        accelerator: accel.into(),
        kvm_fallback,
        kernel_release: if hello.release.is_empty() {
            kernel.release.clone()
        } else {
            hello.release.clone()
        },
        kernel_source: opts
            .kernel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        cgroup: opts.cgroup,
        user: crate::vm::command::GuestUser {
            uid: opts.user,
            delegated: opts.delegated,
        }
        .to_string(),
        modules_loaded: hello.modules_loaded.clone(),
        modules_builtin: modules.builtin.clone(),
        modules_failed: failed,
        root: hello.root.clone(),
        cgroup_mounts: hello.cgroup_mounts.clone(),
        suite_cgroup: end.cgroup.clone(),
        tainted,
        boot_ms: a.boot_ms,
        total_ms: a.total_ms,
        notes,
        console_excerpt: excerpt,
    };
    let vm_value = serde_json::to_value(&vm).unwrap_or_default();
    let report = match report.take() {
        Some(mut r) => {
            if let Some(env) = r.get_mut("environment").and_then(|e| e.as_object_mut()) {
                env.insert("vm".into(), vm_value);
            }
            r
        }
        None => serde_json::json!({
            "version": crate::run::REPORT_VERSION,
            "environment": {
                "kernel": vm.kernel_release,
                "cgroup_mode": "unknown",
                "euid": opts.user.unwrap_or(0),
                "real_root": opts.user.is_none(),
                "userns": "unknown",
                "vm": vm_value,
            },
            "labs": [],
            "summary": {"pass": 0, "fail": 0, "skip": 0, "unsupported": 0, "error": 0},
            "interrupted": false,
        }),
    };
    VmRun { vm, report }
}
