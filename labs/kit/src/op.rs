//! Calls as values. Each narrated system call is a value of one type here:
//! its `Display` is the strace line (without the result), and its
//! [`Op::run`] makes exactly that call through `nix` (or `caps`). A step runs
//! it with [`Narrate::run`](crate::Narrate::run), which prints the line from
//! the value *after* the call, with the real result, so the narration cannot
//! differ from what ran.
//!
//! The rules of the narration, in one place:
//! - The name is the system call's, as strace prints it, with two
//!   exceptions strace itself hides behind libc: `open` is `openat(AT_FDCWD,
//!   …)` and `fork` is `clone(…|SIGCHLD)` to strace. `umount2` is always
//!   `umount2`, with its flags (`0` when none).
//! - Strings are quoted as strace quotes them; flags are joined with `|`.
//! - What differs between machines is a placeholder chosen by [`Arg`]:
//!   `<child>` for a child's host pid (in a result or in a `/proc` path),
//!   `<caller>` for the caller's uid or gid, `<id>` for an IPC object's id.
//! - What the kit adds for the reader's sake is shown, never hidden: a
//!   remount that must keep the locked flags of the mount shows them as
//!   `MS_BIND|MS_REMOUNT|MS_RDONLY|<kept: MS_NOSUID|MS_NODEV>`.
//! - A file written whole (`open`, one `write`, `close`) is one line,
//!   `write(PATH, "content")`, as the uid_map and cgroup files are written.
//!
//! `tests/tests/strace.rs` holds every lab's narration against strace's
//! record of the same run.

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use caps::{CapSet, Capability};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Pid, Uid};

/// One system call as a value.
pub trait Op: fmt::Display {
    /// What the call gives back on success.
    type Output;
    /// Make exactly the call this value displays.
    fn run(&self) -> Result<Self::Output, Errno>;
    /// The return value as strace shows it: `0` unless the call returns
    /// something worth showing (a descriptor, a byte count).
    fn shown(&self, _out: &Self::Output) -> String {
        "0".to_string()
    }
}

/// The strace line of a call and its result:
/// `unshare(CLONE_NEWUTS) = 0`, `sethostname("x") = -1 EPERM (Operation not permitted)`.
pub fn line<O: Op>(op: &O, res: &Result<O::Output, Errno>) -> String {
    match res {
        Ok(v) => format!("{op} = {}", op.shown(v)),
        Err(e) => format!("{op} = -1 {}", crate::narrate::errno_text(*e)),
    }
}

/// A narrated call that failed, read back from its strace line: what the
/// kit needs to tell whether the machine refused it (see
/// [`crate::environment::Environment::explain`]). Read from the line rather
/// than from the value so that a call a child made, whose narration reaches
/// the step through the parent, is known the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The call's name as narrated (`sethostname`, `clone`, `write`).
    pub name: String,
    /// Its arguments as narrated (`CLONE_NEWNET|SIGCHLD`).
    pub args: String,
    /// The errno it got.
    pub errno: Errno,
}

impl Refused {
    /// The refusal in a line of [`line`]: `None` for a call that succeeded.
    pub fn parse(line: &str) -> Option<Refused> {
        let (call, result) = line.rsplit_once(" = -1 ")?;
        let errno = errno_by_name(result.split_whitespace().next()?)?;
        let (name, rest) = call.split_once('(')?;
        let args = rest.strip_suffix(')').unwrap_or(rest);
        Some(Refused {
            name: name.trim().to_string(),
            args: args.to_string(),
            errno,
        })
    }

    /// The call without its result, as narrated: `clone(CLONE_NEWNET|SIGCHLD)`.
    pub fn call(&self) -> String {
        format!("{}({})", self.name, self.args)
    }

    /// The namespace kinds its `CLONE_NEW*` flags ask for (`net`, `mnt`), in
    /// the order of [`NS_FLAGS`].
    pub fn namespace_kinds(&self) -> Vec<&'static str> {
        let flags: Vec<&str> = self.args.split(['|', ',', ' ']).collect();
        NS_FLAGS
            .iter()
            .filter(|(flag, _)| flags.contains(flag))
            .map(|(_, kind)| *kind)
            .collect()
    }
}

/// An errno by the name narration gives it (`EPERM`).
pub fn errno_by_name(name: &str) -> Option<Errno> {
    (1..4096)
        .map(Errno::from_raw)
        .find(|e| *e != Errno::UnknownErrno && format!("{e:?}") == name)
}

/// Each `CLONE_NEW*` flag and the namespace kind it makes, as `/proc/PID/ns` names it.
pub const NS_FLAGS: [(&str, &str); 8] = [
    ("CLONE_NEWUSER", "user"),
    ("CLONE_NEWNS", "mnt"),
    ("CLONE_NEWPID", "pid"),
    ("CLONE_NEWUTS", "uts"),
    ("CLONE_NEWIPC", "ipc"),
    ("CLONE_NEWNET", "net"),
    ("CLONE_NEWCGROUP", "cgroup"),
    ("CLONE_NEWTIME", "time"),
];

/// An argument as passed to the kernel, and as the narration shows it: the
/// same, unless it holds something that differs between machines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    real: String,
    shown: String,
}

impl Arg {
    /// An argument shown as it is.
    pub fn new(s: impl Into<String>) -> Self {
        let real = s.into();
        Arg {
            shown: real.clone(),
            real,
        }
    }

    /// An argument shown as `shown`: a placeholder for what is machine-specific.
    pub fn shown_as(real: impl Into<String>, shown: impl Into<String>) -> Self {
        Arg {
            real: real.into(),
            shown: shown.into(),
        }
    }

    /// `/proc/PID/rest` of a child, shown as `/proc/<child>/rest`.
    pub fn child_proc(pid: Pid, rest: &str) -> Self {
        Arg::shown_as(format!("/proc/{pid}/{rest}"), format!("/proc/<child>/{rest}"))
    }

