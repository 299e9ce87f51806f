//! Reports for machines besides JSON: JUnit XML (one test suite per lab, one
//! test case per step) and TAP version 13 (one test point per step, `# SKIP`
//! for skipped and unsupported steps, a YAML block with expected/actual for
//! failures), so CI systems can show which kernel behaviour changed.

use std::time::Duration;

use lab_kit::event::{LabReport, Status, StepReport};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::run::RunReport;

fn case_name(lab: &LabReport, i: usize, step: &StepReport) -> String {
    format!("{}-{} step {}: {}", lab.id, lab.slug, i + 1, step.title)
}

fn failed_checks(step: &StepReport) -> Vec<String> {
    step.checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: expected {:?}, actual {:?}", c.name, c.expected, c.actual))
        .collect()
}

/// The run as JUnit XML.
pub fn junit(run: &RunReport) -> String {
    let mut report = Report::new("container-labs");
    for lab in &run.labs {
        let mut suite = TestSuite::new(format!("{}-{}", lab.id, lab.slug));
        suite.set_time(Duration::from_millis(lab.duration_ms));
        suite.add_property(("kernel", run.environment.kernel.as_str()));
        suite.add_property(("mode", lab.mode.as_str()));
        for (i, step) in lab.steps.iter().enumerate() {
            let reason = step.reason.clone().unwrap_or_default();
            let status = match step.status.unwrap_or(Status::Error) {
                Status::Pass => TestCaseStatus::success(),
                Status::Skip | Status::Unsupported => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(format!("{}: {reason}", step.status.unwrap_or(Status::Skip).as_str()));
                    s
                }
                Status::Fail => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(reason).set_description(failed_checks(step).join("\n"));
                    s
                }
                Status::Error => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                    s.set_message(lab.reason.clone().unwrap_or(reason));
                    s
                }
            };
            let mut case = TestCase::new(case_name(lab, i, step), status);
            case.set_classname(format!("container-labs.{}-{}", lab.id, lab.slug));
            case.set_assertions(step.checks.len());
            suite.add_test_case(case);
        }
        if lab.steps.is_empty() {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(lab.reason.clone().unwrap_or_else(|| "the lab reported no step".into()));
            suite.add_test_case(TestCase::new(format!("{}-{}", lab.id, lab.slug), s));
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot serialize the JUnit report: {e} -->\n"))
}

fn yaml_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The run as TAP version 13.
pub fn tap(run: &RunReport) -> String {
    let mut points = Vec::new();
    for lab in &run.labs {
        if lab.steps.is_empty() {
            let reason = lab.reason.clone().unwrap_or_else(|| "the lab reported no step".into());
            points.push((
                false,
                format!("{}-{}", lab.id, lab.slug),
                None,
                Some(vec![("message", reason)]),
            ));
        }
        for (i, step) in lab.steps.iter().enumerate() {
            let name = case_name(lab, i, step);
            let reason = step.reason.clone().unwrap_or_default();
            match step.status.unwrap_or(Status::Error) {
                Status::Pass => points.push((true, name, None, None)),
                s @ (Status::Skip | Status::Unsupported) => {
                    points.push((true, name, Some(format!("SKIP {}: {reason}", s.as_str())), None))
                }
                Status::Fail => {
                    let mut block = vec![("message", reason)];
                    for c in step.checks.iter().filter(|c| !c.ok) {
                        block.push(("check", c.name.clone()));
                        block.push(("expected", c.expected.clone()));
                        block.push(("actual", c.actual.clone()));
                    }
                    points.push((false, name, None, Some(block)));
                }
                Status::Error => {
                    let msg = lab.reason.clone().unwrap_or(reason);
                    points.push((
                        false,
                        name,
                        None,
                        Some(vec![("message", msg), ("severity", "error".into())]),
                    ));
                }
            }
        }
    }
    let mut out = format!("TAP version 13\n1..{}\n", points.len());
    for (n, (ok, name, directive, block)) in points.into_iter().enumerate() {
        // '#' starts a directive in TAP: keep it out of descriptions.
        let name = name.replace('#', "no.");
        out.push_str(&format!("{}{} {} - {name}", if ok { "" } else { "not " }, "ok", n + 1));
        if let Some(d) = directive {
            out.push_str(&format!(" # {}", d.replace('\n', " ")));
        }
        out.push('\n');
        if let Some(block) = block {
            out.push_str("  ---\n");
            for (k, v) in block {
                out.push_str(&format!("  {k}: {}\n", yaml_quote(&v)));
            }
            out.push_str("  ...\n");
        }
    }
    if run.interrupted {
        out.push_str("Bail out! interrupted\n");
    }
    out
}
