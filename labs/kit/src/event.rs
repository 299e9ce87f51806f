//! The protocol between a lab process and the runner: one JSON event per line
//! on stdout, folded into a [`LabReport`] by the same code on both sides.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a step or a lab ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every check held.
    Pass,
    /// The kernel behaved differently from what the lab teaches.
    Fail,
    /// A privilege is missing; the reason says which and how to re-run.
    Skip,
    /// The kernel or the system lacks the feature; the reason names what blocks it.
    Unsupported,
    /// The lab itself broke: it crashed, hung or spoke garbage (set by the runner).
    Error,
}

impl Status {
    /// The word used in output and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Unsupported => "unsupported",
            Status::Error => "error",
        }
    }
}

/// One line of the protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The lab starts; `mode` is how it runs (`root`, `rootless`, `restricted`).
    LabStart {
        /// Lab id.
        id: String,
        /// Lab slug.
        slug: String,
        /// Lab title.
        title: String,
        /// The privilege mode the kit chose.
        mode: String,
        /// How many steps the lab declares.
        steps: usize,
    },
    /// Something the kit did before the first step (entering a user namespace).
    Setup {
        /// What was done, narrated.
        text: String,
    },
    /// A step starts.
    StepStart {
        /// Position in the declaration, from 0.
        index: usize,
        /// Step title.
        title: String,
        /// Why it matters.
        why: String,
        /// Declared privilege.
        privilege: String,
    },
    /// A system call, narrated like strace: `unshare(CLONE_NEWUTS) = 0`.
    Call {
        /// The narration.
        text: String,
    },
    /// A value read back from the kernel, normalized.
    Observe {
        /// What was read.
        name: String,
        /// The normalized value.
        value: Value,
    },
    /// A check of the kernel's behaviour.
    Check {
        /// What is checked.
        name: String,
        /// Whether it held.
        ok: bool,
        /// What the lesson says the kernel does.
        expected: String,
        /// What the kernel did.
        actual: String,
    },
    /// A remark for the reader.
    Note {
        /// Text.
        text: String,
    },
    /// A step ends.
    StepEnd {
        /// Its status.
        status: Status,
        /// Why it did not pass, when it did not.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// The command that runs it with the privilege it lacked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rerun: Option<String>,
    },
    /// The lab ends.
    LabEnd {
        /// Its status.
        status: Status,
        /// Why, when it did not pass.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// A check as kept in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// Whether it held.
    pub ok: bool,
    /// Expected value.
    pub expected: String,
    /// Actual value.
    pub actual: String,
}

/// An observation as kept in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// What was read.
    pub name: String,
    /// Normalized value.
    pub value: Value,
}

/// One step of a finished (or interrupted) lab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// Step title.
    pub title: String,
    /// Declared privilege.
    pub privilege: String,
    /// How it ended (`None` while running).
    pub status: Option<Status>,
    /// Why it did not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Command to re-run with the missing privilege.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun: Option<String>,
    /// Narrated system calls.
    pub calls: Vec<String>,
    /// Values read back from the kernel.
    pub observations: Vec<Observation>,
    /// Checks.
    pub checks: Vec<Check>,
}

/// What one lab did, folded from its events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LabReport {
    /// Lab id.
    pub id: String,
    /// Lab slug.
    pub slug: String,
    /// Lab title.
    pub title: String,
    /// Privilege mode (`root`, `rootless`, `restricted`).
    pub mode: String,
    /// How it ended (`None` until the lab says).
    pub status: Option<Status>,
    /// Why it did not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Wall time, set by whoever timed it.
    #[serde(default)]
    pub duration_ms: u64,
    /// Narration of what the kit did before the first step.
    pub setup: Vec<String>,
    /// Steps in order.
    pub steps: Vec<StepReport>,
}

/// A protocol violation found while folding events.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    /// An event that belongs to a step arrived outside one.
    #[error("{0} event outside a step")]
    OutsideStep(&'static str),
    /// A line that is not an event.
    #[error("malformed event line: {0}")]
    Malformed(String),
}

impl LabReport {
    /// Parse one protocol line.
    pub fn parse_line(line: &str) -> Result<Event, ProtocolError> {
        serde_json::from_str(line).map_err(|e| {
            let mut shown: String = line.chars().take(120).collect();
            if shown.len() < line.len() {
                shown.push('…');
            }
            ProtocolError::Malformed(format!("{e}: {shown:?}"))
        })
    }

    /// Fold one event into the report.
    pub fn apply(&mut self, event: &Event) -> Result<(), ProtocolError> {
        match event {
            Event::LabStart {
                id, slug, title, mode, ..
            } => {
                self.id.clone_from(id);
                self.slug.clone_from(slug);
                self.title.clone_from(title);
                self.mode.clone_from(mode);
            }
            Event::Setup { text } => self.setup.push(text.clone()),
            Event::StepStart { title, privilege, .. } => self.steps.push(StepReport {
                title: title.clone(),
                privilege: privilege.clone(),
                status: None,
                reason: None,
                rerun: None,
                calls: Vec::new(),
                observations: Vec::new(),
                checks: Vec::new(),
            }),
            Event::Call { text } => self.current("call")?.calls.push(text.clone()),
            Event::Observe { name, value } => self.current("observe")?.observations.push(Observation {
                name: name.clone(),
                value: value.clone(),
            }),
            Event::Check {
                name,
                ok,
                expected,
                actual,
            } => self.current("check")?.checks.push(Check {
                name: name.clone(),
                ok: *ok,
                expected: expected.clone(),
                actual: actual.clone(),
            }),
            Event::Note { .. } => {}
            Event::StepEnd { status, reason, rerun } => {
                let step = self.current("step_end")?;
                step.status = Some(*status);
                step.reason.clone_from(reason);
                step.rerun.clone_from(rerun);
            }
            Event::LabEnd { status, reason } => {
                self.status = Some(*status);
                self.reason.clone_from(reason);
            }
        }
        Ok(())
    }