    /// What the kernel gets.
    pub fn real(&self) -> &str {
        &self.real
    }

    /// What the narration shows.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::new(s)
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::new(s)
    }
}

impl From<&std::path::Path> for Arg {
    fn from(p: &std::path::Path) -> Self {
        Arg::new(p.display().to_string())
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::new(s.clone())
    }
}

/// `"text"` or `NULL`.
fn quoted(a: Option<&Arg>) -> String {
    a.map_or_else(|| "NULL".to_string(), |a| format!("{:?}", a.shown()))
}

/// Names of the bits set in `bits`, in table order, joined by `|`; `zero`
/// when none; unnamed bits in hex.
fn flag_names(bits: u64, table: &[(u64, &str)], zero: &str) -> String {
    let mut left = bits;
    let mut names: Vec<String> = Vec::new();
    for (bit, name) in table {
        if *bit != 0 && bits & bit == *bit {
            names.push((*name).to_string());
            left &= !bit;
        }
    }
    if left != 0 {
        names.push(format!("{left:#x}"));
    }
    if names.is_empty() {
        zero.to_string()
    } else {
        names.join("|")
    }
}

/// `CLONE_NEWTIME` (Linux 5.6), which nix's `CloneFlags` does not name.
pub const CLONE_NEWTIME: CloneFlags = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);

/// `CLONE_NEWUSER|CLONE_NEWNS|…` in the order runtimes apply them.
pub fn clone_flag_names(flags: CloneFlags) -> String {
    let table = [
        (CloneFlags::CLONE_NEWUSER, "CLONE_NEWUSER"),
        (CloneFlags::CLONE_NEWNS, "CLONE_NEWNS"),
        (CloneFlags::CLONE_NEWPID, "CLONE_NEWPID"),
        (CloneFlags::CLONE_NEWUTS, "CLONE_NEWUTS"),
        (CloneFlags::CLONE_NEWIPC, "CLONE_NEWIPC"),
        (CloneFlags::CLONE_NEWNET, "CLONE_NEWNET"),
        (CloneFlags::CLONE_NEWCGROUP, "CLONE_NEWCGROUP"),
        (CLONE_NEWTIME, "CLONE_NEWTIME"),
    ]
    .map(|(f, n)| (f.bits() as u64, n));
    flag_names(flags.bits() as u64, &table, "0")
}

/// `MS_BIND|MS_REC|…` as strace names them.
pub fn ms_flag_names(flags: MsFlags) -> String {
    let table = [
        (MsFlags::MS_RDONLY, "MS_RDONLY"),
        (MsFlags::MS_NOSUID, "MS_NOSUID"),
        (MsFlags::MS_NODEV, "MS_NODEV"),
        (MsFlags::MS_NOEXEC, "MS_NOEXEC"),
        (MsFlags::MS_REMOUNT, "MS_REMOUNT"),
        (MsFlags::MS_BIND, "MS_BIND"),
        (MsFlags::MS_MOVE, "MS_MOVE"),
        (MsFlags::MS_REC, "MS_REC"),
        (MsFlags::MS_UNBINDABLE, "MS_UNBINDABLE"),
        (MsFlags::MS_PRIVATE, "MS_PRIVATE"),
        (MsFlags::MS_SLAVE, "MS_SLAVE"),
        (MsFlags::MS_SHARED, "MS_SHARED"),
        (MsFlags::MS_NOATIME, "MS_NOATIME"),
        (MsFlags::MS_NODIRATIME, "MS_NODIRATIME"),
        (MsFlags::MS_RELATIME, "MS_RELATIME"),
        (MsFlags::MS_STRICTATIME, "MS_STRICTATIME"),
    ]
    .map(|(f, n)| (f.bits(), n));
    flag_names(flags.bits(), &table, "0")
}

/// `O_RDONLY|O_CLOEXEC|…`.
pub fn open_flag_names(flags: OFlag) -> String {
    let access = match flags & OFlag::O_ACCMODE {
        f if f == OFlag::O_WRONLY => "O_WRONLY",
        f if f == OFlag::O_RDWR => "O_RDWR",
        _ => "O_RDONLY",
    };
    let table = [
        (OFlag::O_CREAT, "O_CREAT"),
        (OFlag::O_EXCL, "O_EXCL"),
        (OFlag::O_TRUNC, "O_TRUNC"),
        (OFlag::O_APPEND, "O_APPEND"),
        (OFlag::O_DIRECTORY, "O_DIRECTORY"),
        (OFlag::O_NOFOLLOW, "O_NOFOLLOW"),
        (OFlag::O_PATH, "O_PATH"),
        (OFlag::O_CLOEXEC, "O_CLOEXEC"),
    ]
    .map(|(f, n)| (f.bits() as u64, n));
    let rest = flag_names((flags & !OFlag::O_ACCMODE).bits() as u64, &table, "");
    if rest.is_empty() {
        access.to_string()
    } else {
        format!("{access}|{rest}")
    }
}

// ---------------------------------------------------------------- mounts

/// `mount(source, target, fstype, flags, data)`.
#[derive(Debug, Clone)]
pub struct Mount {
    /// The source (`NULL` for a propagation change or a remount).
    pub source: Option<Arg>,
    /// The mount point.
    pub target: Arg,
    /// The filesystem type, for a new mount.
    pub fstype: Option<String>,
    /// The flags the lab asks for.
    pub flags: MsFlags,
    /// Flags the kit adds because the kernel requires them (the locked
    /// flags of a mount, which a remount in a user namespace must keep).
    pub kept: MsFlags,
    /// Filesystem options.
    pub data: Option<Arg>,
}

impl Mount {
    /// A new instance of a filesystem: `mount(source, target, fstype, 0, NULL)`.
    pub fn fs(source: impl Into<Arg>, target: impl Into<Arg>, fstype: &str) -> Self {
        Mount {
            source: Some(source.into()),
            target: target.into(),
            fstype: Some(fstype.to_string()),
            flags: MsFlags::empty(),
            kept: MsFlags::empty(),
            data: None,
        }
    }

