//! The command line: every misuse gives one line on stderr and exit 2;
//! the machine formats parse.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use std::process::Command;

use common::LAB;

fn lab(args: &[&str]) -> std::process::Output {
    Command::new(LAB)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the runner starts")
}

#[test]
fn misuse_is_one_line_and_exit_2() {
    let cases: &[&[&str]] = &[
        &["run", "99"],
        &["run", "06", "nope"],
        &["run", "--format", "xml"],
        &["run", "--format", "json", "--format", "human"],
        &["run", "--timeout", "0"],
        &["run", "--timeout", "soon"],
        &["run", "--bogus"],
        &["frob"],
        &[],
        &["explain"],
        &["explain", "99"],
        &["list", "--format", "yaml"],
        &["doctor", "--color", "sometimes"],
        &["__lab", "99"],
        &["inspect", "abc"],
        &["inspect", "0"],
        &["inspect", "-5"],
        &["inspect", "4194305"],
        &["inspect", "1", "2"],
        &["inspect", "1", "--format", "yaml"],
        &["completions"],
        &["completions", "tcsh"],
        &["man", "frob"],
        &["man", "run", "list"],
        &["run", "-q", "-v"],
        &["explain", "06", "--pager"],
        &["bench", "--format", "html"],
        &["bench", "--runs", "1"],
    ];
    for args in cases {
        let out = lab(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "`lab {}` should exit 2; stderr: {stderr}",
            args.join(" ")
        );
        assert_eq!(
            stderr.lines().count(),
            1,
            "`lab {}` should say one line, said:\n{stderr}",
            args.join(" ")
        );
        assert!(stderr.starts_with("error: "), "`lab {}`: {stderr}", args.join(" "));
        assert!(out.stdout.is_empty(), "`lab {}` printed on stdout", args.join(" "));
    }
}

#[test]
fn usage_errors_say_what_is_wrong() {
    for (args, want) in [
        (&["explain"][..], "error: missing <ID>"),
        (
            &["container"],
            "error: missing arguments; usage: lab container [OPTIONS] <CMD>...",
        ),
        (&[], "error: missing arguments; usage: lab [OPTIONS] <COMMAND>"),
        (
            &["run", "--format", "xml"],
            "error: invalid value 'xml' for '--format <FORMAT>' (possible values: human, json, junit, tap)",
        ),
        (&["frob"], "error: unrecognized subcommand 'frob'"),
    ] {
        let out = lab(args);
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim_end(),
            want,
            "lab {}",
            args.join(" ")
        );
    }
}

