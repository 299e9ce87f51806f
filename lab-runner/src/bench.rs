//! `lab bench`: what each mechanism costs. Every operation runs after a
//! warm-up, many times, and is reported as median and 10th–90th percentile.
//! The kernel operations run in a forked, isolated process (its own user
//! namespace when rootless, its own mount namespace), so nothing reaches the
//! host. The whole start of `lab container -- /bin/true` is timed side by
//! side with bubblewrap and util-linux `unshare` doing the same work, when
//! they are installed, alternating run by run so that both see the same
//! machine load. A progress bar (indicatif) is drawn on stderr when it is
//! a terminal, without a ticking thread: the bench forks, and a fork must
//! not copy a lock another thread holds.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use lab_kit::child;
use lab_kit::i18n::{Translator, tr, trf};
use lab_kit::narrate::Quiet;
use lab_kit::ops;
use lab_kit::sys::{Forked, clone_tied, exit_child, fork_tied};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::wait::waitpid;
use serde::{Deserialize, Serialize};

/// One operation's timings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    /// What was timed.
    pub name: String,
    /// Median, microseconds.
    pub median_us: f64,
    /// 10th percentile, microseconds.
    pub p10_us: f64,
    /// 90th percentile, microseconds.
    pub p90_us: f64,
    /// How many timed runs.
    pub runs: usize,
}

/// Our container start against another tool's, measured in the same loop.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Ours.
    pub ours: String,
    /// Theirs.
    pub theirs: String,
    /// Median of ours divided by median of theirs (below 1: ours is faster).
    pub ratio: f64,
}

/// Everything `lab bench` reports.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// The machine.
    pub environment: lab_kit::lab::Environment,
    /// Warm-up runs before each measurement.
    pub warmup: usize,
    /// The measurements, cheapest operations first.
    pub measurements: Vec<Measurement>,
    /// Side-by-side ratios.
    pub comparisons: Vec<Comparison>,
    /// Where our container start spends its time: the median time from
    /// the previous narrated call to each call, costliest first (from
    /// `lab container --verbose` runs).
    pub breakdown: Vec<Measurement>,
    /// What could not be measured here, and why.
    pub skipped: Vec<String>,
}

/// What the measuring child tells the parent.
#[derive(Debug, Serialize, Deserialize)]
enum FromBench {
    /// It starts measuring this operation.
    Measuring(String),
    /// It is done with one operation, of this many runs.
    Measured(u64),
    /// Every sample, and what could not be measured.
    Done(Vec<(String, Vec<f64>)>, Vec<String>),
}

/// The operations [`kernel_ops`] measures (or skips): fork, the eight
/// clones, unshare, two mounts, pivot_root and the cgroup.
const KERNEL_OPS: u64 = 14;

/// Progress on stderr when it is a terminal; nothing otherwise.
struct Progress {
    bar: indicatif::ProgressBar,
}

