//! Running a lab: the privilege gate before each step, narration into the
//! report, the step's status from its checks, and what happens to the steps a
//! halted lab never reached.

use std::io::Write;

use crate::decl::{LabDecl, Needs, Privilege, Requirement, Rootless, StepDecl};
pub use crate::environment::Environment;
use crate::environment::Why;
use crate::error::KitError;
use crate::event::{Event, LabReport, Status};
use crate::narrate::Narrate;
use crate::op::Refused;
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

pub use crate::outcome::CannotRun;

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
    /// Each declared step's gate, decided once before the first step.
    gates: Vec<Result<(), (Status, String)>>,
    /// The machine, read before the first step.
    env: Environment,
    /// What the gate knows of the process as it runs the steps.
    now: Now,
}

/// The process as the steps run in it, after the kit chose the mode.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    /// Its effective uid (0 inside a user namespace of the kit's).
    pub euid: u32,
    /// Its effective capabilities.
    pub cap_eff: u64,
    /// Whether it is still in the user namespace it started in.
    pub still_initial: bool,
}

impl Now {
    /// Read it.
    pub fn read(started_initial: bool) -> Now {
        Now {
            euid: nix::unistd::Uid::effective().as_raw(),
            cap_eff: privilege::effective_caps(),
            still_initial: started_initial && privilege::in_initial_userns(),
        }
    }

    fn has_all(&self, caps: &[caps::Capability]) -> bool {
        caps.iter().all(|c| self.cap_eff & c.bitmask() != 0)
    }
}

/// One step in progress: narrate, observe, check.
pub struct Step<'a> {
    lab: &'a mut Lab,
    failed: usize,
    /// What the failed checks found (their `actual`).
    failed_actuals: Vec<String>,
    /// Every narrated call of the step that failed, in order (a child's too).
    refused: Vec<Refused>,
}

