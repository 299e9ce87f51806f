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
    let cmd = match sub {
        Some(sub) => sub,
        None => root.about(NAME).long_about(DESCRIPTION),
    };
    let has_args = cmd.get_arguments().any(|a| !a.is_hide_set());
    let has_subcommands = cmd.get_subcommands().any(|c| !c.is_hide_set());
    let man = Man::new(cmd);
    let mut out = Vec::new();
    // Writing to a Vec cannot fail. The sections in the usual order; the
    // exit codes get one of their own instead of clap_mangen's "EXTRA".
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    if has_args {
        let _ = man.render_options_section(&mut out);
    }
    if has_subcommands {
        let _ = man.render_subcommands_section(&mut out);
    }
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
    extra.control("PP", []).text([
        roman("The guide, with a chapter per lab: "),
        italic("book/"),
        roman(" in the source, built with mdbook."),
    ]);
    let _ = extra.to_writer(&mut out);
    if is_root {
        let _ = man.render_version_section(&mut out);
    }
    out
}

/// The NAME line of lab(1).
const NAME: &str = "run, explain and check the container labs";

/// The DESCRIPTION of lab(1).
const DESCRIPTION: &str = "\
A Linux container is an ordinary process that the kernel restricts with a \
handful of mechanisms: privileges and capabilities, chroot and pivot_root, \
namespaces and cgroups. lab teaches them one at a time, in numbered labs, \
and proves each step on the running kernel: every lab narrates its system \
calls like strace, reads back what the kernel did from /proc and /sys, and \
checks it.

Each lab runs in a fresh process of its own. As root every step runs; \
without root the labs run inside a user namespace of their own and skip what \
needs real root, saying why and printing the command that re-runs it. \
Nothing on the host changes either way.

A step ends pass, fail (the kernel behaved differently from what the lab \
teaches), skip (a privilege is missing), unsupported (the kernel or the \
system lacks the feature) or error (the lab itself broke).";

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

/// The command line as completion offers it: clap_complete would also
/// offer hidden subcommands (the internal `__lab`), so it gets a copy of the
/// declaration without them.
fn completable() -> clap::Command {
    let cli = Cli::command();
    let mut cmd = clap::Command::new("lab")
        .bin_name("lab")
        .disable_help_subcommand(true)
        .subcommand_required(true)
        .args(cli.get_arguments().cloned())
        .subcommands(cli.get_subcommands().filter(|c| !c.is_hide_set()).cloned());
    if let Some(v) = cli.get_version() {
        cmd = cmd.version(v.to_string());
    }
    cmd
}

/// The completion script of `shell` for `lab`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut completable(), "lab", &mut out);
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
