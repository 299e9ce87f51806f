//! The `lab` runner: one executable that carries every lab. It lists them,
//! runs each in a fresh process of its own (by re-executing itself), explains
//! them, and reports what this machine offers them (`lab doctor`).

pub mod app;
pub mod bench;
pub mod cli;
pub mod container;
pub mod diff;
pub mod doctor;
pub mod env;
pub mod exercise;
pub mod explain;
pub mod formats;
pub mod i18n;
pub mod manpage;
pub mod markdown;
pub mod matrix;
pub mod pager;
pub mod registry;
pub mod run;
pub mod vm;
