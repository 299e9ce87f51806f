//! `lab man` and `lab completions`: the manual pages and the shell
//! completion scripts, generated from the one clap declaration
//! ([`crate::cli::Cli`]) by clap_mangen and clap_complete, like `--help`.
//! The book and the Debian package carry the same files
//! (`book/src/generated/`, checked by the book test).

use clap::CommandFactory;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::cli::{Cli, EXIT_CODES};

/// The root command, built (subcommands know their `lab-NAME` names).
fn root() -> clap::Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd
}

/// The commands that have a page of their own: the visible subcommands.
pub fn commands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_string())
        .collect()
}

/// A command that has a page (`lab man COMMAND`).
#[derive(Debug, Clone, Copy)]
pub struct PageParser;

impl TypedValueParser for PageParser {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        PossibleValuesParser::new(commands()).parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(commands().into_iter().map(PossibleValue::new)))
    }
}

/// The file name of the page of `command` (`None`: of `lab` itself).
pub fn file_name(command: Option<&str>) -> String {
    match command {
        None => "lab.1".into(),
        Some(c) => format!("lab-{c}.1"),
    }
}

/// The roff source of the page of `command`, or of `lab` with `None`.
/// Unknown commands are refused by [`PageParser`] before this.
pub fn page(command: Option<&str>) -> Vec<u8> {
    let root = root();
    let sub = command.and_then(|c| root.find_subcommand(c)).cloned();
    let is_root = sub.is_none();
    // The exit codes get a section of their own below, not clap_mangen's
    // "EXTRA".
    let cmd = sub.unwrap_or_else(|| root.clone()).after_help(None::<&str>);
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = Man::new(cmd).render(&mut out);
    let mut extra = Roff::new();
    if is_root || command == Some("run") {
        extra.control("SH", ["EXIT STATUS"]);
        for line in EXIT_CODES.lines().skip(1) {
            let (code, meaning) = line.trim().split_once(' ').unwrap_or((line, ""));
            extra.control("TP", []).text([bold(code)]).text([roman(meaning.trim())]);
        }
    }
    if is_root || command == Some("explain") {
        extra.control("SH", ["ENVIRONMENT"]);
        for (name, meaning) in ENVIRONMENT {
            extra.control("TP", []).text([bold(*name)]).text([roman(*meaning)]);
        }
    }
    extra.control("SH", ["SEE ALSO"]);
    let mut see: Vec<String> = if is_root {
        commands().iter().map(|c| format!("lab-{c}(1)")).collect()
    } else {
        vec!["lab(1)".into()]
    };
    see.extend(SEE_ALSO.iter().map(|s| s.to_string()));
    extra.text([roman(see.join(", "))]);
    extra.text([
        roman("The guide, with a chapter per lab: "),
        italic("book/"),
        roman(" in the source, built with mdbook."),
    ]);
    let _ = extra.to_writer(&mut out);
    out
}

/// Every page: its file name and its roff source.
pub fn pages() -> Vec<(String, Vec<u8>)> {
    std::iter::once(None)
        .chain(commands().iter().map(|c| Some(c.as_str())))
        .map(|c| (file_name(c), page(c)))
        .collect()
}

/// What `lab` reads from its environment.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("NO_COLOR", "When set and not empty, --color auto prints no colour."),
    (
        "LAB_PAGER",
        "The pager of lab explain; empty (or cat) for none. It is run with sh -c.",
    ),
    ("PAGER", "The pager when LAB_PAGER is unset; the default is less -R."),
    ("LESS", "Options of less; FRX when unset, as git sets it."),
    (
        "CONTAINER_LABS_LAB_EXE",
        "The executable lab run starts for each lab (PATH __lab ID --format json) instead of itself; the fault tests use it.",
    ),
];

/// The pages of the mechanisms the labs teach.
const SEE_ALSO: &[&str] = &[
    "unshare(1)",
    "nsenter(1)",
    "lsns(8)",
    "namespaces(7)",
    "user_namespaces(7)",
    "capabilities(7)",
    "cgroups(7)",
    "mount_namespaces(7)",
    "pivot_root(2)",
];

/// The completion script of `shell` for `lab`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "lab", &mut out);
    out
}

/// The completion scripts that packages install, with their file names as
/// each shell looks them up.
pub fn packaged_completions() -> Vec<(String, Vec<u8>)> {
    use clap_complete::Shell;
    [
        (Shell::Bash, "lab.bash"),
        (Shell::Zsh, "_lab"),
        (Shell::Fish, "lab.fish"),
    ]
    .into_iter()
    .map(|(shell, name)| (name.to_string(), completions(shell)))
    .collect()
}
