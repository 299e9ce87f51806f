//! The initramfs `lab vm` boots: a newc (SVR4 "new ASCII") cpio archive,
//! uncompressed, that the kernel unpacks into its initial rootfs and whose
//! `/init` it runs as PID 1. Here `/init` is `lab` itself (see `init.rs`),
//! with the shared libraries it needs, `/bin/sh` and `ls` for the labs
//! that execute them, and the kernel modules the labs use.
//!
//! Paths are mirrored as the host has them: a merged-/usr host's `/lib` is
//! the symlink `usr/lib` in the archive too, so the dynamic loader named in
//! an executable (`/lib64/ld-linux-x86-64.so.2`) resolves the same way.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail};

/// One archive member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A directory with its permission bits.
    Dir(u32),
    /// A regular file: permission bits and content.
    File(u32, Vec<u8>),
    /// A symbolic link and its target.
    Symlink(String),
    /// A character device node: permission bits, major, minor.
    CharDev(u32, u32, u32),
}

/// An archive being assembled: paths (relative, no leading `/`) to members.
#[derive(Debug, Default, Clone)]
pub struct Initramfs {
    entries: BTreeMap<String, Entry>,
}

fn rel(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl Initramfs {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    /// The members, by path.
    pub fn entries(&self) -> &BTreeMap<String, Entry> {
        &self.entries
    }

    /// A directory (and its parents).
    pub fn dir(&mut self, path: impl AsRef<Path>, mode: u32) {
        let p = rel(path.as_ref());
        self.parents(&p);
        if !p.is_empty() {
            self.entries.entry(p).or_insert(Entry::Dir(mode));
        }
    }

    /// A file with `data` (its parents made as directories, 0755).
    pub fn file(&mut self, path: impl AsRef<Path>, mode: u32, data: Vec<u8>) {
        let p = rel(path.as_ref());
        self.parents(&p);
        self.entries.insert(p, Entry::File(mode, data));
    }

    /// A symbolic link.
    pub fn symlink(&mut self, path: impl AsRef<Path>, target: &str) {
        let p = rel(path.as_ref());
        self.parents(&p);
        self.entries.insert(p, Entry::Symlink(target.to_string()));
    }

    fn parents(&mut self, p: &str) {
        let mut at = 0;
        while let Some(i) = p[at..].find('/') {
            let d = &p[..at + i];
            self.entries.entry(d.to_string()).or_insert(Entry::Dir(0o755));
            at += i + 1;
        }
    }

    /// A character device node (`/dev/console`, which the kernel opens for
    /// `/init` before devtmpfs is mounted).
    pub fn char_dev(&mut self, path: impl AsRef<Path>, mode: u32, major: u32, minor: u32) {
        let p = rel(path.as_ref());
        self.parents(&p);
        self.entries.insert(p, Entry::CharDev(mode, major, minor));
    }

    /// Copy the host's `path` in, at the same place, following it the way
    /// the kernel resolves it: each symlink met on the way (a directory like
    /// `/lib64`, or the file itself) is added as a symlink and its target is
    /// copied too.
    pub fn host_path(&mut self, path: &Path) -> anyhow::Result<()> {
        self.host_path_depth(path, 0)
    }

    fn host_path_depth(&mut self, path: &Path, depth: u32) -> anyhow::Result<()> {
        if depth > 16 {
            bail!("{}: too many levels of symbolic links", path.display());
        }
        let mut so_far = PathBuf::from("/");
        let comps: Vec<_> = path
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect();
        for (i, c) in comps.iter().enumerate() {
            so_far.push(c);
            let meta = std::fs::symlink_metadata(&so_far).with_context(|| format!("stat {}", so_far.display()))?;
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&so_far).with_context(|| format!("readlink {}", so_far.display()))?;
                self.symlink(&so_far, &target.to_string_lossy());
                let base = so_far.parent().unwrap_or(Path::new("/"));
                let mut resolved = base.join(&target);
                for rest in &comps[i + 1..] {
                    resolved.push(rest);
                }
                return self.host_path_depth(&normalize(&resolved), depth + 1);
            }
            if i + 1 == comps.len() {
                use std::os::unix::fs::PermissionsExt;
                let mode = meta.permissions().mode() & 0o7777;
                if meta.is_dir() {
                    self.dir(&so_far, mode);
                } else {
                    let data = std::fs::read(&so_far).with_context(|| format!("read {}", so_far.display()))?;
                    self.file(&so_far, mode, data);
                }
            }
        }
        Ok(())
    }

    /// Write the archive: every member (parents before children, as the
    /// kernel needs), then the `TRAILER!!!` entry.
    pub fn write(&self, mut w: impl Write) -> io::Result<()> {
        use cpio::newc::{Builder, ModeFileType, trailer};
        for (ino, (path, entry)) in self.entries.iter().enumerate() {
            let b = Builder::new(path)
                .ino(u32::try_from(ino + 1).unwrap_or(u32::MAX))
                .uid(0)
                .gid(0);
            let (b, data): (Builder, &[u8]) = match entry {
                Entry::Dir(mode) => (b.mode(*mode).set_mode_file_type(ModeFileType::Directory).nlink(2), &[]),
                Entry::File(mode, data) => (b.mode(*mode).set_mode_file_type(ModeFileType::Regular), data),
                Entry::CharDev(mode, major, minor) => (
                    b.mode(*mode)
                        .set_mode_file_type(ModeFileType::Char)
                        .rdev_major(*major)
                        .rdev_minor(*minor),
                    &[],
                ),
                Entry::Symlink(target) => (
                    b.mode(0o777).set_mode_file_type(ModeFileType::Symlink),
                    target.as_bytes(),
                ),
            };
            let size = u32::try_from(data.len()).map_err(|_| io::Error::other(format!("{path}: larger than 4 GiB")))?;
            let mut fw = b.write(&mut w, size);
            fw.write_all(data)?;
            fw.finish()?;
        }
        trailer(&mut w)?;
        Ok(())
    }

    /// The archive as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        // Writing to a Vec fails only on a member over 4 GiB.
        if let Err(e) = self.write(&mut v) {
            eprintln!("initramfs: {e}");
        }
        v
    }
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(s) => out.push(s),
            _ => {}
        }
    }
    out
}

