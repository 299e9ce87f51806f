//! `lab run`: each lab in a fresh process of its own (the runner re-executes
//! itself with `__lab ID`), its JSON events folded into a report and, for
//! people, drawn as they arrive. A lab that crashes, hangs or prints garbage
//! is reported as `error` and the suite goes on.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lab_kit::decl::LabDecl;
use lab_kit::event::{Event, LabReport, Status};
use lab_kit::lab::Environment;
use lab_kit::render::{Renderer, status_word};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::cli::RunFormat;

/// The version of the JSON report's shape; `lab diff` refuses others.
pub const REPORT_VERSION: u32 = 1;

fn report_version() -> u32 {
    REPORT_VERSION
}

/// A whole run, as `--format json` prints it.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunReport {
    /// [`REPORT_VERSION`] (a report without it is of version 1).
    #[serde(default = "report_version")]
    pub version: u32,
    /// The machine.
    pub environment: Environment,
    /// Each lab, in the order run.
    pub labs: Vec<LabReport>,
    /// Counts by status.
    pub summary: Summary,
    /// Whether SIGINT/SIGTERM stopped the run.
    pub interrupted: bool,
}

/// Counts by status.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Skipped for missing privilege.
    pub skip: usize,
    /// Unsupported by this kernel or system.
    pub unsupported: usize,
    /// Broken labs.
    pub error: usize,
}

impl RunReport {
    /// The process exit code for this run (see `EXIT_CODES`).
    pub fn exit_code(&self) -> u8 {
        if self.interrupted {
            130
        } else if self.summary.error > 0 {
            3
        } else if self.summary.fail > 0 {
            1
        } else {
            0
        }
    }
}

/// How much of a human run is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// The summary, and the steps (and labs) that failed or broke, in full.
    Quiet,
    /// Everything the labs narrate.
    Normal,
    /// Also how long each step took and what each lab wrote on stderr.
    Verbose,
}

/// Draws a run's events for people, at a verbosity. Quiet, a lab's events
/// are drawn into buffers first (so that the result line still counts every
/// step) and reach stdout only when a step or the lab fails or breaks.
pub struct Human {
    renderer: Renderer,
    verbosity: Verbosity,
    header: Vec<u8>,
    header_shown: bool,
    step: Vec<u8>,
    in_step: bool,
    step_started: Option<Instant>,
}

impl Human {
    /// Drawing for this process's stdout.
    pub fn new(verbosity: Verbosity) -> Self {
        Human {
            renderer: Renderer::default(),
            verbosity,
            header: Vec::new(),
            header_shown: false,
            step: Vec::new(),
            in_step: false,
            step_started: None,
        }
    }

    /// Draw one event.
    pub fn show(&mut self, event: &Event) {
        let mut out = std::io::stdout().lock();
        if self.verbosity != Verbosity::Quiet {
            let _ = self.renderer.render(event, &mut out);
            if self.verbosity == Verbosity::Verbose {
                self.timing(event, &mut out);
            }
            return;
        }
        let failed = |s: &Status| matches!(s, Status::Fail | Status::Error);
        match event {
            Event::LabStart { .. } => {
                self.header.clear();
                self.step.clear();
                self.header_shown = false;
                self.in_step = false;
                let _ = self.renderer.render(event, &mut self.header);
            }
            Event::StepStart { .. } => {
                self.step.clear();
                self.in_step = true;
                let _ = self.renderer.render(event, &mut self.step);
            }
            Event::StepEnd { status, .. } => {
                let _ = self.renderer.render(event, &mut self.step);
                if failed(status) {
                    self.flush(&mut out);
                }
                self.step.clear();
                self.in_step = false;
            }
            Event::LabEnd { status, .. } => {
                let _ = self.renderer.render(event, &mut self.step);
                if failed(status) {
                    self.flush(&mut out);
                }
                self.step.clear();
            }
            _ if self.in_step => {
                let _ = self.renderer.render(event, &mut self.step);
            }
            _ => {
                let _ = self.renderer.render(event, &mut self.header);
            }
        }
    }

