//! `lab diff A.json B.json`: two reports compared check by check, keyed by
//! lab slug, step title and check or observation name. Reports hold only
//! normalized values (namespaces by relation, no inode numbers, host pids
//! or hostnames), so what differs is kernel behaviour, not the machine.
//!
//! Differences are classed: regressions (a check or step that held now
//! fails), fixes, newly unsupported or skipped, now running, added or
//! removed labs, steps and checks, and values that changed while both
//! pass. A known-differences file (TOML) waives those expected on some
//! kernels. Exit: 0 when nothing (unwaived) differs, 1 when something does,
//! 2 on bad input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lab_kit::event::Status;
use lab_kit::i18n::{Translator, pad, tr, trf, width};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::run::REPORT_VERSION;

/// Output formats of `lab diff` and `lab matrix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    /// For people.
    Human,
    /// One JSON document.
    Json,
    /// A Markdown table.
    Markdown,
}

/// `lab diff`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// The reference report (`lab run --format json`, or `lab vm ... -- run --format json`).
    #[arg(value_name = "A.json")]
    pub a: PathBuf,
    /// The report to compare with it.
    #[arg(value_name = "B.json", required_unless_present = "vm", conflicts_with = "vm")]
    pub b: Option<PathBuf>,
    /// Expected differences to waive: a TOML file of `[[waive]]` tables
    /// (`lab`, optional `step`, `check`, `class`, `kernel` range such as
    /// ">=5.10, <5.11", and the `reason`).
    #[arg(long, value_name = "FILE")]
    pub known: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Human)]
    pub format: TableFormat,
    /// Make B now: boot a kernel with `lab vm` and run the suite in it. Takes
    /// the rest of the line: lab vm's options (e.g. `--vm --kernel K.deb
    /// --cgroup v1 --as 65534`), optionally `-- run [IDS...]`.
    #[arg(long, num_args = 1.., allow_hyphen_values = true, value_name = "VM-OPTIONS")]
    pub vm: Option<Vec<String>>,
}

/// The class of a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Held before, fails now (pass, skip or unsupported → fail or error; a check ok → not ok).
    Regression,
    /// Failed before, passes now.
    Fix,
    /// Now unsupported.
    NewlyUnsupported,
    /// Now skipped.
    NewlySkipped,
    /// Skipped or unsupported before, passes now.
    NowRuns,
    /// Another change of status (e.g. fail → error).
    StatusChanged,
    /// Only in B.
    Added,
    /// Only in A.
    Removed,
    /// A check's actual value or an observation changed while both pass.
    ValueChanged,
}

impl Class {
    /// `regression`, `newly-unsupported`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Regression => "regression",
            Class::Fix => "fix",
            Class::NewlyUnsupported => "newly-unsupported",
            Class::NewlySkipped => "newly-skipped",
            Class::NowRuns => "now-runs",
            Class::StatusChanged => "status-changed",
            Class::Added => "added",
            Class::Removed => "removed",
            Class::ValueChanged => "value-changed",
        }
    }

    /// The class for people, in the current language.
    pub fn label(self) -> &'static str {
        match self {
            Class::Regression => tr("regression"),
            Class::Fix => tr("fix"),
            Class::NewlyUnsupported => tr("newly-unsupported"),
            Class::NewlySkipped => tr("newly-skipped"),
            Class::NowRuns => tr("now-runs"),
            Class::StatusChanged => tr("status-changed"),
            Class::Added => tr("added"),
            Class::Removed => tr("removed"),
            Class::ValueChanged => tr("value-changed"),
        }
    }

    fn of_status(before: Status, after: Status) -> Class {
        use Status::*;
        match (before, after) {
            (Pass | Skip | Unsupported, Fail | Error) => Class::Regression,
            (Fail | Error, Pass) => Class::Fix,
            (_, Unsupported) => Class::NewlyUnsupported,
            (_, Skip) => Class::NewlySkipped,
            (Skip | Unsupported, Pass) => Class::NowRuns,
            _ => Class::StatusChanged,
        }
    }
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// Its class.
    pub class: Class,
    /// `17-container`.
    pub lab: String,
    /// The step's title (none: the lab itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// `check` or `observation`, with its name (none: the step or lab).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// What A had (status, or value), none when only in B.
    pub before: Option<String>,
    /// What B has, none when only in A.
    pub after: Option<String>,
    /// The known-differences reason that waives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waived: Option<String>,
}

