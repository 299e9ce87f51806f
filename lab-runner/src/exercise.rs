//! `lab exercise`: hands-on tasks in a sandbox, checked from kernel state.
//!
//! - `list`: every exercise, whether it can run here, the student's progress;
//! - `start ID`: the task, then a shell in a sandbox; the checks run about
//!   once a second and say ✓ the moment they hold (sticky); `exit` tears the
//!   sandbox down;
//! - `check`, `hint`: run inside the sandbox, they ask the `lab` outside
//!   (over `/run/lab/control.sock`), which runs the checks now;
//! - `run ID --solution FILE`: for instructors and CI, `sh FILE` in a fresh
//!   sandbox, then the checks while what it left in the background lives;
//! - `reset [ID]`: forget progress, after confirmation.
//!
//! `lab` stays outside the sandbox and is single-threaded here: the checks
//! fork children that enter the sandbox's namespaces.

use std::io::{BufRead, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use colored::Colorize;
use lab_exercises::{EXERCISES, find};
use lab_kit::event::Status;
use lab_kit::exercise::probe::{CheckLine, NOT_CHECKED};
use lab_kit::exercise::progress::{self, Progress, State};
use lab_kit::exercise::sandbox::{self, CgroupWish, Command, Happening, Sandbox, SandboxError, Spec};
use lab_kit::exercise::text::plain;
use lab_kit::exercise::{ExerciseDecl, Here, Needs, Probe, RunReport, Verdict};
use lab_kit::i18n::{Lang, Translator, pad, width};
use lab_kit::lab::CannotRun;
use serde::{Deserialize, Serialize};

use crate::cli::{ExerciseCommand, ExerciseFormat, OutputFormat};
use crate::i18n::{Choice, tr, trf};

/// How often the checks run while a student works.
const EVERY: Duration = Duration::from_secs(1);

/// The whole of `lab exercise ...`. Machine formats speak English unless
/// `--lang` asked (`choice`); inside the sandbox, `check` and `hint` speak
/// the language of the `lab exercise start` that answers them.
pub fn main(command: ExerciseCommand, choice: Choice) -> ExitCode {
    match command {
        ExerciseCommand::List { format } => {
            if format != OutputFormat::Human {
                lab_kit::i18n::set(choice.machine());
            }
            list(format)
        }
        ExerciseCommand::Start { id } => match find(&id) {
            Some(e) => start(e),
            None => unknown(&id),
        },
        ExerciseCommand::Check => inside("check", choice),
        ExerciseCommand::Hint => inside("hint", choice),
        ExerciseCommand::Run {
            id,
            solution,
            format,
            timeout,
        } => {
            if format != ExerciseFormat::Human {
                lab_kit::i18n::set(choice.machine());
            }
            match find(&id) {
                Some(e) => run(e, &solution, format, Duration::from_secs(timeout)),
                None => unknown(&id),
            }
        }
        ExerciseCommand::Reset { id, yes } => reset(id.as_deref(), yes),
    }
}

fn unknown(id: &str) -> ExitCode {
    eprintln!(
        "{}",
        trf("error: unknown exercise '{id}' (see `lab exercise list`)", &[&id])
    );
    ExitCode::from(2)
}

/// English of the exercises' checks (or the kit's, the runner's) in the
/// current language: the exercises' catalog knows their names, expected and
/// actual texts and hints.
fn text(en: &str) -> String {
    Translator::default().text(en).into_owned()
}

/// [`NOT_CHECKED`] for people. The literal is its catalog key; the i18n
/// test holds it equal to the kit's constant.
fn not_checked() -> &'static str {
    tr("not checked (needs the check above)")
}

/// A verdict as a person reads it: names, expected, actual and the hint in
/// the current language (whether each check held is the kernel's, unchanged).
pub fn localize(v: &Verdict) -> Verdict {
    Verdict {
        checks: v
            .checks
            .iter()
            .map(|c| CheckLine {
                name: text(&c.name),
                ok: c.ok,
                expected: text(&c.expected),
                actual: if c.actual == NOT_CHECKED {
                    not_checked().to_string()
                } else {
                    text(&c.actual)
                },
            })
            .collect(),
        hint: v.hint.as_deref().map(text),
    }
}

/// The language's name in the answers to `check` and `hint`.
fn lang_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Ja => "ja",
        Lang::En => "en",
    }
}

