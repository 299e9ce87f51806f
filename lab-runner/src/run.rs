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

enum Line {
    Out(String),
    Eof,
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
pub fn run_one(decl: &LabDecl, timeout: Duration, mut human: Option<&mut Renderer>) -> LabReport {
    let start = Instant::now();
    let mut report = LabReport {
        id: decl.id.into(),
        slug: decl.slug.into(),
        title: decl.title.into(),
        ..Default::default()
    };
    let exe = match lab_exe() {
        Ok(p) => p,
        Err(e) => return broken(report, format!("cannot find the lab executable: {e}"), start),
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
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return broken(report, format!("cannot start {}: {e}", exe.display()), start),
    };
    let (tx, rx) = mpsc::channel();
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

    let deadline = start + timeout;
    let mut problem: Option<String> = None;
    // Once the lab process has exited, whatever still holds its stdout (a
    // stray grandchild) gets a short grace, not our patience.
    let mut exited_at: Option<Instant> = None;
    loop {
        if lab_kit::sys::interrupted() {
            problem = Some("interrupted by a signal; the lab was stopped".into());
            break;
        }
        let now = Instant::now();
        if now >= deadline {
            problem = Some(format!("timed out after {}s and was killed", timeout.as_secs()));
            break;
        }
        if exited_at.is_some_and(|t| now.duration_since(t) > Duration::from_secs(1)) {
            break;
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Line::Out(line)) => match LabReport::parse_line(&line).and_then(|e| {
                report.apply(&e)?;
                Ok(e)
            }) {
                Ok(event) => {
                    if let Some(r) = human.as_deref_mut() {
                        let _ = r.render(&event, &mut std::io::stdout().lock());
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
    if report.status.is_none() && problem.is_none() {
        problem = Some(match status {
            Ok(s) => format!("the lab process ended ({s}) before reporting its end"),
            Err(e) => format!("cannot wait for the lab process: {e}"),
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
                let _ = h.render(&event, &mut std::io::stdout().lock());
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
pub fn run_all(labs: &[&LabDecl], environment: Environment, format: RunFormat, timeout: Duration) -> RunReport {
    // Orphans of a lab (a grandchild whose parent died) come to the runner,
    // which reaps them, instead of to whatever PID 1 the machine has.
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let mut renderer = Renderer::default();
    let mut reports = Vec::new();
    for decl in labs {
        if lab_kit::sys::interrupted() {
            break;
        }
        let human = (format == RunFormat::Human).then_some(&mut renderer);
        reports.push(run_one(decl, timeout, human));
        reap_orphans(None);
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
    writeln!(out)?;
    writeln!(out, "{}", "Summary".bold())?;
    for lab in &report.labs {
        let status = lab.status.unwrap_or(Status::Error);
        let note = lab.reason.as_deref().unwrap_or("");
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
    writeln!(
        out,
        "\n  {} pass, {} fail, {} skip, {} unsupported, {} error{}",
        s.pass,
        s.fail,
        s.skip,
        s.unsupported,
        s.error,
        if report.interrupted { " (interrupted)" } else { "" }
    )
}