/// A report as `lab diff` reads it.
#[derive(Debug, Clone)]
pub struct Report {
    /// Where it came from.
    pub name: String,
    /// Its environment block, as is.
    pub environment: Value,
    /// Its labs.
    pub labs: Vec<lab_kit::event::LabReport>,
}

impl Report {
    /// Parse a report, refusing what is not one (a one-line reason).
    pub fn parse(name: &str, text: &str) -> Result<Report, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("{name}: not JSON: {e}"))?;
        Self::from_value(name, v)
    }

    /// From a report's JSON value.
    pub fn from_value(name: &str, v: Value) -> Result<Report, String> {
        let not = |why: &str| format!("{name}: not a lab report ({why}; make one with `lab run --format json`)");
        let obj = v.as_object().ok_or_else(|| not("not a JSON object"))?;
        let version = match obj.get("version") {
            None => 1,
            Some(n) => n.as_u64().ok_or_else(|| not("\"version\" is not a number"))?,
        };
        if version != u64::from(REPORT_VERSION) {
            return Err(format!(
                "{name}: report version {version}; this lab reads version {REPORT_VERSION}"
            ));
        }
        let environment = obj
            .get("environment")
            .filter(|e| e.is_object())
            .ok_or_else(|| not("no \"environment\""))?;
        let labs = obj.get("labs").ok_or_else(|| not("no \"labs\""))?;
        let labs: Vec<lab_kit::event::LabReport> =
            serde_json::from_value(labs.clone()).map_err(|e| not(&format!("\"labs\": {e}")))?;
        Ok(Report {
            name: name.to_string(),
            environment: environment.clone(),
            labs,
        })
    }

    /// Read and parse a report file.
    pub fn read(path: &Path) -> Result<Report, String> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
        Self::parse(&name, &text)
    }

    /// The kernel release the report was made on.
    pub fn kernel(&self) -> &str {
        self.environment["kernel"].as_str().unwrap_or("unknown")
    }

    /// `kernel 6.1.0, cgroup v2, root, in a VM (tcg)`, in the current language.
    pub fn describe(&self) -> String {
        let e = &self.environment;
        let who = if e["real_root"].as_bool() == Some(true) {
            "root".to_string()
        } else {
            format!("uid {}", e["euid"])
        };
        let cgroup = e["cgroup_mode"].as_str().unwrap_or("?");
        let mut s = trf(
            "kernel {kernel}, cgroup {cgroup}, {who}",
            &[&self.kernel(), &cgroup, &who],
        );
        if let Some(a) = e["vm"]["accelerator"].as_str() {
            s.push_str(&trf(", in a VM ({a})", &[&a]));
        }
        s
    }
}

fn lab_key(l: &lab_kit::event::LabReport) -> String {
    format!("{}-{}", l.id, l.slug)
}

fn status(s: Option<Status>) -> Status {
    s.unwrap_or(Status::Error)
}