    /// The lab's header (once) and the buffered step, to stdout.
    fn flush(&mut self, out: &mut impl Write) {
        if !self.header_shown {
            let _ = out.write_all(&self.header);
            self.header_shown = true;
        }
        let _ = out.write_all(&self.step);
    }

    fn timing(&mut self, event: &Event, out: &mut impl Write) {
        use colored::Colorize;
        match event {
            Event::StepStart { .. } => self.step_started = Some(Instant::now()),
            Event::StepEnd { .. } => {
                if let Some(t) = self.step_started.take() {
                    let ms = format!("{:.1}", t.elapsed().as_secs_f64() * 1e3);
                    let took = lab_kit::i18n::trf("took {ms} ms", &[&ms]);
                    let _ = writeln!(out, "        {}", took.dimmed());
                }
            }
            _ => {}
        }
    }

    /// What a lab wrote on stderr, when verbose.
    fn stderr(&mut self, text: &str) {
        use colored::Colorize;
        if self.verbosity != Verbosity::Verbose || text.trim().is_empty() {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "  {}", lab_kit::i18n::tr("stderr of the lab:").dimmed());
        for line in text.lines() {
            let _ = writeln!(out, "      {}", line.dimmed());
        }
    }
}

enum Line {
    Out(String),
    Eof,
    /// The lab waits before the step with this index (`--step`).
    Pace(usize),
}

/// `lab run --step`: the lab process waits before each step until the
/// instructor says go (see `lab_kit::pace`). The prompts go to stdout, the
/// answers come from stdin: Enter runs the step, `q` (or the end of stdin)
/// stops, and the run ends with what ran so far.
#[derive(Debug, Default)]
pub struct Pacer {
    /// Where the instructor stopped: the lab's id and the step not run.
    pub stopped: Option<(String, usize)>,
}

/// Ask before a step; `true` means run it.
fn go_ahead(decl: &LabDecl, index: usize) -> bool {
    use colored::Colorize;
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::io::IsTerminal;
    use std::os::fd::AsFd;
    print!(
        "      {} {}",
        "⏸".bold(),
        lab_kit::i18n::trf(
            "Enter runs step {n}/{total}, q stops: ",
            &[&(index + 1), &decl.steps.len()]
        )
        .dimmed()
    );
    let _ = std::io::stdout().flush();
    let stdin = std::io::stdin();
    // A typed answer ends the line itself; one from a pipe does not.
    let newline = || {
        if !stdin.is_terminal() {
            println!();
        }
    };
    loop {
        if lab_kit::sys::interrupted() {
            return false;
        }
        let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(_) => return false,
        }
        let mut line = String::new();
        let answer = stdin.lock().read_line(&mut line);
        newline();
        return match answer {
            Ok(0) | Err(_) => false,
            Ok(_) => !line.trim().eq_ignore_ascii_case("q"),
        };
    }
}

/// The executable that runs labs: this one, unless `CONTAINER_LABS_LAB_EXE`
/// names another (the tests use it to stand in crashing, hanging and
/// garbage-printing labs).
fn lab_exe() -> std::io::Result<PathBuf> {
    match std::env::var_os("CONTAINER_LABS_LAB_EXE") {
        Some(p) => Ok(PathBuf::from(p)),
        // current_exe() reads /proc/self/exe; without /proc, argv[0] (as
        // typed, or found on PATH) is the next best answer.
        None => std::env::current_exe().or_else(|e| {
            let argv0 = PathBuf::from(std::env::args_os().next().ok_or(e)?);
            if argv0.components().count() > 1 {
                return Ok(argv0);
            }
            std::env::var_os("PATH")
                .and_then(|p| std::env::split_paths(&p).map(|d| d.join(&argv0)).find(|c| c.is_file()))
                .ok_or_else(|| std::io::Error::other("cannot find the lab executable (no /proc/self/exe, not on PATH)"))
        }),
    }
}