    /// `mount(source, target, NULL, MS_BIND, NULL)`.
    pub fn bind(source: impl Into<Arg>, target: impl Into<Arg>) -> Self {
        Mount {
            source: Some(source.into()),
            target: target.into(),
            fstype: None,
            flags: MsFlags::MS_BIND,
            kept: MsFlags::empty(),
            data: None,
        }
    }

    /// `mount(NULL, target, NULL, flags, NULL)`: a propagation change
    /// (`MS_PRIVATE`, `MS_REC|MS_SHARED`, …) or a remount.
    pub fn change(target: impl Into<Arg>, flags: MsFlags) -> Self {
        Mount {
            source: None,
            target: target.into(),
            fstype: None,
            flags,
            kept: MsFlags::empty(),
            data: None,
        }
    }

    /// Add flags.
    pub fn flags(mut self, flags: MsFlags) -> Self {
        self.flags |= flags;
        self
    }

    /// Add flags the kernel requires the call to keep (shown as `<kept: …>`).
    pub fn keeping(mut self, kept: MsFlags) -> Self {
        self.kept = kept - self.flags;
        self
    }

    /// Filesystem options (`"mode=0755"`, `"lowerdir=…"`).
    pub fn data(mut self, data: impl Into<Arg>) -> Self {
        self.data = Some(data.into());
        self
    }
}

impl fmt::Display for Mount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut flags = ms_flag_names(self.flags);
        if !self.kept.is_empty() {
            flags = format!("{flags}|<kept: {}>", ms_flag_names(self.kept));
        }
        let fstype = self
            .fstype
            .as_ref()
            .map_or_else(|| "NULL".to_string(), |t| format!("{t:?}"));
        write!(
            f,
            "mount({}, {:?}, {fstype}, {flags}, {})",
            quoted(self.source.as_ref()),
            self.target.shown(),
            quoted(self.data.as_ref())
        )
    }
}

impl Op for Mount {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::mount::mount(
            self.source.as_ref().map(Arg::real),
            self.target.real(),
            self.fstype.as_deref(),
            self.flags | self.kept,
            self.data.as_ref().map(Arg::real),
        )
    }
}

/// `umount2(target, flags)`.
#[derive(Debug, Clone)]
pub struct Umount2 {
    /// The mount point.
    pub target: Arg,
    /// `MNT_DETACH` or none.
    pub flags: MntFlags,
}

impl Umount2 {
    /// `umount2(target, 0)`.
    pub fn new(target: impl Into<Arg>) -> Self {
        Umount2 {
            target: target.into(),
            flags: MntFlags::empty(),
        }
    }

    /// `umount2(target, MNT_DETACH)`: detach now, free when no longer busy.
    pub fn detach(target: impl Into<Arg>) -> Self {
        Umount2 {
            target: target.into(),
            flags: MntFlags::MNT_DETACH,
        }
    }
}

impl fmt::Display for Umount2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = [
            (MntFlags::MNT_FORCE, "MNT_FORCE"),
            (MntFlags::MNT_DETACH, "MNT_DETACH"),
            (MntFlags::MNT_EXPIRE, "MNT_EXPIRE"),
            (MntFlags::UMOUNT_NOFOLLOW, "UMOUNT_NOFOLLOW"),
        ]
        .map(|(fl, n)| (fl.bits() as u64, n));
        write!(
            f,
            "umount2({:?}, {})",
            self.target.shown(),
            flag_names(self.flags.bits() as u64, &table, "0")
        )
    }
}

impl Op for Umount2 {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::mount::umount2(self.target.real(), self.flags)
    }
}

/// `pivot_root(new_root, put_old)`.
#[derive(Debug, Clone)]
pub struct PivotRoot {
    /// The new root.
    pub new_root: Arg,
    /// Where the old root goes (`"."` to stack it on the new one).
    pub put_old: Arg,
}

impl PivotRoot {
    /// `pivot_root(new_root, put_old)`.
    pub fn new(new_root: impl Into<Arg>, put_old: impl Into<Arg>) -> Self {
        PivotRoot {
            new_root: new_root.into(),
            put_old: put_old.into(),
        }
    }
}

impl fmt::Display for PivotRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pivot_root({:?}, {:?})", self.new_root.shown(), self.put_old.shown())
    }
}

impl Op for PivotRoot {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::unistd::pivot_root(self.new_root.real(), self.put_old.real())
    }
}

/// `chroot(path)`.
#[derive(Debug, Clone)]
pub struct Chroot(pub Arg);

impl Chroot {
    /// `chroot(path)`.
    pub fn new(path: impl Into<Arg>) -> Self {
        Chroot(path.into())
    }
}

impl fmt::Display for Chroot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chroot({:?})", self.0.shown())
    }
}

impl Op for Chroot {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::unistd::chroot(self.0.real())
    }
}

/// `chdir(path)`.
#[derive(Debug, Clone)]
pub struct Chdir(pub Arg);

impl Chdir {
    /// `chdir(path)`.
    pub fn new(path: impl Into<Arg>) -> Self {
        Chdir(path.into())
    }
}

impl fmt::Display for Chdir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chdir({:?})", self.0.shown())
    }
}

impl Op for Chdir {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::unistd::chdir(self.0.real())
    }
}

/// `fchdir(fd)`.
#[derive(Debug, Clone, Copy)]
pub struct Fchdir<'a>(pub BorrowedFd<'a>);

impl fmt::Display for Fchdir<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fchdir({})", self.0.as_raw_fd())
    }
}

impl Op for Fchdir<'_> {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::unistd::fchdir(self.0)
    }
}

// ---------------------------------------------------------------- files