fn load_progress() -> (Option<PathBuf>, Progress, Option<String>) {
    match progress::path() {
        Ok(path) => match Progress::load(&path) {
            Ok(p) => (Some(path), p, None),
            Err(e) => (Some(path), Progress::default(), Some(e.to_string())),
        },
        Err(e) => (None, Progress::default(), Some(e.to_string())),
    }
}

/// Apply `change` to the progress file; a failure is a warning, never fatal.
fn record(change: impl FnOnce(&mut Progress)) {
    let (path, mut p, problem) = load_progress();
    let saved = match (path, problem) {
        (Some(path), None) => {
            change(&mut p);
            p.save(&path).map_err(|e| e.to_string())
        }
        (_, Some(problem)) => Err(problem),
        (None, None) => Ok(()),
    };
    if let Err(e) = saved {
        eprintln!("{}", trf("lab exercise: progress not saved: {e}", &[&e]));
    }
}

/// One row of `lab exercise list`.
#[derive(Debug, Serialize)]
struct Row {
    id: &'static str,
    lab: &'static str,
    lab_id: Option<&'static str>,
    title: &'static str,
    needs: Needs,
    tools: &'static [lab_kit::exercise::Tool],
    /// `yes`, or `skip` (a privilege is missing) or `unsupported` (the machine lacks something).
    here: &'static str,
    #[serde(skip)]
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    progress: progress::Entry,
}

/// What `lab exercise list --format json` prints: what an instructor collects.
#[derive(Debug, Serialize)]
struct Listing {
    progress_file: Option<String>,
    euid: u32,
    real_root: bool,
    exercises: Vec<Row>,
}

fn here_status(r: &Result<(), CannotRun>) -> (Status, Option<String>) {
    match r {
        Ok(()) => (Status::Pass, None),
        Err(c) => (c.status, Some(c.reason.clone())),
    }
}