/// Names made unique within a step: a repeated name gets ` #2`, ` #3`.
fn unique<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = std::collections::HashMap::<&str, usize>::new();
    names
        .map(|n| {
            let c = seen.entry(n).or_insert(0);
            *c += 1;
            if *c == 1 { n.to_string() } else { format!("{n} #{c}") }
        })
        .collect()
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Compare `a` with `b`.
pub fn compare(a: &Report, b: &Report) -> Vec<Difference> {
    let mut out = Vec::new();
    let d =
        |class, lab: &str, step: Option<&str>, item: Option<String>, before: Option<String>, after: Option<String>| {
            Difference {
                class,
                lab: lab.to_string(),
                step: step.map(str::to_string),
                item,
                before,
                after,
                waived: None,
            }
        };
    for la in &a.labs {
        let key = lab_key(la);
        let Some(lb) = b.labs.iter().find(|l| l.slug == la.slug) else {
            out.push(d(
                Class::Removed,
                &key,
                None,
                None,
                Some(status(la.status).as_str().into()),
                None,
            ));
            continue;
        };
        let (sa, sb) = (status(la.status), status(lb.status));
        if sa != sb {
            out.push(d(
                Class::of_status(sa, sb),
                &key,
                None,
                None,
                Some(sa.as_str().into()),
                Some(sb.as_str().into()),
            ));
        }
        for step_a in &la.steps {
            let title = step_a.title.as_str();
            // By title; a lab whose steps were renamed shows them removed and added.
            let Some(step_b) = lb.steps.iter().find(|s| s.title == step_a.title) else {
                out.push(d(
                    Class::Removed,
                    &key,
                    Some(title),
                    None,
                    Some(status(step_a.status).as_str().into()),
                    None,
                ));
                continue;
            };
            let (ta, tb) = (status(step_a.status), status(step_b.status));
            if ta != tb {
                let class = Class::of_status(ta, tb);
                out.push(d(
                    class,
                    &key,
                    Some(title),
                    None,
                    Some(ta.as_str().into()),
                    Some(tb.as_str().into()),
                ));
            }
            // Checks are compared where both steps ran to their checks.
            let ran = |s: Status| matches!(s, Status::Pass | Status::Fail);
            if ran(ta) && ran(tb) {
                let na = unique(step_a.checks.iter().map(|c| c.name.as_str()));
                let nb = unique(step_b.checks.iter().map(|c| c.name.as_str()));
                for (ca, name) in step_a.checks.iter().zip(&na) {
                    let item = Some(format!("check: {name}"));
                    match nb.iter().position(|n| n == name).map(|j| &step_b.checks[j]) {
                        None => out.push(d(
                            Class::Removed,
                            &key,
                            Some(title),
                            item,
                            Some(ca.actual.clone()),
                            None,
                        )),
                        Some(cb) if ca.ok && !cb.ok => out.push(d(
                            Class::Regression,
                            &key,
                            Some(title),
                            item,
                            Some(ca.actual.clone()),
                            Some(lab_kit::tr!("{} (expected {})", cb.actual, cb.expected)),
                        )),
                        Some(cb) if !ca.ok && cb.ok => out.push(d(
                            Class::Fix,
                            &key,
                            Some(title),
                            item,
                            Some(ca.actual.clone()),
                            Some(cb.actual.clone()),
                        )),
                        Some(cb) if ca.actual != cb.actual || ca.expected != cb.expected => out.push(d(
                            Class::ValueChanged,
                            &key,
                            Some(title),
                            item,
                            Some(ca.actual.clone()),
                            Some(cb.actual.clone()),
                        )),
                        Some(_) => {}
                    }
                }
                for (cb, name) in step_b.checks.iter().zip(&nb) {
                    if !na.contains(name) {
                        let item = Some(format!("check: {name}"));
                        out.push(d(Class::Added, &key, Some(title), item, None, Some(cb.actual.clone())));
                    }
                }
            }
            if ta == Status::Pass && tb == Status::Pass {
                let na = unique(step_a.observations.iter().map(|o| o.name.as_str()));
                let nb = unique(step_b.observations.iter().map(|o| o.name.as_str()));
                for (oa, name) in step_a.observations.iter().zip(&na) {
                    let item = Some(format!("observation: {name}"));
                    match nb.iter().position(|n| n == name).map(|j| &step_b.observations[j]) {
                        None => out.push(d(
                            Class::Removed,
                            &key,
                            Some(title),
                            item,
                            Some(value_text(&oa.value)),
                            None,
                        )),
                        Some(ob) if ob.value != oa.value => out.push(d(
                            Class::ValueChanged,
                            &key,
                            Some(title),
                            item,
                            Some(value_text(&oa.value)),
                            Some(value_text(&ob.value)),
                        )),
                        Some(_) => {}
                    }
                }
                for (ob, name) in step_b.observations.iter().zip(&nb) {
                    if !na.contains(name) {
                        let item = Some(format!("observation: {name}"));
                        out.push(d(
                            Class::Added,
                            &key,
                            Some(title),
                            item,
                            None,
                            Some(value_text(&ob.value)),
                        ));
                    }
                }
            }
        }
        for step_b in &lb.steps {
            if !la.steps.iter().any(|s| s.title == step_b.title) {
                let after = Some(status(step_b.status).as_str().to_string());
                out.push(d(Class::Added, &key, Some(&step_b.title), None, None, after));
            }
        }
    }
    for lb in &b.labs {
        if !a.labs.iter().any(|l| l.slug == lb.slug) {
            out.push(d(
                Class::Added,
                &lab_key(lb),
                None,
                None,
                None,
                Some(status(lb.status).as_str().into()),
            ));
        }
    }
    out
}