/// `open(path, flags[, mode])`; the result is the descriptor.
#[derive(Debug, Clone)]
pub struct Open {
    /// The path.
    pub path: Arg,
    /// `O_*` flags.
    pub flags: OFlag,
    /// The mode of a file it creates.
    pub mode: Option<Mode>,
}

impl Open {
    /// `open(path, flags)`.
    pub fn new(path: impl Into<Arg>, flags: OFlag) -> Self {
        Open {
            path: path.into(),
            flags,
            mode: None,
        }
    }

    /// `open(path, O_RDONLY)`.
    pub fn read(path: impl Into<Arg>) -> Self {
        Open::new(path, OFlag::O_RDONLY)
    }

    /// `open(path, flags, mode)`: creates the file.
    pub fn create(path: impl Into<Arg>, flags: OFlag, mode: u32) -> Self {
        Open {
            path: path.into(),
            flags: flags | OFlag::O_CREAT,
            mode: Some(Mode::from_bits_truncate(mode)),
        }
    }
}

impl fmt::Display for Open {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "open({:?}, {}", self.path.shown(), open_flag_names(self.flags))?;
        if let Some(m) = self.mode {
            write!(f, ", {:04o}", m.bits())?;
        }
        f.write_str(")")
    }
}

impl Op for Open {
    type Output = OwnedFd;
    fn run(&self) -> Result<OwnedFd, Errno> {
        nix::fcntl::open(self.path.real(), self.flags, self.mode.unwrap_or(Mode::empty()))
    }
    fn shown(&self, fd: &OwnedFd) -> String {
        fd.as_raw_fd().to_string()
    }
}

/// `write(fd, "text")`; the result is the number of bytes written.
#[derive(Debug, Clone, Copy)]
pub struct Write<'a> {
    /// The descriptor.
    pub fd: BorrowedFd<'a>,
    /// What is written.
    pub text: &'a str,
}

impl fmt::Display for Write<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "write({}, {:?}, {})",
            self.fd.as_raw_fd(),
            self.text,
            self.text.len()
        )
    }
}

impl Op for Write<'_> {
    type Output = usize;
    fn run(&self) -> Result<usize, Errno> {
        nix::unistd::write(self.fd, self.text.as_bytes())
    }
    fn shown(&self, n: &usize) -> String {
        n.to_string()
    }
}

/// `pread(fd, buf, len, 0)`: read from the start of a file, whatever the
/// descriptor's offset; the result is what was read (its length shown).
#[derive(Debug, Clone, Copy)]
pub struct Pread<'a> {
    /// The descriptor.
    pub fd: BorrowedFd<'a>,
    /// How many bytes at most.
    pub len: usize,
}

impl fmt::Display for Pread<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pread({}, &buf, {}, 0)", self.fd.as_raw_fd(), self.len)
    }
}

impl Op for Pread<'_> {
    type Output = Vec<u8>;
    fn run(&self) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0u8; self.len];
        let n = nix::sys::uio::pread(self.fd, &mut buf, 0)?;
        buf.truncate(n);
        Ok(buf)
    }
    fn shown(&self, out: &Vec<u8>) -> String {
        out.len().to_string()
    }
}

/// A file written whole: `open(path, O_WRONLY)`, one `write`, `close`,
/// narrated as one line `write(PATH, "content")`.
#[derive(Debug, Clone)]
pub struct WriteFile {
    /// The file.
    pub path: Arg,
    /// Its new content.
    pub content: Arg,
}

impl WriteFile {
    /// Write `content` to `path`.
    pub fn new(path: impl Into<Arg>, content: impl Into<Arg>) -> Self {
        WriteFile {
            path: path.into(),
            content: content.into(),
        }
    }
}

impl fmt::Display for WriteFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "write({}, {:?})", self.path.shown(), self.content.shown())
    }
}

impl Op for WriteFile {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        use std::io::Write as _;
        // One write(2), as the kernel's control files (uid_map, cgroup
        // files) require: `fs::write` could split a long content.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.path.real())
            .map_err(|e| crate::narrate::errno_of_io(&e))?;
        let n = f
            .write(self.content.real().as_bytes())
            .map_err(|e| crate::narrate::errno_of_io(&e))?;
        if n == self.content.real().len() {
            Ok(())
        } else {
            Err(Errno::EIO)
        }
    }
}

/// `mkdir(path, mode)`.
#[derive(Debug, Clone)]
pub struct Mkdir {
    /// The directory.
    pub path: Arg,
    /// Its mode.
    pub mode: u32,
}

impl Mkdir {
    /// `mkdir(path, 0755)`.
    pub fn new(path: impl Into<Arg>) -> Self {
        Mkdir {
            path: path.into(),
            mode: 0o755,
        }
    }
}

impl fmt::Display for Mkdir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mkdir({:?}, {:04o})", self.path.shown(), self.mode)
    }
}

impl Op for Mkdir {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::unistd::mkdir(self.path.real(), Mode::from_bits_truncate(self.mode))
    }
}

/// `rmdir(path)`.
#[derive(Debug, Clone)]
pub struct Rmdir(pub Arg);

impl Rmdir {
    /// `rmdir(path)`.
    pub fn new(path: impl Into<Arg>) -> Self {
        Rmdir(path.into())
    }
}

impl fmt::Display for Rmdir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rmdir({:?})", self.0.shown())
    }
}

impl Op for Rmdir {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        std::fs::remove_dir(self.0.real()).map_err(|e| crate::narrate::errno_of_io(&e))
    }
}

/// `unlink(path)`.
#[derive(Debug, Clone)]
pub struct Unlink(pub Arg);

impl Unlink {
    /// `unlink(path)`.
    pub fn new(path: impl Into<Arg>) -> Self {
        Unlink(path.into())
    }
}

impl fmt::Display for Unlink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unlink({:?})", self.0.shown())
    }
}

impl Op for Unlink {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::unistd::unlink(self.0.real())
    }
}