impl Progress {
    fn new(total: u64) -> Self {
        let bar = if std::io::stderr().is_terminal() {
            indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr())
        } else {
            indicatif::ProgressBar::hidden()
        };
        let style = indicatif::ProgressStyle::with_template(&format!(
            "{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {}, {{elapsed}}  {{wide_msg}}",
            tr("runs")
        ))
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix("lab bench");
        Progress { bar }
    }

    /// `what` is the report's English name, drawn in the current language.
    fn measuring(&self, what: &str) {
        self.bar.set_message(Translator::default().text(what).into_owned());
    }

    fn advance(&self, runs: u64) {
        self.bar.inc(runs);
    }

    /// A phase is over: the bar stands where the phase ends, whatever was
    /// skipped in it.
    fn reach(&self, pos: u64) {
        if self.bar.position() < pos {
            self.bar.set_position(pos);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

fn summarize(name: &str, mut us: Vec<f64>) -> Measurement {
    us.sort_by(f64::total_cmp);
    let at = |q: f64| {
        us.get(((us.len().saturating_sub(1)) as f64 * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    Measurement {
        name: name.into(),
        median_us: at(0.5),
        p10_us: at(0.1),
        p90_us: at(0.9),
        runs: us.len(),
    }
}

fn time(warmup: usize, runs: usize, mut op: impl FnMut() -> anyhow::Result<f64>) -> anyhow::Result<Vec<f64>> {
    for _ in 0..warmup {
        op()?;
    }
    (0..runs).map(|_| op()).collect()
}

fn elapsed_us(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e6
}

/// The kernel operations, measured in an isolated child.
fn kernel_ops(
    warmup: usize,
    runs: usize,
    rootless: bool,
    progress: &Progress,
) -> anyhow::Result<(Vec<Measurement>, Vec<String>)> {
    let per_op = (warmup + runs) as u64;
    let mut bench = child::spawn(&mut Quiet, move |c| {
        let step = |c: &mut child::ChildCtx, next: Option<&str>, done: bool| -> anyhow::Result<()> {
            if done {
                c.send(&FromBench::Measured(per_op))?;
            }
            if let Some(n) = next {
                c.send(&FromBench::Measuring(n.to_string()))?;
            }
            Ok(())
        };
        if rootless {
            lab_kit::privilege::enter_userns_as_root().map_err(|(_, e)| anyhow::anyhow!("user namespace: {e}"))?;
        }
        ops::private_mount_ns(&mut Quiet)?;
        ops::scratch(&mut Quiet)?;
        let mut out: Vec<(String, Vec<f64>)> = Vec::new();
        let mut skipped: Vec<String> = Vec::new();

        step(c, Some("fork + wait"), false)?;
        out.push((
            lab_kit::tr!("fork + wait"),
            time(warmup, runs, || {
                let t = Instant::now();
                match fork_tied()? {
                    Forked::Child => exit_child(0),
                    Forked::Parent(pid) => waitpid(pid, None)?,
                };
                Ok(elapsed_us(t))
            })?,
        ));
        let each = [
            ("CLONE_NEWUSER", CloneFlags::CLONE_NEWUSER),
            ("CLONE_NEWNS", CloneFlags::CLONE_NEWNS),
            ("CLONE_NEWPID", CloneFlags::CLONE_NEWPID),
            ("CLONE_NEWUTS", CloneFlags::CLONE_NEWUTS),
            ("CLONE_NEWIPC", CloneFlags::CLONE_NEWIPC),
            ("CLONE_NEWNET", CloneFlags::CLONE_NEWNET),
            ("CLONE_NEWCGROUP", CloneFlags::CLONE_NEWCGROUP),
        ];
        let all = each.iter().fold(CloneFlags::empty(), |a, (_, f)| a | *f);
        let all_of_them = lab_kit::tr!("all of them");
        for (name, flags) in each.iter().copied().chain([(all_of_them.as_str(), all)]) {
            step(c, Some(&lab_kit::tr!("clone({name}) + wait")), true)?;
            let clone_once = || -> anyhow::Result<f64> {
                let t = Instant::now();
                match clone_tied(flags)? {
                    Forked::Child => exit_child(0),
                    Forked::Parent(pid) => waitpid(pid, None)?,
                };
                Ok(elapsed_us(t))
            };
            match clone_once() {
                Ok(_) => out.push((format!("clone({name}) + wait"), time(warmup, runs, clone_once)?)),
                Err(e) => skipped.push(format!("clone({name}): {e}")),
            }
        }
        // A UTS namespace of our own to come back to: rootless, setns into
        // the host's (owned by the initial user namespace) is refused.
        unshare(CloneFlags::CLONE_NEWUTS)?;
        let own_uts = std::fs::File::open("/proc/self/ns/uts")?;
        step(c, Some("unshare(CLONE_NEWUTS) + setns back"), true)?;
        out.push((
            lab_kit::tr!("unshare(CLONE_NEWUTS) + setns back"),
            time(warmup, runs, || {
                let t = Instant::now();
                unshare(CloneFlags::CLONE_NEWUTS)?;
                setns(&own_uts, CloneFlags::CLONE_NEWUTS)?;
                Ok(elapsed_us(t))
            })?,
        ));
        std::fs::create_dir_all("/tmp/mnt")?;
        std::fs::create_dir_all("/tmp/src")?;
        step(c, Some("mount tmpfs + umount"), true)?;
        out.push((
            lab_kit::tr!("mount tmpfs + umount"),
            time(warmup, runs, || {
                let t = Instant::now();
                mount(Some("bench"), "/tmp/mnt", Some("tmpfs"), MsFlags::empty(), None::<&str>)?;
                umount2("/tmp/mnt", MntFlags::empty())?;
                Ok(elapsed_us(t))
            })?,
        ));
        step(c, Some("bind mount + umount"), true)?;
        out.push((
            lab_kit::tr!("bind mount + umount"),
            time(warmup, runs, || {
                let t = Instant::now();
                mount(
                    Some("/tmp/src"),
                    "/tmp/mnt",
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                )?;
                umount2("/tmp/mnt", MntFlags::empty())?;
                Ok(elapsed_us(t))
            })?,
        ));
        step(c, Some("pivot_root + detach the old root"), true)?;
        out.push((
            lab_kit::tr!("pivot_root + detach the old root"),
            time(warmup, runs, || {
                let mut one = child::spawn(c, |c| {
                    ops::private_mount_ns(&mut Quiet)?;
                    mount(Some("root"), "/tmp/mnt", Some("tmpfs"), MsFlags::empty(), None::<&str>)?;
                    std::fs::create_dir("/tmp/mnt/old")?;
                    nix::unistd::chdir("/tmp/mnt")?;
                    let t = Instant::now();
                    nix::unistd::pivot_root(".", "old")?;
                    umount2("/old", MntFlags::MNT_DETACH)?;
                    c.send(&elapsed_us(t))?;
                    Ok(())
                })?;
                let us: f64 = one.recv(&mut Quiet)?;
                one.wait(&mut Quiet)?;
                Ok(us)
            })?,
        ));
        // Cgroups are the host's: only with real privilege (or delegation).
        step(c, Some("cgroup: mkdir + rmdir"), true)?;
        match cgroup_mkdir_rmdir(warmup, runs) {
            Ok(us) => out.push((lab_kit::tr!("cgroup: mkdir + rmdir"), us)),
            Err(e) => skipped.push(lab_kit::tr!("creating and removing a cgroup: {e}")),
        }
        step(c, None, true)?;
        c.send(&FromBench::Done(out, skipped))?;
        Ok(())
    })?;
    let (samples, skipped) = loop {
        match bench.recv::<FromBench>(&mut Quiet)? {
            FromBench::Measuring(what) => progress.measuring(&what),
            FromBench::Measured(n) => progress.advance(n),
            FromBench::Done(samples, skipped) => break (samples, skipped),
        }
    };
    bench.wait(&mut Quiet)?;
    Ok((samples.into_iter().map(|(n, s)| summarize(&n, s)).collect(), skipped))
}

/// Create and remove a cgroup in the pids hierarchy, inside the run guard's
/// own directory (which the guard removes, even if the bench is killed).
fn cgroup_mkdir_rmdir(warmup: usize, runs: usize) -> anyhow::Result<Vec<f64>> {
    let layout = lab_kit::cgroup::Layout::read()?;
    let mut guard = lab_kit::cgroup::RunGuard::create(&mut Quiet, &layout)?;
    let group = guard.group_for(&mut Quiet, "pids", "bench")?;
    let dir = group.path().join("one");
    let samples = time(warmup, runs, || {
        let t = Instant::now();
        std::fs::create_dir(&dir)?;
        std::fs::remove_dir(&dir)?;
        Ok(elapsed_us(t))
    })?;
    guard.close(&mut Quiet);
    Ok(samples)
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// The container's seccomp filter in an unlinked file whose descriptor
/// children inherit (for `bwrap --seccomp FD`).
fn seccomp_file() -> anyhow::Result<std::fs::File> {
    use std::io::Write;
    let program = lab_kit::seccomp::docker_default()?;
    let mut file = anyhow::Context::context(tempfile::tempfile(), "a temporary file for bwrap's seccomp filter")?;
    file.write_all(&program.to_bytes())?;
    nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()))?;
    Ok(file)
}

/// Whether this bubblewrap has `--tmp-overlay` (0.9 and later).
fn bwrap_has_tmp_overlay() -> bool {
    Command::new("bwrap")
        .arg("--help")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--tmp-overlay"))
}

/// The whole container start, ours and the other tools', alternating.
fn container_starts(
    warmup: usize,
    runs: usize,
    rootless: bool,
    progress: &Progress,
) -> anyhow::Result<(Vec<Measurement>, Vec<Comparison>, Vec<String>)> {
    let exe = std::env::current_exe()?;
    let ours_name = "lab container -- /bin/true".to_string();
    let mut tools: Vec<(String, Vec<String>)> = vec![(
        ours_name.clone(),
        vec![
            exe.display().to_string(),
            "container".into(),
            "--".into(),
            "/bin/true".into(),
        ],
    )];
    let mut skipped = Vec::new();
    // bwrap reads the filter from a descriptor: the same program as ours,
    // in an unlinked file it inherits (rewound before each start).
    let filter = if on_path("bwrap") { Some(seccomp_file()?) } else { None };
    if let Some(filter) = &filter {
        let overlay = bwrap_has_tmp_overlay();
        let usr = if overlay {
            "--overlay-src /usr --tmp-overlay /usr"
        } else {
            // Like for like: bubblewrap before 0.9 cannot overlay, so ours is
            // timed with a read-only /usr beside it too.
            tools.push((
                "lab container --read-only -- /bin/true".into(),
                [
                    exe.display().to_string(),
                    "container".into(),
                    "--read-only".into(),
                    "--".into(),
                    "/bin/true".into(),
                ]
                .to_vec(),
            ));
            "--ro-bind /usr /usr"
        };
        let mut argv: Vec<String> = format!(
            "bwrap --unshare-all {usr} --symlink usr/bin /bin --symlink usr/lib /lib --seccomp {}",
            std::os::fd::AsRawFd::as_raw_fd(filter)
        )
        .split(' ')
        .map(String::from)
        .collect();
        if Path::new("/usr/lib64").exists() {
            argv.extend(["--symlink", "usr/lib64", "/lib64"].map(String::from));
        }
        argv.extend(
            [
                "--proc",
                "/proc",
                "--dev",
                "/dev",
                "--tmpfs",
                "/tmp",
                "--hostname",
                "container",
                "/bin/true",
            ]
            .map(String::from),
        );
        let name = if overlay {
            lab_kit::tr!("bwrap (same isolation: overlay /usr, the same seccomp filter)")
        } else {
            lab_kit::tr!("bwrap (same isolation, /usr read-only: no --tmp-overlay before 0.9)")
        };
        tools.push((name, argv));
    } else {
        skipped.push(lab_kit::tr!(
            "bubblewrap: bwrap is not installed (apt-get install bubblewrap)"
        ));
    }
    if on_path("unshare") {
        let mut argv: Vec<String> = vec!["unshare".into()];
        if rootless {
            argv.extend(["--user", "--map-root-user"].map(String::from));
        }
        argv.extend(
            [
                "--mount",
                "--pid",
                "--fork",
                "--uts",
                "--ipc",
                "--net",
                "--cgroup",
                "/bin/true",
            ]
            .map(String::from),
        );
        tools.push((lab_kit::tr!("unshare(1) (namespaces only)"), argv));
    } else {
        skipped.push(lab_kit::tr!("util-linux: unshare is not installed"));
    }
    let start = |argv: &[String]| -> anyhow::Result<f64> {
        if let Some(f) = &filter {
            use std::io::Seek;
            (&*f).rewind()?;
        }
        let t = Instant::now();
        let status = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        let us = elapsed_us(t);
        anyhow::ensure!(
            status.success(),
            "{}",
            lab_kit::tr!("`{}` failed: {status}", argv.join(" "))
        );
        Ok(us)
    };
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); tools.len()];
    let mut usable = vec![true; tools.len()];
    let t = Translator::default();
    let names: Vec<String> = tools.iter().map(|(n, _)| t.text(n).into_owned()).collect();
    progress.measuring(&trf("container starts: {}", &[&names.join(", ")]));
    for round in 0..warmup + runs {
        for (i, (name, argv)) in tools.iter().enumerate() {
            progress.advance(1);
            if !usable[i] {
                continue;
            }
            match start(argv) {
                Ok(us) if round >= warmup => samples[i].push(us),
                Ok(_) => {}
                Err(e) if i > 0 => {
                    usable[i] = false;
                    skipped.push(format!("{name}: {e}"));
                }
                Err(e) => return Err(e),
            }
        }
    }
    let ms: Vec<Measurement> = tools
        .iter()
        .zip(samples)
        .filter(|(_, s)| !s.is_empty())
        .map(|((n, _), s)| summarize(n, s))
        .collect();
    // Each other tool beside ours with the same isolation: the read-only
    // variant, where there is one, beside bubblewrap without overlay.
    let read_only = ms.iter().find(|m| m.name.contains("--read-only"));
    let comparisons = ms
        .iter()
        .filter(|m| !m.name.starts_with("lab container"))
        .map(|m| {
            let ours = match read_only {
                Some(ro) if m.name.contains("read-only") => ro,
                _ => &ms[0],
            };
            Comparison {
                ours: ours.name.clone(),
                theirs: m.name.clone(),
                ratio: ours.median_us / m.median_us,
            }
        })
        .collect();
    Ok((ms, comparisons, skipped))
}

/// Run `lab container --verbose -- /bin/true` and split its set-up by the
/// narrated calls: the time before each call since the one before it.
fn breakdown(runs: usize, progress: &Progress) -> anyhow::Result<Vec<Measurement>> {
    let exe = std::env::current_exe()?;
    let mut by_call: Vec<(String, Vec<f64>)> = Vec::new();
    progress.measuring(tr("where lab container spends its time (--verbose)"));
    for _ in 0..runs {
        progress.advance(1);
        let t = Instant::now();
        // Its narration is parsed: English, whatever the locale.
        let out = Command::new(&exe)
            .args(["--lang", "en", "container", "--verbose", "--", "/bin/true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .output()?;
        let total = elapsed_us(t);
        anyhow::ensure!(
            out.status.success(),
            "{}",
            lab_kit::tr!("`lab container -- /bin/true` failed: {}", out.status)
        );
        let mut last = 0.0;
        let mut add = |name: &str, us: f64| match by_call.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.push(us),
            None => by_call.push((name.to_string(), vec![us])),
        };
        for line in String::from_utf8_lossy(&out.stderr).lines() {
            let Some(rest) = line.strip_prefix("lab container:") else {
                continue;
            };
            let Some((ms, call)) = rest.trim_start().split_once(" ms  ") else {
                continue;
            };
            let Ok(ms) = ms.trim().parse::<f64>() else { continue };
            // Calls repeat (one mount per device node): group by their shape.
            let name = call.split('(').next().unwrap_or(call).to_string();
            add(&name, ms * 1e3 - last);
            last = ms * 1e3;
        }
        add(
            &lab_kit::tr!("start, execve of the command, exit and reaping (the rest)"),
            total - last,
        );
    }
    let mut ms: Vec<Measurement> = by_call
        .into_iter()
        .map(|(n, v)| {
            let per_run = v.len() / runs.max(1);
            let mut m = summarize(&n, v);
            if per_run > 1 {
                m.name = format!("{n} (×{per_run})");
                m.median_us *= per_run as f64;
                m.p10_us *= per_run as f64;
                m.p90_us *= per_run as f64;
            }
            m
        })
        .collect();
    ms.sort_by(|a, b| b.median_us.total_cmp(&a.median_us));
    ms.truncate(8);
    Ok(ms)
}

/// Measure everything.
pub fn run(warmup: usize, runs: usize) -> anyhow::Result<BenchReport> {
    let (environment, caller) = crate::env::probe();
    let rootless = !caller.is_real_root();
    let (start_warmup, start_runs, breakdown_runs) = (warmup.min(5), runs.min(100), runs.min(20));
    // Ours, and the other tools when they are installed.
    let tools = 1 + u64::from(on_path("bwrap")) + u64::from(on_path("unshare"));
    let kernel = KERNEL_OPS * (warmup + runs) as u64;
    let starts = tools * (start_warmup + start_runs) as u64;
    let progress = Progress::new(kernel + starts + breakdown_runs as u64);
    let (mut measurements, mut skipped) = kernel_ops(warmup, runs, rootless, &progress)?;
    progress.reach(kernel);
    let (starts, comparisons, more) = container_starts(start_warmup, start_runs, rootless, &progress)?;
    measurements.extend(starts);
    skipped.extend(more);
    let breakdown = breakdown(breakdown_runs, &progress)?;
    drop(progress);
    Ok(BenchReport {
        environment,
        warmup,
        measurements,
        comparisons,
        breakdown,
        skipped,
    })
}

fn human_us(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

/// `rows` as aligned columns under `head` (numbers right-aligned).
fn columns(head: &[&str], rows: &[Vec<String>], out: &mut impl Write) -> std::io::Result<()> {
    use colored::Colorize;
    use unicode_width::UnicodeWidthStr;
    let widths: Vec<usize> = (0..head.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].width())
                .chain([head[c].width()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        let mut l = String::new();
        for (c, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[c] - cell.width());
            if c == 0 {
                l.push_str(&format!("{cell}{pad}"));
            } else {
                l.push_str(&format!("  {pad}{cell}"));
            }
        }
        l
    };
    let head: Vec<String> = head.iter().map(|h| h.to_string()).collect();
    writeln!(out, "{}", line(&head).bold())?;
    for r in rows {
        writeln!(out, "{}", line(r))?;
    }
    Ok(())
}

/// The tables for people: aligned columns.
pub fn print_table(r: &BenchReport, out: &mut impl Write) -> std::io::Result<()> {
    let t = Translator::default();
    let row = |m: &Measurement, runs: bool| {
        let mut v = vec![
            t.text(&m.name).into_owned(),
            human_us(m.median_us),
            format!("{} – {}", human_us(m.p10_us), human_us(m.p90_us)),
        ];
        if runs {
            v.push(m.runs.to_string());
        }
        v
    };
    let rows: Vec<Vec<String>> = r.measurements.iter().map(|m| row(m, true)).collect();
    columns(
        &[tr("operation"), tr("median"), tr("10th–90th percentile"), tr("runs")],
        &rows,
        out,
    )?;
    for c in &r.comparisons {
        writeln!(out, "\n{} / {}: {:.2}×", t.text(&c.ours), t.text(&c.theirs), c.ratio)?;
    }
    if !r.breakdown.is_empty() {
        writeln!(out, "\n{}\n", breakdown_heading())?;
        let rows: Vec<Vec<String>> = r.breakdown.iter().map(|m| row(m, false)).collect();
        columns(
            &[tr("before the call"), tr("median"), tr("10th–90th percentile")],
            &rows,
            out,
        )?;
    }
    for s in &r.skipped {
        writeln!(out, "\n{}", trf("not measured: {s}", &[&t.text(s)]))?;
    }
    Ok(())
}

/// The heading of the breakdown.
fn breakdown_heading() -> &'static str {
    tr("Where `lab container -- /bin/true` spends its time (median per run, costliest first):")
}

/// Markdown tables (the book's: `book/bench.sh`, which asks for English).
pub fn print(r: &BenchReport, out: &mut impl Write) -> std::io::Result<()> {
    let t = Translator::default();
    writeln!(
        out,
        "| {} | {} | {} | {} |",
        tr("operation"),
        tr("median"),
        tr("10th–90th percentile"),
        tr("runs")
    )?;
    writeln!(out, "|---|---:|---:|---:|")?;
    for m in &r.measurements {
        writeln!(
            out,
            "| {} | {} | {} – {} | {} |",
            t.text(&m.name),
            human_us(m.median_us),
            human_us(m.p10_us),
            human_us(m.p90_us),
            m.runs
        )?;
    }
    for c in &r.comparisons {
        writeln!(
            out,
            "\n`{}` / {}: **{:.2}×**",
            t.text(&c.ours),
            t.text(&c.theirs),
            c.ratio
        )?;
    }
    if !r.breakdown.is_empty() {
        writeln!(out, "\n{}\n", breakdown_heading())?;
        writeln!(
            out,
            "| {} | {} | {} |",
            tr("before the call"),
            tr("median"),
            tr("10th–90th percentile")
        )?;
        writeln!(out, "|---|---:|---:|")?;
        for m in &r.breakdown {
            writeln!(
                out,
                "| {} | {} | {} – {} |",
                t.text(&m.name),
                human_us(m.median_us),
                human_us(m.p10_us),
                human_us(m.p90_us)
            )?;
        }
    }
    for s in &r.skipped {
        writeln!(out, "\n{}", trf("not measured: {s}", &[&t.text(s)]))?;
    }
    Ok(())
}