fn list(format: OutputFormat) -> ExitCode {
    let here = Here::probe();
    let (path, progress, problem) = load_progress();
    if let Some(p) = &problem {
        eprintln!("lab exercise: {p}");
    }
    let rows: Vec<Row> = EXERCISES
        .iter()
        .map(|e| {
            let (status, reason) = here_status(&here.runnable(e));
            Row {
                here: match status {
                    Status::Pass => "yes",
                    other => other.as_str(),
                },
                status,
                id: e.id,
                lab: e.lab,
                lab_id: crate::registry::find(e.lab).map(|l| l.id),
                title: e.title(),
                needs: e.needs,
                tools: e.tools,
                reason: reason.map(|r| text(&r)),
                progress: progress.get(e.id),
            }
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if format == OutputFormat::Json {
        let listing = Listing {
            progress_file: path.map(|p| p.display().to_string()),
            euid: here.caller.euid,
            real_root: here.caller.is_real_root(),
            exercises: rows,
        };
        let _ = serde_json::to_writer_pretty(&mut out, &listing).map(|()| writeln!(out));
        return ExitCode::SUCCESS;
    }
    // Japanese words take two columns each: padded by display width.
    let progress_width = [tr("progress"), tr("✓ done"), tr("attempted"), tr("new")]
        .iter()
        .map(|w| width(w))
        .max()
        .unwrap_or(10)
        .max(10);
    let _ = writeln!(
        out,
        "{}",
        format!(
            "{} {} {} {} {}",
            pad(tr("id"), 20),
            pad(tr("lab"), 16),
            pad(tr("here"), 12),
            pad(tr("progress"), progress_width),
            tr("title")
        )
        .bold()
    );
    for r in &rows {
        let lab = match r.lab_id {
            Some(id) => format!("{id} {}", r.lab),
            None => r.lab.to_string(),
        };
        // Status words stay English, as in every report.
        let here = match r.status {
            Status::Pass => format!("{:<12}", "yes").green(),
            Status::Skip => format!("{:<12}", "skip").yellow(),
            _ => format!("{:<12}", "unsupported").red(),
        };
        let progress = match r.progress.state {
            State::Done => pad(tr("✓ done"), progress_width).green(),
            State::Attempted => pad(tr("attempted"), progress_width).yellow(),
            State::New => pad(tr("new"), progress_width).normal(),
        };
        let _ = writeln!(out, "{:<20} {lab:<16} {here} {progress} {}", r.id, r.title);
    }
    let why: Vec<&Row> = rows.iter().filter(|r| r.reason.is_some()).collect();
    if !why.is_empty() {
        let _ = writeln!(out);
        for r in why {
            let _ = writeln!(out, "{}: {}: {}", r.id, r.here, r.reason.as_deref().unwrap_or_default());
        }
    }
    let _ = writeln!(
        out,
        "\n{}{}",
        tr("`lab exercise start ID` gives you the task and a sandbox to solve it in."),
        path.map(|p| trf(" Progress: {}", &[&p.display()])).unwrap_or_default()
    );
    ExitCode::SUCCESS
}

/// The shell for the sandbox: `$SHELL`, else `sh`.
fn shell() -> PathBuf {
    std::env::var_os("SHELL")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_file())
        .unwrap_or_else(|| PathBuf::from("/bin/sh"))
}

fn lab_exe() -> Option<PathBuf> {
    std::env::current_exe().ok()
}

fn spec(e: &ExerciseDecl, command: Command) -> Spec {
    Spec {
        exercise: e.id.to_string(),
        command,
        cgroup: if e.needs == Needs::Cgroups {
            CgroupWish::Required
        } else {
            CgroupWish::IfPossible
        },
        lab_exe: lab_exe(),
    }
}

/// What the sandbox is, in two or three lines for the student.
fn describe_sandbox(sb: &Sandbox) -> String {
    let info = sb.info();
    let mut s = trf(
        "You are in a sandbox: mount (its own /tmp and /run), UTS (hostname {}), IPC, network (lo up) and PID namespaces",
        &[&info.hostname],
    );
    if info.userns {
        s.push_str(tr(
            ", and a user namespace in which you are root (outside you are still yourself)",
        ));
    }
    if let Some(cg) = &info.cgroup {
        s.push_str(&trf(
            ";\na cgroup of its own (cgroup {}), mounted at {}, where your shell starts in {}",
            &[&cg.version, &cg.inside, &cg.start],
        ));
    }
    s.push_str(tr(
        ".\nNothing you do here reaches the host; `exit` leaves and removes everything in it.",
    ));
    for n in sb.notes() {
        s.push_str(&trf("\n(The sandbox has {n}.)", &[&text(n)]));
    }
    s
}

fn say_cannot(e: &ExerciseDecl, c: &CannotRun) {
    eprintln!(
        "{}",
        trf(
            "lab exercise: cannot start {id} here: {status}: {reason}",
            &[&e.id, &c.status.as_str(), &text(&c.reason)]
        )
    );
    if c.status == Status::Skip {
        let exe = lab_exe().map_or("lab".into(), |p| p.display().to_string());
        eprintln!(
            "{}",
            trf("re-run with privilege: sudo {exe} exercise start {id}", &[&exe, &e.id])
        );
    }
}

/// The answer to `lab exercise check` from inside.
#[derive(Debug, Serialize, Deserialize)]
struct CheckAnswer {
    id: String,
    title: String,
    done: bool,
    verdict: Verdict,
    /// The language of the `lab` outside (`ja`, `en`): the one inside
    /// speaks it too, unless `--lang` says otherwise.
    #[serde(default)]
    lang: Option<String>,
}

/// The answer to `lab exercise hint` from inside.
#[derive(Debug, Serialize, Deserialize)]
struct HintAnswer {
    id: String,
    number: usize,
    of: usize,
    text: String,
    /// As in [`CheckAnswer`].
    #[serde(default)]
    lang: Option<String>,
}

fn start(e: &'static ExerciseDecl) -> ExitCode {
    let here = Here::probe();
    if let Err(c) = here.runnable(e) {
        say_cannot(e, &c);
        return ExitCode::SUCCESS;
    }
    let mut out = std::io::stdout();
    let lab = crate::registry::find(e.lab).map_or(e.lab.to_string(), |l| trf("lab {id} {slug}", &[&l.id, &l.slug]));
    let _ = writeln!(out, "{} {}  ({lab})\n", e.id.bold(), e.title().bold());
    let _ = writeln!(out, "{} {}\n", tr("Task:").bold(), plain(&e.task()));
    let mut sb = match Sandbox::create(&spec(e, Command::Shell(shell()))) {
        Ok(sb) => sb,
        Err(SandboxError::Cannot(c)) => {
            say_cannot(e, &c);
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("lab exercise: {err}");
            return ExitCode::from(3);
        }
    };
    record(|p| p.started(e.id));
    let already = load_progress().1.get(e.id).state == State::Done;
    let _ = writeln!(out, "{}\n", describe_sandbox(&sb));
    let _ = writeln!(
        out,
        "{}\n  lab exercise check   {}\n  lab exercise hint    {}\n",
        trf(
            "The checks run every second and say {} here when they hold{}.",
            &[
                &"✓".green(),
                &if already {
                    tr(" (you have done this one before)")
                } else {
                    ""
                }
            ]
        ),
        tr("expected and actual of every check"),
        tr("a hint (ask again for the next one)")
    );
    let _ = out.flush();
    let mut done = false;
    let mut hints_given = 0usize;
    let mut next = Instant::now() + Duration::from_millis(300);
    let how = loop {
        let wait = next.saturating_duration_since(Instant::now());
        match sb.wait(wait) {
            Happening::Exited(how) => break how,
            Happening::Request(mut stream) => {
                let verdict = (e.check)(&mut Probe::new(sb.info()));
                if verdict.passed() && !done {
                    done = true;
                    celebrate(e, &verdict);
                }
                answer(e, &mut stream, &verdict, done, &mut hints_given);
            }
            Happening::Quiet => {
                next = Instant::now() + EVERY;
                if !done {
                    let verdict = (e.check)(&mut Probe::new(sb.info()));
                    if verdict.passed() {
                        done = true;
                        celebrate(e, &verdict);
                    }
                }
            }
        }
    };
    let left = sb.close();
    sandbox::reclaim_terminal();
    let _ = writeln!(
        out,
        "\n{}",
        trf(
            "The shell {how}; the sandbox and everything in it are gone.",
            &[&text(&how)]
        )
    );
    for dir in left {
        eprintln!("{}", trf("lab exercise: could not remove cgroup {dir}", &[&dir]));
    }
    let state = if done || already {
        tr("✓ done").green()
    } else {
        tr("not done yet").yellow()
    };
    let _ = writeln!(out, "{}: {state}", e.id);
    ExitCode::SUCCESS
}

fn celebrate(e: &ExerciseDecl, v: &Verdict) {
    record(|p| p.completed(e.id));
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "\n{}",
        trf(
            "{} {} done: every check holds. The kernel shows:",
            &[&"✓".green().bold(), &e.id.bold()]
        )
    );
    for c in &localize(v).checks {
        let _ = writeln!(out, "    {}: {}", c.name, c.actual);
    }
    let _ = writeln!(out, "  {}", tr("(`exit` leaves the sandbox)"));
    let _ = out.flush();
}