#[test]
fn unknown_lab_names_the_id() {
    let out = lab(&["run", "99"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: unknown lab '99' (see `lab list`)"
    );
}

#[test]
fn help_documents_exit_codes() {
    let out = lab(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for code in ["0 ", "1 ", "2 ", "3 ", "130 "] {
        assert!(
            text.contains(&format!("\n  {code}")),
            "--help does not document exit code {code}:\n{text}"
        );
    }
}

#[test]
fn list_json_has_every_declared_field() {
    let out = lab(&["list", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("list --format json is JSON");
    let labs = v.as_array().expect("an array");
    assert_eq!(labs.len(), lab_runner::registry::LABS.len());
    for (l, decl) in labs.iter().zip(lab_runner::registry::LABS) {
        assert_eq!(l["id"], decl.id);
        assert_eq!(l["slug"], decl.slug);
        assert_eq!(l["title"], decl.title);
        assert!(l["mechanisms"].as_array().is_some_and(|m| !m.is_empty()));
        assert!(["none", "userns", "delegated", "root"].contains(&l["privilege"].as_str().unwrap_or("")));
    }
}

#[test]
fn ids_are_accepted_in_every_form() {
    for id in ["07", "7", "uts", "07-uts"] {
        let out = lab(&["explain", id]);
        assert_eq!(out.status.code(), Some(0), "explain {id}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("UTS namespace"));
    }
}

#[test]
fn run_json_reports_environment_labs_and_summary() {
    require_root!();
    let out = lab(&["run", "--format", "json", "07", "uts"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("run --format json is JSON");
    for key in ["kernel", "cgroup_mode", "euid", "userns"] {
        assert!(v["environment"].get(key).is_some(), "environment lacks {key}");
    }
    let labs = v["labs"].as_array().expect("labs");
    assert_eq!(labs.len(), 1, "a lab named twice runs once");
    assert_eq!(labs[0]["status"], "pass");
    assert!(labs[0]["duration_ms"].is_u64());
    assert!(labs[0]["steps"][0]["checks"].is_array());
    assert_eq!(v["summary"]["pass"], 1);
}

#[test]
fn no_color_means_no_escape_codes() {
    let out = lab(&["--color", "always", "list"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains('\x1b'),
        "--color always colours"
    );
    let out = Command::new(LAB)
        .args(["list"])
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains('\x1b'),
        "NO_COLOR is honoured"
    );
}

#[test]
fn inspect_shows_a_process_and_bad_pids_say_why() {
    let me = std::process::id().to_string();
    let out = lab(&["inspect", &me]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for field in [
        "namespaces",
        "uid_map",
        "capabilities",
        "effective",
        "cgroups",
        "root",
        "seccomp",
        "no_new_privs",
    ] {
        assert!(text.contains(field), "`lab inspect PID` lacks {field}:\n{text}");
    }
    let out = lab(&["inspect", &me, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inspect --format json is JSON");
    assert_eq!(v["pid"].as_i64(), Some(i64::from(std::process::id() as i32)));
    assert_eq!(
        v["namespaces"].as_array().map(Vec::len),
        Some(lab_kit::proc::NS_TYPES.len())
    );
    assert_eq!(v["no_new_privs"], false);
    // A pid above the kernel's maximum (4194304) can never exist.
    let out = lab(&["inspect", "4194305"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: no process with PID 4194305"
    );
    let out = lab(&["inspect", "abc"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid PID 'abc': expected a positive number"
    );
}

#[test]
fn inspect_without_pid_lists_processes_with_capabilities() {
    let out = lab(&["inspect", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let rows = rows.as_array().expect("an array");
    for r in rows {
        assert_ne!(r["capabilities"], "none", "a row without capabilities: {r}");
    }
    if common::is_root() {
        // The test runs as root: its own process holds capabilities.
        let me = i64::from(std::process::id() as i32);
        assert!(rows.iter().any(|r| r["pid"].as_i64() == Some(me)), "own pid not listed");
    }
}

#[test]
fn japanese_help_leaves_no_english_of_clap_behind() {
    // clap appends possible values and defaults in English; the Japanese
    // help writes them itself, with each value's help translated.
    for args in [
        &["--lang", "ja", "container", "--help"][..],
        &["--lang", "ja", "run", "--help"][..],
        &["--lang", "ja", "run", "-h"][..],
        &["--lang", "ja", "vm", "--help"][..],
    ] {
        let out = lab(args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        for english in ["Possible values", "possible values", "[default:", "Usage:", "Options:"] {
            assert!(!text.contains(english), "{args:?} still says {english:?}:\n{text}");
        }
        assert!(text.contains("[既定: "), "{args:?} shows its defaults:\n{text}");
        assert!(text.contains("指定できる値"), "{args:?} lists possible values:\n{text}");
    }
    let long = String::from_utf8_lossy(&lab(&["--lang", "ja", "container", "--help"]).stdout).into_owned();
    assert!(
        long.contains("- unconfined: フィルタなし"),
        "a value's own help is translated:\n{long}"
    );
    // English stays as clap writes it.
    let en = String::from_utf8_lossy(&lab(&["--lang", "en", "container", "--help"]).stdout).into_owned();
    assert!(
        en.contains("Possible values:") && en.contains("[default: default]"),
        "{en}"
    );
}

#[test]
fn refusal_reasons_read_in_japanese_cause_and_fix() {
    // The reason is "cause; fix", each from the kit's catalog; the joint
    // must not leave either in English (a specific template once swallowed
    // the fix into its trailing placeholder).
    for (emulator, args, fix) in [
        (
            common::REFUSE,
            &["sethostname", "--"][..],
            "そのフィルタなしで実行してください",
        ),
        (common::NS_LIMIT, &["uts", "--"][..], "引き上げてください"),
    ] {
        let out = Command::new(emulator)
            .args(args)
            .args([LAB, "--lang", "ja", "run", "uts", "--color", "never"])
            .output()
            .expect("the emulator starts");
        let text = String::from_utf8_lossy(&out.stdout);
        let summary = text
            .lines()
            .find(|l| l.trim_start().starts_with("07  uts"))
            .unwrap_or_default();
        assert!(
            summary.contains("unsupported") && summary.contains(fix),
            "{summary}\n{text}"
        );
        for english in ["run without", "raise it", "; "] {
            assert!(!summary.contains(english), "{english:?} left in {summary}");
        }
    }
}

/// The README's promise: the one file `lab` can be copied to another
/// machine of the same architecture, whatever its glibc. That holds for a
/// static executable: no program interpreter (`PT_INTERP`) and no shared
/// library (`DT_NEEDED`). It also starts faster (see lab 17's bench).
#[test]
fn lab_is_one_executable_that_loads_no_shared_library() {
    use object::read::elf::{Dyn, FileHeader, ProgramHeader};
    let data = std::fs::read(LAB).expect("read the lab executable");
    let header = object::elf::FileHeader64::<object::Endianness>::parse(&*data).expect("an ELF64 executable");
    let endian = header.endian().expect("its byte order");
    let mut interpreter = false;
    let mut needed = 0;
    for ph in header.program_headers(endian, &*data).expect("its program headers") {
        interpreter |= ph.p_type(endian) == object::elf::PT_INTERP;
        if let Ok(Some(entries)) = ph.dynamic(endian, &*data) {
            needed += entries
                .iter()
                .filter(|d| d.d_tag(endian) == u64::from(object::elf::DT_NEEDED))
                .count();
        }
    }
    assert!(
        !interpreter && needed == 0,
        "{LAB} is dynamically linked (interpreter: {interpreter}, {needed} shared libraries): \
         build it with .cargo/config.toml's static target (cargo build, not RUSTFLAGS that replace it)"
    );
}
