//! The lab kit: everything the labs share.
//!
//! A lab is declared once ([`LabDecl`]) and runs as an ordered list of steps
//! ([`Lab::step`]). Each step narrates its system calls like strace, records
//! what it reads back from `/proc` (normalized: namespaces by relation, never
//! by inode), and checks the kernel's behaviour. The kit decides, before each
//! step, whether the caller's privilege allows it ([`privilege`]), and keeps the
//! host safe: children die with the lab ([`sys::fork_tied`]), mounts happen in a
//! private mount namespace ([`ops::private_mount_ns`]).
//!
//! All `unsafe` code lives in [`sys`].

pub mod capability;
pub mod cgroup;
pub mod child;
pub mod container;
pub mod decl;
pub mod environment;
pub mod error;
pub mod event;
pub mod exec;
pub mod exercise;
pub mod i18n;
pub mod inspect;
pub mod ipc;
pub mod lab;
pub mod mount;
pub mod narrate;
pub mod net;
pub mod op;
pub mod ops;
pub mod outcome;
pub mod overlay;
pub mod pace;
pub mod privilege;
pub mod proc;
pub mod render;
pub mod scratch;
pub mod seccomp;
pub mod sys;

use std::process::ExitCode;

use clap::Parser;

pub use decl::{LabDecl, Mechanism, Needs, Privilege, Requirement, Rootless, StepDecl};
pub use error::KitError;
pub use event::{Event, LabReport, Status};
pub use lab::{Format, Halt, Lab, Step};
pub use narrate::Narrate;
pub use proc::Who;
pub use render::ColorChoice;

/// What a lab needs in scope.
pub mod prelude {
    pub use crate::child::{self, Child, ChildCtx, Cue};
    pub use crate::decl::{LabDecl, Mechanism, Needs, Privilege, Requirement, Rootless, StepDecl};
    pub use crate::exec::{self, Program};
    pub use crate::i18n::LabI18n;
    pub use crate::lab::{Halt, Lab, Step};
    pub use crate::narrate::Narrate;
    pub use crate::op::{self, Arg, Op};
    pub use crate::ops;
    pub use crate::privilege::Mode;
    pub use crate::proc::{self, Who};
    pub use anyhow::{self, Context as _, bail};
    pub use caps::Capability;
    pub use nix::errno::Errno;
    pub use nix::fcntl::OFlag;
    pub use nix::mount::MsFlags;
    pub use nix::sched::CloneFlags;
}

/// Options of a standalone lab binary.
#[derive(Debug, Parser)]
#[command(about = "Run one container lab on its own (the `lab` runner carries them all)")]
pub struct LabArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// When to use colour (NO_COLOR is honoured with `auto`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print the lab's explanation instead of running it.
    #[arg(long)]
    pub explain: bool,
}

/// A command-line error in one line that still says what is wrong: clap's
/// first line, the missing arguments it lists under it, and the valid values
/// when it names them. Help requested by omission reads as what is missing.
pub fn one_line_error(err: &clap::Error) -> String {
    use clap::error::ErrorKind;
    let text = err.render().to_string();
    let lines: Vec<&str> = text.lines().collect();
    let first = lines
        .iter()
        .find(|l| !l.trim().is_empty())
        .map_or("invalid usage", |l| l.trim());
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let usage = lines.iter().find_map(|l| l.trim().strip_prefix("Usage: "));
    let mut msg = match err.kind() {
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => match usage {
            Some(u) => format!("missing arguments; usage: {u}"),
            None => "missing arguments; see --help".to_string(),
        },
        ErrorKind::MissingRequiredArgument => {
            // The missing ones are listed, indented, under the first line.
            let missing: Vec<&str> = lines
                .iter()
                .skip_while(|l| !l.contains("required arguments were not provided"))
                .skip(1)
                .take_while(|l| l.starts_with("  "))
                .map(|l| l.trim())
                .collect();
            format!("missing {}", missing.join(" "))
        }
        _ => first.to_string(),
    };
    if err.kind() == ErrorKind::InvalidValue
        && let Some(values) = lines.iter().find_map(|l| l.trim().strip_prefix("[possible values: "))
    {
        msg.push_str(&format!(" (possible values: {})", values.trim_end_matches(']')));
    }
    format!("error: {msg}")
}

/// The whole `main` of a lab binary.
pub fn main(decl: &'static LabDecl) -> ExitCode {
    if let Some(code) = exec::helper_main() {
        return code;
    }
    let args = match LabArgs::try_parse() {
        Ok(a) => a,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{}", one_line_error(&e));
            return ExitCode::from(2);
        }
    };
    args.color.apply();
    if args.format == Format::Human {
        i18n::register_labs(&[decl]);
        i18n::set(i18n::from_env());
    }
    if args.explain {
        let ja = decl.i18n.ja_explanation.filter(|_| i18n::current() == i18n::Lang::Ja);
        println!("{}", ja.unwrap_or(decl.explanation));
        return ExitCode::SUCCESS;
    }
    let report = lab::run_lab(decl, args.format);
    ExitCode::from(lab::exit_code(&report))
}