/// A known-differences file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Known {
    /// Its waivers.
    #[serde(default)]
    pub waive: Vec<Waiver>,
}

/// One expected difference.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// The lab: `15`, `container` or `17-container`.
    pub lab: String,
    /// The start of the step's title (none: any step, and the lab itself).
    pub step: Option<String>,
    /// The check or observation name (none: any).
    pub check: Option<String>,
    /// The class (none: any).
    pub class: Option<Class>,
    /// Kernel versions where it is expected, e.g. ">=5.10, <5.11" (none:
    /// any); it applies when either report's kernel is in the range.
    pub kernel: Option<String>,
    /// Why it is expected.
    pub reason: String,
}

/// `5.10.223-cloud` → [5, 10, 223].
fn version(s: &str) -> Option<Vec<u64>> {
    let core = s.split(|c: char| !(c.is_ascii_digit() || c == '.')).next()?;
    let v: Vec<u64> = core
        .split('.')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    (!v.is_empty()).then_some(v)
}

/// Whether `kernel` is in `range` (`>=5.10, <5.11`; `=6.1` means 6.1.*).
pub fn in_range(kernel: &str, range: &str) -> Result<bool, String> {
    let Some(k) = version(kernel) else { return Ok(false) };
    for cond in range.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let (op, rest) = ["<=", ">=", "<", ">", "="]
            .iter()
            .find_map(|op| cond.strip_prefix(op).map(|r| (*op, r.trim())))
            .unwrap_or(("=", cond));
        let v = version(rest).ok_or_else(|| format!("kernel range {range:?}: {rest:?} is not a version"))?;
        // Compare on the components the condition names: "<5.11" holds for 5.10.223.
        let kk: Vec<u64> = (0..v.len()).map(|i| k.get(i).copied().unwrap_or(0)).collect();
        let ord = kk.cmp(&v);
        let ok = match op {
            "<=" => ord.is_le(),
            ">=" => ord.is_ge(),
            "<" => ord.is_lt(),
            ">" => ord.is_gt(),
            _ => ord.is_eq(),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Known {
    /// Read a known-differences file.
    pub fn read(path: &Path) -> Result<Known, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let k: Known =
            toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message().replace('\n', " ")))?;
        for w in &k.waive {
            if let Some(r) = &w.kernel {
                in_range("1.0", r).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        Ok(k)
    }

    /// Mark the differences these waivers expect.
    pub fn apply(&self, diffs: &mut [Difference], a: &Report, b: &Report) {
        for d in diffs.iter_mut() {
            d.waived = self.waive.iter().find(|w| w.matches(d, a, b)).map(|w| w.reason.clone());
        }
    }
}

impl Waiver {
    fn matches(&self, d: &Difference, a: &Report, b: &Report) -> bool {
        let (id, slug) = d.lab.split_once('-').unwrap_or((&d.lab, ""));
        let lab_ok = self.lab == d.lab
            || self.lab == id
            || self.lab == slug
            || self.lab.trim_start_matches('0') == id.trim_start_matches('0');
        let step_ok = match (&self.step, &d.step) {
            (None, _) => true,
            (Some(w), Some(s)) => s.starts_with(w.as_str()),
            (Some(_), None) => false,
        };
        let check_ok = match (&self.check, &d.item) {
            (None, _) => true,
            (Some(w), Some(i)) => i.split_once(": ").is_some_and(|(_, n)| n == w),
            (Some(_), None) => false,
        };
        let class_ok = self.class.is_none_or(|c| c == d.class);
        let kernel_ok = self
            .kernel
            .as_ref()
            .is_none_or(|r| in_range(a.kernel(), r).unwrap_or(false) || in_range(b.kernel(), r).unwrap_or(false));
        lab_ok && step_ok && check_ok && class_ok && kernel_ok
    }
}

/// The whole comparison, as `--format json` prints it.
#[derive(Debug, Serialize)]
pub struct DiffReport {
    /// A: its name and environment.
    pub a: Side,
    /// B.
    pub b: Side,
    /// Every difference, waived ones included.
    pub differences: Vec<Difference>,
    /// Counts of unwaived differences by class, and of waived ones.
    pub summary: std::collections::BTreeMap<String, usize>,
}

/// One side of the comparison.
#[derive(Debug, Serialize)]
pub struct Side {
    /// The file (or `vm`).
    pub report: String,
    /// Its environment block.
    pub environment: Value,
}

impl DiffReport {
    /// Compare, apply the waivers, count.
    pub fn new(a: &Report, b: &Report, known: &Known) -> DiffReport {
        let mut differences = compare(a, b);
        known.apply(&mut differences, a, b);
        let mut summary = std::collections::BTreeMap::new();
        for d in &differences {
            let k = if d.waived.is_some() { "waived" } else { d.class.as_str() };
            *summary.entry(k.to_string()).or_insert(0) += 1;
        }
        DiffReport {
            a: Side {
                report: a.name.clone(),
                environment: a.environment.clone(),
            },
            b: Side {
                report: b.name.clone(),
                environment: b.environment.clone(),
            },
            differences,
            summary,
        }
    }

    /// Differences not waived.
    pub fn unwaived(&self) -> usize {
        self.differences.iter().filter(|d| d.waived.is_none()).count()
    }

    /// `07-uts › step › check: name`: the step's title and the check's or
    /// observation's name in the current language, from the lab's catalog.
    fn path(d: &Difference) -> String {
        let (_, slug) = d.lab.split_once('-').unwrap_or(("", &d.lab));
        let t = Translator::for_slug(slug);
        let mut p = d.lab.clone();
        if let Some(s) = &d.step {
            p.push_str(&format!(" › {}", t.text(s)));
        }
        if let Some(i) = &d.item {
            p.push_str(&format!(" › {}", item_text(&t, i)));
        }
        p
    }

    fn change(d: &Difference) -> String {
        let t = Translator::default();
        match (&d.before, &d.after) {
            (Some(a), Some(b)) => format!("{} → {}", t.text(a), t.text(b)),
            (None, Some(b)) => trf("(new) {b}", &[&t.text(b)]),
            (Some(a), None) => trf("{a} (gone)", &[&t.text(a)]),
            (None, None) => String::new(),
        }
    }

    /// For people.
    pub fn print_human(&self, out: &mut impl Write, a: &Report, b: &Report) -> std::io::Result<()> {
        writeln!(out, "A: {} ({})", a.name, a.describe())?;
        writeln!(out, "B: {} ({})", b.name, b.describe())?;
        if self.differences.is_empty() {
            return writeln!(out, "\n{}", tr("no differences"));
        }
        writeln!(out)?;
        let class_width = self
            .differences
            .iter()
            .map(|d| width(d.class.label()))
            .max()
            .unwrap_or(0)
            .max(17);
        for d in &self.differences {
            let waived = d
                .waived
                .as_ref()
                .map(|w| format!("  {}", trf("[waived: {w}]", &[w])))
                .unwrap_or_default();
            writeln!(
                out,
                "{} {}: {}{waived}",
                pad(d.class.label(), class_width),
                Self::path(d),
                Self::change(d)
            )?;
        }
        let counts: Vec<String> = self
            .summary
            .iter()
            .map(|(k, n)| {
                // Not a catalog template: `{n} {class}` is glue that would
                // match (and reorder) any two words of any text.
                let class = summary_label(k);
                match lab_kit::i18n::current() {
                    lab_kit::i18n::Lang::En => format!("{n} {class}"),
                    lab_kit::i18n::Lang::Ja => format!("{class} {n}"),
                }
            })
            .collect();
        writeln!(
            out,
            "\n{}",
            trf(
                "{n} difference(s): {counts}",
                &[&self.differences.len(), &counts.join(", ")]
            )
        )
    }

    /// A Markdown table.
    pub fn print_markdown(&self, out: &mut impl Write, a: &Report, b: &Report) -> std::io::Result<()> {
        writeln!(
            out,
            "A: `{}` ({})  \nB: `{}` ({})\n",
            a.name,
            a.describe(),
            b.name,
            b.describe()
        )?;
        writeln!(out, "| class | lab | step | check or observation | A | B | waived |")?;
        writeln!(out, "|---|---|---|---|---|---|---|")?;
        let cell = |s: Option<&str>| s.unwrap_or("").replace('|', "\\|").replace('\n', " ");
        for d in &self.differences {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                d.class.as_str(),
                d.lab,
                cell(d.step.as_deref()),
                cell(d.item.as_deref()),
                cell(d.before.as_deref()),
                cell(d.after.as_deref()),
                cell(d.waived.as_deref())
            )?;
        }
        Ok(())
    }
}

