//! `lab` as the guest's `/init` (PID 1 of a `lab vm` boot).
//!
//! Stage 1, on the kernel's initial rootfs: copy the archive into a tmpfs,
//! empty the rootfs, move the tmpfs onto `/` (`MS_MOVE`) and `chroot` into
//! it, as `switch_root` does, then execute `/init` again. `pivot_root(2)`
//! refuses the initial rootfs (EINVAL), and labs 03 and 17 need it, so `/`
//! must be an ordinary mount before the suite runs.
//!
//! Stage 2: mount `/proc`, `/sys`, `/dev` (devtmpfs, devpts, a tmpfs on
//! `/dev/shm`, mqueue), `/tmp` and `/run`; the cgroup layout asked for (pure
//! v2 with `nsdelegate`, pure v1 one hierarchy per controller as systemd
//! mounts them, or hybrid); load the kernel modules with `finit_module(2)`
//! (dependencies first); then run `lab run --format json` as root in a
//! session scope, or as an unprivileged user in a cgroup v2 subtree
//! delegated to it as systemd delegates `user@UID.service` (the cgroup and
//! its `cgroup.procs`, `cgroup.subtree_control` and `cgroup.threads` owned
//! by the user). Everything goes back framed on `/dev/ttyS1` (`framing.rs`):
//! `hello` (what was set up), `report` and `run-end`, `dmesg`, `done`. Then
//! power off.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;

use nix::mount::{MsFlags, mount};
use serde::{Deserialize, Serialize};

use super::framing;

/// Where the host puts the guest's configuration in the archive.
pub const CONFIG: &str = "lab-vm/config.json";
/// Where the host puts the modules (`NAME.ko`).
pub const MODULES: &str = "lab-vm/modules";
/// Set when `/init` runs again from the new root.
const STAGE2: &str = "CONTAINER_LABS_VM_STAGE2";
/// The data channel (the second serial port; the kernel's console is the first).
const CHANNEL: &str = "/dev/ttyS1";

/// What the host asks of the guest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GuestConfig {
    /// `v2`, `v1` or `hybrid`.
    pub cgroup: String,
    /// The user to run the suite as: none for root.
    pub user: Option<u32>,
    /// Whether the user's cgroup subtree is delegated to it.
    #[serde(default)]
    pub delegated: bool,
    /// Arguments after `lab run` (labs and run options, without `--format`).
    pub run_args: Vec<String>,
    /// Modules to load, in order (files `lab-vm/modules/NAME.ko`).
    pub modules: Vec<String>,
    /// Run the suite on the kernel's initial rootfs, without making `/` a
    /// tmpfs first (to see how labs meet a `/` that `pivot_root` refuses).
    #[serde(default)]
    pub initial_rootfs: bool,
}

/// What the guest set up, sent first (`hello`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Hello {
    /// `uname -r` inside.
    pub release: String,
    /// What `/` is when the suite runs (`tmpfs`, or why not).
    pub root: String,
    /// Each mount made for the cgroup layout: `cgroup2 /sys/fs/cgroup = ok`.
    pub cgroup_mounts: Vec<String>,
    /// Modules loaded (or already there).
    pub modules_loaded: Vec<String>,
    /// Modules that failed: `name: errno`.
    pub modules_failed: Vec<String>,
    /// Problems setting up that are not fatal.
    pub notes: Vec<String>,
}

/// How the suite ended (`run-end`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RunEnd {
    /// `lab run`'s exit code (none: killed by a signal).
    pub exit_code: Option<i32>,
    /// The last lines of its stderr.
    pub stderr_tail: Vec<String>,
    /// The cgroup it ran in.
    pub cgroup: String,
}

/// The last message (`done`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Done {
    /// `/proc/sys/kernel/tainted`.
    pub tainted: u64,
}

/// Whether this process is a `lab vm` guest's PID 1.
pub fn is_guest_init() -> bool {
    std::process::id() == 1
        && std::env::args_os()
            .next()
            .is_some_and(|a| Path::new(&a).file_name().is_some_and(|n| n == "init"))
}

/// PID 1's whole life: set up, run, report, power off. Never returns.
pub fn main() -> ! {
    let mut ch = Channel::open();
    if let Err(e) = life(&mut ch) {
        eprintln!("lab vm init: {e:#}");
        ch.send("fatal", &serde_json::json!(format!("{e:#}")));
    }
    nix::unistd::sync();
    let _ = nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_POWER_OFF);
    // With qemu's -no-reboot, a reboot ends the VM as well.
    let _ = nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_AUTOBOOT);
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

struct Channel {
    out: Option<std::fs::File>,
    next: u32,
}

