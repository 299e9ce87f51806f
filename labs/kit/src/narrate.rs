//! Narration: system calls told like strace, observations, checks and notes.
//! The same trait serves a step in the lab process and a forked child, which
//! sends its narration back to the parent. A call is told only by running
//! its value ([`Narrate::run`], [`crate::op`]): there is no way to print a
//! call that was not made.

use std::fmt::Display;

use nix::errno::Errno;
use serde::Serialize;

use crate::event::Event;

/// The errno of an I/O error, EIO when it carries none, for narration.
pub fn errno_of_io(e: &std::io::Error) -> Errno {
    e.raw_os_error().map_or(Errno::EIO, Errno::from_raw)
}

/// `EPERM (Operation not permitted)`.
pub fn errno_text(e: Errno) -> String {
    format!("{e:?} ({})", e.desc())
}

/// Anything that can tell the reader what happened.
pub trait Narrate {
    /// Send one event to the report.
    fn emit(&mut self, event: Event);

    /// Make the call `op` is, then narrate it from the value and its real
    /// result (the strace line of [`crate::op`]), and hand the result back.
    fn run<O: crate::op::Op>(&mut self, op: O) -> Result<O::Output, Errno> {
        let res = op.run();
        self.emit(Event::Call {
            text: crate::op::line(&op, &res),
        });
        res
    }

    /// Record a value read back from the kernel (already normalized).
    fn observe(&mut self, name: impl Into<String>, value: impl Serialize) {
        let value =
            serde_json::to_value(value).unwrap_or_else(|e| serde_json::Value::String(format!("<unserializable: {e}>")));
        self.emit(Event::Observe {
            name: name.into(),
            value,
        });
    }

    /// Record a check; returns whether it held.
    fn check(&mut self, name: impl Into<String>, ok: bool, expected: impl Display, actual: impl Display) -> bool {
        self.emit(Event::Check {
            name: name.into(),
            ok,
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
        ok
    }

    /// Check that `actual` equals `expected`.
    fn check_eq<T: PartialEq + Display + ?Sized>(&mut self, name: impl Into<String>, expected: &T, actual: &T) -> bool {
        self.check(name, expected == actual, expected, actual)
    }

    /// Check that a call failed with `expected`.
    fn check_errno<T>(&mut self, name: impl Into<String>, expected: Errno, res: &Result<T, Errno>) -> bool {
        let actual = match res {
            Ok(_) => "success".to_string(),
            Err(e) => format!("{e:?}"),
        };
        self.check(name, actual == format!("{expected:?}"), format!("{expected:?}"), actual)
    }

    /// Check that a call succeeded.
    fn check_ok<T>(&mut self, name: impl Into<String>, res: &Result<T, Errno>) -> bool {
        let actual = match res {
            Ok(_) => "success".to_string(),
            Err(e) => format!("{e:?}"),
        };
        self.check(name, res.is_ok(), "success", actual)
    }

    /// Check that a machine-specific value did not change, without putting the
    /// value itself in the report unless the check fails.
    fn check_unchanged<T: PartialEq + Display>(&mut self, name: impl Into<String>, before: &T, after: &T) -> bool {
        if before == after {
            self.check(name, true, "unchanged", "unchanged")
        } else {
            self.check(name, false, before, after)
        }
    }

    /// A remark for the reader.
    fn note(&mut self, text: impl Into<String>) {
        self.emit(Event::Note { text: text.into() });
    }
}

/// A narrator that tells nothing: for setup whose details are told another way.
pub struct Quiet;

impl Narrate for Quiet {
    fn emit(&mut self, _: Event) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Sink(Vec<Event>);
    impl Narrate for Sink {
        fn emit(&mut self, event: Event) {
            self.0.push(event);
        }
    }

    #[test]
    fn a_call_is_narrated_from_its_value_after_it_ran() {
        let mut s = Sink::default();
        let missing = "/nonexistent/container-labs";
        let res = s.run(crate::op::Chdir::new(missing));
        assert_eq!(res, Err(Errno::ENOENT));
        let Event::Call { text } = &s.0[0] else {
            panic!("not a call")
        };
        assert_eq!(
            text,
            r#"chdir("/nonexistent/container-labs") = -1 ENOENT (No such file or directory)"#
        );
    }

    #[test]
    fn checks_compare_and_hide_unchanged_values() {
        let mut s = Sink::default();
        assert!(s.check_errno("refused", Errno::EPERM, &Err::<(), _>(Errno::EPERM)));
        assert!(!s.check_errno("refused", Errno::EPERM, &Ok::<(), Errno>(())));
        assert!(s.check_unchanged("hostname", &"myhost", &"myhost"));
        assert!(!s.check_unchanged("hostname", &"myhost", &"lab"));
        let Event::Check { expected, actual, .. } = &s.0[2] else {
            panic!("not a check")
        };
        assert_eq!((expected.as_str(), actual.as_str()), ("unchanged", "unchanged"));
        let Event::Check {
            expected, actual, ok, ..
        } = &s.0[3]
        else {
            panic!("not a check")
        };
        assert_eq!((expected.as_str(), actual.as_str(), *ok), ("myhost", "lab", false));
    }
}
