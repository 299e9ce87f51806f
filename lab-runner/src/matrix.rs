//! `lab matrix`: `lab vm` over kernels × cgroup layouts × users, `--jobs N`
//! at a time, and one table of the results (lab × configuration, each cell
//! the lab's status and how many of its steps passed), for people, as JSON
//! or as Markdown; `--update-readme` writes it into the README between the
//! `kernels-checked` markers.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use lab_kit::i18n::{Translator, tr, trf};
use serde::{Deserialize, Serialize};

use crate::diff::TableFormat;
use crate::vm::command::{GuestUser, MachineArgs, guest_run, guest_user};
use crate::vm::{CgroupLayout, Outcome, VmRun};

/// `lab matrix`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct MatrixArgs {
    /// A kernel (bzImage or linux-image .deb); repeat for several.
    #[arg(long = "kernel", value_name = "PATH|DEB")]
    pub kernels: Vec<PathBuf>,
    /// Cgroup layouts, comma-separated (default v2).
    #[arg(long = "cgroup", value_enum, value_delimiter = ',')]
    pub cgroups: Vec<CgroupLayout>,
    /// Users, comma-separated: `root` or user ids (default root).
    #[arg(long = "as", value_name = "root|UID[:undelegated]", value_delimiter = ',', value_parser = guest_user)]
    pub users: Vec<GuestUser>,
    /// A TOML file with `kernels`, `cgroups`, `users` and `jobs` (paths
    /// relative to the file); the command line adds to it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// VMs run at once (default 2).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Human)]
    pub format: TableFormat,
    /// Also write each configuration's report (JSON) into this directory.
    #[arg(long, value_name = "DIR")]
    pub reports: Option<PathBuf>,
    /// Regenerate the "Kernels checked" table of this README (default
    /// README.md) from this run.
    #[arg(long, value_name = "README", num_args = 0..=1, default_missing_value = "README.md")]
    pub update_readme: Option<PathBuf>,
    /// Options of each machine.
    #[command(flatten)]
    pub machine: MachineArgs,
    /// After `--`: `run [IDS...] [--timeout S]` (default: every lab).
    #[arg(last = true, value_name = "run [ARGS]")]
    pub command: Vec<String>,
}

/// A matrix file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixFile {
    /// Kernels, relative to the file's directory.
    #[serde(default)]
    pub kernels: Vec<PathBuf>,
    /// `v2`, `v1`, `hybrid`.
    #[serde(default)]
    pub cgroups: Vec<CgroupLayout>,
    /// `root` or user ids (strings or numbers).
    #[serde(default)]
    pub users: Vec<toml::Value>,
    /// VMs at once.
    pub jobs: Option<u64>,
}

/// One configuration: kernel × layout × user.
#[derive(Debug, Clone)]
pub struct Config {
    /// The kernel file.
    pub kernel: PathBuf,
    /// The layout.
    pub cgroup: CgroupLayout,
    /// The user.
    pub user: GuestUser,
}

/// One cell of the table: a lab in a configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// The lab's status.
    pub status: String,
    /// Steps that passed.
    pub passed: usize,
    /// Steps.
    pub steps: usize,
}

impl Cell {
    fn text(&self) -> String {
        format!("{} ({}/{})", self.status, self.passed, self.steps)
    }
}

/// One column: a configuration and how it ran.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// The kernel file name.
    pub kernel: String,
    /// The kernel's release.
    pub release: String,
    /// The layout.
    pub cgroup: CgroupLayout,
    /// `root` or `uid N`.
    pub user: String,
    /// How the VM ended.
    pub outcome: String,
    /// `kvm` or `tcg`.
    pub accelerator: String,
    /// Milliseconds to boot.
    pub boot_ms: u64,
    /// Milliseconds in all.
    pub total_ms: u64,
    /// `lab vm`'s exit code for it.
    pub exit_code: u8,
    /// What went wrong, when it did not complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Each lab (`07-uts`) and its cell.
    pub labs: Vec<(String, Cell)>,
}

impl Column {
    fn heading(&self) -> String {
        let short = self.release.trim_end_matches("-cloud-amd64").trim_end_matches("-amd64");
        format!("{short} {} {}", self.cgroup.as_str(), self.user)
    }