impl Channel {
    /// The data channel, once `/dev` is there (stage 1 has none yet).
    fn open() -> Channel {
        let out = std::fs::OpenOptions::new().write(true).open(CHANNEL).ok();
        if let Some(f) = &out
            && let Ok(mut t) = nix::sys::termios::tcgetattr(f)
        {
            nix::sys::termios::cfmakeraw(&mut t);
            let _ = nix::sys::termios::tcsetattr(f, nix::sys::termios::SetArg::TCSANOW, &t);
        }
        Channel { out, next: 1 }
    }

    fn send(&mut self, kind: &str, value: &impl Serialize) {
        let payload = serde_json::to_string(value).unwrap_or_else(|e| format!("\"unserializable: {e}\""));
        self.next += 1;
        match &mut self.out {
            Some(f) => {
                for frame in framing::encode(self.next, kind, &payload) {
                    let _ = f.write_all(frame.as_bytes());
                }
                let _ = f.flush();
            }
            None => eprintln!("lab vm init: no {CHANNEL}: {kind} lost"),
        }
    }
}

fn life(ch: &mut Channel) -> anyhow::Result<()> {
    use anyhow::Context;
    if std::env::var_os(STAGE2).is_none() {
        let asked = std::fs::read(format!("/{CONFIG}"))
            .ok()
            .and_then(|c| serde_json::from_slice::<GuestConfig>(&c).ok())
            .is_some_and(|c| c.initial_rootfs);
        if asked {
            return stage2(ch, Some("asked for: --initial-rootfs".into()));
        }
        let err = switch_root().context("copy the initramfs into a tmpfs and make it /");
        // Stage 2 from the new root; on failure, go on from the rootfs (the
        // labs then say pivot_root is refused on it).
        let why = match err {
            Ok(()) => {
                let e = std::process::Command::new("/init").env(STAGE2, "1").exec();
                format!("execve(/init) in the new root: {e}")
            }
            Err(e) => format!("{e:#}"),
        };
        return stage2(ch, Some(why));
    }
    stage2(ch, None)
}

fn stage2(ch: &mut Channel, root_problem: Option<String>) -> anyhow::Result<()> {
    let mut hello = Hello {
        root: match &root_problem {
            None => "tmpfs".into(),
            Some(why) => format!("initial rootfs ({why})"),
        },
        ..Default::default()
    };
    mount_basics(&mut hello.notes);
    *ch = Channel::open();
    hello.release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let _ = nix::unistd::sethostname("lab-vm");
    // Every machine's boot brings lo up; lab 11 compares a namespace's lo
    // with the host's.
    if let Err(e) = lab_kit::net::Netlink::open().and_then(|mut nl| nl.set_up("lo")) {
        hello.notes.push(format!("ip link set lo up: {e}"));
    }
    let cfg: GuestConfig = serde_json::from_slice(&std::fs::read(format!("/{CONFIG}"))?)?;
    for m in &cfg.modules {
        match load_module(m) {
            Ok(()) => hello.modules_loaded.push(m.clone()),
            Err(nix::errno::Errno::EEXIST) => hello.modules_loaded.push(m.clone()),
            Err(e) => hello.modules_failed.push(format!("{m}: {e}")),
        }
    }
    hello.cgroup_mounts = mount_cgroups(&cfg.cgroup);
    ch.send("hello", &hello);

    let (report, end) = run_suite(&cfg);
    ch.send("report", &report);
    ch.send("run-end", &end);
    ch.send("dmesg", &read_kmsg());
    let tainted = std::fs::read_to_string("/proc/sys/kernel/tainted")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0);
    ch.send("done", &Done { tainted });
    Ok(())
}

/// Stage 1: the archive's files into a tmpfs that becomes `/`.
fn switch_root() -> anyhow::Result<()> {
    use anyhow::Context;
    let new = Path::new("/newroot");
    std::fs::create_dir_all(new)?;
    mount(Some("tmpfs"), new, Some("tmpfs"), MsFlags::empty(), Some("mode=0755")).context("mount tmpfs /newroot")?;
    for e in std::fs::read_dir("/")? {
        let e = e?;
        if e.file_name() != "newroot" {
            copy_tree(&e.path(), &new.join(e.file_name())).with_context(|| format!("copy {}", e.path().display()))?;
        }
    }
    // Free the rootfs' memory: nothing of it is used after the move.
    for e in std::fs::read_dir("/")?.filter_map(Result::ok) {
        if e.file_name() != "newroot" && e.file_name() != "dev" {
            let p = e.path();
            let _ = if e.file_type().is_ok_and(|t| t.is_dir()) {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
    nix::unistd::chdir(new)?;
    mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>).context("mount --move /newroot /")?;
    nix::unistd::chroot(".").context("chroot .")?;
    nix::unistd::chdir("/")?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let meta = std::fs::symlink_metadata(from)?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(from)?, to)
    } else if ft.is_dir() {
        std::fs::create_dir_all(to)?;
        std::fs::set_permissions(to, meta.permissions())?;
        for e in std::fs::read_dir(from)? {
            let e = e?;
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        }
        Ok(())
    } else if ft.is_char_device() || ft.is_block_device() {
        // devtmpfs provides the nodes in stage 2.
        Ok(())
    } else {
        std::fs::copy(from, to)?;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(meta.permissions().mode()))
    }
}

