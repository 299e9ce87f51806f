//! Human output: the same events the JSON protocol carries, drawn for a
//! terminal. Colour follows `--color` and `NO_COLOR`. On a terminal the
//! "why" lines and notes are wrapped to its width (`TIOCGWINSZ` through
//! `terminal_size`, at most [`MAX_COLUMNS`]); anywhere else at the fixed
//! width the book's generated runs were made with, so that a pipe or a file
//! reads the same on every machine.

use std::io::{IsTerminal, Write};

use colored::{ColoredString, Colorize};
use textwrap::core::Word;
use textwrap::{WordSeparator, WordSplitter, WrapAlgorithm};
use unicode_width::UnicodeWidthChar;

use crate::event::{Event, Status};
use crate::i18n::{Translator, pad, tr};

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
#[derive(Debug)]
pub struct Renderer {
    steps: usize,
    counts: [usize; 5],
    /// Columns of the terminal on stdout, or `None` for a pipe or a file.
    columns: Option<usize>,
    /// The lab's texts in the current language (`crate::i18n`).
    tr: Translator,
}

impl Default for Renderer {
    /// A renderer for this process's stdout: wrapped to the terminal's
    /// width when it is one.
    fn default() -> Self {
        Renderer::with_columns(terminal_columns())
    }
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

/// The widest a terminal's text is wrapped: longer lines read badly.
pub const MAX_COLUMNS: usize = 100;

/// The width "why" lines and notes are wrapped at when stdout is not a
/// terminal (the book's generated runs, logs, `| less`).
pub const PLAIN_WIDTH: usize = 66;

/// The rule under a lab's title, when stdout is not a terminal.
const RULE: usize = 72;

/// The columns of the terminal on stdout, at most [`MAX_COLUMNS`]; `None`
/// when stdout is not a terminal (or its size is unknown).
pub fn terminal_columns() -> Option<usize> {
    let out = std::io::stdout();
    if !out.is_terminal() {
        return None;
    }
    let (w, _) = terminal_size::terminal_size_of(&out)?;
    Some(usize::from(w.0).min(MAX_COLUMNS)).filter(|&c| c > 0)
}

impl Renderer {
    /// A renderer that wraps for a terminal of `columns`, or at
    /// [`PLAIN_WIDTH`] with `None`.
    pub fn with_columns(columns: Option<usize>) -> Self {
        Renderer {
            steps: 0,
            counts: [0; 5],
            columns,
            tr: Translator::default(),
        }
    }

    /// Text after `indent` columns of prefix: the rest of the terminal's
    /// width, or [`PLAIN_WIDTH`] (a narrow terminal still gets a readable
    /// column rather than one word a line).
    fn width_after(&self, indent: usize) -> usize {
        match self.columns {
            Some(c) => c.saturating_sub(indent).max(20),
            None => PLAIN_WIDTH,
        }
    }

    /// Render one event to `out`.
    pub fn render(&mut self, e: &Event, out: &mut impl Write) -> std::io::Result<()> {
        match e {
            Event::LabStart {
                id,
                slug,
                title,
                mode,
                steps,
            } => {
                self.tr = Translator::for_slug(slug);
                let title = self.tr.text(title);
                self.steps = *steps;
                self.counts = [0; 5];
                writeln!(out)?;
                writeln!(
                    out,
                    "{} {}  {}",
                    crate::i18n::trf("Lab {id}", &[id]).bold().cyan(),
                    title.bold(),
                    format!("[{mode}]").dimmed()
                )?;
                let rule = self.columns.map_or(RULE, |c| c.min(RULE));
                writeln!(out, "{}", "─".repeat(rule).dimmed())?;
            }
            Event::Setup { text } => writeln!(out, "  {} {}", tr("setup").dimmed(), self.tr.text(text).blue())?,
            Event::StepStart {
                index,
                title,
                why,
                privilege,
            } => {
                let (title, why) = (self.tr.text(title), self.tr.text(why));
                writeln!(out)?;
                writeln!(
                    out,
                    " {:>2}/{} {}  {}",
                    index + 1,
                    self.steps,
                    title.bold(),
                    format!("({privilege})").dimmed()
                )?;
                for line in wrap(&why, self.width_after(INDENT.len())) {
                    writeln!(out, "{INDENT}{}", line.italic())?;
                }
            }
            Event::Call { text } => writeln!(out, "{INDENT}{} {}", "$".dimmed(), text.blue())?,
            Event::Observe { name, value } => {
                let v = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                writeln!(out, "{INDENT}{} {}: {}", "·".dimmed(), self.tr.text(name), v)?
            }
            Event::Check { name, ok: true, .. } => {
                writeln!(out, "{INDENT}{} {}", "✓".green().bold(), self.tr.text(name))?
            }
            Event::Check {
                name,
                ok: false,
                expected,
                actual,
            } => {
                writeln!(out, "{INDENT}{} {}", "✗".red().bold(), self.tr.text(name))?;
                let (e, a) = (tr("expected:"), tr("actual:"));
                let w = crate::i18n::width(e).max(crate::i18n::width(a));
                writeln!(out, "{INDENT}    {} {}", pad(e, w), expected.green())?;
                writeln!(out, "{INDENT}    {} {}", pad(a, w), actual.red())?;
            }
            Event::Note { text } => {
                let text = self.tr.text(text);
                let word = tr("note");
                // Runs of spaces mean columns (a table): keep them as they are.
                let lines = if text.contains("  ") {
                    text.lines().map(String::from).collect()
                } else {
                    wrap(&text, self.width_after(INDENT.len() + crate::i18n::width(word) + 1))
                };
                for line in lines {
                    writeln!(out, "{INDENT}{} {}", word.dimmed(), line)?;
                }
            }
            Event::StepEnd { status, reason, rerun } => {
                self.counts[idx(*status)] += 1;
                match reason {
                    Some(r) => writeln!(out, "{INDENT}→ {}: {}", status_word(*status), self.tr.text(r))?,
                    None => writeln!(out, "{INDENT}→ {}", status_word(*status))?,
                }
                if let Some(cmd) = rerun {
                    writeln!(out, "{INDENT}  {} {}", tr("re-run with privilege:"), cmd.bold())?;
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
                write!(
                    out,
                    "  {} {}  ({})",
                    tr("result:"),
                    status_word(*status),
                    parts.join(", ")
                )?;
                if let Some(r) = reason {
                    write!(out, ": {}", self.tr.text(r))?;
                }
                writeln!(out)?;
            }
        }
        Ok(())
    }
}

/// Wrap `text` into lines of at most `width` columns, measured with
/// `unicode-width` (a wide character takes two). Runs of whitespace become
/// one space; lines break only where [`break_offsets`] allows, and a word
/// wider than the line stands alone on its line, unbroken.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return Vec::new();
    }
    let options = textwrap::Options::new(width)
        .break_words(false)
        .word_separator(WordSeparator::Custom(words))
        // textwrap would also split `--make-rprivate` at its hyphens.
        .word_splitter(WordSplitter::NoHyphenation)
        .wrap_algorithm(WrapAlgorithm::FirstFit);
    textwrap::wrap(&text, options)
        .into_iter()
        .map(|l| l.into_owned())
        .collect()
}