/// Stop a lab's whole process group: SIGTERM, a grace period, then SIGKILL.
/// Its children die with it (PR_SET_PDEATHSIG), and so do its namespaces.
fn stop_group(child: &mut Child) {
    let Ok(pid) = i32::try_from(child.id()) else { return };
    let group = Pid::from_raw(-pid);
    let _ = kill(group, Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = kill(group, Signal::SIGKILL);
}

/// Run one lab in a child process and fold its events.
pub fn run_one(decl: &LabDecl, timeout: Duration, human: Option<&mut Human>) -> LabReport {
    run_one_paced(decl, timeout, human, None)
}

/// [`run_one`], pausing before each step when `pacer` is given.
pub fn run_one_paced(
    decl: &LabDecl,
    timeout: Duration,
    mut human: Option<&mut Human>,
    mut pacer: Option<&mut Pacer>,
) -> LabReport {
    let start = Instant::now();
    let mut report = LabReport {
        id: decl.id.into(),
        slug: decl.slug.into(),
        title: decl.title.into(),
        ..Default::default()
    };
    let exe = match lab_exe() {
        Ok(p) => p,
        Err(e) => return broken(report, lab_kit::tr!("cannot find the lab executable: {e}"), start),
    };
    let rerun_exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("lab"));
    let mut cmd = Command::new(&exe);
    cmd.args(["__lab", decl.id, "--format", "json"])
        .env(
            "CONTAINER_LABS_RERUN",
            format!("sudo {} run {}", rerun_exe.display(), decl.id),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: a terminal's Ctrl-C reaches the runner only,
        // which then stops the lab's whole group.
        .process_group(0);
    lab_kit::sys::kill_with_parent(&mut cmd);
    // --step: one end of a socket pair for the lab, inherited across execve.
    let pace = match pacer.is_some().then(std::os::unix::net::UnixStream::pair) {
        None => None,
        Some(Ok((ours, theirs))) => {
            use nix::fcntl::{FcntlArg, FdFlag, fcntl};
            use std::os::fd::AsRawFd;
            if let Err(e) = fcntl(&theirs, FcntlArg::F_SETFD(FdFlag::empty())) {
                return broken(report, lab_kit::tr!("cannot pace the lab (fcntl): {e}"), start);
            }
            cmd.env(lab_kit::pace::ENV, theirs.as_raw_fd().to_string());
            Some((ours, theirs))
        }
        Some(Err(e)) => return broken(report, lab_kit::tr!("cannot pace the lab (socketpair): {e}"), start),
    };
    let spawned = cmd.spawn();
    let pace = pace.map(|(ours, theirs)| {
        drop(theirs);
        ours
    });
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return broken(report, lab_kit::tr!("cannot start {}: {e}", exe.display()), start),
    };
    let (tx, rx) = mpsc::channel();
    if let Some(reader) = pace.as_ref().and_then(|p| p.try_clone().ok()) {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines() {
                let Some(index) = line.ok().and_then(|l| l.trim().parse().ok()) else {
                    break;
                };
                if tx.send(Line::Pace(index)).is_err() {
                    return;
                }
            }
        });
    }
    let mut waiting: Option<usize> = None;
    let stdout = child.stdout.take();
    std::thread::spawn(move || {
        if let Some(out) = stdout {
            for line in BufReader::new(out).lines() {
                let Ok(l) = line else { break };
                if tx.send(Line::Out(l)).is_err() {
                    return;
                }
            }
        }
        let _ = tx.send(Line::Eof);
    });
    let stderr = child.stderr.take();
    let (etx, erx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut e) = stderr {
            // Keep reading so the lab never blocks on a full pipe; keep the tail.
            let mut chunk = [0u8; 4096];
            while let Ok(n) = e.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > 64 * 1024 {
                    buf.drain(..buf.len() - 16 * 1024);
                }
            }
        }
        let _ = etx.send(String::from_utf8_lossy(&buf).into_owned());
    });

    let mut deadline = start + timeout;
    let mut problem: Option<String> = None;
    // Once the lab process has exited, whatever still holds its stdout (a
    // stray grandchild) gets a short grace, not our patience.
    let mut exited_at: Option<Instant> = None;
    loop {
        if lab_kit::sys::interrupted() {
            problem = Some(lab_kit::tr!("interrupted by a signal; the lab was stopped"));
            break;
        }
        let now = Instant::now();
        if now >= deadline {
            problem = Some(lab_kit::tr!("timed out after {}s and was killed", timeout.as_secs()));
            break;
        }
        if exited_at.is_some_and(|t| now.duration_since(t) > Duration::from_secs(1)) {
            break;
        }
        // The lab waits before a step whose start has been drawn: ask.
        if let (Some(index), Some(p)) = (waiting, pacer.as_deref_mut())
            && report.steps.len() > index
        {
            waiting = None;
            let asked = Instant::now();
            if go_ahead(decl, index) {
                deadline += asked.elapsed();
                if let Some(mut w) = pace.as_ref() {
                    let _ = w.write_all(b"g");
                }
            } else {
                p.stopped = Some((decl.id.to_string(), index));
                break;
            }
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Line::Pace(index)) => waiting = Some(index),
            Ok(Line::Out(line)) => match LabReport::parse_line(&line).and_then(|e| {
                report.apply(&e)?;
                Ok(e)
            }) {
                Ok(event) => {
                    if let Some(h) = human.as_deref_mut() {
                        h.show(&event);
                    }
                }
                Err(e) => {
                    problem = Some(format!("{e}"));
                    break;
                }
            },
            Ok(Line::Eof) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if exited_at.is_none() && matches!(child.try_wait(), Ok(Some(_))) {
                    exited_at = Some(Instant::now());
                }
            }
        }
    }
    stop_group(&mut child);
    let status = child.wait();
    let stderr = erx.recv_timeout(Duration::from_secs(1)).unwrap_or_default();
    report.duration_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    if let Some(h) = human.as_deref_mut() {
        h.stderr(&stderr);
    }
    if let Some((_, index)) = pacer.and_then(|p| p.stopped.clone()) {
        // What ran so far: the steps before this one; it never started.
        report.steps.truncate(index);
        report.status = Some(LabReport::status_from_steps(&report.steps));
        report.reason = Some(format!(
            "stopped before step {} ({}) with --step",
            index + 1,
            decl.steps.get(index).map_or("", |s| s.title)
        ));
        return report;
    }
    if report.status.is_none() && problem.is_none() {
        problem = Some(match status {
            Ok(s) => lab_kit::tr!("the lab process ended ({s}) before reporting its end"),
            Err(e) => lab_kit::tr!("cannot wait for the lab process: {e}"),
        });
    }
    match problem {
        None => report,
        Some(p) => {
            let excerpt: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = &excerpt[excerpt.len().saturating_sub(3)..];
            let reason = if tail.is_empty() {
                p
            } else {
                format!("{p}; stderr: {}", tail.join(" | "))
            };
            let r = broken(report, reason, start);
            if let Some(h) = human {
                let event = Event::LabEnd {
                    status: r.status.unwrap_or(Status::Error),
                    reason: r.reason.clone(),
                };
                h.show(&event);
            }
            r
        }
    }
}