fn mount_basics(notes: &mut Vec<String>) {
    let mut m = |src: &str, target: &str, fstype: &str, flags: MsFlags, data: &str| {
        let _ = std::fs::create_dir_all(target);
        if let Err(e) = mount(
            Some(src),
            target,
            Some(fstype),
            flags,
            (!data.is_empty()).then_some(data),
        ) {
            notes.push(format!("mount {fstype} {target}: {e}"));
        }
    };
    let secure = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    m("proc", "/proc", "proc", secure, "");
    m("sysfs", "/sys", "sysfs", secure, "");
    m("devtmpfs", "/dev", "devtmpfs", MsFlags::MS_NOSUID, "mode=0755");
    m(
        "devpts",
        "/dev/pts",
        "devpts",
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        "gid=5,mode=0620,ptmxmode=0666",
    );
    m(
        "tmpfs",
        "/dev/shm",
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        "mode=1777",
    );
    m("mqueue", "/dev/mqueue", "mqueue", secure, "");
    m(
        "tmpfs",
        "/tmp",
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        "mode=1777",
    );
    m(
        "tmpfs",
        "/run",
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        "mode=0755",
    );
    let _ = std::fs::create_dir_all("/root");
}

fn load_module(name: &str) -> nix::Result<()> {
    let f = std::fs::File::open(format!("/{MODULES}/{name}.ko"))
        .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)))?;
    let params = CString::default();
    nix::kmod::finit_module(&f, &params, nix::kmod::ModuleInitFlags::empty())
}

const CG: &str = "/sys/fs/cgroup";

/// Mount the cgroup layout asked for; one line per mount with its result.
fn mount_cgroups(mode: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut m = |target: String, fstype: &str, data: &str| {
        let _ = std::fs::create_dir_all(&target);
        let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        let r = mount(Some(fstype), target.as_str(), Some(fstype), flags, Some(data));
        out.push(format!(
            "{fstype} {target} ({data}) = {}",
            r.map_or_else(|e| format!("{e}"), |()| "0".into())
        ));
    };
    if mode == "v2" {
        m(CG.into(), "cgroup2", "nsdelegate");
        return out;
    }
    m(CG.into(), "tmpfs", "mode=0755");
    // As systemd mounts them: cpu with cpuacct, net_cls with net_prio, one
    // hierarchy for each other controller, and its own named hierarchy.
    let enabled: Vec<String> = std::fs::read_to_string("/proc/cgroups")
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4 && f[3] == "1").then(|| f[0].to_string())
        })
        .collect();
    let mut done = Vec::new();
    for c in &enabled {
        if done.contains(c) {
            continue;
        }
        let group: Vec<&str> = match c.as_str() {
            "cpu" | "cpuacct" => vec!["cpu", "cpuacct"],
            "net_cls" | "net_prio" => vec!["net_cls", "net_prio"],
            other => vec![other],
        };
        let group: Vec<&str> = group.into_iter().filter(|g| enabled.iter().any(|e| e == g)).collect();
        let name = group.join(",");
        m(format!("{CG}/{name}"), "cgroup", &name);
        if group.len() > 1 {
            for g in &group {
                let _ = std::os::unix::fs::symlink(&name, format!("{CG}/{g}"));
            }
        }
        done.extend(group.iter().map(|g| g.to_string()));
    }
    m(format!("{CG}/systemd"), "cgroup", "none,name=systemd");
    if mode == "hybrid" {
        m(format!("{CG}/unified"), "cgroup2", "nsdelegate");
    }
    out
}

/// The v2 hierarchy's mount point, when there is one.
fn v2_root(mode: &str) -> Option<String> {
    match mode {
        "v2" => Some(CG.into()),
        "hybrid" => Some(format!("{CG}/unified")),
        _ => None,
    }
}