    fn from_run(cfg: &Config, run: Result<VmRun, String>) -> Column {
        let kernel = cfg
            .kernel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut col = Column {
            kernel,
            release: String::new(),
            cgroup: cfg.cgroup,
            user: cfg.user.to_string(),
            outcome: "error".into(),
            accelerator: String::new(),
            boot_ms: 0,
            total_ms: 0,
            exit_code: 4,
            problem: None,
            labs: Vec::new(),
        };
        let run = match run {
            Ok(r) => r,
            Err(e) => {
                col.problem = Some(e);
                return col;
            }
        };
        col.release = run.vm.kernel_release.clone();
        col.outcome = run.vm.outcome.as_str().into();
        col.accelerator = run.vm.accelerator.clone();
        col.boot_ms = run.vm.boot_ms;
        col.total_ms = run.vm.total_ms;
        col.exit_code = run.exit_code();
        if run.vm.outcome != Outcome::Completed {
            col.problem = run
                .vm
                .console_excerpt
                .last()
                .cloned()
                .or_else(|| run.vm.notes.last().cloned());
        }
        for lab in run.report["labs"].as_array().into_iter().flatten() {
            let key = format!(
                "{}-{}",
                lab["id"].as_str().unwrap_or("?"),
                lab["slug"].as_str().unwrap_or("?")
            );
            let steps = lab["steps"].as_array().map_or(0, Vec::len);
            let passed = lab["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| s["status"] == "pass")
                .count();
            let status = lab["status"].as_str().unwrap_or("error").to_string();
            col.labs.push((key, Cell { status, passed, steps }));
        }
        col
    }
}

/// The whole matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    /// Each configuration, in the order asked.
    pub columns: Vec<Column>,
    /// Wall-clock milliseconds of the whole matrix.
    pub wall_ms: u64,
    /// VMs at once.
    pub jobs: u64,
}

impl Matrix {
    /// Every lab of any column, in teaching order.
    fn rows(&self) -> Vec<String> {
        let mut rows: Vec<String> = self
            .columns
            .iter()
            .flat_map(|c| c.labs.iter().map(|(k, _)| k.clone()))
            .collect();
        rows.sort();
        rows.dedup();
        rows
    }

    fn cell(&self, col: &Column, row: &str) -> String {
        col.labs
            .iter()
            .find(|(k, _)| k == row)
            .map_or_else(|| "—".to_string(), |(_, c)| c.text())
    }

    /// The table as Markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::from("| lab |");
        for c in &self.columns {
            s.push_str(&format!(" {} |", c.heading()));
        }
        s.push_str("\n|-----|");
        s.push_str(&"---|".repeat(self.columns.len()));
        s.push('\n');
        for row in self.rows() {
            let label = row.replacen('-', " ", 1);
            s.push_str(&format!("| {label} |"));
            for c in &self.columns {
                s.push_str(&format!(" {} |", self.cell(c, &row)));
            }
            s.push('\n');
        }
        s.push_str("| *VM* |");
        for c in &self.columns {
            s.push_str(&format!(
                " {} ({}, {:.0} s) |",
                c.outcome,
                c.accelerator,
                c.total_ms as f64 / 1000.0
            ));
        }
        s.push('\n');
        s
    }

    /// The table for people: aligned columns, then what went wrong, in the
    /// current language (statuses and outcomes stay the report's words).
    pub fn human(&self, out: &mut impl Write) -> std::io::Result<()> {
        use lab_kit::i18n::{pad, width};
        let rows = self.rows();
        let mut table: Vec<Vec<String>> = Vec::new();
        let mut head = vec![tr("lab").to_string()];
        head.extend(self.columns.iter().map(Column::heading));
        table.push(head);
        for row in &rows {
            let mut line = vec![row.clone()];
            line.extend(self.columns.iter().map(|c| self.cell(c, row)));
            table.push(line);
        }
        let mut vm = vec!["VM".to_string()];
        vm.extend(
            self.columns
                .iter()
                .map(|c| format!("{} {:.0}s", c.outcome, c.total_ms as f64 / 1000.0)),
        );
        table.push(vm);
        let widths: Vec<usize> = (0..table[0].len())
            .map(|i| table.iter().map(|r| width(&r[i])).max().unwrap_or(0))
            .collect();
        for r in &table {
            let cells: Vec<String> = r.iter().zip(&widths).map(|(c, w)| pad(c, *w)).collect();
            writeln!(out, "{}", cells.join("  ").trim_end())?;
        }
        let t = Translator::default();
        for c in self.columns.iter().filter(|c| c.problem.is_some()) {
            writeln!(
                out,
                "\n{}: {}: {}",
                c.heading(),
                c.outcome,
                t.text(c.problem.as_deref().unwrap_or(""))
            )?;
        }
        let seconds = format!("{:.0}", self.wall_ms as f64 / 1000.0);
        writeln!(
            out,
            "\n{}",
            trf(
                "{n} configuration(s), {jobs} at once, {seconds} s",
                &[&self.columns.len(), &self.jobs, &seconds]
            )
        )
    }

    /// `lab matrix`'s exit code: 4 when a VM did not complete, else 3 when
    /// a lab broke, else 1 when a check failed, else 0.
    pub fn exit_code(&self) -> u8 {
        let codes: Vec<u8> = self.columns.iter().map(|c| c.exit_code).collect();
        [4, 130, 3, 1].into_iter().find(|c| codes.contains(c)).unwrap_or(0)
    }
}