fn broken(mut report: LabReport, reason: String, start: Instant) -> LabReport {
    // An open step is closed with the lab: it did not finish either.
    if let Some(step) = report.steps.last_mut().filter(|s| s.status.is_none()) {
        step.status = Some(Status::Error);
        step.reason = Some("the lab stopped during this step".into());
    }
    report.status = Some(Status::Error);
    report.reason = Some(reason);
    report.duration_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    report
}

/// Reap adopted orphans (the runner is their subreaper). With `grace`, wait
/// that long for live ones to finish their work (a cleanup process), then
/// kill and reap what is left.
fn reap_orphans(grace: Option<Duration>) {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    let any = Pid::from_raw(-1);
    let deadline = grace.map(|g| Instant::now() + g);
    loop {
        match waitpid(any, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => match deadline {
                Some(d) if Instant::now() < d => std::thread::sleep(Duration::from_millis(20)),
                Some(_) => {
                    // Whatever is still alive now is a straggler: end it.
                    for pid in lab_kit::proc::children_of(nix::unistd::getpid().as_raw()) {
                        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                    }
                    let _ = waitpid(any, None);
                }
                None => return,
            },
            Ok(_) => {}
            Err(_) => return, // ECHILD: nothing left
        }
    }
}

/// Run `labs` in order.
pub fn run_all(
    labs: &[&LabDecl],
    environment: Environment,
    format: RunFormat,
    verbosity: Verbosity,
    timeout: Duration,
) -> RunReport {
    run_all_paced(labs, environment, format, verbosity, timeout, None)
}