/// `symlink(target, linkpath)`.
#[derive(Debug, Clone)]
pub struct Symlink {
    /// What the link points to.
    pub target: Arg,
    /// The link.
    pub linkpath: Arg,
}

impl fmt::Display for Symlink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "symlink({:?}, {:?})", self.target.shown(), self.linkpath.shown())
    }
}

impl Op for Symlink {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::unistd::symlinkat(self.target.real(), nix::fcntl::AT_FDCWD, self.linkpath.real())
    }
}

/// `chmod(path, mode)`.
#[derive(Debug, Clone)]
pub struct Chmod {
    /// The file.
    pub path: Arg,
    /// Its new mode (`04755`: setuid).
    pub mode: u32,
}

impl fmt::Display for Chmod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chmod({:?}, {:05o})", self.path.shown(), self.mode)
    }
}

impl Op for Chmod {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::sys::stat::fchmodat(
            nix::fcntl::AT_FDCWD,
            self.path.real(),
            Mode::from_bits_truncate(self.mode),
            nix::sys::stat::FchmodatFlags::FollowSymlink,
        )
    }
}

/// `fcntl(fd, F_SETFD, FD_CLOEXEC)`: close this descriptor at `execve`.
#[derive(Debug, Clone, Copy)]
pub struct SetCloexec<'a>(pub BorrowedFd<'a>);

impl fmt::Display for SetCloexec<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fcntl({}, F_SETFD, FD_CLOEXEC)", self.0.as_raw_fd())
    }
}

impl Op for SetCloexec<'_> {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        use nix::fcntl::{FcntlArg, FdFlag, fcntl};
        fcntl(self.0, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map(drop)
    }
}

/// `close_range(first, ~0U, CLOSE_RANGE_CLOEXEC)` (Linux 5.11): every
/// descriptor from `first` up is closed at the next `execve`.
#[derive(Debug, Clone, Copy)]
pub struct CloexecFrom(pub u32);

impl fmt::Display for CloexecFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "close_range({}, ~0U, CLOSE_RANGE_CLOEXEC)", self.0)
    }
}

impl Op for CloexecFrom {
    type Output = crate::sys::Cloexec;
    /// On a kernel without `CLOSE_RANGE_CLOEXEC` (before 5.11) the kit falls
    /// back to `fcntl(F_SETFD, FD_CLOEXEC)` on each descriptor, and the
    /// result says so.
    fn run(&self) -> Result<crate::sys::Cloexec, Errno> {
        crate::sys::cloexec_from(self.0)
    }
    fn shown(&self, out: &crate::sys::Cloexec) -> String {
        match out {
            crate::sys::Cloexec::CloseRange => "0".into(),
            crate::sys::Cloexec::EachFd(n) => {
                format!("-1 (refused: before Linux 5.11), then fcntl(FD, F_SETFD, FD_CLOEXEC) on each of {n}")
            }
        }
    }
}

// ---------------------------------------------------------------- namespaces

/// `unshare(flags)`.
#[derive(Debug, Clone, Copy)]
pub struct Unshare(pub CloneFlags);

impl fmt::Display for Unshare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unshare({})", clone_flag_names(self.0))
    }
}

impl Op for Unshare {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::sched::unshare(self.0)
    }
}

/// `setns(fd, nstype)`.
#[derive(Debug, Clone, Copy)]
pub struct Setns<'a> {
    /// A namespace file (`/proc/PID/ns/KIND`, or a bind mount of one).
    pub fd: BorrowedFd<'a>,
    /// The kind expected (`CLONE_NEWUTS`), or empty for any.
    pub nstype: CloneFlags,
}

impl<'a> Setns<'a> {
    /// `setns(fd, nstype)`.
    pub fn new(fd: &'a impl AsFd, nstype: CloneFlags) -> Self {
        Setns { fd: fd.as_fd(), nstype }
    }
}

impl fmt::Display for Setns<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "setns({}, {})", self.fd.as_raw_fd(), clone_flag_names(self.nstype))
    }
}

impl Op for Setns<'_> {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::sched::setns(self.fd, self.nstype)
    }
}

/// `sethostname(name)`.
#[derive(Debug, Clone)]
pub struct Sethostname(pub String);

impl Sethostname {
    /// `sethostname(name)`.
    pub fn new(name: &str) -> Self {
        Sethostname(name.to_string())
    }
}

impl fmt::Display for Sethostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sethostname({:?}, {})", self.0, self.0.len())
    }
}

impl Op for Sethostname {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::unistd::sethostname(&self.0)
    }
}

/// `uname(&buf)`, which is how libc's `gethostname` asks: the nodename is
/// the hostname of the caller's UTS namespace. Not shown (it is the host's).
#[derive(Debug, Clone, Copy)]
pub struct Uname;

impl fmt::Display for Uname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("uname({nodename=…})")
    }
}

impl Op for Uname {
    type Output = String;
    fn run(&self) -> Result<String, Errno> {
        nix::sys::utsname::uname().map(|u| u.nodename().to_string_lossy().into_owned())
    }
}

// ---------------------------------------------------------------- identity

/// `setuid(uid)`.
#[derive(Debug, Clone, Copy)]
pub struct Setuid(pub u32);

impl fmt::Display for Setuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "setuid({})", self.0)
    }
}

impl Op for Setuid {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::unistd::setuid(Uid::from_raw(self.0))
    }
}

/// `setgid(gid)`.
#[derive(Debug, Clone, Copy)]
pub struct Setgid(pub u32);

impl fmt::Display for Setgid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "setgid({})", self.0)
    }
}

impl Op for Setgid {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::unistd::setgid(Gid::from_raw(self.0))
    }
}

/// `setgroups(n, [gids])`.
#[derive(Debug, Clone)]
pub struct Setgroups(pub Vec<u32>);

