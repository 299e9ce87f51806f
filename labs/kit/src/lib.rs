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
pub mod error;
pub mod event;
pub mod exec;
pub mod inspect;
pub mod ipc;
pub mod lab;
pub mod mount;
pub mod narrate;
pub mod net;
pub mod ops;
pub mod privilege;
pub mod proc;
pub mod render;
pub mod sys;

use std::process::ExitCode;

use clap::Parser;

pub use decl::{LabDecl, Mechanism, Privilege, Requirement, Rootless, StepDecl};
pub use error::KitError;
pub use event::{Event, LabReport, Status};
pub use lab::{Format, Halt, Lab, Step};
pub use narrate::Narrate;
pub use proc::Who;
pub use render::ColorChoice;

/// What a lab needs in scope.
pub mod prelude {
    pub use crate::child::{self, Child, ChildCtx};
    pub use crate::decl::{LabDecl, Mechanism, Privilege, Requirement, Rootless, StepDecl};
    pub use crate::exec::{self, Program};
    pub use crate::lab::{Halt, Lab, Step};
    pub use crate::narrate::Narrate;
    pub use crate::ops;
    pub use crate::privilege::Mode;
    pub use crate::proc::{self, Who};
    pub use anyhow::{self, Context as _, bail};
    pub use nix::errno::Errno;
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
            let msg = e.to_string();
            eprintln!(
                "error: {}",
                msg.lines()
                    .next()
                    .unwrap_or("invalid arguments")
                    .trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    args.color.apply();
    if args.explain {
        println!("{}", decl.explanation);
        return ExitCode::SUCCESS;
    }
    let report = lab::run_lab(decl, args.format);
    ExitCode::from(lab::exit_code(&report))
}
