//! Hands-on exercises that the kernel checks.
//!
//! A student gets a task ("give a long-running process the hostname
//! `myhost`") and a shell in a [`sandbox`]: a process tree in mount, UTS,
//! IPC, network and PID namespaces of its own (and, without root, a user
//! namespace that makes the student root inside), with its own `/tmp` and
//! `/run`, and a cgroup of its own where cgroups can be used. They solve the
//! task with standard tools (`unshare`, `mount`, `ip`, `setpriv`, ...) or
//! anything else; nothing they do reaches the host.
//!
//! The checks never read what was typed. They read the kernel's state of
//! every process in the sandbox ([`probe`]): `/proc/PID/ns/*` (namespaces by
//! identity, compared with the sandbox's own), `/proc/PID/status` (ids,
//! `NSpid`), `/proc/PID/mountinfo`, `/proc/PID/uid_map`, netlink and the
//! cgroup files, entering a namespace with `setns` in a forked child where
//! the kernel shows something only to its members (a hostname, a SysV
//! queue, a packet). Any correct solution passes.
//!
//! An exercise is declared once ([`ExerciseDecl`]); its task, explanation
//! and hints are one Markdown file ([`text`]) that `lab exercise` prints and
//! the book includes. Progress is a small JSON file ([`progress`]).

pub mod probe;
pub mod progress;
pub mod sandbox;
pub mod text;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::event::Status;
use crate::lab::CannotRun;
use crate::privilege::Caller;

pub use probe::{Probe, Verdict};

/// One exercise, declared once: `lab exercise` and the book read it.
pub struct ExerciseDecl {
    /// The exercise's name on the command line (`06-hostname`): the number
    /// of the lab it belongs to when it was written, and a word.
    pub id: &'static str,
    /// The slug of the lab it practises (`uts`): slugs are stable, numbers
    /// may change when labs are inserted.
    pub lab: &'static str,
    /// What the sandbox must offer beyond itself.
    pub needs: Needs,
    /// The commands the task is solved with; one missing makes the exercise
    /// not runnable here, naming the package.
    pub tools: &'static [Tool],
    /// The Markdown text: `# Title`, `## Task`, explanation, `## Hints`
    /// (see [`text`]).
    pub text: &'static str,
    /// The same in Japanese (`text/ja/ID.md`, headings `## 課題` and
    /// `## ヒント`), shown when the runner speaks Japanese.
    pub text_ja: &'static str,
    /// The checks: read the sandbox's kernel state, never the student's
    /// commands. The first failed check says what the first hint says.
    pub check: fn(&mut Probe<'_>) -> Verdict,
}

impl ExerciseDecl {
    /// The text in the runner's language, with the headings of its task
    /// and its hints.
    fn localized(&self) -> (&'static str, &'static str, &'static str) {
        match crate::i18n::current() {
            crate::i18n::Lang::Ja if !self.text_ja.is_empty() => (self.text_ja, "課題", "ヒント"),
            _ => (self.text, "Task", "Hints"),
        }
    }

    /// The title, from the text's `# ` line.
    pub fn title(&self) -> &'static str {
        text::title(self.localized().0)
    }

    /// The task given to the student.
    pub fn task(&self) -> String {
        let (text, task, _) = self.localized();
        text::section(text, task).unwrap_or_default()
    }

    /// The hints after the first (which depends on the state the checks see).
    pub fn hints(&self) -> Vec<String> {
        let (text, _, hints) = self.localized();
        text::list(&text::section(text, hints).unwrap_or_default())
    }

    /// The number part of the id (`06`).
    pub fn number(&self) -> &'static str {
        self.id.split('-').next().unwrap_or(self.id)
    }

    /// Whether `query` names this exercise: `06-hostname`, `06`, `6` or `hostname`.
    pub fn matches(&self, query: &str) -> bool {
        let name = self.id.split_once('-').map_or(self.id, |(_, n)| n);
        query == self.id
            || query == name
            || query == self.number()
            || (query.parse::<u32>().is_ok() && query.parse::<u32>().ok() == self.number().parse::<u32>().ok())
    }
}

/// What an exercise needs besides a sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Needs {
    /// Only the sandbox (root, or a user namespace for everyone else).
    Sandbox,
    /// Real root: the task needs more than the one uid a user namespace of
    /// an unprivileged student maps.
    Root,
    /// A cgroup of the sandbox's own: root, or a delegated cgroup v2 subtree
    /// with the pids controller.
    Cgroups,
}

impl Needs {
    /// The word used in listings and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Needs::Sandbox => "sandbox",
            Needs::Root => "root",
            Needs::Cgroups => "cgroups",
        }
    }
}

/// A command the task is solved with, and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tool {
    /// The command (`ip`).
    pub command: &'static str,
    /// The Debian/Ubuntu package that installs it (`iproute2`).
    pub package: &'static str,
}

/// `unshare`, `nsenter`, `setpriv`, `ipcmk`, `findmnt`.
pub const UTIL_LINUX: &str = "util-linux";

