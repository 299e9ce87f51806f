//! The one declaration of a lab: who it is, what it teaches, what each step
//! needs. `lab list`, `lab run`, the snapshot tests and the book all read it.

use serde::Serialize;

use crate::lab::{Halt, Lab};

/// Everything the suite knows about a lab, declared once in the lab's crate.
pub struct LabDecl {
    /// Two digits, the lab's place in the teaching order (`"06"`).
    pub id: &'static str,
    /// Short name used on the command line and in folder names (`"uts"`).
    pub slug: &'static str,
    /// One line for listings and headings.
    pub title: &'static str,
    /// The mechanisms the lab shows, from the fixed vocabulary.
    pub mechanisms: &'static [Mechanism],
    /// What the kernel must offer; a lab whose requirement is missing is `unsupported`.
    pub requires: &'static [Requirement],
    /// How the lab runs for a caller without real root.
    pub rootless: Rootless,
    /// The steps in the order the lab runs them.
    pub steps: &'static [StepDecl],
    /// The lesson text (Markdown), shown by `lab explain` and included by the book.
    pub explanation: &'static str,
    /// Its Japanese: the catalog of its texts and the translated lesson.
    pub i18n: crate::i18n::LabI18n,
    /// The lab itself.
    pub run: fn(&mut Lab) -> Result<(), Halt>,
}

impl LabDecl {
    /// `07-uts`: the folder name and the longest accepted id on the command line.
    pub fn full_id(&self) -> String {
        format!("{}-{}", self.id, self.slug)
    }

    /// The most privilege any step needs.
    pub fn privilege(&self) -> Privilege {
        self.steps.iter().map(|s| s.privilege).max().unwrap_or(Privilege::None)
    }

    /// Whether `query` names this lab: `06`, `6`, `uts` or `07-uts`.
    pub fn matches(&self, query: &str) -> bool {
        query == self.id
            || query == self.slug
            || query == self.full_id()
            || query.parse::<u32>().ok() == self.id.parse::<u32>().ok() && query.parse::<u32>().is_ok()
    }
}

/// One step of a lab as declared: its title, why it matters, what it needs.
pub struct StepDecl {
    /// What the step does, in a few words.
    pub title: &'static str,
    /// One or two sentences of why.
    pub why: &'static str,
    /// The privilege the step needs.
    pub privilege: Privilege,
    /// What exactly it needs of that privilege: the gate runs a step
    /// wherever these are met, and says which is missing where they are not.
    pub needs: Needs,
}

/// The capabilities and namespaces a step uses, declared so that the gate
/// decides on what the step really needs rather than on "root or not": root
/// in a container that lacks `CAP_SYS_ADMIN` still runs a step that only
/// needs `CAP_SETUID`, and a step that makes a network namespace is
/// `unsupported` where `user.max_net_namespaces` is 0, before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// Capabilities the step uses. For a [`Privilege::Root`] step, in the
    /// initial user namespace (none declared: every capability, real root);
    /// for a [`Privilege::Userns`] step run without a user namespace of the
    /// kit's, the caller's own.
    pub caps: &'static [caps::Capability],
    /// The kinds of namespace the step creates (`mnt`, `net`, `user`, as
    /// `/proc/PID/ns` names them). A [`Privilege::Userns`] step that creates
    /// none and needs no capability runs as uid 0 without a user namespace.
    pub namespaces: &'static [&'static str],
}

impl Needs {
    /// Nothing beyond the step's privilege.
    pub const NOTHING: Needs = Needs {
        caps: &[],
        namespaces: &[],
    };

    /// A step that creates these kinds of namespace.
    pub const fn namespaces(namespaces: &'static [&'static str]) -> Needs {
        Needs { caps: &[], namespaces }
    }

    /// A step that uses these capabilities.
    pub const fn caps(caps: &'static [caps::Capability]) -> Needs {
        Needs { caps, namespaces: &[] }
    }

    /// The capabilities, as the kernel names them (`CAP_SETUID, CAP_SETGID`).
    pub fn cap_names(&self) -> String {
        self.caps.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", ")
    }
}

