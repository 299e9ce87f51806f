//! The pager, as git has it: text taller than the terminal goes through
//! `$LAB_PAGER`, else `$PAGER`, else `less -R`, run by `sh -c`. An empty
//! value (or `cat`) means no pager; so does stdout not being a terminal.
//! `LESS` defaults to `FRX`, as git sets it: colours pass through, and a
//! text that fits is printed as it is.

use std::io::{IsTerminal, Write};
use std::process::{Command, Stdio};

/// The pager command, from the environment (`None`: print directly).
pub fn command_from(lab_pager: Option<&str>, pager: Option<&str>) -> Option<String> {
    let cmd = lab_pager.or(pager).unwrap_or("less -R").trim();
    (!cmd.is_empty() && cmd != "cat").then(|| cmd.to_string())
}

fn env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// Rows of the terminal on stdout, when it is one.
fn rows() -> Option<usize> {
    let out = std::io::stdout();
    if !out.is_terminal() {
        return None;
    }
    terminal_size::terminal_size_of(&out).map(|(_, h)| usize::from(h.0))
}

/// Show `text`: through the pager when `allowed`, stdout is a terminal and
/// the text does not fit on its screen (with the prompt after it); printed
/// directly otherwise, and when the pager cannot be started.
pub fn show(text: &str, allowed: bool) -> std::io::Result<()> {
    let pager = command_from(env("LAB_PAGER").as_deref(), env("PAGER").as_deref());
    if let (true, Some(rows), Some(cmd)) = (allowed, rows(), pager)
        && text.lines().count() >= rows
        && page(text, &cmd).is_ok()
    {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

fn page(text: &str, cmd: &str) -> std::io::Result<()> {
    let mut command = Command::new("sh");
    command.args(["-c", cmd]).stdin(Stdio::piped());
    if std::env::var_os("LESS").is_none() {
        command.env("LESS", "FRX");
    }
    if std::env::var_os("LV").is_none() {
        command.env("LV", "-c");
    }
    // Ctrl-C in the pager reaches this process too (one process group):
    // note it instead of dying and leaving the pager on the terminal.
    let _ = lab_kit::sys::catch_interrupts();
    let mut child = command.spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        // A pager quit early closes the pipe: not an error.
        let _ = stdin.write_all(text.as_bytes());
    }
    let status = child.wait()?;
    // `sh` says 127 when the pager is not installed: print directly then.
    if status.code() == Some(127) {
        return Err(std::io::Error::other(format!("{cmd}: not found")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::command_from;

    #[test]
    fn lab_pager_wins_and_empty_means_none() {
        assert_eq!(command_from(None, None).as_deref(), Some("less -R"));
        assert_eq!(command_from(None, Some("more")).as_deref(), Some("more"));
        assert_eq!(command_from(Some("most"), Some("more")).as_deref(), Some("most"));
        assert_eq!(command_from(Some(""), Some("more")), None);
        assert_eq!(command_from(None, Some("")), None);
        assert_eq!(command_from(Some("cat"), None), None);
    }
}