/// `check: name` or `observation: name`, its name translated by `t`.
fn item_text(t: &Translator, item: &str) -> String {
    if let Some(name) = item.strip_prefix("check: ") {
        trf("check: {name}", &[&t.text(name)])
    } else if let Some(name) = item.strip_prefix("observation: ") {
        trf("observation: {name}", &[&t.text(name)])
    } else {
        t.text(item).into_owned()
    }
}

/// A key of the summary (a class, or `waived`) for people.
fn summary_label(key: &str) -> &'static str {
    let classes = [
        Class::Regression,
        Class::Fix,
        Class::NewlyUnsupported,
        Class::NewlySkipped,
        Class::NowRuns,
        Class::StatusChanged,
        Class::Added,
        Class::Removed,
        Class::ValueChanged,
    ];
    match classes.into_iter().find(|c| c.as_str() == key) {
        Some(c) => c.label(),
        None => tr("waived"),
    }
}

/// `lab diff`.
pub fn main(args: &DiffArgs) -> ExitCode {
    let bad = |msg: String| {
        eprintln!("error: {msg}");
        ExitCode::from(2)
    };
    let known = match &args.known {
        Some(p) => match Known::read(p) {
            Ok(k) => k,
            Err(e) => return bad(e),
        },
        None => Known::default(),
    };
    let a = match Report::read(&args.a) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    let b = match (&args.b, &args.vm) {
        (Some(p), _) => match Report::read(p) {
            Ok(r) => r,
            Err(e) => return bad(e),
        },
        (None, Some(vm)) => match report_from_vm(vm) {
            Ok(r) => r,
            Err((code, e)) => {
                eprintln!("{e}");
                return ExitCode::from(code);
            }
        },
        (None, None) => return bad("B.json or --vm is needed".into()),
    };
    let diff = DiffReport::new(&a, &b, &known);
    if args.format != TableFormat::Human {
        // The Markdown table is for a CI summary or a README, like JSON.
        crate::i18n::machine_format();
    }
    let mut out = std::io::stdout().lock();
    let _ = match args.format {
        TableFormat::Human => diff.print_human(&mut out, &a, &b),
        TableFormat::Markdown => diff.print_markdown(&mut out, &a, &b),
        TableFormat::Json => serde_json::to_writer_pretty(&mut out, &diff)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out)),
    };
    ExitCode::from(if diff.unwaived() == 0 { 0 } else { 1 })
}