/// The directories the sandbox's shell finds commands in, after `$PATH`:
/// the student is root there, so the `sbin` directories belong on it.
pub const SBIN: &[&str] = &["/usr/local/sbin", "/usr/sbin", "/sbin"];

/// The `PATH` of the sandbox's shell: the caller's, with the `sbin`
/// directories added when missing.
pub fn sandbox_path() -> String {
    let current = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    let mut dirs: Vec<String> = current.split(':').filter(|d| !d.is_empty()).map(String::from).collect();
    for d in SBIN {
        if !dirs.iter().any(|x| x == d) {
            dirs.push((*d).to_string());
        }
    }
    dirs.join(":")
}

/// Where `command` is on the sandbox's `PATH`, if anywhere.
pub fn find_tool(command: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    sandbox_path()
        .split(':')
        .map(|d| Path::new(d).join(command))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// The namespace types every sandbox is made of.
pub const SANDBOX_NAMESPACES: &[&str] = &["mnt", "uts", "ipc", "net", "pid"];

/// What this machine and caller offer every sandbox: probed once.
#[derive(Debug, Clone)]
pub struct Here {
    /// Who runs `lab`.
    pub caller: Caller,
    /// Whether an unprivileged user namespace can be made, or what blocks it.
    pub userns: Result<(), String>,
    /// Whether the sandbox can have a cgroup of its own, or why not.
    pub cgroups: Result<(), CannotRun>,
}

impl Here {
    /// Probe (forks a short-lived child to try a user namespace).
    pub fn probe() -> Here {
        let caller = Caller::read();
        let userns = if caller.is_real_root() {
            Ok(())
        } else {
            crate::privilege::probe_userns(&crate::environment::Environment::read()).map_err(|why| why.to_string())
        };
        Here {
            cgroups: sandbox::cgroups_usable(&caller),
            caller,
            userns,
        }
    }

    /// Whether a sandbox can be made at all, and why not.
    pub fn sandbox(&self) -> Result<(), CannotRun> {
        if !Path::new("/proc/self/status").exists() {
            return Err(CannotRun::unsupported(crate::tr!(
                "/proc is not mounted here: the checks read the kernel's answers from it (mount -t proc proc /proc)"
            )));
        }
        for kind in SANDBOX_NAMESPACES {
            if !Path::new(&format!("/proc/self/ns/{kind}")).exists() {
                return Err(CannotRun::unsupported(crate::tr!(
                    "this kernel has no {kind} namespace (/proc/self/ns/{kind} is missing), which the sandbox is made of"
                )));
            }
        }
        if self.caller.is_real_root() {
            return Ok(());
        }
        if !self.caller.initial_userns && self.caller.cap_sys_admin {
            // Root of a user namespace already: the sandbox nests another one.
            return self.userns.clone().map_err(CannotRun::unsupported);
        }
        self.userns.clone().map_err(|why| {
            CannotRun::unsupported(crate::tr!(
                "the sandbox of an unprivileged student is a user namespace, and none can be made: {why}"
            ))
        })
    }

    /// Whether `decl` can run here; if not, `skip` (a privilege is missing)
    /// or `unsupported` (the system lacks something), with the reason.
    pub fn runnable(&self, decl: &ExerciseDecl) -> Result<(), CannotRun> {
        self.sandbox()?;
        match decl.needs {
            Needs::Sandbox => {}
            Needs::Root if !self.caller.is_real_root() => {
                return Err(CannotRun::skip(crate::tr!(
                    "{}: the sandbox's user namespace maps only your own uid, so there is no second uid to switch to",
                    self.caller.missing_root()
                )));
            }
            Needs::Root => {}
            Needs::Cgroups => self.cgroups.clone()?,
        }
        let missing: Vec<String> = decl
            .tools
            .iter()
            .filter(|t| find_tool(t.command).is_none())
            .map(|t| format!("`{}` (install {})", t.command, t.package))
            .collect();
        if !missing.is_empty() {
            return Err(CannotRun::unsupported(crate::tr!(
                "the task is done with {} and this machine lacks it",
                missing.join(", ")
            )));
        }
        Ok(())
    }
}

/// The outcome of one exercise run by `lab exercise run`, as JSON and TAP show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// The exercise.
    pub id: String,
    /// The slug of its lab.
    pub lab: String,
    /// Its title.
    pub title: String,
    /// `pass`, `fail`, `skip`, `unsupported` or `error`.
    pub status: Status,
    /// Why it did not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The solution file as given.
    pub solution: String,
    /// The solution's exit status (`exited 0`), once it returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution_status: Option<String>,
    /// `root` or `rootless` (the sandbox had a user namespace of its own).
    pub mode: String,
    /// Every check, in order.
    pub checks: Vec<probe::CheckLine>,
    /// The first hint, when a check failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Wall time of the whole run.
    pub duration_ms: u64,
}