impl fmt::Display for Setgroups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gids: Vec<String> = self.0.iter().map(u32::to_string).collect();
        write!(f, "setgroups({}, [{}])", self.0.len(), gids.join(", "))
    }
}

impl Op for Setgroups {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        let gids: Vec<Gid> = self.0.iter().map(|g| Gid::from_raw(*g)).collect();
        nix::unistd::setgroups(&gids)
    }
}

// ---------------------------------------------------------------- prctl and capabilities

/// The `prctl(2)` options the labs use.
#[derive(Debug, Clone, Copy)]
pub enum Prctl {
    /// `prctl(PR_SET_NO_NEW_PRIVS, 1)`: no execve may grant privilege again.
    SetNoNewPrivs,
    /// `prctl(PR_SET_KEEPCAPS, 1)`: keep the permitted set across setuid.
    SetKeepcaps,
    /// `prctl(PR_CAPBSET_DROP, cap)`: remove a capability from the bounding set.
    CapbsetDrop(Capability),
    /// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap)`.
    AmbientRaise(Capability),
    /// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, cap)`.
    AmbientLower(Capability),
    /// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)`: empty the ambient set.
    AmbientClearAll,
}

impl fmt::Display for Prctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Prctl::SetNoNewPrivs => f.write_str("prctl(PR_SET_NO_NEW_PRIVS, 1)"),
            Prctl::SetKeepcaps => f.write_str("prctl(PR_SET_KEEPCAPS, 1)"),
            Prctl::CapbsetDrop(c) => write!(f, "prctl(PR_CAPBSET_DROP, {})", cap_const(*c)),
            Prctl::AmbientRaise(c) => write!(f, "prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, {})", cap_const(*c)),
            Prctl::AmbientLower(c) => write!(f, "prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, {})", cap_const(*c)),
            Prctl::AmbientClearAll => f.write_str("prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)"),
        }
    }
}

/// `CAP_NET_BIND_SERVICE`, as strace names it.
fn cap_const(c: Capability) -> String {
    c.to_string().to_uppercase()
}

impl Op for Prctl {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        let caps_errno = |e: caps::errors::CapsError| crate::capability::errno_of(&e);
        match *self {
            Prctl::SetNoNewPrivs => nix::sys::prctl::set_no_new_privs(),
            Prctl::SetKeepcaps => nix::sys::prctl::set_keepcaps(true),
            Prctl::CapbsetDrop(c) => caps::drop(None, CapSet::Bounding, c).map_err(caps_errno),
            Prctl::AmbientRaise(c) => caps::raise(None, CapSet::Ambient, c).map_err(caps_errno),
            Prctl::AmbientLower(c) => caps::drop(None, CapSet::Ambient, c).map_err(caps_errno),
            Prctl::AmbientClearAll => caps::clear(None, CapSet::Ambient).map_err(caps_errno),
        }
    }
}

/// `capset`: one of the thread's effective, permitted or inheritable sets
/// changed (the `caps` crate reads the sets with `capget` and writes all
/// three back with one `capset`).
#[derive(Debug, Clone)]
pub enum Capset {
    /// Add a capability to a set.
    Raise(CapSet, Capability),
    /// Remove a capability from a set.
    Drop(CapSet, Capability),
    /// Make a set exactly these capabilities.
    Set(CapSet, Vec<Capability>),
}

fn set_name(set: CapSet) -> &'static str {
    match set {
        CapSet::Ambient => "ambient",
        CapSet::Bounding => "bounding",
        CapSet::Effective => "effective",
        CapSet::Inheritable => "inheritable",
        CapSet::Permitted => "permitted",
    }
}

impl fmt::Display for Capset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capset::Raise(s, c) => write!(f, "capset({} += {c})", set_name(*s)),
            Capset::Drop(s, c) => write!(f, "capset({} -= {c})", set_name(*s)),
            Capset::Set(s, caps) => {
                let names: Vec<String> = caps.iter().map(|c| c.to_string()).collect();
                let names = if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(",")
                };
                write!(f, "capset({} = {names})", set_name(*s))
            }
        }
    }
}

impl Op for Capset {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        let res = match self {
            Capset::Raise(s, c) => caps::raise(None, *s, *c),
            Capset::Drop(s, c) => caps::drop(None, *s, *c),
            Capset::Set(s, caps) => caps::set(None, *s, &caps.iter().copied().collect()),
        };
        res.map_err(|e| crate::capability::errno_of(&e))
    }
}

/// `chown(path, uid, gid)`.
#[derive(Debug, Clone)]
pub struct Chown {
    /// The file.
    pub path: Arg,
    /// Its new owner.
    pub uid: u32,
    /// Its new group.
    pub gid: u32,
}

impl fmt::Display for Chown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chown({:?}, {}, {})", self.path.shown(), self.uid, self.gid)
    }
}

impl Op for Chown {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::unistd::chown(
            self.path.real(),
            Some(Uid::from_raw(self.uid)),
            Some(Gid::from_raw(self.gid)),
        )
    }
}

// ---------------------------------------------------------------- sockets

/// `socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP)`: a TCP socket.
#[derive(Debug, Clone, Copy)]
pub struct TcpSocket;

impl fmt::Display for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP)")
    }
}

impl Op for TcpSocket {
    type Output = OwnedFd;
    fn run(&self) -> Result<OwnedFd, Errno> {
        use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
        socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)
    }
    fn shown(&self, fd: &OwnedFd) -> String {
        fd.as_raw_fd().to_string()
    }
}

/// `ADDR:PORT`, or `ADDR:<port>` when the port is one the kernel chose on
/// this machine.
fn sockaddr(addr: &std::net::SocketAddrV4, port_placeholder: bool) -> String {
    if port_placeholder {
        format!("{}:<port>", addr.ip())
    } else {
        addr.to_string()
    }
}