/// The README markers between which `--update-readme` writes the table.
pub const README_START: &str = "<!-- kernels-checked:start -->";
/// The end marker.
pub const README_END: &str = "<!-- kernels-checked:end -->";

/// `text` with the part between the markers replaced by `table`.
pub fn replace_between_markers(text: &str, table: &str) -> Result<String, String> {
    let start = text.find(README_START).ok_or(format!("no {README_START} marker"))?;
    let end = text
        .find(README_END)
        .filter(|e| *e > start)
        .ok_or(format!("no {README_END} marker after the start"))?;
    Ok(format!("{}{README_START}\n{table}{}", &text[..start], &text[end..]))
}

fn configs(args: &MatrixArgs) -> Result<(Vec<Config>, u64), String> {
    let file = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("error: {}: {e}", p.display()))?;
            let f: MatrixFile = toml::from_str(&text)
                .map_err(|e| format!("error: {}: {}", p.display(), e.message().replace('\n', " ")))?;
            let base = p.parent().unwrap_or(Path::new("."));
            MatrixFile {
                kernels: f.kernels.iter().map(|k| base.join(k)).collect(),
                ..f
            }
        }
        None => MatrixFile::default(),
    };
    let mut kernels = file.kernels;
    kernels.extend(args.kernels.iter().cloned());
    if kernels.is_empty() {
        return Err(tr("error: no kernel: give --kernel PATH|DEB (repeatable) or --config FILE").into());
    }
    for k in &kernels {
        if !k.is_file() {
            return Err(trf("error: {path}: no such file", &[&k.display()]));
        }
    }
    let mut cgroups = file.cgroups;
    cgroups.extend(args.cgroups.iter().copied());
    if cgroups.is_empty() {
        cgroups.push(CgroupLayout::V2);
    }
    let mut users = Vec::new();
    for u in &file.users {
        let s = match u {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(n) => n.to_string(),
            other => format!("{other:?}"),
        };
        users.push(guest_user(&s).map_err(|e| format!("error: users: {s:?}: {e}"))?);
    }
    users.extend(args.users.iter().copied());
    if users.is_empty() {
        users.push(GuestUser::ROOT);
    }
    dedup(&mut kernels);
    dedup(&mut cgroups);
    dedup(&mut users);
    let mut out = Vec::new();
    for k in &kernels {
        for c in &cgroups {
            for u in &users {
                out.push(Config {
                    kernel: k.clone(),
                    cgroup: *c,
                    user: *u,
                });
            }
        }
    }
    Ok((out, args.jobs.or(file.jobs).unwrap_or(2)))
}

/// Drop repeats, keeping the first of each.
fn dedup<T: PartialEq + Clone>(v: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::new();
    v.retain(|x| {
        let new = !seen.contains(x);
        seen.push(x.clone());
        new
    });
}

