//! Running a lab: the privilege gate before each step, narration into the
//! report, the step's status from its checks, and what happens to the steps a
//! halted lab never reached.

use std::io::Write;

use serde::Serialize;

use crate::decl::{LabDecl, Requirement, Rootless, StepDecl};
use crate::error::KitError;
use crate::event::{Event, LabReport, Status};
use crate::narrate::Narrate;
use crate::privilege::{self, Caller, Mode};
use crate::proc::{NsNamer, Who};
use crate::render::Renderer;

/// Output format of a lab process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Human,
    /// One JSON event per line, for the runner and for machines.
    Json,
}

/// A step did not complete: it was skipped, unsupported or failed. Returned by
/// [`Lab::step`] so that `?` ends the lab; the kit then records the steps it
/// did not reach.
#[derive(Debug)]
pub struct Halt;

/// Returned (inside an error) by a step body that finds at run time that the
/// step cannot run here: `skip` (a privilege is missing; the kit adds the
/// re-run command) or `unsupported` (the system lacks the feature). The step
/// gets that status and reason instead of `fail`.
#[derive(Debug, Clone, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{reason}")]
pub struct CannotRun {
    /// `Skip` or `Unsupported`.
    pub status: Status,
    /// Why, naming what is missing.
    pub reason: String,
}

impl CannotRun {
    /// A missing privilege.
    pub fn skip(reason: impl Into<String>) -> Self {
        CannotRun {
            status: Status::Skip,
            reason: reason.into(),
        }
    }

    /// A missing feature.
    pub fn unsupported(reason: impl Into<String>) -> Self {
        CannotRun {
            status: Status::Unsupported,
            reason: reason.into(),
        }
    }
}

/// Where events go: stdout (JSON lines or human text) and the report.
struct Sink {
    format: Format,
    renderer: Renderer,
    report: LabReport,
}

impl Sink {
    fn emit(&mut self, event: Event) {
        // An event that does not fit the report is a kit bug; say so but go on.
        if let Err(e) = self.report.apply(&event) {
            eprintln!("lab-kit: {e}");
        }
        let mut out = std::io::stdout().lock();
        // A closed stdout (e.g. `| head`) must not stop the lab before its cleanup.
        let _ = match self.format {
            Format::Json => serde_json::to_writer(&mut out, &event)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n")),
            Format::Human => self.renderer.render(&event, &mut out),
        };
        let _ = out.flush();
    }
}

/// A lab in progress.
pub struct Lab {
    decl: &'static LabDecl,
    caller: Caller,
    mode: Mode,
    blocker: Option<String>,
    namer: NsNamer,
    sink: Sink,
    next: usize,
    halted: Option<(usize, Status)>,
}

/// One step in progress: narrate, observe, check.
pub struct Step<'a> {
    lab: &'a mut Lab,
    failed: usize,
}

impl Narrate for Step<'_> {
    fn emit(&mut self, event: Event) {
        if let Event::Check { ok: false, .. } = event {
            self.failed += 1;
        }
        self.lab.sink.emit(event);
    }
}

impl Step<'_> {
    /// The stable name (`host`, `new#1`, ...) of a process's namespace.
    pub fn ns(&mut self, who: Who, kind: &str) -> Result<String, KitError> {
        self.lab.namer.of(who, kind)
    }

    /// The name of a namespace already read (e.g. sent back by a child).
    pub fn ns_name(&mut self, kind: &str, id: crate::proc::NsId) -> String {
        self.lab.namer.name(kind, id)
    }

    /// Read a namespace, record it as an observation and return its name.
    pub fn observe_ns(&mut self, label: &str, who: Who, kind: &str) -> Result<String, KitError> {
        let name = self.ns(who, kind)?;
        self.observe(label, &name);
        Ok(name)
    }

    /// How the lab runs.
    pub fn mode(&self) -> Mode {
        self.lab.mode
    }

    /// Who runs it.
    pub fn caller(&self) -> &Caller {
        &self.lab.caller
    }
}