fn answer(e: &ExerciseDecl, stream: &mut UnixStream, v: &Verdict, done: bool, hints_given: &mut usize) {
    let request = sandbox::read_request(stream);
    let lang = Some(lang_name(lab_kit::i18n::current()).to_string());
    let reply = match request.as_str() {
        "check" => serde_json::to_string(&CheckAnswer {
            id: e.id.into(),
            title: e.title().into(),
            done,
            verdict: localize(v),
            lang,
        }),
        "hint" => {
            *hints_given += 1;
            record(|p| p.hinted(e.id));
            let rest = e.hints();
            let n = *hints_given;
            let text = if n == 1 {
                localize(v)
                    .hint
                    .unwrap_or_else(|| tr("every check holds: this one is done").into())
            } else {
                rest.get(n - 2)
                    .cloned()
                    .unwrap_or_else(|| tr("no more hints: `lab exercise check` shows what is still missing").into())
            };
            serde_json::to_string(&HintAnswer {
                id: e.id.into(),
                number: n.min(rest.len() + 1),
                of: rest.len() + 1,
                text,
                lang,
            })
        }
        other => Ok(format!("{{\"error\": {:?}}}", format!("unknown request {other:?}"))),
    };
    if let Ok(text) = reply {
        let _ = stream.write_all(text.as_bytes());
    }
}

/// The checks as lines: ✓/✗, then expected and actual (as given: the
/// caller has put them in the reader's language, [`localize`]).
pub fn render_checks(checks: &[CheckLine], out: &mut impl Write) -> std::io::Result<()> {
    let (expected, actual) = (tr("expected:"), tr("actual:"));
    let w = width(expected).max(width(actual)) + 1;
    for c in checks {
        let mark = if c.ok {
            "✓".green()
        } else if c.actual == NOT_CHECKED || c.actual == not_checked() {
            "·".dimmed()
        } else {
            "✗".red()
        };
        writeln!(out, "  {mark} {}", c.name)?;
        writeln!(out, "      {}{}", pad(expected, w), c.expected)?;
        writeln!(out, "      {}{}", pad(actual, w), c.actual)?;
    }
    Ok(())
}

