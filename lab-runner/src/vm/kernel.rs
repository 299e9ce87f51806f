//! The kernel `lab vm` boots and the modules it carries: a bzImage (its
//! release read from the boot-protocol header) with the host's
//! `/lib/modules/RELEASE`, or a Debian `.deb` unpacked with `dpkg-deb -x`
//! into a temporary directory (nothing is installed). Module dependencies
//! come from each module's own `.modinfo` section (`depends=`), because a
//! package carries no `modules.dep` (depmod writes it at install time).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The modules the labs use, when the kernel builds them as modules.
pub const LAB_MODULES: &[&str] = &["veth", "overlay"];

/// A kernel ready to boot.
#[derive(Debug)]
pub struct Kernel {
    /// The bzImage.
    pub image: PathBuf,
    /// `uname -r` of that kernel.
    pub release: String,
    /// `lib/modules/RELEASE`, when there is one.
    pub modules_dir: Option<PathBuf>,
    /// Where a .deb was unpacked (removed on drop).
    _unpacked: Option<tempfile::TempDir>,
}

/// One module to load, in dependency order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// `veth`.
    pub name: String,
    /// The uncompressed object.
    pub data: Vec<u8>,
}

/// What [`Kernel::modules`] found for the labs.
#[derive(Debug, Default)]
pub struct Modules {
    /// To load, dependencies first.
    pub load: Vec<Module>,
    /// Built into the kernel: nothing to load.
    pub builtin: Vec<String>,
    /// Not found, or unreadable: `(name, why)`.
    pub missing: Vec<(String, String)>,
}

impl Kernel {
    /// A kernel image or a `.deb` holding one.
    pub fn resolve(path: &Path) -> anyhow::Result<Kernel> {
        if !path.is_file() {
            bail!(
                "{}: no such file (a kernel image or a linux-image .deb)",
                path.display()
            );
        }
        if path.extension().is_some_and(|e| e == "deb") {
            return Self::from_deb(path);
        }
        let release = bzimage_release(&std::fs::read(path).with_context(|| format!("read {}", path.display()))?)
            .with_context(|| format!("{} is not a bzImage kernel", path.display()))?;
        let modules = PathBuf::from("/lib/modules").join(&release);
        Ok(Kernel {
            image: path.to_path_buf(),
            modules_dir: modules.join("kernel").is_dir().then_some(modules),
            release,
            _unpacked: None,
        })
    }

    fn from_deb(deb: &Path) -> anyhow::Result<Kernel> {
        let dir = tempfile::Builder::new()
            .prefix("container-labs-kernel-")
            .tempdir()
            .context("make a temporary directory")?;
        let out = std::process::Command::new("dpkg-deb")
            .arg("-x")
            .arg(deb)
            .arg(dir.path())
            .output()
            .context("run dpkg-deb -x (dpkg) to unpack the kernel package")?;
        if !out.status.success() {
            bail!(
                "dpkg-deb -x {}: {}",
                deb.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let boot = dir.path().join("boot");
        let image = std::fs::read_dir(&boot)
            .ok()
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
            })
            .with_context(|| format!("{} holds no boot/vmlinuz-*: not a linux-image package", deb.display()))?;
        let release = image
            .file_name()
            .map(|n| n.to_string_lossy().trim_start_matches("vmlinuz-").to_string())
            .unwrap_or_default();
        let modules = ["lib/modules", "usr/lib/modules"]
            .iter()
            .map(|m| dir.path().join(m).join(&release))
            .find(|m| m.is_dir());
        Ok(Kernel {
            image,
            release,
            modules_dir: modules,
            _unpacked: Some(dir),
        })
    }