/// `text` cut at [`break_offsets`], as textwrap's words (each with the
/// spaces after it).
fn words(text: &str) -> Box<dyn Iterator<Item = Word<'_>> + '_> {
    let mut start = 0;
    let mut cuts = break_offsets(text);
    cuts.push(text.len());
    Box::new(cuts.into_iter().filter_map(move |end| {
        let piece = &text[start..end];
        start = end;
        (!piece.is_empty()).then(|| Word::from(piece))
    }))
}

fn is_wide(c: char) -> bool {
    c.width() == Some(2)
}

/// The byte offsets in `text` where a line may start: after a run of
/// spaces, and at a Unicode line-break opportunity (UAX #14) next to a wide
/// character, where East Asian text, which has no spaces, may break. Not
/// after the `/` of a path or the `-` of an option, where UAX #14 would
/// also allow it.
pub fn break_offsets(text: &str) -> Vec<usize> {
    let mut cuts: Vec<usize> = text
        .char_indices()
        .zip(text.chars().skip(1))
        .filter(|((_, c), next)| *c == ' ' && *next != ' ')
        .map(|((i, _), _)| i + 1)
        .collect();
    let wide_around = |at: usize| {
        text[..at].chars().next_back().is_some_and(is_wide) || text[at..].chars().next().is_some_and(is_wide)
    };
    cuts.extend(
        unicode_linebreak::linebreaks(text)
            .map(|(at, _)| at)
            .filter(|&at| at > 0 && at < text.len() && wide_around(at)),
    );
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_on_words() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("a  bb\n ccc", 4), ["a bb", "ccc"]);
        assert!(wrap("", 10).is_empty());
        assert!(wrap(" \n ", 10).is_empty());
    }

    #[test]
    fn paths_and_options_stay_whole() {
        assert_eq!(
            wrap("see /proc/self/ns/uts and --make-rprivate now", 12),
            ["see", "/proc/self/ns/uts", "and", "--make-rprivate", "now"]
        );
    }

    #[test]
    fn wide_characters_take_two_columns_and_may_break_between() {
        // Ten wide characters are 20 columns: 8 columns hold four of them.
        assert_eq!(wrap("名前空間はプロセスの", 8), ["名前空間", "はプロセ", "スの"]);
        // UAX #14: no line starts with a full stop.
        assert_eq!(wrap("名前空間。です", 8), ["名前空", "間。です"]);
        // Latin text next to wide characters breaks at the spaces only.
        assert_eq!(wrap("uts 名前 /proc/self", 9), ["uts 名前", "/proc/self"]);
    }

    #[test]
    fn a_terminal_gets_its_width_and_a_pipe_the_plain_one() {
        let why = "word ".repeat(40);
        let lines = |columns| {
            let mut r = Renderer::with_columns(columns);
            let mut out = Vec::new();
            let e = Event::StepStart {
                index: 0,
                title: "t".into(),
                why: why.clone(),
                privilege: "none".into(),
            };
            colored::control::set_override(false);
            r.render(&e, &mut out).expect("write to vec");
            String::from_utf8(out)
                .expect("utf-8")
                .lines()
                .skip(2)
                .map(|l| l.chars().count())
                .max()
        };
        assert_eq!(lines(None), Some(INDENT.len() + 64), "66 columns hold 13 words of 5");
        assert_eq!(lines(Some(40)), Some(INDENT.len() + 34));
        assert_eq!(lines(Some(100)), Some(INDENT.len() + 94));
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