/// `bind(fd, ADDR:PORT)`.
#[derive(Debug, Clone, Copy)]
pub struct Bind<'a> {
    /// The socket.
    pub fd: BorrowedFd<'a>,
    /// Where.
    pub addr: std::net::SocketAddrV4,
    /// Show the port as `<port>` (one the kernel chose here).
    pub port_placeholder: bool,
}

impl fmt::Display for Bind<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bind({}, {})",
            self.fd.as_raw_fd(),
            sockaddr(&self.addr, self.port_placeholder)
        )
    }
}

impl Op for Bind<'_> {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::sys::socket::bind(self.fd.as_raw_fd(), &nix::sys::socket::SockaddrIn::from(self.addr))
    }
}

/// `listen(fd, backlog)`.
#[derive(Debug, Clone, Copy)]
pub struct Listen<'a>(pub BorrowedFd<'a>);

impl fmt::Display for Listen<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "listen({}, 16)", self.0.as_raw_fd())
    }
}

impl Op for Listen<'_> {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::sys::socket::listen(&self.0, nix::sys::socket::Backlog::new(16).map_err(|_| Errno::EINVAL)?)
    }
}

/// `connect(fd, ADDR:PORT)`.
#[derive(Debug, Clone, Copy)]
pub struct Connect<'a> {
    /// The socket.
    pub fd: BorrowedFd<'a>,
    /// Where to.
    pub addr: std::net::SocketAddrV4,
    /// Show the port as `<port>` (one the kernel chose here).
    pub port_placeholder: bool,
}

impl fmt::Display for Connect<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "connect({}, {})",
            self.fd.as_raw_fd(),
            sockaddr(&self.addr, self.port_placeholder)
        )
    }
}

impl Op for Connect<'_> {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::sys::socket::connect(self.fd.as_raw_fd(), &nix::sys::socket::SockaddrIn::from(self.addr))
    }
}

// ---------------------------------------------------------------- processes

/// `fork()`, or `clone(CLONE_NEW…|SIGCHLD)` when namespace flags are given:
/// a new process tied to the caller's life (`PR_SET_PDEATHSIG`), born in
/// new namespaces with flags. The parent sees the child's pid as `<child>`.
///
/// Only the parent narrates it: [`crate::child::spawn_in`] and
/// [`crate::ops::fork_until_refused`] print the line on the parent's side,
/// since the child's copy of a narrator would print it twice.
#[derive(Debug, Clone, Copy)]
pub struct Fork(pub CloneFlags);

impl Fork {
    /// `fork()` with no flags, `clone(flags|SIGCHLD)` with some.
    pub fn new(flags: CloneFlags) -> Self {
        Fork(flags)
    }

    /// Make the call: the side of the fork this process is on.
    pub fn run(&self) -> Result<crate::sys::Forked, Errno> {
        let res = if self.0.is_empty() {
            crate::sys::fork_tied()
        } else {
            crate::sys::clone_tied(self.0)
        };
        res.map_err(|e| e.errno().unwrap_or(Errno::EIO))
    }
}

impl fmt::Display for Fork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("fork()")
        } else {
            write!(f, "clone({}|SIGCHLD)", clone_flag_names(self.0))
        }
    }
}

impl Op for Fork {
    type Output = crate::sys::Forked;
    fn run(&self) -> Result<crate::sys::Forked, Errno> {
        Fork::run(self)
    }
    fn shown(&self, out: &crate::sys::Forked) -> String {
        match out {
            crate::sys::Forked::Parent(_) => "<child>".to_string(),
            crate::sys::Forked::Child => "0".to_string(),
        }
    }
}

/// `fork()` without the death signal, for a process that must outlive its
/// parent (see [`crate::sys::fork_untied`]). Narrated by the parent only,
/// as [`Fork`] is.
#[derive(Debug, Clone, Copy)]
pub struct ForkUntied;

impl fmt::Display for ForkUntied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("fork()")
    }
}

impl Op for ForkUntied {
    type Output = crate::sys::Forked;
    fn run(&self) -> Result<crate::sys::Forked, Errno> {
        crate::sys::fork_untied().map_err(|e| e.errno().unwrap_or(Errno::EIO))
    }
    fn shown(&self, out: &crate::sys::Forked) -> String {
        Fork(CloneFlags::empty()).shown(out)
    }
}

/// Run a fork value and narrate it on the parent's side only: the child
/// gets `Ok(Forked::Child)` and nothing is printed twice.
pub fn fork_narrated<O>(n: &mut impl crate::Narrate, op: &O) -> Result<crate::sys::Forked, Errno>
where
    O: Op<Output = crate::sys::Forked>,
{
    let res = op.run();
    if !matches!(res, Ok(crate::sys::Forked::Child)) {
        n.emit(crate::Event::Call { text: line(op, &res) });
    }
    res
}

// ---------------------------------------------------------------- signals

/// `kill(pid, sig)`; the host pid is shown as a placeholder.
#[derive(Debug, Clone, Copy)]
pub struct Kill {
    /// The process.
    pub pid: Pid,
    /// The signal.
    pub signal: nix::sys::signal::Signal,
    /// What the pid is shown as.
    pub shown: &'static str,
}

impl Kill {
    /// `kill(<child>, sig)`.
    pub fn child(pid: Pid, signal: nix::sys::signal::Signal) -> Self {
        Kill {
            pid,
            signal,
            shown: "<child>",
        }
    }

    /// `kill(<shown>, sig)`.
    pub fn shown_as(pid: Pid, signal: nix::sys::signal::Signal, shown: &'static str) -> Self {
        Kill { pid, signal, shown }
    }
}

impl fmt::Display for Kill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kill({}, {})", self.shown, self.signal.as_str())
    }
}

impl Op for Kill {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::sys::signal::kill(self.pid, self.signal)
    }
}

// ---------------------------------------------------------------- extended attributes

