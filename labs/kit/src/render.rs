//! Human output: the same events the JSON protocol carries, drawn for a
//! terminal. Colour follows `--color` and `NO_COLOR`.

use std::io::{IsTerminal, Write};

use colored::{ColoredString, Colorize};

use crate::event::{Event, Status};

/// When to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Apply the choice to the whole process.
    pub fn apply(self) {
        let on = match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
            }
        };
        colored::control::set_override(on);
    }
}

/// A status word, coloured.
pub fn status_word(s: Status) -> ColoredString {
    match s {
        Status::Pass => "pass".green().bold(),
        Status::Fail => "fail".red().bold(),
        Status::Skip => "skip".yellow().bold(),
        Status::Unsupported => "unsupported".magenta().bold(),
        Status::Error => "error".red().bold().reversed(),
    }
}

/// Draws events as they arrive.
#[derive(Debug, Default)]
pub struct Renderer {
    steps: usize,
    counts: [usize; 5],
}

fn idx(s: Status) -> usize {
    match s {
        Status::Pass => 0,
        Status::Fail => 1,
        Status::Skip => 2,
        Status::Unsupported => 3,
        Status::Error => 4,
    }
}

const INDENT: &str = "      ";

impl Renderer {
    /// Render one event to `out`.
    pub fn render(&mut self, e: &Event, out: &mut impl Write) -> std::io::Result<()> {
        match e {
            Event::LabStart {
                id, title, mode, steps, ..
            } => {
                self.steps = *steps;
                self.counts = [0; 5];
                writeln!(out)?;
                writeln!(
                    out,
                    "{} {}  {}",
                    format!("Lab {id}").bold().cyan(),
                    title.bold(),
                    format!("[{mode}]").dimmed()
                )?;
                writeln!(out, "{}", "─".repeat(72).dimmed())?;
            }
            Event::Setup { text } => writeln!(out, "  {} {}", "setup".dimmed(), text.blue())?,
            Event::StepStart {
                index,
                title,
                why,
                privilege,
            } => {
                writeln!(out)?;
                writeln!(
                    out,
                    " {:>2}/{} {}  {}",
                    index + 1,
                    self.steps,
                    title.bold(),
                    format!("({privilege})").dimmed()
                )?;
                for line in wrap(why, 66) {
                    writeln!(out, "{INDENT}{}", line.italic())?;
                }
            }
            Event::Call { text } => writeln!(out, "{INDENT}{} {}", "$".dimmed(), text.blue())?,
            Event::Observe { name, value } => {
                let v = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                writeln!(out, "{INDENT}{} {}: {}", "·".dimmed(), name, v)?
            }
            Event::Check { name, ok: true, .. } => writeln!(out, "{INDENT}{} {name}", "✓".green().bold())?,
            Event::Check {
                name,
                ok: false,
                expected,
                actual,
            } => {
                writeln!(out, "{INDENT}{} {name}", "✗".red().bold())?;
                writeln!(out, "{INDENT}    expected: {}", expected.green())?;
                writeln!(out, "{INDENT}    actual:   {}", actual.red())?;
            }
            Event::Note { text } => {
                // Runs of spaces mean columns (a table): keep them as they are.
                let lines = if text.contains("  ") {
                    text.lines().map(String::from).collect()
                } else {
                    wrap(text, 66)
                };
                for line in lines {
                    writeln!(out, "{INDENT}{} {}", "note".dimmed(), line)?;
                }
            }
            Event::StepEnd { status, reason, rerun } => {
                self.counts[idx(*status)] += 1;
                match reason {
                    Some(r) => writeln!(out, "{INDENT}→ {}: {r}", status_word(*status))?,
                    None => writeln!(out, "{INDENT}→ {}", status_word(*status))?,
                }
                if let Some(cmd) = rerun {
                    writeln!(out, "{INDENT}  re-run with privilege: {}", cmd.bold())?;
                }
            }
            Event::LabEnd { status, reason } => {
                writeln!(out)?;
                let names = ["pass", "fail", "skip", "unsupported", "error"];
                let parts: Vec<String> = self
                    .counts
                    .iter()
                    .zip(names)
                    .filter(|(n, _)| **n > 0)
                    .map(|(n, w)| format!("{n} {w}"))
                    .collect();
                write!(out, "  result: {}  ({})", status_word(*status), parts.join(", "))?;
                if let Some(r) = reason {
                    write!(out, ": {r}")?;
                }
                writeln!(out)?;
            }
        }
        Ok(())
    }
}

/// Greedy word wrap.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_on_words() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert!(wrap("", 10).is_empty());
    }

    #[test]
    fn failed_checks_show_expected_and_actual() {
        colored::control::set_override(false);
        let mut r = Renderer::default();
        let mut out = Vec::new();
        let e = Event::Check {
            name: "pid".into(),
            ok: false,
            expected: "1".into(),
            actual: "2".into(),
        };
        r.render(&e, &mut out).expect("write to vec");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(text, "      ✗ pid\n          expected: 1\n          actual:   2\n");
    }
}