/// What a step needs to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Privilege {
    /// Runs as any user.
    None,
    /// Runs unprivileged inside a user namespace that maps the caller to root.
    Userns,
    /// Needs real root, or a cgroup v2 subtree delegated to the caller
    /// (`cgroup::run::delegated_subtree`): creates cgroups on the host.
    Delegated,
    /// Needs real privilege in the initial user namespace.
    Root,
}

impl Privilege {
    /// The word used in listings and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::None => "none",
            Privilege::Userns => "userns",
            Privilege::Delegated => "delegated",
            Privilege::Root => "root",
        }
    }
}

/// How a lab runs when the caller is not real root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rootless {
    /// The kit moves the lab into a new user namespace (caller mapped to root)
    /// before the first step, like `unshare --user --map-root-user`.
    EnterUserns,
    /// The lab creates its user namespaces itself (the user namespace lab).
    Manual,
}

/// A kernel feature a lab needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// A namespace type, probed through `/proc/self/ns/<name>`.
    Namespace(&'static str),
    /// A minimum kernel version (major, minor).
    Kernel(u32, u32),
}

macro_rules! mechanisms {
    ($($variant:ident => $name:literal,)*) => {
        /// The mechanism vocabulary: the exact strings used in declarations and JSON.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Mechanism { $(
            #[doc = concat!("`", $name, "`")]
            $variant,
        )* }

        impl Mechanism {
            /// Every mechanism, in teaching order.
            pub const ALL: &'static [Mechanism] = &[$(Mechanism::$variant),*];

            /// The vocabulary string.
            pub fn as_str(self) -> &'static str {
                match self { $(Mechanism::$variant => $name,)* }
            }
        }
    };
}

mechanisms! {
    Fork => "fork",
    Setuid => "setuid",
    Execve => "execve",
    FdInheritance => "fd-inheritance",
    BindMount => "bind-mount",
    Chroot => "chroot",
    PivotRoot => "pivot-root",
    Capabilities => "capabilities",
    Seccomp => "seccomp",
    NsOverview => "ns-overview",
    NsUts => "ns-uts",
    NsPid => "ns-pid",
    NsMnt => "ns-mnt",
    MountPropagation => "mount-propagation",
    NsNet => "ns-net",
    NsIpc => "ns-ipc",
    NsUser => "ns-user",
    NsCgroup => "ns-cgroup",
    NsTime => "ns-time",
    Cgroups => "cgroups",
    Overlayfs => "overlayfs",
}

impl Serialize for Mechanism {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `lab list --format json` prints for one lab.
#[derive(Debug, Serialize)]
pub struct LabSummary {
    /// Two-digit id.
    pub id: &'static str,
    /// Slug.
    pub slug: &'static str,
    /// Title.
    pub title: &'static str,
    /// Mechanism tags.
    pub mechanisms: &'static [Mechanism],
    /// Highest privilege any step needs.
    pub privilege: Privilege,
    /// Privilege of each step, in order.
    pub steps: Vec<StepSummary>,
}

/// One step in [`LabSummary`].
#[derive(Debug, Serialize)]
pub struct StepSummary {
    /// Step title.
    pub title: &'static str,
    /// Privilege it needs.
    pub privilege: Privilege,
    /// Capabilities it uses (`CAP_SETUID`).
    pub caps: Vec<String>,
    /// Kinds of namespace it creates.
    pub namespaces: &'static [&'static str],
}

impl From<&LabDecl> for LabSummary {
    fn from(d: &LabDecl) -> Self {
        LabSummary {
            id: d.id,
            slug: d.slug,
            title: d.title,
            mechanisms: d.mechanisms,
            privilege: d.privilege(),
            steps: d
                .steps
                .iter()
                .map(|s| StepSummary {
                    title: s.title,
                    privilege: s.privilege,
                    caps: s.needs.caps.iter().map(|c| c.to_string()).collect(),
                    namespaces: s.needs.namespaces,
                })
                .collect(),
        }
    }
}