/// `lgetxattr(path, name, buf)`: one extended attribute of a file (not
/// following a symlink), read through the `xattr` crate in one call with a
/// 4096-byte buffer. The result is the value's length; the value itself is
/// the output, for the lab to observe. A missing attribute is the kernel's
/// `ENODATA`.
#[derive(Debug, Clone)]
pub struct Lgetxattr {
    /// The file.
    pub path: Arg,
    /// The attribute (`trusted.overlay.opaque`).
    pub name: String,
}

impl Lgetxattr {
    /// `lgetxattr(path, name, buf)`.
    pub fn new(path: impl Into<Arg>, name: &str) -> Self {
        Lgetxattr {
            path: path.into(),
            name: name.to_string(),
        }
    }
}

impl fmt::Display for Lgetxattr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lgetxattr({:?}, {:?}, …)", self.path.shown(), self.name)
    }
}

impl Op for Lgetxattr {
    type Output = Vec<u8>;
    fn run(&self) -> Result<Vec<u8>, Errno> {
        match xattr::get(self.path.real(), &self.name) {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(Errno::ENODATA),
            Err(e) => Err(crate::narrate::errno_of_io(&e)),
        }
    }
    fn shown(&self, value: &Vec<u8>) -> String {
        value.len().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_read_like_strace_and_show_what_the_kit_adds() {
        let m = Mount::bind("/usr", "/tmp/usr").flags(MsFlags::MS_REC);
        assert_eq!(
            m.to_string(),
            r#"mount("/usr", "/tmp/usr", NULL, MS_BIND|MS_REC, NULL)"#
        );
        let ro = Mount::change("/tmp/usr", MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY)
            .keeping(MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_RDONLY);
        assert_eq!(
            ro.to_string(),
            r#"mount(NULL, "/tmp/usr", NULL, MS_RDONLY|MS_REMOUNT|MS_BIND|<kept: MS_NOSUID|MS_NODEV>, NULL)"#
        );
        assert_eq!(
            ro.flags | ro.kept,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV
        );
        let t = Mount::fs("lab-scratch", "/tmp", "tmpfs").data("mode=0755");
        assert_eq!(
            t.to_string(),
            r#"mount("lab-scratch", "/tmp", "tmpfs", 0, "mode=0755")"#
        );
        assert_eq!(Umount2::new("/tmp/b").to_string(), r#"umount2("/tmp/b", 0)"#);
        assert_eq!(Umount2::detach(".").to_string(), r#"umount2(".", MNT_DETACH)"#);
    }

    #[test]
    fn placeholders_hide_only_what_differs_between_machines() {
        let a = Arg::child_proc(Pid::from_raw(4242), "ns/uts");
        assert_eq!(a.real(), "/proc/4242/ns/uts");
        let m = Mount::bind(a, "/tmp/uts");
        assert_eq!(
            m.to_string(),
            r#"mount("/proc/<child>/ns/uts", "/tmp/uts", NULL, MS_BIND, NULL)"#
        );
    }

    #[test]
    fn flags_and_results() {
        assert_eq!(
            Unshare(CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWUSER).to_string(),
            "unshare(CLONE_NEWUSER|CLONE_NEWUTS)"
        );
        assert_eq!(
            Open::create("/tmp/s", OFlag::O_WRONLY | OFlag::O_EXCL | OFlag::O_CLOEXEC, 0o600).to_string(),
            r#"open("/tmp/s", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0600)"#
        );
        assert_eq!(Setgroups(vec![]).to_string(), "setgroups(0, [])");
        let refused = line(&Sethostname::new("x"), &Err(Errno::EPERM));
        assert_eq!(refused, r#"sethostname("x", 1) = -1 EPERM (Operation not permitted)"#);
        assert_eq!(
            Prctl::CapbsetDrop(Capability::CAP_SYS_ADMIN).to_string(),
            "prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN)"
        );
    }

    #[test]
    fn a_refusal_is_read_back_from_its_line() {
        let op = Fork::new(CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWUTS);
        let r = Refused::parse(&line(&op, &Err(Errno::ENOSPC))).expect("a refusal");
        assert_eq!((r.name.as_str(), r.errno), ("clone", Errno::ENOSPC));
        assert_eq!(r.call(), "clone(CLONE_NEWUTS|CLONE_NEWNET|SIGCHLD)");
        assert_eq!(r.namespace_kinds(), ["uts", "net"]);
        let w = WriteFile::new("/proc/self/uid_map", "0 1000 1");
        let r = Refused::parse(&line(&w, &Err(Errno::EPERM))).expect("a refusal");
        assert_eq!(
            (r.name.as_str(), r.args.as_str()),
            ("write", r#"/proc/self/uid_map, "0 1000 1""#)
        );
        assert_eq!(Refused::parse(&line(&Unshare(CloneFlags::CLONE_NEWNS), &Ok(()))), None);
        assert_eq!(errno_by_name("EPERM"), Some(Errno::EPERM));
        assert_eq!(errno_by_name("EWHATEVER"), None);
    }

    #[test]
    fn a_call_runs_what_it_shows() {
        // Harmless on any machine: chdir to where we are.
        let here = std::env::current_dir().expect("cwd");
        let op = Chdir::new(here.as_path());
        assert!(op.run().is_ok());
        let missing = Chdir::new("/nonexistent/container-labs");
        assert_eq!(missing.run(), Err(Errno::ENOENT));
        assert_eq!(
            line(&missing, &missing.run()),
            r#"chdir("/nonexistent/container-labs") = -1 ENOENT (No such file or directory)"#
        );
    }

    #[test]
    fn an_extended_attribute_is_read_in_one_call() {
        let op = Lgetxattr::new("/nonexistent/container-labs", "user.overlay.opaque");
        assert_eq!(
            op.to_string(),
            r#"lgetxattr("/nonexistent/container-labs", "user.overlay.opaque", …)"#
        );
        assert_eq!(op.run(), Err(Errno::ENOENT));
        assert_eq!(op.shown(&b"y".to_vec()), "1");
    }
}