/// Make `cgroup` (relative to the v2 root) with every available controller
/// enabled down the path; for a user, own it as systemd's delegation does.
fn prepare_cgroup(root: &str, cgroup: &str, owner_from: Option<(&str, u32)>) -> std::io::Result<()> {
    let controllers = std::fs::read_to_string(format!("{root}/cgroup.controllers")).unwrap_or_default();
    let mut dir = root.to_string();
    let parts: Vec<&str> = cgroup.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        // Enable controllers in the parent before entering the child; the
        // leaf gets none (processes live there).
        for c in controllers.split_whitespace() {
            let _ = std::fs::write(format!("{dir}/cgroup.subtree_control"), format!("+{c}"));
        }
        dir = format!("{dir}/{part}");
        std::fs::create_dir_all(&dir)?;
        if let Some((from, uid)) = owner_from
            && parts[..=i].join("/").len() >= from.len()
            && parts[..=i].join("/").starts_with(from)
        {
            let id = Some(nix::unistd::Uid::from_raw(uid));
            let gid = Some(nix::unistd::Gid::from_raw(uid));
            for f in ["", "/cgroup.procs", "/cgroup.subtree_control", "/cgroup.threads"] {
                nix::unistd::chown(format!("{dir}{f}").as_str(), id, gid).map_err(std::io::Error::from)?;
            }
        }
    }
    Ok(())
}

fn run_suite(cfg: &GuestConfig) -> (serde_json::Value, RunEnd) {
    let mut end = RunEnd::default();
    // Root runs in a session scope, a user in its delegated user@UID.service,
    // as on a systemd machine.
    // Undelegated, the user runs in a login session's scope, which root owns.
    let cgroup = match (cfg.user, cfg.delegated) {
        (None, _) => "user.slice/user-0.slice/session-1.scope".to_string(),
        (Some(u), true) => format!("user.slice/user-{u}.slice/user@{u}.service/app.slice/lab-run.scope"),
        (Some(u), false) => format!("user.slice/user-{u}.slice/session-2.scope"),
    };
    let v2 = v2_root(&cfg.cgroup);
    if let Some(root) = &v2 {
        let delegated = cfg
            .user
            .filter(|_| cfg.delegated)
            .map(|u| (format!("user.slice/user-{u}.slice/user@{u}.service"), u));
        let owner = delegated.as_ref().map(|(p, u)| (p.as_str(), *u));
        match prepare_cgroup(root, &cgroup, owner)
            .and_then(|()| std::fs::write(format!("{root}/{cgroup}/cgroup.procs"), "0"))
        {
            Ok(()) => end.cgroup = format!("/{cgroup}"),
            Err(e) => end.stderr_tail.push(format!("lab vm init: cgroup {cgroup}: {e}")),
        }
    } else {
        end.cgroup = "/".into();
    }
    let mut cmd = std::process::Command::new("/usr/bin/lab");
    cmd.arg("run")
        .args(&cfg.run_args)
        .args(["--format", "json", "--color", "never"])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .env("LANG", "C.UTF-8")
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    match cfg.user {
        Some(u) => {
            // std drops the supplementary groups (setgroups(0)) when a uid is set.
            cmd.uid(u).gid(u).env("HOME", "/tmp").env("USER", "nobody");
        }
        None => {
            cmd.env("HOME", "/root").env("USER", "root");
        }
    }
    let child = cmd.spawn();
    // PID 1 goes back to the root cgroup: the child stays where it started.
    if let Some(root) = &v2 {
        let _ = std::fs::write(format!("{root}/cgroup.procs"), "0");
    }
    let out = match child.and_then(|c| c.wait_with_output()) {
        Ok(o) => o,
        Err(e) => {
            end.stderr_tail.push(format!("lab vm init: start lab run: {e}"));
            return (serde_json::Value::Null, end);
        }
    };
    end.exit_code = out.status.code();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    end.stderr_tail
        .extend(lines[lines.len().saturating_sub(20)..].iter().map(|l| l.to_string()));
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        end.stderr_tail
            .push(format!("lab vm init: lab run printed no JSON report: {e}"));
        serde_json::Value::Null
    });
    (report, end)
}

/// The kernel log as `dmesg` prints it (`[seconds] message`), read from
/// `/dev/kmsg` without blocking.
fn read_kmsg() -> String {
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(mut f) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open("/dev/kmsg")
    else {
        return String::new();
    };
    let mut text = String::new();
    let mut buf = vec![0u8; 8192];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let rec = String::from_utf8_lossy(&buf[..n]);
                if let Some((head, msg)) = rec.split_once(';') {
                    let usec: u64 = head.split(',').nth(2).and_then(|t| t.parse().ok()).unwrap_or(0);
                    for (i, line) in msg.lines().enumerate() {
                        // Continuation lines (" KEY=value") are metadata.
                        if i > 0 && line.starts_with(' ') {
                            continue;
                        }
                        text.push_str(&format!("[{:5}.{:06}] {line}\n", usec / 1_000_000, usec % 1_000_000));
                    }
                }
            }
            // EPIPE: a record was overwritten while reading; go on.
            Err(e) if e.raw_os_error() == Some(nix::libc::EPIPE) => continue,
            Err(_) => break,
        }
    }
    text
}