impl Narrate for Step<'_> {
    fn emit(&mut self, event: Event) {
        match &event {
            Event::Check { ok: false, actual, .. } => {
                self.failed += 1;
                self.failed_actuals.push(actual.clone());
            }
            Event::Call { text } => self.refused.extend(Refused::parse(text)),
            _ => {}
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

    /// Whether this lab, as it runs here, may do what `p` needs (the gate
    /// its steps pass), for a step that needs more only for a part of it.
    pub fn may(&self, p: Privilege) -> Result<(), CannotRun> {
        gate(p, &Needs::NOTHING, &self.lab.gate_ctx()).map_err(|(status, reason)| CannotRun { status, reason })
    }

    /// The machine the lab runs on, as read before the first step.
    pub fn environment(&self) -> &Environment {
        &self.lab.env
    }
}

impl Lab {
    /// How the lab runs.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    fn gate_ctx(&self) -> GateCtx<'_> {
        GateCtx {
            mode: self.mode,
            caller: &self.caller,
            now: self.now,
            blocker: self.blocker.as_deref(),
            env: &self.env,
        }
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
        crate::pace::before_step(index);
        if let Some(Err((status, reason))) = self.gates.get(index).cloned() {
            let rerun = (status == Status::Skip).then(|| rerun_command(self.decl));
            self.sink.emit(Event::StepEnd {
                status,
                reason: Some(reason),
                rerun,
            });
            self.halted = Some((index, status));
            return Err(Halt);
        }
        let mut step = Step {
            lab: self,
            failed: 0,
            failed_actuals: Vec::new(),
            refused: Vec::new(),
        };
        let outcome = body(&mut step);
        let Step {
            failed,
            failed_actuals,
            refused,
            ..
        } = step;
        match outcome {
            Ok(value) => {
                let (status, reason) = if failed == 0 {
                    (Status::Pass, None)
                } else if let Some(cannot) = classify(Ended::Checks(&failed_actuals), &refused, &self.env) {
                    // The checks did not hold because the machine refused a call.
                    (cannot.status, Some(cannot.reason))
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
                if let Some(cannot) = classify(Ended::Error(&e), &refused, &self.env) {
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
                    match self.gates.get(i).cloned().unwrap_or(Ok(())) {
                        Err((st, r)) => (st, r),
                        Ok(()) => (
                            status,
                            crate::tr!(
                                "needs step {} ({}), which did not run",
                                halted_at + 1,
                                self.decl.steps[halted_at].title
                            ),
                        ),
                    }
                }
                Status::Error => (Status::Error, crate::tr!("not reached: the lab broke")),
                _ => (Status::Fail, crate::tr!("not reached: step {} failed", halted_at + 1)),
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

/// What the gate decides on: how the lab runs, who started it, what the
/// process has now, why no user namespace is available (if so), the machine.
#[derive(Debug, Clone, Copy)]
pub struct GateCtx<'a> {
    /// The mode the kit chose.
    pub mode: Mode,
    /// Who started the lab (read before anything changed).
    pub caller: &'a Caller,
    /// The process as the steps run in it.
    pub now: Now,
    /// What blocks a user namespace, when none is available.
    pub blocker: Option<&'a str>,
    /// The machine.
    pub env: &'a Environment,
}

/// Whether a step of privilege `p` that needs `needs` can run; if not, its
/// status and reason. The step's declared namespaces are refused first where
/// their limit is 0 (for root too: the limits count every user); then:
/// - `root` steps run as real root, or where the process is still in the
///   initial user namespace and holds the declared capabilities (root in a
///   container with Docker's defaults holds `CAP_SETUID`);
/// - `userns` steps run as real root or inside a user namespace, or as
///   uid 0 when they create no namespace and hold the capabilities they use;
/// - `delegated` steps run as real root or with a delegated cgroup subtree.
pub fn gate(p: Privilege, needs: &Needs, ctx: &GateCtx<'_>) -> Result<(), (Status, String)> {
    if p == Privilege::None {
        return Ok(());
    }
    if let Some(why) = needs.namespaces.iter().find_map(|k| ctx.env.limit_blocks(k)) {
        return Err((Status::Unsupported, why));
    }
    match (p, ctx.mode) {
        (_, Mode::Root) | (Privilege::Userns, Mode::Rootless) | (Privilege::None, _) => Ok(()),
        (Privilege::Root, _) => {
            if ctx.now.still_initial && !needs.caps.is_empty() && ctx.now.has_all(needs.caps) {
                Ok(())
            } else {
                Err((Status::Skip, ctx.caller.missing_caps(needs.caps, ctx.now.still_initial)))
            }
        }
        (Privilege::Delegated, _) => crate::cgroup::Layout::read()
            .map_err(|e| e.to_string())
            .and_then(|l| crate::cgroup::run::delegated_subtree(&l))
            .map(drop)
            .map_err(|why| {
                let why = if ctx.caller.is_root_without_sys_admin() {
                    crate::tr!(
                        "needs real root or a delegated cgroup subtree: this root process lacks CAP_SYS_ADMIN, and {why}; in Docker: docker run --privileged (a container's /sys/fs/cgroup is read-only otherwise)"
                    )
                } else {
                    crate::tr!("needs root or a delegated cgroup subtree: {why}")
                };
                (Status::Skip, why)
            }),
        (Privilege::Userns, Mode::Restricted) => {
            if ctx.now.euid == 0 && needs.namespaces.is_empty() && ctx.now.has_all(needs.caps) {
                Ok(())
            } else {
                Err((
                    Status::Unsupported,
                    ctx.blocker.unwrap_or("no user namespace is available").to_string(),
                ))
            }
        }
    }
}

/// Whether a step of the lab needs a user namespace that the caller, as it
/// is, does not have: a `userns` step that creates namespaces, uses a
/// capability the caller lacks, or runs for a caller who is not uid 0.
pub fn needs_userns(step: &StepDecl, caller: &Caller) -> bool {
    step.privilege == Privilege::Userns
        && !(caller.euid == 0 && step.needs.namespaces.is_empty() && caller.has_all(step.needs.caps))
}

/// How a step ended without passing.
#[derive(Debug, Clone, Copy)]
pub enum Ended<'a> {
    /// Its body returned an error.
    Error(&'a anyhow::Error),
    /// Its body returned, and checks did not hold; what they found.
    Checks(&'a [String]),
}

/// Whether a step that ended so cannot run here rather than found the kernel
/// behaving otherwise: the one place where refusals become `skip` or
/// `unsupported`. First what the step said itself (a [`CannotRun`], a
/// cgroup [`Refusal`](crate::cgroup::Refusal)); then the calls the step
/// narrated that failed (`refused`, a child's too), newest first: one whose
/// errno the error (or a failed check) names, refused for a reason the
/// environment shows (a seccomp filter, an AppArmor restriction, a namespace
/// limit, a missing module: [`Environment::explain`]), makes the step
/// `unsupported` with that cause and its fix. Anything else stays `fail`.
pub fn classify(ended: Ended<'_>, refused: &[Refused], env: &Environment) -> Option<CannotRun> {
    if let Ended::Error(e) = ended {
        let said = e.chain().find_map(|c| {
            if let Some(cannot) = c.downcast_ref::<CannotRun>() {
                return Some(cannot.clone());
            }
            match c.downcast_ref::<crate::cgroup::CgroupError>() {
                Some(crate::cgroup::CgroupError::Refused(r)) => Some(CannotRun::from(r.clone())),
                _ => c
                    .downcast_ref::<crate::cgroup::Refusal>()
                    .map(|r| CannotRun::from(r.clone())),
            }
        });
        if said.is_some() {
            return said;
        }
    }
    let found = match ended {
        Ended::Error(e) => format!("{e:#}"),
        Ended::Checks(actuals) => actuals.join(" "),
    };
    refused
        .iter()
        .rev()
        .filter(|r| names_errno(&found, r.errno))
        .find_map(|r| env.explain(r))
}

/// Whether `text` names `errno` (`EPERM`) as a word.
fn names_errno(text: &str, errno: nix::errno::Errno) -> bool {
    let name = format!("{errno:?}");
    text.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == name)
}

/// The command that re-runs a lab with privilege. The runner passes its own
/// form (`sudo /path/to/lab run 07`) in `CONTAINER_LABS_RERUN`.
pub fn rerun_command(decl: &LabDecl) -> String {
    if let Ok(cmd) = std::env::var("CONTAINER_LABS_RERUN") {
        return cmd;
    }
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| format!("lab-{}-{}", decl.id, decl.slug));
    crate::tr!("sudo {exe}")
}

/// Why a requirement is not met on this kernel, if it is not.
pub fn requirement_missing(r: &Requirement) -> Option<String> {
    match *r {
        Requirement::Namespace(kind) => (!std::path::Path::new(&format!("/proc/self/ns/{kind}")).exists())
            .then(|| crate::tr!("this kernel has no {kind} namespace (/proc/self/ns/{kind} is missing)")),
        Requirement::Kernel(major, minor) => {
            let v = procfs::KernelVersion::current().ok()?;
            ((u32::from(v.major), u32::from(v.minor)) < (major, minor)).then(|| {
                crate::tr!(
                    "needs Linux {major}.{minor} or newer; this is {}.{}.{}",
                    v.major,
                    v.minor,
                    v.patch
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
    // Before anything changes: the namespace limits are the caller's user
    // namespace's, which a user namespace of the kit's would hide.
    let env = Environment::read();
    let mut lab = Lab {
        decl,
        caller: caller.clone(),
        mode: Mode::Restricted,
        blocker: None,
        namer,
        sink,
        next: 0,
        halted: None,
        gates: Vec::new(),
        env,
        now: Now::read(caller.initial_userns),
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
    } else if missing.is_empty() && decl.steps.iter().any(|s| needs_userns(s, &caller)) {
        let mut blocker: Option<Why> = None;
        match decl.rootless {
            Rootless::EnterUserns => match privilege::enter_userns_as_root() {
                Ok(said) => {
                    setup = said;
                    setup.push(crate::tr!("the lab now runs as root inside its own user namespace"));
                    lab.mode = Mode::Rootless;
                    // Made is not usable: a security module may refuse every
                    // privileged call in it.
                    match privilege::probe_privileged_call() {
                        Ok(None) => {}
                        Ok(Some(line)) => {
                            setup.push(crate::tr!(
                                "a child tried a privileged call in it: {line}; the steps that need one cannot run"
                            ));
                            lab.mode = Mode::Restricted;
                            blocker = Some(match Refused::parse(&line) {
                                Some(r) => privilege::userns_blocker(&r, &lab.env),
                                None => Why::new(line, crate::tr!("run as root")),
                            });
                        }
                        Err(why) => {
                            lab.mode = Mode::Restricted;
                            blocker = Some(Why::new(why, crate::tr!("run as root")));
                        }
                    }
                }
                Err((said, _)) => {
                    blocker = said
                        .last()
                        .and_then(|l| Refused::parse(l))
                        .map(|r| privilege::userns_blocker(&r, &lab.env));
                    setup = said;
                }
            },
            Rootless::Manual => match privilege::probe_userns(&lab.env) {
                Ok(()) => lab.mode = Mode::Rootless,
                Err(why) => blocker = Some(why),
            },
        }
        lab.blocker = blocker.map(|why| without_sys_admin(&caller, &why));
        lab.now = Now::read(caller.initial_userns);
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

    lab.gates = decl
        .steps
        .iter()
        .map(|s| gate(s.privilege, &s.needs, &lab.gate_ctx()))
        .collect();
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

/// For root without `CAP_SYS_ADMIN` (a container's root), what a step that
/// needs a user namespace lacks is `CAP_SYS_ADMIN` as much as the user
/// namespace: say both, and the Docker options that grant them.
fn without_sys_admin(caller: &Caller, blocker: &Why) -> String {
    if caller.is_root_without_sys_admin() {
        crate::tr!(
            "needs CAP_SYS_ADMIN or a user namespace: this root process lacks CAP_SYS_ADMIN, and {}; in Docker: {}",
            blocker.cause,
            crate::environment::docker_flags()
        )
    } else {
        blocker.to_string()
    }
}

/// What a lab's steps would meet here, without running it: each step's gate
/// for the mode the kit would choose, given `env` (probed with
/// [`Environment::probe`], whose `userns` says whether a user namespace can
/// be made and used). `lab list` and `lab doctor` show it.
pub fn predict(decl: &LabDecl, caller: &Caller, env: &Environment) -> Vec<Result<(), (Status, String)>> {
    if let Some(why) = decl.requires.iter().find_map(requirement_missing) {
        return decl
            .steps
            .iter()
            .map(|_| Err((Status::Unsupported, why.clone())))
            .collect();
    }
    let mine = Now {
        euid: caller.euid,
        cap_eff: caller.cap_eff,
        still_initial: caller.initial_userns,
    };
    let (mode, now, blocker) = if caller.is_real_root() {
        (Mode::Root, mine, None)
    } else if caller.is_userns_root() {
        (Mode::Rootless, mine, None)
    } else if !decl.steps.iter().any(|s| needs_userns(s, caller)) {
        (Mode::Restricted, mine, None)
    } else if env.userns == "available" {
        let inside = Now {
            euid: 0,
            cap_eff: u64::MAX,
            still_initial: decl.rootless == Rootless::Manual && caller.initial_userns,
        };
        (
            Mode::Rootless,
            if decl.rootless == Rootless::Manual {
                mine
            } else {
                inside
            },
            None,
        )
    } else {
        let why = env
            .userns_blocker
            .clone()
            .unwrap_or_else(|| Why::new(env.userns.clone(), crate::tr!("run as root")));
        (Mode::Restricted, mine, Some(without_sys_admin(caller, &why)))
    };
    let ctx = GateCtx {
        mode,
        caller,
        now,
        blocker: blocker.as_deref(),
        env,
    };
    decl.steps.iter().map(|s| gate(s.privilege, &s.needs, &ctx)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::Seccomp;

    fn filtered() -> Environment {
        Environment {
            seccomp: Seccomp {
                mode: "filter".into(),
                filters: Some(1),
                no_new_privs: false,
            },
            ..Environment::default()
        }
    }

    fn refused(lines: &[&str]) -> Vec<Refused> {
        lines.iter().filter_map(|l| Refused::parse(l)).collect()
    }

    #[test]
    fn a_refusal_the_environment_explains_is_unsupported_with_its_fix() {
        let calls = refused(&[r#"sethostname("lab-06", 6) = -1 EPERM (Operation not permitted)"#]);
        let e = anyhow::anyhow!("child process: EPERM: Operation not permitted");
        let c = classify(Ended::Error(&e), &calls, &filtered()).expect("explained");
        assert_eq!(c.status, Status::Unsupported);
        assert!(c.reason.contains("seccomp filter refused sethostname"), "{}", c.reason);
        // A failed check that found the errno is explained the same way.
        let c = classify(Ended::Checks(&["EPERM".into(), "vm".into()]), &calls, &filtered());
        assert!(c.is_some());
    }

    #[test]
    fn what_the_environment_does_not_explain_stays_a_failure() {
        let calls = refused(&[r#"sethostname("lab-06", 6) = -1 EPERM (Operation not permitted)"#]);
        let e = anyhow::anyhow!("child process: EPERM: Operation not permitted");
        // No filter, no security module, no limit: the kernel refused.
        assert!(classify(Ended::Error(&e), &calls, &Environment::default()).is_none());
        // An error that names another errno is not this refusal's doing.
        let other = anyhow::anyhow!("child process: ENOENT: No such file or directory");
        assert!(classify(Ended::Error(&other), &calls, &filtered()).is_none());
        // A check that failed without the refusal's errno neither.
        assert!(classify(Ended::Checks(&["lab-05".into()]), &calls, &filtered()).is_none());
        // EPERMANENT is not EPERM.
        assert!(!names_errno("EPERMANENT", nix::errno::Errno::EPERM));
    }

    #[test]
    fn what_a_step_says_itself_comes_first() {
        let e = anyhow::Error::new(CannotRun::skip("needs a delegated subtree"));
        let c = classify(Ended::Error(&e), &[], &filtered()).expect("said");
        assert_eq!(
            (c.status, c.reason.as_str()),
            (Status::Skip, "needs a delegated subtree")
        );
    }

    fn ctx<'a>(mode: Mode, caller: &'a Caller, now: Now, env: &'a Environment) -> GateCtx<'a> {
        GateCtx {
            mode,
            caller,
            now,
            blocker: Some("no user namespace here"),
            env,
        }
    }

    #[test]
    fn root_with_dockers_capabilities_runs_what_they_allow() {
        use caps::Capability::*;
        let mask = [CAP_SETUID, CAP_SETGID, CAP_CHOWN]
            .iter()
            .fold(0, |m, c| m | c.bitmask());
        let caller = Caller {
            euid: 0,
            egid: 0,
            initial_userns: true,
            cap_sys_admin: false,
            cap_eff: mask,
        };
        let now = Now {
            euid: 0,
            cap_eff: mask,
            still_initial: true,
        };
        let env = Environment::default();
        let c = ctx(Mode::Restricted, &caller, now, &env);
        assert!(gate(Privilege::Root, &Needs::caps(&[CAP_SETUID, CAP_SETGID]), &c).is_ok());
        let (status, why) = gate(Privilege::Root, &Needs::caps(&[CAP_SYS_TIME]), &c).expect_err("lacks it");
        assert_eq!(status, Status::Skip);
        assert!(why.contains("--cap-add SYS_TIME"), "{why}");
        // A step that makes a namespace needs CAP_SYS_ADMIN or a user namespace.
        assert!(gate(Privilege::Userns, &Needs::namespaces(&["mnt"]), &c).is_err());
        assert!(gate(Privilege::Userns, &Needs::NOTHING, &c).is_ok());
        // Every step that needs a user namespace is why the lab makes one.
        let step = StepDecl {
            title: "t",
            why: "w",
            privilege: Privilege::Userns,
            needs: Needs::namespaces(&["uts"]),
        };
        assert!(needs_userns(&step, &caller));
    }

    #[test]
    fn a_namespace_limit_of_zero_is_unsupported_before_the_step_runs() {
        let caller = Caller::read();
        let mut env = Environment::default();
        env.namespace_limits.insert("net".into(), 0);
        let now = Now::read(caller.initial_userns);
        let c = ctx(Mode::Root, &caller, now, &env);
        let (status, why) = gate(Privilege::Userns, &Needs::namespaces(&["net"]), &c).expect_err("limited");
        assert_eq!(status, Status::Unsupported);
        assert!(why.contains("sudo sysctl -w user.max_net_namespaces="), "{why}");
        assert!(gate(Privilege::Userns, &Needs::namespaces(&["uts"]), &c).is_ok());
    }
}
