//! What a step that cannot run here says instead of failing: a leaf module,
//! so that every part of the kit (cgroups, networking, the container) can
//! say it without depending on the lab runner.

use crate::event::Status;

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

/// A cgroup refusal as a step's outcome: a missing privilege is `skip` (the
/// caller could be given it), a missing controller `unsupported`.
impl From<crate::cgroup::Refusal> for CannotRun {
    fn from(r: crate::cgroup::Refusal) -> Self {
        use crate::cgroup::Refusal;
        let skip = match &r {
            Refusal::NotDelegated(_) | Refusal::V1NeedsRoot { .. } => true,
            Refusal::NotEnabled { delegated, .. } => *delegated,
            Refusal::NoController(_) => false,
        };
        if skip {
            CannotRun::skip(r.to_string())
        } else {
            CannotRun::unsupported(r.to_string())
        }
    }
}