/// Run every configuration, `jobs` at a time.
pub fn run(
    configs: &[Config],
    jobs: u64,
    machine: &MachineArgs,
    run_args: &[String],
    reports: Option<&Path>,
) -> Matrix {
    let start = std::time::Instant::now();
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<Option<Column>>> = Mutex::new(vec![None; configs.len()]);
    let total = configs.len();
    // Each package is unpacked once, all of them at the same time.
    let mut kernels: Vec<(PathBuf, Result<crate::vm::kernel::Kernel, String>)> = Vec::new();
    std::thread::scope(|scope| {
        let mut seen = Vec::new();
        let handles: Vec<_> = configs
            .iter()
            .filter(|c| {
                let new = !seen.contains(&c.kernel);
                seen.push(c.kernel.clone());
                new
            })
            .map(|c| {
                let path = c.kernel.clone();
                scope.spawn(move || {
                    let k = crate::vm::kernel::Kernel::resolve(&path).map_err(|e| format!("{e:#}"));
                    (path, k)
                })
            })
            .collect();
        for h in handles {
            if let Ok(k) = h.join() {
                kernels.push(k);
            }
        }
    });
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(total as u64).max(1) {
            scope.spawn(|| {
                loop {
                    let i = {
                        let Ok(mut n) = next.lock() else { return };
                        let i = *n;
                        *n += 1;
                        i
                    };
                    if i >= total || lab_kit::sys::interrupted() {
                        return;
                    }
                    let cfg = &configs[i];
                    let opts = machine.options(cfg.kernel.clone(), cfg.cgroup, cfg.user, run_args.to_vec());
                    let run = match kernels.iter().find(|(p, _)| *p == cfg.kernel).map(|(_, k)| k) {
                        Some(Ok(k)) => crate::vm::run_kernel(&opts, k).map_err(|e| format!("{e:#}")),
                        Some(Err(e)) => Err(e.clone()),
                        None => Err(format!("{}: not unpacked", cfg.kernel.display())),
                    };
                    if let (Ok(r), Some(dir)) = (&run, reports) {
                        let name = format!(
                            "{}-{}-{}.json",
                            r.vm.kernel_release,
                            cfg.cgroup.as_str(),
                            match (cfg.user.uid, cfg.user.delegated) {
                                (None, _) => "root".to_string(),
                                (Some(u), true) => u.to_string(),
                                (Some(u), false) => format!("{u}-undelegated"),
                            }
                        );
                        let written = std::fs::create_dir_all(dir).and_then(|()| {
                            std::fs::write(
                                dir.join(&name),
                                serde_json::to_vec_pretty(&r.report).unwrap_or_default(),
                            )
                        });
                        if let Err(e) = written {
                            let path = dir.join(&name);
                            eprintln!("lab matrix: {}", trf("write {path}: {e}", &[&path.display(), &e]));
                        }
                    }
                    let col = Column::from_run(cfg, run);
                    // A run that did not complete says why on the same line: a
                    // CI log may be all there is to go on.
                    let seconds = format!("{:.0}", col.total_ms as f64 / 1000.0);
                    let problem = col
                        .problem
                        .as_deref()
                        .map(|p| Translator::default().text(p).into_owned());
                    eprintln!(
                        "lab matrix: [{}/{total}] {}{}",
                        i + 1,
                        trf(
                            "{config}: {outcome} in {seconds} s",
                            &[&col.heading(), &col.outcome, &seconds]
                        ),
                        problem.map(|p| format!(" ({p})")).unwrap_or_default()
                    );
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(col);
                    }
                }
            });
        }
    });
    let columns = results.into_inner().unwrap_or_default().into_iter().flatten().collect();
    Matrix {
        columns,
        wall_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        jobs,
    }
}