/// `--vm ...`: lab vm's options (and, after `--`, `run [IDS...]`) → B.
fn report_from_vm(vm: &[String]) -> Result<Report, (u8, String)> {
    #[derive(clap::Parser)]
    #[command(name = "lab diff --vm", no_binary_name = true)]
    struct Vm {
        #[command(flatten)]
        args: crate::vm::command::VmTarget,
        #[arg(last = true, value_name = "run [ARGS]")]
        command: Vec<String>,
    }
    let parsed = <Vm as clap::Parser>::try_parse_from(vm).map_err(|e| (2, crate::cli::one_line(&e)))?;
    let command = if parsed.command.is_empty() {
        vec!["run".to_string()]
    } else {
        parsed.command
    };
    let (run_args, _) = crate::vm::command::guest_run(&command).map_err(|e| (2, e))?;
    if let Err(e) = lab_kit::sys::catch_interrupts() {
        eprintln!("warning: {e}");
    }
    let opts = parsed.args.options(run_args);
    let kernel = crate::vm::kernel::Kernel::resolve(&opts.kernel).map_err(|e| (2, format!("error: {e:#}")))?;
    let run = crate::vm::run_kernel(&opts, &kernel).map_err(|e| (4, format!("lab vm: {e:#}")))?;
    eprintln!("B: lab vm: {}", crate::vm::command::headline(&run));
    if run.vm.outcome != crate::vm::Outcome::Completed && run.report["labs"].as_array().is_none_or(|l| l.is_empty()) {
        return Err((
            4,
            format!("lab vm: the VM did not complete ({})", run.vm.outcome.as_str()),
        ));
    }
    Report::from_value("vm", run.report).map_err(|e| (2, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Report {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/reports")
            .join(name);
        Report::read(&path).expect("fixture")
    }

    fn classes(d: &[Difference]) -> Vec<(Class, String)> {
        d.iter().map(|d| (d.class, DiffReport::path(d))).collect()
    }

    #[test]
    fn a_report_against_itself_has_no_differences() {
        let a = fixture("base.json");
        assert!(compare(&a, &a).is_empty());
    }

    #[test]
    fn every_class_of_difference_is_found() {
        let (a, b) = (fixture("base.json"), fixture("changed.json"));
        let got = classes(&compare(&a, &b));
        let want = [
            (Class::Regression, "07-uts"),
            (Class::Regression, "07-uts › Two hostnames at once"),
            (
                Class::Regression,
                "07-uts › Two hostnames at once › check: the host keeps its hostname",
            ),
            (Class::Removed, "07-uts › Gone step"),
            (Class::Added, "07-uts › New step"),
            (Class::Fix, "08-pid"),
            (Class::Fix, "08-pid › The first process is PID 1"),
            (
                Class::Fix,
                "08-pid › The first process is PID 1 › check: getpid() inside",
            ),
            (Class::Added, "08-pid › The first process is PID 1 › check: a new check"),
            (Class::NewlyUnsupported, "11-net"),
            (Class::NewlyUnsupported, "11-net › A veth pair joins two namespaces"),
            (Class::NewlySkipped, "14-cgroupns"),
            (Class::NewlySkipped, "14-cgroupns › A cgroup of its own"),
            (Class::Removed, "15-time"),
            (Class::NowRuns, "16-cgroups"),
            (Class::NowRuns, "16-cgroups › A memory limit"),
            (Class::ValueChanged, "17-container › Limits › check: processes"),
            (Class::ValueChanged, "17-container › Limits › observation: dup #2"),
            (Class::Added, "05-seccomp"),
        ];
        let want: Vec<(Class, String)> = want.iter().map(|(c, p)| (*c, p.to_string())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn waivers_match_by_lab_step_class_and_kernel_range() {
        let (a, b) = (fixture("base.json"), fixture("changed.json"));
        let known: Known = toml::from_str(
            r#"
            [[waive]]
            lab = "11"
            class = "newly-unsupported"
            kernel = ">=6.1, <6.2"
            reason = "no veth module in this VM"

            [[waive]]
            lab = "uts"
            step = "Two hostnames"
            kernel = ">=7.0"
            reason = "never: B is 6.1, A is 6.12"
            "#,
        )
        .expect("toml");
        let diff = DiffReport::new(&a, &b, &known);
        let waived: Vec<String> = diff
            .differences
            .iter()
            .filter(|d| d.waived.is_some())
            .map(DiffReport::path)
            .collect();
        assert_eq!(waived, ["11-net", "11-net › A veth pair joins two namespaces"]);
        assert_eq!(diff.summary.get("waived"), Some(&2));
        assert_eq!(diff.unwaived(), diff.differences.len() - 2);
    }

    #[test]
    fn kernel_ranges() {
        assert_eq!(in_range("5.10.223", ">=5.10, <5.11"), Ok(true));
        assert_eq!(in_range("5.11.0", ">=5.10, <5.11"), Ok(false));
        assert_eq!(in_range("6.12.95+deb12-cloud-amd64", ">6.1"), Ok(true));
        assert_eq!(in_range("6.1.176", "=6.1"), Ok(true));
        assert_eq!(in_range("6.1.176", "6.12"), Ok(false));
        assert!(in_range("6.1", ">=six").is_err());
    }

    #[test]
    fn bad_input_is_refused_with_the_reason() {
        for (text, want) in [
            ("not json", "not JSON"),
            ("[1, 2]", "not a JSON object"),
            ("{\"labs\": []}", "no \"environment\""),
            ("{\"environment\": {}}", "no \"labs\""),
            (
                "{\"version\": 2, \"environment\": {}, \"labs\": []}",
                "report version 2; this lab reads version 1",
            ),
            ("{\"environment\": {}, \"labs\": [{\"id\": 1}]}", "\"labs\""),
        ] {
            let e = Report::parse("x.json", text).expect_err(text);
            assert!(
                e.starts_with("x.json: ") && e.contains(want) && !e.contains('\n'),
                "{text}: {e}"
            );
        }
        let k = Known::read(Path::new("/nonexistent/known.toml")).expect_err("missing");
        assert!(k.contains("/nonexistent/known.toml"));
    }
}