    /// The modules `names` need, with their dependencies, dependencies first.
    pub fn modules(&self, names: &[&str]) -> Modules {
        let mut m = Modules::default();
        let Some(dir) = &self.modules_dir else {
            for n in names {
                m.missing.push((
                    n.to_string(),
                    format!("no /lib/modules/{} for this kernel", self.release),
                ));
            }
            return m;
        };
        let builtin: BTreeSet<String> = std::fs::read_to_string(dir.join("modules.builtin"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.rsplit('/').next())
            .map(module_name)
            .collect();
        let mut index = BTreeMap::new();
        index_modules(&dir.join("kernel"), &mut index);
        let mut seen = BTreeSet::new();
        for n in names {
            visit(&module_name(n), &index, &builtin, &mut seen, &mut m, 0);
        }
        m
    }
}

fn visit(
    name: &str,
    index: &BTreeMap<String, PathBuf>,
    builtin: &BTreeSet<String>,
    seen: &mut BTreeSet<String>,
    out: &mut Modules,
    depth: u32,
) {
    if !seen.insert(name.to_string()) || depth > 32 {
        return;
    }
    if builtin.contains(name) {
        out.builtin.push(name.to_string());
        return;
    }
    let Some(path) = index.get(name) else {
        out.missing.push((name.to_string(), "not built for this kernel".into()));
        return;
    };
    let data = match std::fs::read(path)
        .map_err(anyhow::Error::from)
        .and_then(|raw| decompress(path, raw))
    {
        Ok(d) => d,
        Err(e) => {
            out.missing
                .push((name.to_string(), format!("{}: {e:#}", path.display())));
            return;
        }
    };
    for dep in depends(&data) {
        visit(&dep, index, builtin, seen, out, depth + 1);
    }
    out.load.push(Module {
        name: name.to_string(),
        data,
    });
}

/// `nf-conntrack.ko.xz` → `nf_conntrack`: the kernel's name for a module.
pub fn module_name(file: &str) -> String {
    let base = file.split(".ko").next().unwrap_or(file);
    base.replace('-', "_")
}

fn index_modules(dir: &Path, index: &mut BTreeMap<String, PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            index_modules(&p, index);
        } else if let Some(n) = p.file_name().map(|n| n.to_string_lossy().into_owned())
            && n.contains(".ko")
        {
            index.insert(module_name(&n), p);
        }
    }
}

fn decompress(path: &Path, raw: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    let name = path.to_string_lossy();
    if name.ends_with(".ko") {
        Ok(raw)
    } else if name.ends_with(".ko.xz") {
        let mut out = Vec::new();
        lzma_rs::xz_decompress(&mut raw.as_slice(), &mut out).map_err(|e| anyhow::anyhow!("xz: {e}"))?;
        Ok(out)
    } else {
        bail!("compressed in a format lab vm does not read (only .ko and .ko.xz)")
    }
}

/// The `depends=` of a module's `.modinfo` section.
pub fn depends(object: &[u8]) -> Vec<String> {
    use object::{Object, ObjectSection};
    let Ok(file) = object::File::parse(object) else {
        return Vec::new();
    };
    let Some(info) = file.section_by_name(".modinfo").and_then(|s| s.data().ok()) else {
        return Vec::new();
    };
    info.split(|b| *b == 0)
        .filter_map(|kv| kv.strip_prefix(b"depends="))
        .flat_map(|v| {
            String::from_utf8_lossy(v)
                .split(',')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|d| !d.is_empty())
        .map(|d| module_name(&d))
        .collect()
}

/// The release of a bzImage, from the boot-protocol header: `HdrS` at
/// 0x202 and, at 0x20e, the offset (less 0x200) of the version string.
pub fn bzimage_release(image: &[u8]) -> Option<String> {
    if image.get(0x202..0x206)? != b"HdrS" {
        return None;
    }
    let off = u16::from_le_bytes([*image.get(0x20e)?, *image.get(0x20f)?]) as usize + 0x200;
    let tail = image.get(off..)?;
    let end = tail.iter().position(|b| *b == 0 || *b == b' ')?;
    let s = std::str::from_utf8(&tail[..end]).ok()?;
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_are_the_kernels() {
        assert_eq!(module_name("veth.ko"), "veth");
        assert_eq!(module_name("nf-conntrack.ko.xz"), "nf_conntrack");
        assert_eq!(module_name("virtio_pci"), "virtio_pci");
    }

    #[test]
    fn a_bzimage_header_names_its_release() {
        let mut img = vec![0u8; 0x1000];
        img[0x202..0x206].copy_from_slice(b"HdrS");
        img[0x20e..0x210].copy_from_slice(&0x0600u16.to_le_bytes());
        let v = b"6.1.0-50-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP\0";
        img[0x800..0x800 + v.len()].copy_from_slice(v);
        assert_eq!(bzimage_release(&img).as_deref(), Some("6.1.0-50-cloud-amd64"));
        assert_eq!(bzimage_release(b"not a kernel"), None);
    }
}