impl Lab {
    /// How the lab runs.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Who runs it.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Run one declared step. Steps must be run in declaration order. The
    /// privilege gate comes first: a step the caller may not run is recorded
    /// as `skip` (with the command to re-run) or `unsupported`, and `Halt` is
    /// returned. An error from `body` fails the step and halts the lab; a
    /// failed check fails the step but the lab goes on.
    pub fn step<T>(
        &mut self,
        decl: &'static StepDecl,
        body: impl FnOnce(&mut Step<'_>) -> anyhow::Result<T>,
    ) -> Result<T, Halt> {
        let index = match self
            .decl
            .steps
            .iter()
            .position(|s| std::ptr::eq(s, decl) || s.title == decl.title)
        {
            Some(i) if i == self.next => i,
            found => {
                let msg = format!(
                    "lab bug: step {:?} run out of order (declared at {:?}, expected position {})",
                    decl.title, found, self.next
                );
                eprintln!("{msg}");
                self.halted = Some((self.next, Status::Error));
                return Err(Halt);
            }
        };
        self.next += 1;
        self.sink.emit(Event::StepStart {
            index,
            title: decl.title.into(),
            why: decl.why.into(),
            privilege: decl.privilege.as_str().into(),
        });
        if let Err((status, reason)) = privilege::gate(decl.privilege, self.mode, &self.caller, self.blocker.as_deref())
        {
            let rerun = (status == Status::Skip).then(|| rerun_command(self.decl));
            self.sink.emit(Event::StepEnd {
                status,
                reason: Some(reason),
                rerun,
            });
            self.halted = Some((index, status));
            return Err(Halt);
        }
        let mut step = Step { lab: self, failed: 0 };
        let outcome = body(&mut step);
        let failed = step.failed;
        match outcome {
            Ok(value) => {
                let (status, reason) = if failed == 0 {
                    (Status::Pass, None)
                } else {
                    (Status::Fail, Some(format!("{failed} check(s) failed")))
                };
                self.sink.emit(Event::StepEnd {
                    status,
                    reason,
                    rerun: None,
                });
                Ok(value)
            }
            Err(e) => {
                // Found at run time: this machine or caller cannot run the step.
                if let Some(cannot) = e.chain().find_map(|c| c.downcast_ref::<CannotRun>()) {
                    let rerun = (cannot.status == Status::Skip).then(|| rerun_command(self.decl));
                    self.sink.emit(Event::StepEnd {
                        status: cannot.status,
                        reason: Some(cannot.reason.clone()),
                        rerun,
                    });
                    self.halted = Some((index, cannot.status));
                    return Err(Halt);
                }
                let reason = format!("{e:#}").split_whitespace().collect::<Vec<_>>().join(" ");
                self.sink.emit(Event::StepEnd {
                    status: Status::Fail,
                    reason: Some(reason),
                    rerun: None,
                });
                self.halted = Some((index, Status::Fail));
                Err(Halt)
            }
        }
    }

    /// Record every declared step the lab did not reach, then the lab's end.
    fn finish(&mut self) {
        let (halted_at, status) = self.halted.unwrap_or((self.next, Status::Fail));
        for (i, s) in self.decl.steps.iter().enumerate().skip(self.next) {
            self.sink.emit(Event::StepStart {
                index: i,
                title: s.title.into(),
                why: s.why.into(),
                privilege: s.privilege.as_str().into(),
            });
            let (status, reason) = match status {
                Status::Skip | Status::Unsupported => {
                    // The gate decides: a later step may need even more.
                    match privilege::gate(s.privilege, self.mode, &self.caller, self.blocker.as_deref()) {
                        Err((st, r)) => (st, r),
                        Ok(()) => (
                            status,
                            format!(
                                "needs step {} ({}), which did not run",
                                halted_at + 1,
                                self.decl.steps[halted_at].title
                            ),
                        ),
                    }
                }
                Status::Error => (Status::Error, "not reached: the lab broke".to_string()),
                _ => (Status::Fail, format!("not reached: step {} failed", halted_at + 1)),
            };
            let rerun = (status == Status::Skip).then(|| rerun_command(self.decl));
            self.sink.emit(Event::StepEnd {
                status,
                reason: Some(reason),
                rerun,
            });
        }
        let status = LabReport::status_from_steps(&self.sink.report.steps);
        let reason = match status {
            Status::Pass => None,
            s => LabReport::first_reason(&self.sink.report.steps, s),
        };
        self.sink.emit(Event::LabEnd { status, reason });
    }
}

/// The command that re-runs a lab with privilege. The runner passes its own
/// form (`sudo /path/to/lab run 06`) in `CONTAINER_LABS_RERUN`.
pub fn rerun_command(decl: &LabDecl) -> String {
    if let Ok(cmd) = std::env::var("CONTAINER_LABS_RERUN") {
        return cmd;
    }
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| format!("lab-{}-{}", decl.id, decl.slug));
    format!("sudo {exe}")
}

/// Why a requirement is not met on this kernel, if it is not.
pub fn requirement_missing(r: &Requirement) -> Option<String> {
    match *r {
        Requirement::Namespace(kind) => (!std::path::Path::new(&format!("/proc/self/ns/{kind}")).exists())
            .then(|| format!("this kernel has no {kind} namespace (/proc/self/ns/{kind} is missing)")),
        Requirement::Kernel(major, minor) => {
            let v = procfs::KernelVersion::current().ok()?;
            ((u32::from(v.major), u32::from(v.minor)) < (major, minor)).then(|| {
                format!(
                    "needs Linux {major}.{minor} or newer; this is {}.{}.{}",
                    v.major, v.minor, v.patch
                )
            })
        }
    }
}