/// Read a newc archive back: `(path, mode, content)` for each member but
/// the trailer. Used by the tests, and to check an archive before booting it.
pub fn parse(mut bytes: &[u8]) -> io::Result<Vec<(String, u32, Vec<u8>)>> {
    let mut out = Vec::new();
    loop {
        let mut r = cpio::NewcReader::new(bytes)?;
        if r.entry().is_trailer() {
            return Ok(out);
        }
        let (name, mode) = (r.entry().name().to_string(), r.entry().mode());
        let mut data = Vec::new();
        r.read_to_end(&mut data)?;
        out.push((name, mode, data));
        bytes = r.finish()?;
    }
}

/// The shared libraries `exe` loads, with its dynamic loader, as `ldd`
/// lists them (empty for a static executable).
pub fn shared_libraries(exe: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let out = std::process::Command::new("ldd")
        .arg(exe)
        .output()
        .context("run ldd (libc-bin) to find the shared libraries")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        if text.contains("not a dynamic executable") || String::from_utf8_lossy(&out.stderr).contains("not a dynamic") {
            return Ok(Vec::new());
        }
        bail!("ldd {}: {}", exe.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(parse_ldd(&text))
}

fn parse_ldd(text: &str) -> Vec<PathBuf> {
    let mut libs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.contains("statically linked") {
            continue;
        }
        let path = match line.split_once("=>") {
            Some((_, right)) => right.trim().split(' ').next().unwrap_or(""),
            None => line.split(' ').next().unwrap_or(""),
        };
        if path.starts_with('/') {
            libs.push(PathBuf::from(path));
        }
    }
    libs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_gives_the_libraries_and_the_loader() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                    \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f37)\n\
                    \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f37)\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x00007f37)\n";
        assert_eq!(
            parse_ldd(text),
            [
                "/lib/x86_64-linux-gnu/libgcc_s.so.1",
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/ld-linux-x86-64.so.2"
            ]
            .map(PathBuf::from)
        );
        assert!(parse_ldd("\tstatically linked\n").is_empty());
    }

    #[test]
    fn the_archive_reads_back_with_parents_first() {
        let mut a = Initramfs::new();
        a.file("usr/bin/lab", 0o755, b"\x7fELF...".to_vec());
        a.symlink("init", "usr/bin/lab");
        a.symlink("bin", "usr/bin");
        a.dir("proc", 0o555);
        a.char_dev("dev/console", 0o600, 5, 1);
        a.file("lab-vm/config.json", 0o644, b"{}".to_vec());
        let bytes = a.to_bytes();
        let members = parse(&bytes).expect("a valid newc archive");
        let names: Vec<&str> = members.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "bin",
                "dev",
                "dev/console",
                "init",
                "lab-vm",
                "lab-vm/config.json",
                "proc",
                "usr",
                "usr/bin",
                "usr/bin/lab"
            ]
        );
        for (i, (name, _, _)) in members.iter().enumerate() {
            if let Some((parent, _)) = name.rsplit_once('/') {
                assert!(names[..i].contains(&parent), "{parent} comes before {name}");
            }
        }
        let find = |n: &str| members.iter().find(|m| m.0 == n).expect("member");
        assert_eq!(find("usr/bin/lab").1, 0o100755);
        assert_eq!(find("usr/bin/lab").2, b"\x7fELF...");
        assert_eq!(find("init").1 & 0o170000, 0o120000);
        assert_eq!(find("init").2, b"usr/bin/lab");
        assert_eq!(find("proc").1, 0o40555);
        assert_eq!(find("dev/console").1, 0o20600);
        assert_eq!(bytes.len() % 4, 0, "newc pads to 4 bytes");
        assert!(bytes.starts_with(b"070701"));
    }

    #[test]
    fn a_truncated_archive_is_an_error() {
        let mut a = Initramfs::new();
        a.file("x", 0o644, vec![b'a'; 100]);
        let bytes = a.to_bytes();
        assert!(parse(&bytes[..bytes.len() - 130]).is_err());
        assert!(parse(b"not an archive").is_err());
    }

    #[test]
    fn cpio_and_bsdtar_list_the_archive() {
        let mut a = Initramfs::new();
        a.file("usr/bin/lab", 0o755, b"lab".to_vec());
        a.symlink("init", "usr/bin/lab");
        let bytes = a.to_bytes();
        let mut listed_by = Vec::new();
        for (tool, args) in [("cpio", &["-t", "--quiet"][..]), ("bsdtar", &["-tf", "-"][..])] {
            let Ok(mut child) = std::process::Command::new(tool)
                .args(args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
            else {
                continue;
            };
            child.stdin.take().expect("stdin").write_all(&bytes).expect("write");
            let out = child.wait_with_output().expect("wait");
            assert!(out.status.success(), "{tool} failed");
            let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string)
                .collect();
            names.sort();
            assert_eq!(names, ["init", "usr", "usr/bin", "usr/bin/lab"], "{tool}");
            listed_by.push(tool);
        }
        if listed_by.is_empty() {
            eprintln!("skipped: neither cpio nor bsdtar is installed");
        }
    }

    #[test]
    fn host_paths_keep_their_symlinks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir_all(d.join("usr/lib")).expect("mkdir");
        std::fs::write(d.join("usr/lib/libx.so.1.2"), b"lib").expect("write");
        std::os::unix::fs::symlink("usr/lib", d.join("lib")).expect("symlink");
        std::os::unix::fs::symlink("libx.so.1.2", d.join("usr/lib/libx.so.1")).expect("symlink");
        let mut a = Initramfs::new();
        a.host_path(&d.join("lib/libx.so.1")).expect("copied");
        let r = rel(d);
        let e = a.entries();
        assert_eq!(e.get(&format!("{r}/lib")), Some(&Entry::Symlink("usr/lib".into())));
        assert_eq!(
            e.get(&format!("{r}/usr/lib/libx.so.1")),
            Some(&Entry::Symlink("libx.so.1.2".into()))
        );
        assert!(matches!(e.get(&format!("{r}/usr/lib/libx.so.1.2")), Some(Entry::File(_, data)) if data == b"lib"));
    }
}