/// Speak the language of the `lab` outside that answered, unless `--lang`
/// was given here.
fn follow(lang: Option<&str>, choice: Choice) {
    match lang {
        Some(l) if !choice.explicit => lab_kit::i18n::set(if l == "ja" { Lang::Ja } else { Lang::En }),
        _ => {}
    }
}

fn inside(request: &str, choice: Choice) -> ExitCode {
    let text = match sandbox::ask(request) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let malformed = |err: serde_json::Error| {
        eprintln!(
            "{}",
            trf("error: malformed answer from the sandbox's lab: {err}", &[&err])
        );
        ExitCode::from(3)
    };
    let mut out = std::io::stdout().lock();
    if request == "hint" {
        return match serde_json::from_str::<HintAnswer>(&text) {
            Ok(h) => {
                follow(h.lang.as_deref(), choice);
                let _ = writeln!(out, "{} {}/{}: {}", tr("hint").bold(), h.number, h.of, plain(&h.text));
                ExitCode::SUCCESS
            }
            Err(err) => malformed(err),
        };
    }
    match serde_json::from_str::<CheckAnswer>(&text) {
        Ok(a) => {
            follow(a.lang.as_deref(), choice);
            let _ = writeln!(out, "{} {}", a.id.bold(), a.title);
            let _ = render_checks(&a.verdict.checks, &mut out);
            let passed = a.verdict.passed();
            let _ = if passed {
                writeln!(out, "{} {}", "✓".green(), tr("every check holds"))
            } else {
                writeln!(
                    out,
                    "{}{}",
                    tr("not yet").yellow(),
                    if a.done {
                        tr(" (but you completed it before: that stays)")
                    } else {
                        tr(" (`lab exercise hint` helps)")
                    }
                )
            };
            ExitCode::from(if passed { 0 } else { 1 })
        }
        Err(err) => malformed(err),
    }
}

fn run(e: &'static ExerciseDecl, solution: &Path, format: ExerciseFormat, timeout: Duration) -> ExitCode {
    let t0 = Instant::now();
    let here = Here::probe();
    let mut report = RunReport {
        id: e.id.into(),
        lab: e.lab.into(),
        title: e.title().into(),
        status: Status::Pass,
        reason: None,
        solution: solution.display().to_string(),
        solution_status: None,
        mode: if here.caller.is_real_root() { "root" } else { "rootless" }.into(),
        checks: Vec::new(),
        hint: None,
        duration_ms: 0,
    };
    let absolute = std::path::absolute(solution).unwrap_or_else(|_| solution.to_path_buf());
    let finish = |mut report: RunReport| {
        report.duration_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
        print_run(&report, format);
        ExitCode::from(match report.status {
            Status::Pass | Status::Skip | Status::Unsupported => 0,
            Status::Fail => 1,
            Status::Error => 3,
        })
    };
    if let Err(c) = here.runnable(e) {
        report.status = c.status;
        report.reason = Some(c.reason);
        return finish(report);
    }
    let mut sb = match Sandbox::create(&spec(e, Command::Script(absolute))) {
        Ok(sb) => sb,
        Err(SandboxError::Cannot(c)) => {
            report.status = c.status;
            report.reason = Some(c.reason);
            return finish(report);
        }
        Err(err) => {
            report.status = Status::Error;
            report.reason = Some(err.to_string());
            return finish(report);
        }
    };
    let deadline = Instant::now() + timeout;
    let returned = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break None;
        }
        match sb.wait(left.min(Duration::from_millis(500))) {
            Happening::Exited(how) => break Some(how),
            Happening::Request(mut s) => {
                let v = (e.check)(&mut Probe::new(sb.info()));
                let mut hints = 0;
                answer(e, &mut s, &v, false, &mut hints);
            }
            Happening::Quiet => {}
        }
    };
    match returned {
        None => {
            report.status = Status::Fail;
            report.reason = Some(trf(
                "the solution did not return within {}s: leave long-running processes in the background (`&`)",
                &[&timeout.as_secs()],
            ));
        }
        Some(how) => {
            report.solution_status = Some(how);
            lab_kit::exercise::probe::settle(sb.info(), Duration::from_millis(200), Duration::from_secs(3));
            let v = (e.check)(&mut Probe::new(sb.info()));
            report.status = if v.passed() { Status::Pass } else { Status::Fail };
            let v = localize(&v);
            if report.status == Status::Fail {
                report.reason = v.first_failure().map(|c| {
                    trf(
                        "{name}: expected {expected}, actual {actual}",
                        &[&c.name, &c.expected, &c.actual],
                    )
                });
                report.hint = v.hint.clone();
            }
            report.checks = v.checks;
        }
    }
    for dir in sb.close() {
        eprintln!("{}", trf("lab exercise: could not remove cgroup {dir}", &[&dir]));
    }
    finish(report)
}

