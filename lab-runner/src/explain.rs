//! `lab explain`: a lab's Markdown, drawn for a terminal (see
//! [`crate::markdown`]) and shown through the pager when it is taller than
//! the screen.

use std::io::IsTerminal;

use crate::markdown::{Look, render};

/// The width text is wrapped to when stdout is not a terminal.
pub const PIPE_WIDTH: usize = 80;

/// How `lab explain` draws on this process's stdout: the terminal's width
/// (at most 100 columns) and OSC 8 links on a terminal, styles when colour
/// is on (`--color`, `NO_COLOR`).
pub fn look() -> Look {
    let columns = lab_kit::render::terminal_columns();
    let color = colored::control::SHOULD_COLORIZE.should_colorize();
    Look {
        color,
        hyperlinks: color && std::io::stdout().is_terminal(),
        width: columns.unwrap_or(PIPE_WIDTH),
    }
}

/// A lab's lesson in the current language: its `explain.ja.md` in
/// Japanese, or the English with a one-line note where there is none yet.
pub fn lesson(lab: &lab_kit::LabDecl) -> String {
    use lab_kit::i18n::{Lang, current, tr};
    match (current(), lab.i18n.ja_explanation) {
        (Lang::En, _) => lab.explanation.to_string(),
        (Lang::Ja, Some(ja)) => ja.to_string(),
        (Lang::Ja, None) => format!(
            "> {}\n\n{}",
            tr("This lesson has no Japanese translation yet; here is the English."),
            lab.explanation
        ),
    }
}

/// Print a lab's explanation, through the pager unless `no_pager`.
pub fn show(markdown: &str, no_pager: bool) -> std::io::Result<()> {
    let text = render(markdown, &look());
    crate::pager::show(&text, !no_pager)
}
