//! A student's progress: one small JSON file,
//! `$XDG_STATE_HOME/container-labs/exercises.json` (by default
//! `~/.local/state/container-labs/exercises.json`), that can be copied to
//! another machine. Completion is sticky: a `done` exercise stays done until
//! `lab exercise reset`. Only `lab exercise start` and `reset` write it;
//! `lab exercise run` (instructors, CI) leaves it alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Errors reading or writing the progress file.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    /// Neither `XDG_STATE_HOME` nor `HOME` says where it goes.
    #[error("cannot tell where progress is kept: neither XDG_STATE_HOME nor HOME is set to an absolute path")]
    NoHome,
    /// The file or its directory could not be read or written.
    #[error("cannot access {path}: {err}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        err: std::io::Error,
    },
    /// The file is not a progress file.
    #[error("{path} is not a progress file: {err}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The cause.
        err: serde_json::Error,
    },
}

/// How far a student got with one exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Never started.
    #[default]
    New,
    /// Started, not (yet) done.
    Attempted,
    /// Every check held once.
    Done,
}

impl State {
    /// The word used in listings and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::Attempted => "attempted",
            State::Done => "done",
        }
    }
}

/// One exercise's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Entry {
    /// New, attempted or done.
    pub state: State,
    /// How many times a sandbox was started for it.
    pub attempts: u32,
    /// How many hints were asked for.
    pub hints: u32,
    /// When it was first started (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_started: Option<u64>,
    /// When its checks first held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<u64>,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The file format's version.
    pub format: u32,
    /// By exercise id.
    pub exercises: BTreeMap<String, Entry>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            format: 1,
            exercises: BTreeMap::new(),
        }
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `$XDG_STATE_HOME/container-labs/exercises.json`, or under `~/.local/state`.
pub fn path() -> Result<PathBuf, ProgressError> {
    let absolute = |var: &str| std::env::var_os(var).map(PathBuf::from).filter(|p| p.is_absolute());
    let base = absolute("XDG_STATE_HOME")
        .or_else(|| absolute("HOME").map(|h| h.join(".local/state")))
        .ok_or(ProgressError::NoHome)?;
    Ok(base.join(crate::cgroup::PARENT).join("exercises.json"))
}

impl Progress {
    /// Read the file at `path`; a missing file is empty progress.
    pub fn load(path: &Path) -> Result<Progress, ProgressError> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|err| ProgressError::Format {
                path: path.to_path_buf(),
                err,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Progress::default()),
            Err(err) => Err(ProgressError::Io {
                path: path.to_path_buf(),
                err,
            }),
        }
    }

    /// Write it whole: a temporary file in the same directory, renamed over
    /// the old one, so a killed `lab` never leaves half a file.
    pub fn save(&self, path: &Path) -> Result<(), ProgressError> {
        let io = |err| ProgressError::Io {
            path: path.to_path_buf(),
            err,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension(format!("json.{}", std::process::id()));
        let mut text = serde_json::to_string_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        text.push('\n');
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
    }

    /// The record of `id` (a default one when there is none).
    pub fn get(&self, id: &str) -> Entry {
        self.exercises.get(id).cloned().unwrap_or_default()
    }

    /// A sandbox was started for `id`.
    pub fn started(&mut self, id: &str) {
        let e = self.exercises.entry(id.to_string()).or_default();
        e.attempts += 1;
        e.first_started.get_or_insert_with(now);
        if e.state == State::New {
            e.state = State::Attempted;
        }
    }

    /// A hint was given for `id`.
    pub fn hinted(&mut self, id: &str) {
        self.exercises.entry(id.to_string()).or_default().hints += 1;
    }

    /// Every check of `id` held: done, for good.
    pub fn completed(&mut self, id: &str) {
        let e = self.exercises.entry(id.to_string()).or_default();
        if e.state != State::Done {
            e.state = State::Done;
            e.completed = Some(now());
        }
    }

    /// Forget `id`, or everything.
    pub fn reset(&mut self, id: Option<&str>) {
        match id {
            Some(id) => {
                self.exercises.remove(id);
            }
            None => self.exercises.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_is_sticky_and_reset_forgets() {
        let mut p = Progress::default();
        assert_eq!(p.get("06-hostname").state, State::New);
        p.started("06-hostname");
        p.hinted("06-hostname");
        assert_eq!(p.get("06-hostname").state, State::Attempted);
        p.completed("06-hostname");
        let done = p.get("06-hostname").completed;
        p.started("06-hostname");
        p.completed("06-hostname");
        let e = p.get("06-hostname");
        assert_eq!((e.state, e.attempts, e.hints, e.completed), (State::Done, 2, 1, done));
        p.started("07-pid1");
        p.reset(Some("06-hostname"));
        assert_eq!(p.get("06-hostname"), Entry::default());
        assert_eq!(p.get("07-pid1").state, State::Attempted);
        p.reset(None);
        assert!(p.exercises.is_empty());
    }

    #[test]
    fn the_file_round_trips_and_a_missing_one_is_empty() {
        let dir = std::env::temp_dir().join(format!("container-labs-progress-test-{}", std::process::id()));
        let file = dir.join("x/exercises.json");
        assert_eq!(Progress::load(&file).ok(), Some(Progress::default()));
        let mut p = Progress::default();
        p.started("02-bind");
        p.save(&file).expect("saved");
        assert_eq!(Progress::load(&file).ok(), Some(p));
        std::fs::write(&file, "not json").expect("written");
        assert!(matches!(Progress::load(&file), Err(ProgressError::Format { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