fn print_run(r: &RunReport, format: ExerciseFormat) {
    let mut out = std::io::stdout().lock();
    let _ = match format {
        ExerciseFormat::Json => serde_json::to_writer_pretty(&mut out, r)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out)),
        ExerciseFormat::Tap => out.write_all(tap(r).as_bytes()),
        ExerciseFormat::Human => human_run(r, &mut out),
    };
}

fn human_run(r: &RunReport, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "{} {}  [{}]", r.id.bold(), r.title, r.mode)?;
    match &r.solution_status {
        Some(s) => writeln!(out, "  {}", trf("solution {file}: {status}", &[&r.solution, &text(s)]))?,
        None => writeln!(out, "  {}", trf("solution {file}", &[&r.solution]))?,
    }
    render_checks(&r.checks, out)?;
    if let Some(h) = &r.hint {
        writeln!(out, "  {} {}", tr("hint:").bold(), plain(h))?;
    }
    let word = lab_kit::render::status_word(r.status);
    match &r.reason {
        Some(reason) if r.status != Status::Fail || r.checks.is_empty() => writeln!(out, "{word}: {}", text(reason)),
        _ => writeln!(out, "{word}"),
    }
}

fn yaml(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// TAP version 13: a test point per check (one `# SKIP` point when the
/// exercise cannot run here), expected/actual in a YAML block on failure.
fn tap(r: &RunReport) -> String {
    let mut out = String::from("TAP version 13\n");
    if r.checks.is_empty() {
        out.push_str("1..1\n");
        let reason = r.reason.clone().unwrap_or_default().replace('\n', " ");
        match r.status {
            Status::Skip | Status::Unsupported => {
                out.push_str(&format!("ok 1 - {} # SKIP {}: {reason}\n", r.id, r.status.as_str()))
            }
            _ => out.push_str(&format!(
                "not ok 1 - {}\n  ---\n  message: {}\n  ...\n",
                r.id,
                yaml(&reason)
            )),
        }
        return out;
    }
    out.push_str(&format!("1..{}\n", r.checks.len()));
    for (i, c) in r.checks.iter().enumerate() {
        let name = format!("{}: {}", r.id, c.name).replace('#', "no.");
        if c.ok {
            out.push_str(&format!("ok {} - {name}\n", i + 1));
        } else {
            out.push_str(&format!(
                "not ok {} - {name}\n  ---\n  expected: {}\n  actual: {}\n",
                i + 1,
                yaml(&c.expected),
                yaml(&c.actual)
            ));
            if r.checks.iter().position(|x| !x.ok) == Some(i)
                && let Some(h) = &r.hint
            {
                out.push_str(&format!("  hint: {}\n", yaml(h)));
            }
            out.push_str("  ...\n");
        }
    }
    out
}

fn reset(id: Option<&str>, yes: bool) -> ExitCode {
    let e = match id.map(find) {
        Some(None) => return unknown(id.unwrap_or_default()),
        Some(Some(e)) => Some(e),
        None => None,
    };
    let path = match progress::path() {
        Ok(p) => p,
        Err(err) => {
            eprintln!("lab exercise: {err}");
            return ExitCode::from(1);
        }
    };
    let what = e.map_or(tr("every exercise").to_string(), |e| e.id.to_string());
    if !yes {
        eprint!(
            "{} ",
            trf(
                "Forget your progress on {what} (in {path})? [y/N]",
                &[&what, &path.display()]
            )
        );
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        if !matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            eprintln!("{}", tr("nothing was reset"));
            return ExitCode::from(1);
        }
    }
    let mut p = match Progress::load(&path) {
        Ok(p) => p,
        Err(err) => {
            eprintln!("lab exercise: {err}");
            return ExitCode::from(1);
        }
    };
    p.reset(e.map(|e| e.id));
    if let Err(err) = p.save(&path) {
        eprintln!("lab exercise: {err}");
        return ExitCode::from(1);
    }
    println!("{}", trf("progress on {what} forgotten", &[&what]));
    ExitCode::SUCCESS
}