/// Run a lab in this process, writing its events to stdout. Returns its report.
pub fn run_lab(decl: &'static LabDecl, format: Format) -> LabReport {
    let caller = Caller::read();
    let sink = Sink {
        format,
        renderer: Renderer::default(),
        report: LabReport::default(),
    };
    // The baseline is taken before anything changes: "host" means where the lab started.
    let namer = NsNamer::from_this_process().unwrap_or_default();
    let mut lab = Lab {
        decl,
        caller: caller.clone(),
        mode: Mode::Restricted,
        blocker: None,
        namer,
        sink,
        next: 0,
        halted: None,
    };

    // Every lab reads the kernel's answers in /proc: without it, nothing can
    // be shown, and a missing /proc/self/ns/* would be misread as a kernel
    // without that namespace.
    let missing: Vec<String> = if std::path::Path::new("/proc/self/status").exists() {
        decl.requires.iter().filter_map(requirement_missing).collect()
    } else {
        vec!["/proc is not mounted here: the labs read what the kernel did from it (mount -t proc proc /proc)".into()]
    };
    let mut setup = Vec::new();
    if caller.is_real_root() {
        lab.mode = Mode::Root;
    } else if caller.is_userns_root() {
        lab.mode = Mode::Rootless;
    } else if missing.is_empty() {
        match decl.rootless {
            Rootless::EnterUserns => match privilege::enter_userns_as_root() {
                Ok(said) => {
                    setup = said;
                    setup.push("the lab now runs as root inside its own user namespace".into());
                    lab.mode = Mode::Rootless;
                }
                Err((said, e)) => {
                    setup = said;
                    lab.blocker = Some(privilege::userns_blocker(e));
                }
            },
            Rootless::Manual => match privilege::probe_userns() {
                Ok(()) => lab.mode = Mode::Rootless,
                Err(blocker) => lab.blocker = Some(blocker),
            },
        }
    }
    lab.sink.emit(Event::LabStart {
        id: decl.id.into(),
        slug: decl.slug.into(),
        title: decl.title.into(),
        mode: lab.mode.as_str().into(),
        steps: decl.steps.len(),
    });
    for text in setup {
        lab.sink.emit(Event::Setup { text });
    }
    if let Some(reason) = missing.first() {
        lab.blocker = Some(reason.clone());
        lab.mode = Mode::Restricted;
        for (i, s) in decl.steps.iter().enumerate() {
            lab.sink.emit(Event::StepStart {
                index: i,
                title: s.title.into(),
                why: s.why.into(),
                privilege: s.privilege.as_str().into(),
            });
            lab.sink.emit(Event::StepEnd {
                status: Status::Unsupported,
                reason: Some(reason.clone()),
                rerun: None,
            });
        }
        lab.next = decl.steps.len();
        let reason = Some(reason.clone());
        lab.sink.emit(Event::LabEnd {
            status: Status::Unsupported,
            reason,
        });
        return lab.sink.report;
    }

    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (decl.run)(&mut lab)));
    match outcome {
        Ok(Ok(())) if lab.next < decl.steps.len() && lab.halted.is_none() => {
            eprintln!("lab bug: the lab returned before running all its declared steps");
            lab.halted = Some((lab.next, Status::Error));
        }
        Ok(_) => {}
        Err(_) => {
            // The panic hook has printed the message on stderr.
            if lab.sink.report.steps.last().is_some_and(|s| s.status.is_none()) {
                lab.sink.emit(Event::StepEnd {
                    status: Status::Error,
                    reason: Some("the lab panicked (see stderr)".into()),
                    rerun: None,
                });
            }
            lab.halted = Some((lab.next.saturating_sub(1), Status::Error));
        }
    }
    lab.finish();
    lab.sink.report
}

/// The exit code of a lab binary for its report: 0 when nothing failed.
pub fn exit_code(report: &LabReport) -> u8 {
    match report.status {
        Some(Status::Pass | Status::Skip | Status::Unsupported) => 0,
        Some(Status::Fail) => 1,
        _ => 3,
    }
}

/// What `--format json` of a standalone lab and the runner agree on for
/// the machine a run happened on.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Environment {
    /// `uname -r`.
    pub kernel: String,
    /// `v1`, `v2`, `hybrid` or `none`.
    pub cgroup_mode: String,
    /// Effective uid of the runner.
    pub euid: u32,
    /// Whether the runner is real root.
    pub real_root: bool,
    /// Whether an unprivileged user namespace can be made, or what blocks it.
    pub userns: String,
}