    fn current(&mut self, what: &'static str) -> Result<&mut StepReport, ProtocolError> {
        match self.steps.last_mut() {
            Some(step) if step.status.is_none() => Ok(step),
            _ => Err(ProtocolError::OutsideStep(what)),
        }
    }

    /// A lab's status from its steps: the worst of them, in the order error,
    /// fail, unsupported, skip, pass. A lab passes only when the whole lesson
    /// ran; its steps say which parts did.
    pub fn status_from_steps(steps: &[StepReport]) -> Status {
        let has = |s: Status| steps.iter().any(|st| st.status == Some(s));
        [Status::Error, Status::Fail, Status::Unsupported, Status::Skip]
            .into_iter()
            .find(|s| has(*s))
            .unwrap_or(Status::Pass)
    }

    /// The first step that did not pass, with its reason: the lab's reason.
    pub fn first_reason(steps: &[StepReport], status: Status) -> Option<String> {
        steps
            .iter()
            .find(|s| s.status == Some(status))
            .and_then(|s| s.reason.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(i: usize) -> Event {
        Event::StepStart {
            index: i,
            title: format!("step {i}"),
            why: "because".into(),
            privilege: "none".into(),
        }
    }

    #[test]
    fn folds_a_lab_run() {
        let mut r = LabReport::default();
        let events = [
            Event::LabStart {
                id: "06".into(),
                slug: "uts".into(),
                title: "UTS".into(),
                mode: "root".into(),
                steps: 1,
            },
            start(0),
            Event::Call {
                text: "unshare(CLONE_NEWUTS) = 0".into(),
            },
            Event::Check {
                name: "c".into(),
                ok: true,
                expected: "a".into(),
                actual: "a".into(),
            },
            Event::StepEnd {
                status: Status::Pass,
                reason: None,
                rerun: None,
            },
            Event::LabEnd {
                status: Status::Pass,
                reason: None,
            },
        ];
        for e in &events {
            r.apply(e).expect("valid event order");
        }
        assert_eq!(r.id, "06");
        assert_eq!(r.steps.len(), 1);
        assert_eq!(r.steps[0].calls, ["unshare(CLONE_NEWUTS) = 0"]);
        assert_eq!(r.steps[0].status, Some(Status::Pass));
        assert_eq!(r.status, Some(Status::Pass));
    }

    #[test]
    fn rejects_events_outside_a_step() {
        let mut r = LabReport::default();
        let e = Event::Call { text: "x".into() };
        assert_eq!(r.apply(&e), Err(ProtocolError::OutsideStep("call")));
        r.apply(&start(0)).expect("step start");
        r.apply(&Event::StepEnd {
            status: Status::Pass,
            reason: None,
            rerun: None,
        })
        .expect("end");
        assert_eq!(r.apply(&e), Err(ProtocolError::OutsideStep("call")));
    }

    #[test]
    fn event_lines_round_trip() {
        let e = Event::Check {
            name: "n".into(),
            ok: false,
            expected: "1".into(),
            actual: "2".into(),
        };
        let line = serde_json::to_string(&e).expect("serializable");
        assert_eq!(
            line,
            r#"{"event":"check","name":"n","ok":false,"expected":"1","actual":"2"}"#
        );
        assert_eq!(LabReport::parse_line(&line), Ok(e));
        assert!(matches!(
            LabReport::parse_line("garbage"),
            Err(ProtocolError::Malformed(_))
        ));
    }

    #[test]
    fn lab_status_is_the_worst_step() {
        let step = |s| StepReport {
            title: String::new(),
            privilege: "none".into(),
            status: Some(s),
            reason: None,
            rerun: None,
            calls: vec![],
            observations: vec![],
            checks: vec![],
        };
        use Status::*;
        assert_eq!(LabReport::status_from_steps(&[step(Pass), step(Pass)]), Pass);
        assert_eq!(LabReport::status_from_steps(&[step(Pass), step(Skip)]), Skip);
        assert_eq!(
            LabReport::status_from_steps(&[step(Pass), step(Fail), step(Skip)]),
            Fail
        );
        assert_eq!(
            LabReport::status_from_steps(&[step(Skip), step(Unsupported)]),
            Unsupported
        );
        assert_eq!(LabReport::status_from_steps(&[step(Skip)]), Skip);
        assert_eq!(LabReport::status_from_steps(&[step(Fail), step(Error)]), Error);
        assert_eq!(LabReport::status_from_steps(&[]), Pass);
    }
}