/// `lab matrix`.
pub fn main(args: &MatrixArgs) -> ExitCode {
    let usage = |e: String| {
        eprintln!("{e}");
        ExitCode::from(2)
    };
    let (configs, jobs) = match configs(args) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let command = if args.command.is_empty() {
        vec!["run".to_string()]
    } else {
        args.command.clone()
    };
    let run_args = match guest_run(&command) {
        Ok((a, _)) => a,
        Err(e) => return usage(e),
    };
    if let Some(readme) = &args.update_readme {
        // Refuse before an hour of VMs, not after.
        match std::fs::read_to_string(readme) {
            Ok(t) if t.contains(README_START) && t.contains(README_END) => {}
            Ok(_) => {
                return usage(trf(
                    "error: {path} has no {start} … {end} markers",
                    &[&readme.display(), &README_START, &README_END],
                ));
            }
            Err(e) => return usage(format!("error: {}: {e}", readme.display())),
        }
    }
    if let Err(e) = lab_kit::sys::catch_interrupts() {
        eprintln!("warning: {e}");
    }
    let m = run(&configs, jobs, &args.machine, &run_args, args.reports.as_deref());
    if args.format != TableFormat::Human {
        crate::i18n::machine_format();
    }
    let mut out = std::io::stdout().lock();
    let _ = match args.format {
        TableFormat::Human => m.human(&mut out),
        TableFormat::Markdown => out.write_all(m.markdown().as_bytes()),
        TableFormat::Json => serde_json::to_writer_pretty(&mut out, &m)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out)),
    };
    if let Some(readme) = &args.update_readme {
        let updated = std::fs::read_to_string(readme)
            .map_err(|e| e.to_string())
            .and_then(|t| replace_between_markers(&t, &m.markdown()))
            .and_then(|t| std::fs::write(readme, t).map_err(|e| e.to_string()));
        if let Err(e) = updated {
            eprintln!("lab matrix: {}: {e}", readme.display());
            return ExitCode::from(2);
        }
        eprintln!(
            "lab matrix: {}",
            trf("wrote the table into {path}", &[&readme.display()])
        );
    }
    ExitCode::from(m.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(release: &str, cgroup: CgroupLayout, user: &str, labs: &[(&str, &str, usize, usize)]) -> Column {
        Column {
            kernel: format!("linux-image-{release}.deb"),
            release: release.into(),
            cgroup,
            user: user.into(),
            outcome: "completed".into(),
            accelerator: "tcg".into(),
            boot_ms: 5000,
            total_ms: 42_000,
            exit_code: 0,
            problem: None,
            labs: labs
                .iter()
                .map(|(k, s, p, n)| {
                    (
                        k.to_string(),
                        Cell {
                            status: s.to_string(),
                            passed: *p,
                            steps: *n,
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn the_markdown_table_has_a_row_per_lab_and_a_column_per_configuration() {
        let m = Matrix {
            columns: vec![
                column(
                    "6.1.0-50-cloud-amd64",
                    CgroupLayout::V2,
                    "root",
                    &[("07-uts", "pass", 4, 4), ("11-net", "pass", 4, 4)],
                ),
                column(
                    "5.10.0-32-cloud-amd64",
                    CgroupLayout::V1,
                    "uid 65534",
                    &[("07-uts", "pass", 4, 4)],
                ),
            ],
            wall_ms: 1,
            jobs: 2,
        };
        let md = m.markdown();
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines[0], "| lab | 6.1.0-50 v2 root | 5.10.0-32 v1 uid 65534 |");
        assert_eq!(lines[1], "|-----|---|---|");
        assert_eq!(lines[2], "| 07 uts | pass (4/4) | pass (4/4) |");
        assert_eq!(lines[3], "| 11 net | pass (4/4) | — |");
        assert_eq!(lines[4], "| *VM* | completed (tcg, 42 s) | completed (tcg, 42 s) |");
        assert_eq!(m.exit_code(), 0);
        let mut human = Vec::new();
        m.human(&mut human).expect("write");
        assert!(String::from_utf8_lossy(&human).contains("11-net  pass (4/4)"));
    }

    #[test]
    fn the_readme_table_is_replaced_between_its_markers_only() {
        let text = format!("# x\nbefore\n{README_START}\nold\n{README_END}\nafter\n");
        let new = replace_between_markers(&text, "| new |\n").expect("markers");
        assert_eq!(
            new,
            format!("# x\nbefore\n{README_START}\n| new |\n{README_END}\nafter\n")
        );
        assert!(replace_between_markers("no markers", "x").is_err());
        assert!(replace_between_markers(&format!("{README_END}{README_START}"), "x").is_err());
    }

    #[test]
    fn the_exit_code_is_the_worst_configuration() {
        let mut a = column("6.1", CgroupLayout::V2, "root", &[]);
        let mut b = a.clone();
        a.exit_code = 1;
        b.exit_code = 4;
        let m = Matrix {
            columns: vec![a.clone(), b],
            wall_ms: 0,
            jobs: 1,
        };
        assert_eq!(m.exit_code(), 4);
        let m = Matrix {
            columns: vec![a],
            wall_ms: 0,
            jobs: 1,
        };
        assert_eq!(m.exit_code(), 1);
    }
}