/// [`run_all`], pausing before each step when `pacer` is given; a stop ends
/// the run after the lab it happened in.
pub fn run_all_paced(
    labs: &[&LabDecl],
    environment: Environment,
    format: RunFormat,
    verbosity: Verbosity,
    timeout: Duration,
    mut pacer: Option<&mut Pacer>,
) -> RunReport {
    // Orphans of a lab (a grandchild whose parent died) come to the runner,
    // which reaps them, instead of to whatever PID 1 the machine has.
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let mut renderer = Human::new(verbosity);
    let mut reports = Vec::new();
    for decl in labs {
        if lab_kit::sys::interrupted() {
            break;
        }
        let human = (format == RunFormat::Human).then_some(&mut renderer);
        reports.push(run_one_paced(decl, timeout, human, pacer.as_deref_mut()));
        reap_orphans(None);
        if pacer.as_ref().is_some_and(|p| p.stopped.is_some()) {
            break;
        }
    }
    reap_orphans(Some(Duration::from_secs(3)));
    let mut summary = Summary::default();
    for r in &reports {
        match r.status.unwrap_or(Status::Error) {
            Status::Pass => summary.pass += 1,
            Status::Fail => summary.fail += 1,
            Status::Skip => summary.skip += 1,
            Status::Unsupported => summary.unsupported += 1,
            Status::Error => summary.error += 1,
        }
    }
    let interrupted = lab_kit::sys::interrupted();
    RunReport {
        version: REPORT_VERSION,
        environment,
        labs: reports,
        summary,
        interrupted,
    }
}

/// The summary table at the end of a human run.
pub fn print_summary(report: &RunReport, out: &mut impl Write) -> std::io::Result<()> {
    use colored::Colorize;
    use lab_kit::i18n::{Translator, tr, trf};
    writeln!(out)?;
    writeln!(out, "{}", tr("Summary").bold())?;
    for lab in &report.labs {
        let status = lab.status.unwrap_or(Status::Error);
        let note = Translator::for_slug(&lab.slug)
            .text(lab.reason.as_deref().unwrap_or(""))
            .into_owned();
        writeln!(
            out,
            "  {:<3} {:<12} {}{} {:>6}ms  {}",
            lab.id,
            lab.slug,
            status_word(status),
            " ".repeat(12 - status.as_str().len()),
            lab.duration_ms,
            note
        )?;
    }
    let s = &report.summary;
    let counts = trf(
        "{pass} pass, {fail} fail, {skip} skip, {unsupported} unsupported, {error} error",
        &[&s.pass, &s.fail, &s.skip, &s.unsupported, &s.error],
    );
    writeln!(
        out,
        "\n  {counts}{}",
        if report.interrupted { tr(" (interrupted)") } else { "" }
    )
}
