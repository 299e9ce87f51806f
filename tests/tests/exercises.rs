//! `lab exercise`: for every exercise, as root and as uid 65534 where it can
//! run rootless, the reference solution passes, an empty one fails with the
//! first hint, and a near-miss fails on the check its first line names
//! (`# fails: NAME`); a solution that only prints the expected text fails.
//! Also: the interactive session driven through stdin (✓, progress, `check`
//! and `hint` inside), `list`, `reset`, the formats, usage errors, and
//! `lab run --step`.
//!
//! Nothing here compares machine-wide state; `exercise_host.rs` does.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{LAB, Mode, ROOT, is_root};
use lab_exercises::EXERCISES;
use lab_runner::registry::LABS;

fn solutions() -> PathBuf {
    Path::new(ROOT).join("tests/exercises")
}

fn file(id: &str, name: &str) -> String {
    solutions().join(id).join(name).display().to_string()
}

fn run(mode: Mode, id: &str, solution: &str) -> (serde_json::Value, Output) {
    let out = mode
        .command(
            LAB,
            &["exercise", "run", id, "--solution", solution, "--format", "json"],
        )
        .env("NO_COLOR", "1")
        .output()
        .expect("the runner starts");
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{id} {solution} ({}): not JSON ({e}); stdout: {} stderr: {}",
            mode.name(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out)
}

/// The check a near-miss must fail first: its `# fails: NAME` line.
fn fails_on(id: &str) -> String {
    let text = std::fs::read_to_string(file(id, "near-miss.sh")).expect("near-miss.sh");
    text.lines()
        .find_map(|l| l.strip_prefix("# fails: "))
        .unwrap_or_else(|| panic!("{id}/near-miss.sh has no `# fails: CHECK` line"))
        .trim()
        .to_string()
}

fn first_failure(v: &serde_json::Value) -> String {
    v["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["ok"] == false))
        .and_then(|c| c["name"].as_str())
        .unwrap_or("")
        .to_string()
}

/// What `lab exercise list --format json` says of `id` in `mode`.
fn listed(mode: Mode) -> serde_json::Value {
    let out = mode
        .command(LAB, &["exercise", "list", "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON listing")
}

fn check_all(mode: Mode) {
    let listing = listed(mode);
    let here = |id: &str| {
        listing["exercises"]
            .as_array()
            .expect("exercises")
            .iter()
            .find(|e| e["id"] == id)
            .map(|e| (e["here"].as_str().unwrap_or("").to_string(), e["reason"].clone()))
            .expect("listed")
    };
    let problems: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = EXERCISES
            .iter()
            .map(|e| {
                let (status, reason) = here(e.id);
                scope.spawn(move || {
                    let mut problems = Vec::new();
                    let mut expect = |ok: bool, what: String| {
                        if !ok {
                            problems.push(format!("{} ({}): {what}", e.id, mode.name()));
                        }
                    };
                    let (v, out) = run(mode, e.id, &file(e.id, "solution.sh"));
                    if status != "yes" {
                        // Not runnable here: skipped or unsupported with the listed reason, exit 0.
                        expect(
                            v["status"] == status.as_str() && v["reason"] == reason,
                            format!("not runnable: {v}"),
                        );
                        expect(
                            out.status.code() == Some(0),
                            format!("exit {:?} for {status}", out.status.code()),
                        );
                        return problems;
                    }
                    expect(
                        v["status"] == "pass" && out.status.code() == Some(0),
                        format!(
                            "the reference solution: {v}; stderr: {}",
                            String::from_utf8_lossy(&out.stderr)
                        ),
                    );
                    let empty = solutions().join("empty.sh").display().to_string();
                    let (v, out) = run(mode, e.id, &empty);
                    expect(
                        v["status"] == "fail" && out.status.code() == Some(1),
                        format!("the empty solution: {v}"),
                    );
                    expect(
                        v["checks"][0]["ok"] == false && v["hint"].as_str().is_some_and(|h| !h.is_empty()),
                        format!("the empty solution fails the first check, with the first hint: {v}"),
                    );
                    let (v, out) = run(mode, e.id, &file(e.id, "near-miss.sh"));
                    let want = fails_on(e.id);
                    expect(
                        v["status"] == "fail" && out.status.code() == Some(1) && first_failure(&v) == want,
                        format!("the near-miss fails first on {want:?}: {v}"),
                    );
                    if mode == Mode::Root || e.id == "06-hostname" {
                        let echo = solutions().join("echo.sh").display().to_string();
                        let (v, out) = run(mode, e.id, &echo);
                        expect(
                            v["status"] == "fail" && out.status.code() == Some(1),
                            format!("printing the expected text passed: {v}"),
                        );
                    }
                    problems
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("no panic")).collect()
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn as_root_solutions_pass_and_empty_and_near_misses_fail_on_the_right_check() {
    require_root!();
    check_all(Mode::Root);
}

#[test]
fn as_uid_65534_too_where_they_can_run_rootless() {
    require_root!();
    check_all(Mode::Nobody);
    // The ones that need real root say so.
    let listing = listed(Mode::Nobody);
    let one = listing["exercises"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["id"] == "01-drop-privileges"))
        .cloned()
        .expect("listed");
    assert_eq!(one["here"], "skip", "{one}");
    assert!(
        one["reason"].as_str().is_some_and(|r| r.starts_with("needs root")),
        "{one}"
    );
}

#[test]
fn every_exercise_has_its_lab_solutions_and_book_page() {
    let summary = std::fs::read_to_string(Path::new(ROOT).join("book/src/SUMMARY.md")).expect("SUMMARY.md");
    for e in EXERCISES {
        let lab = LABS.iter().find(|l| l.slug == e.lab);
        assert!(lab.is_some(), "{}: no lab has the slug {:?}", e.id, e.lab);
        for f in ["solution.sh", "near-miss.sh"] {
            assert!(
                Path::new(&file(e.id, f)).is_file(),
                "tests/exercises/{}/{f} is missing",
                e.id
            );
        }
        fails_on(e.id);
        let page = Path::new(ROOT).join(format!("book/src/exercises/{}.md", e.id));
        let text = std::fs::read_to_string(&page).unwrap_or_else(|_| panic!("{} is missing", page.display()));
        assert!(
            text.contains(&format!("{{{{#include ../../../exercises/text/{}.md}}}}", e.id)),
            "{}: does not include the exercise's text",
            page.display()
        );
        assert!(
            summary.contains(&format!("(exercises/{}.md)", e.id)),
            "SUMMARY.md does not list exercises/{}.md",
            e.id
        );
        let chapter = Path::new(ROOT).join(format!(
            "book/src/labs/{}.md",
            lab.map(|l| l.full_id()).unwrap_or_default()
        ));
        let chapter = std::fs::read_to_string(&chapter).expect("the lab's chapter");
        assert!(
            chapter.contains(&format!("../exercises/{}.md", e.id)),
            "the chapter of lab {} does not link to exercise {}",
            e.lab,
            e.id
        );
    }
}

#[test]
fn list_shows_every_exercise_with_runnability_and_progress() {
    let state = state_dir("list");
    let out = Command::new(LAB)
        .args(["exercise", "list", "--format", "json"])
        .env("XDG_STATE_HOME", &state)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let rows = v["exercises"].as_array().expect("exercises");
    let ids: Vec<&str> = rows.iter().filter_map(|r| r["id"].as_str()).collect();
    for want in [
        "01-drop-privileges",
        "02-bind",
        "03-chroot-seed",
        "05-keep-alive",
        "06-hostname",
        "07-pid1",
        "08-propagation",
        "09-netns-veth",
        "10-ipc",
        "11-map-root",
        "14-pids-limit",
    ] {
        assert!(ids.contains(&want), "{want} is not listed: {ids:?}");
    }
    for r in rows {
        assert!(
            ["yes", "skip", "unsupported"].contains(&r["here"].as_str().unwrap_or("")),
            "{r}"
        );
        assert_eq!(
            r["here"] == "yes",
            r["reason"].is_null(),
            "a reason exactly when it cannot run: {r}"
        );
        assert_eq!(r["progress"]["state"], "new", "{r}");
        assert!(
            r["lab_id"].is_string() && r["title"].is_string() && r["tools"].is_array(),
            "{r}"
        );
    }
    assert_eq!(
        v["progress_file"].as_str(),
        Some(
            state
                .join("container-labs/exercises.json")
                .display()
                .to_string()
                .as_str()
        )
    );
    let human = Command::new(LAB)
        .args(["exercise", "list"])
        .env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", &state)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("06-hostname") && text.contains("07 uts") && text.contains("new"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&state);
}

/// A directory for a progress file, under the target directory.
fn state_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("exercise-state-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("state dir");
    dir
}

/// `lab exercise start ID` with a shell that reads `script` from stdin.
fn session(mode: Mode, id: &str, script: &str, state: &Path) -> Output {
    session_with(mode, &["exercise", "start", id], script, state)
}

/// `lab ARGS` (a start) with a shell that reads `script` from stdin.
fn session_with(mode: Mode, args: &[&str], script: &str, state: &Path) -> Output {
    use std::io::Write;
    let mut child = mode
        .command(LAB, args)
        .env("NO_COLOR", "1")
        .env("SHELL", "/bin/sh")
        .env("XDG_STATE_HOME", state)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("script written");
    child.wait_with_output().expect("ends")
}

fn session_turns_done(mode: Mode) {
    let state = state_dir(mode.name());
    if mode == Mode::Nobody {
        std::os::unix::fs::chown(&state, Some(65534), Some(65534)).expect("chown");
    }
    let out = session(
        mode,
        "06-hostname",
        "lab exercise hint\n\
         lab exercise check; echo check-said-$?\n\
         unshare --uts sh -c 'hostname myhost; exec sleep 1000' &\n\
         sleep 2.5\n\
         lab exercise check; echo check-said-$?\n\
         exit\n",
        &state,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Task: Give a long-running process the hostname myhost"),
        "{stdout}"
    );
    assert!(
        stdout.contains("hint 1/4: no process is in a UTS namespace of its own yet"),
        "the first hint looks at the state: {stdout}"
    );
    assert!(
        stdout.contains("check-said-1") && stdout.contains("check-said-0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("expected: myhost"),
        "check prints expected and actual: {stdout}"
    );
    assert!(stdout.contains("✓ 06-hostname done"), "{stdout}");
    assert!(stdout.contains("06-hostname: ✓ done"), "{stdout}");
    let progress: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(state.join("container-labs/exercises.json")).expect("progress file"),
    )
    .expect("JSON");
    let entry = &progress["exercises"]["06-hostname"];
    assert_eq!(entry["state"], "done", "{progress}");
    assert_eq!(entry["hints"], 1, "{progress}");
    assert_eq!(entry["attempts"], 1, "{progress}");

    // Done is sticky: another session that does nothing leaves it done.
    let out = session(mode, "06-hostname", "exit\n", &state);
    assert!(String::from_utf8_lossy(&out.stdout).contains("06-hostname: ✓ done"));
    let listing = mode
        .command(LAB, &["exercise", "list", "--format", "json"])
        .env("XDG_STATE_HOME", &state)
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&listing.stdout).expect("JSON");
    let row = v["exercises"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["id"] == "06-hostname"))
        .cloned()
        .expect("listed");
    assert_eq!(
        (row["progress"]["state"].clone(), row["progress"]["attempts"].clone()),
        ("done".into(), 2.into())
    );
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
fn a_session_turns_done_when_the_kernel_shows_it_and_stays_done() {
    require_root!();
    session_turns_done(Mode::Root);
}

#[test]
fn a_session_works_rootless_too() {
    require_root!();
    session_turns_done(Mode::Nobody);
}

#[test]
fn reset_asks_first_and_forgets() {
    let state = state_dir("reset");
    let file = state.join("container-labs/exercises.json");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("dir");
    let saved = r#"{"format": 1, "exercises": {"06-hostname": {"state": "done", "attempts": 1, "hints": 0}, "02-bind": {"state": "attempted", "attempts": 1, "hints": 2}}}"#;
    std::fs::write(&file, saved).expect("written");
    let reset = |args: &[&str], answer: &str| {
        use std::io::Write;
        let mut child = Command::new(LAB)
            .args(["exercise", "reset"])
            .args(args)
            .env("XDG_STATE_HOME", &state)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        let _ = child.stdin.take().expect("stdin").write_all(answer.as_bytes());
        child.wait_with_output().expect("ends")
    };
    let out = reset(&["06"], "n\n");
    assert_eq!(out.status.code(), Some(1), "no means nothing is reset");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was reset"));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("file")).expect("JSON");
    assert_eq!(v["exercises"]["06-hostname"]["state"], "done");
    let out = reset(&["06"], "y\n");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("file")).expect("JSON");
    assert!(
        v["exercises"]["06-hostname"].is_null() && v["exercises"]["02-bind"]["hints"] == 2,
        "{v}"
    );
    let out = reset(&["--yes"], "");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("file")).expect("JSON");
    assert_eq!(v["exercises"], serde_json::json!({}));
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
fn misuse_is_one_line_and_exit_2() {
    let solution = file("06-hostname", "solution.sh");
    let cases: Vec<Vec<&str>> = vec![
        vec!["exercise"],
        vec!["exercise", "frob"],
        vec!["exercise", "start"],
        vec!["exercise", "start", "99"],
        vec!["exercise", "run", "06"],
        vec!["exercise", "run", "99", "--solution", &solution],
        vec!["exercise", "run", "06", "--solution", "/nonexistent.sh"],
        vec!["exercise", "run", "06", "--solution", &solution, "--format", "xml"],
        vec!["exercise", "run", "06", "--solution", &solution, "--timeout", "0"],
        vec!["exercise", "reset", "99", "--yes"],
        vec!["exercise", "list", "--format", "yaml"],
        vec!["exercise", "check"],
        vec!["exercise", "hint"],
        vec!["run", "06", "--step", "--format", "json"],
    ];
    for args in cases {
        let out = Command::new(LAB)
            .args(&args)
            .env("NO_COLOR", "1")
            .env_remove("LAB_EXERCISE_SOCKET")
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "`lab {}`: {stderr}", args.join(" "));
        assert_eq!(stderr.lines().count(), 1, "`lab {}` said:\n{stderr}", args.join(" "));
        assert!(stderr.starts_with("error: "), "`lab {}`: {stderr}", args.join(" "));
        assert!(out.stdout.is_empty(), "`lab {}` printed on stdout", args.join(" "));
    }
}

#[test]
fn tap_has_a_point_per_check_and_human_shows_the_hint() {
    require_root!();
    let near = file("06-hostname", "near-miss.sh");
    let out = Command::new(LAB)
        .args(["exercise", "run", "06-hostname", "--solution", &near, "--format", "tap"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let tap = String::from_utf8_lossy(&out.stdout);
    let mut lines = tap.lines();
    assert_eq!(lines.next(), Some("TAP version 13"));
    assert_eq!(lines.next(), Some("1..3"), "{tap}");
    assert!(
        tap.contains("ok 1 - 06-hostname: a live process in a UTS namespace other than the shell's"),
        "{tap}"
    );
    assert!(
        tap.contains(
            "not ok 2 - 06-hostname: its hostname\n  ---\n  expected: \"myhost\"\n  actual: \"sandbox\"\n  hint: "
        ),
        "{tap}"
    );
    assert!(tap.contains("ok 3 - "), "{tap}");
    let out = Command::new(LAB)
        .args(["exercise", "run", "06-hostname", "--solution", &near])
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("  ✗ its hostname\n      expected: myhost\n      actual:   sandbox"),
        "{text}"
    );
    assert!(text.contains("hint: you created a UTS namespace"), "{text}");
    assert!(text.trim_end().ends_with("fail"), "{text}");
}

#[test]
fn a_solution_that_does_not_return_fails_with_the_reason() {
    require_root!();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let hang = dir.join("exercise-hang.sh");
    std::fs::write(&hang, "exec sleep 1000\n").expect("written");
    let out = Command::new(LAB)
        .args(["exercise", "run", "06", "--solution"])
        .arg(&hang)
        .args(["--timeout", "1", "--format", "json"])
        .output()
        .expect("runs");
    let _ = std::fs::remove_file(&hang);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        v["reason"]
            .as_str()
            .is_some_and(|r| r.contains("did not return within 1s")),
        "{v}"
    );
}

fn step_run(input: &str) -> (String, Option<i32>) {
    use std::io::Write;
    let mut child = Command::new(LAB)
        .args(["run", "06", "--step"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let _ = child.stdin.take().expect("stdin").write_all(input.as_bytes());
    let out = child.wait_with_output().expect("ends");
    (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.code())
}

#[test]
fn run_step_pauses_before_each_step_and_q_stops() {
    let steps = LABS.iter().find(|l| l.id == "06").map_or(0, |l| l.steps.len());
    let (all, code) = step_run(&"\n".repeat(steps));
    assert_eq!(code, Some(0), "{all}");
    assert_eq!(all.matches("⏸ Enter runs step").count(), steps, "{all}");
    // Each pause comes after the step's heading and before anything it did.
    for i in 1..=steps {
        let pause = all.find(&format!("Enter runs step {i}/{steps}")).expect("paused");
        let heading = all.find(&format!(" {i}/{steps} ")).expect("heading");
        assert!(heading < pause, "{all}");
    }
    let (two, code) = step_run("\n\nq\n");
    assert_eq!(code, Some(0), "{two}");
    assert_eq!(two.matches("⏸ Enter runs step").count(), 3, "{two}");
    assert_eq!(two.matches("→ pass").count(), 2, "{two}");
    assert!(two.contains("stopped before step 3"), "{two}");
    // No one to answer: nothing runs.
    let (none, _) = step_run("");
    assert_eq!(none.matches("→ ").count(), 0, "{none}");
    assert!(none.contains("stopped before step 1"), "{none}");
}

#[test]
fn the_sandbox_needs_what_the_listing_says() {
    // Without root and without user namespaces no sandbox can be made: the
    // exercises are unsupported, with the sysctl named.
    require_root!();
    let out = Mode::NobodyNoUserns
        .command(LAB, &["exercise", "list", "--format", "json"])
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for e in v["exercises"].as_array().expect("exercises") {
        if e["needs"] != "root" {
            assert_eq!(e["here"], "unsupported", "{e}");
            assert!(
                e["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("user.max_user_namespaces = 0")),
                "{e}"
            );
        }
    }
    let (v, out) = run(Mode::NobodyNoUserns, "06", &file("06-hostname", "solution.sh"));
    assert_eq!(
        (v["status"].as_str(), out.status.code()),
        (Some("unsupported"), Some(0)),
        "{v}"
    );
    let _ = is_root();
}

/// `lab` with the tester's locale removed, then `lang` as LANG.
fn lab_in(args: &[&str], lang: Option<&str>, state: &Path) -> Output {
    let mut cmd = common::command(&[LAB.to_string()]);
    cmd.args(args).env("NO_COLOR", "1").env("XDG_STATE_HOME", state);
    if let Some(l) = lang {
        cmd.env("LANG", l);
    }
    cmd.output().expect("runs")
}

/// Under `--lang ja` (or a Japanese locale) the listing is Japanese, the
/// status words stay English; `--format json` is English unless `--lang`
/// asked for Japanese.
#[test]
fn the_listing_speaks_japanese_and_its_json_only_when_asked() {
    let state = state_dir("list-ja");
    for (args, lang) in [
        (&["--lang", "ja", "exercise", "list"][..], None),
        (&["exercise", "list"][..], Some("ja_JP.UTF-8")),
    ] {
        let out = lab_in(args, lang, &state);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        let header = text.lines().next().unwrap_or_default();
        for word in ["ラボ", "ここ", "進み具合", "タイトル"] {
            assert!(header.contains(word), "{word} in the header: {text}");
        }
        let row = text
            .lines()
            .find(|l| l.starts_with("06-hostname"))
            .unwrap_or_else(|| panic!("06-hostname listed: {text}"));
        assert!(row.contains("未着手") && row.contains("自分だけのホスト名"), "{row}");
        assert!(
            ["yes", "skip", "unsupported"].iter().any(|w| row.contains(w)),
            "status words stay English: {row}"
        );
        assert!(
            text.contains("で課題と、それを解くためのサンドボックスが手に入ります"),
            "{text}"
        );
    }
    let json = |args: &[&str], lang| String::from_utf8_lossy(&lab_in(args, lang, &state).stdout).into_owned();
    let en = json(&["exercise", "list", "--format", "json"], None);
    assert!(en.contains("\"title\": \"A hostname of its own\""), "{en}");
    assert_eq!(en, json(&["exercise", "list", "--format", "json"], Some("ja_JP.UTF-8")));
    let ja = json(&["--lang", "ja", "exercise", "list", "--format", "json"], None);
    assert!(ja.contains("\"title\": \"自分だけのホスト名\""), "{ja}");
    let _ = std::fs::remove_dir_all(&state);
}

/// A failing verdict drawn in Japanese: the near-miss of 06 fails on its
/// hostname, whose name, labels and state-aware hint are Japanese, while
/// the values the kernel gave stay as they are; the empty solution shows the
/// check it could not reach as not checked, in Japanese.
#[test]
fn a_failing_check_is_drawn_in_japanese() {
    require_root!();
    let state = state_dir("run-ja");
    let near = file("06-hostname", "near-miss.sh");
    let out = lab_in(
        &["--lang", "ja", "exercise", "run", "06-hostname", "--solution", &near],
        None,
        &state,
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("  ✗ そのホスト名\n      期待値: myhost\n      実際:   sandbox"),
        "{text}"
    );
    assert!(
        text.contains("ヒント: UTS namespace は作れています（pid ")
            && text.contains("ホスト名はサンドボックスからコピーした \"sandbox\" のままです"),
        "the first hint, with what the checks saw: {text}"
    );
    assert!(text.contains("✓ シェルのホスト名"), "{text}");
    assert!(
        text.trim_end().ends_with("fail"),
        "the status word stays English: {text}"
    );

    let empty = solutions().join("empty.sh").display().to_string();
    let out = lab_in(
        &["exercise", "run", "06-hostname", "--solution", &empty],
        Some("ja_JP.UTF-8"),
        &state,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "  ✗ シェルとは別の UTS namespace にいる生きているプロセス\n      期待値: 1 つ以上\n      実際:   なし"
        ),
        "{text}"
    );
    assert!(
        text.contains("  · そのホスト名\n      期待値: myhost\n      実際:   未チェック（上のチェックが必要）"),
        "{text}"
    );
    assert!(
        text.contains("ヒント: 専用の UTS namespace にいるプロセスはまだありません"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&state);
}

/// Every exercise's failing verdict (the empty solution's) is Japanese
/// under `--lang ja`, JSON included: each check's name, the reason and
/// the hint; without `--lang` its JSON is English whatever the locale.
#[test]
fn every_exercise_verdict_has_its_japanese() {
    require_root!();
    let empty = solutions().join("empty.sh").display().to_string();
    let japanese = |s: &str| !s.is_ascii();
    let problems: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = EXERCISES
            .iter()
            .map(|e| {
                let empty = &empty;
                scope.spawn(move || {
                    let json = |lang: &[&str], locale: Option<&str>| -> serde_json::Value {
                        let mut cmd = common::command(&[LAB.to_string()]);
                        cmd.args(lang)
                            .args(["exercise", "run", e.id, "--solution", empty, "--format", "json"]);
                        if let Some(l) = locale {
                            cmd.env("LANG", l);
                        }
                        let out = cmd.output().expect("runs");
                        serde_json::from_slice(&out.stdout).expect("JSON")
                    };
                    let ja = json(&["--lang", "ja"], None);
                    if ja["status"] != "fail" {
                        return vec![format!("{}: cannot check here: {ja}", e.id)];
                    }
                    let mut problems = Vec::new();
                    for c in ja["checks"].as_array().into_iter().flatten() {
                        let name = c["name"].as_str().unwrap_or_default();
                        if !japanese(name) {
                            problems.push(format!("{}: check {name:?} is English", e.id));
                        }
                        let actual = c["actual"].as_str().unwrap_or_default();
                        if c["ok"] == false && actual.contains("not checked") {
                            problems.push(format!("{}: {name}: actual {actual:?}", e.id));
                        }
                    }
                    for key in ["hint", "reason"] {
                        let s = ja[key].as_str().unwrap_or_default();
                        if !japanese(s) {
                            problems.push(format!("{}: {key} {s:?} is English", e.id));
                        }
                    }
                    let en = json(&[], Some("ja_JP.UTF-8"));
                    if en["checks"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|c| c["name"].as_str().is_some_and(japanese))
                        || en["hint"].as_str().is_some_and(japanese)
                    {
                        problems.push(format!("{}: JSON without --lang is not English: {en}", e.id));
                    }
                    problems
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("no panic")).collect()
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A session started with `--lang ja` speaks Japanese throughout, and so do
/// `lab exercise check` and `hint` run inside it without `--lang` (their
/// answer carries the language of the `lab` outside); the locale is English.
#[test]
fn a_japanese_session_speaks_japanese_inside_too() {
    require_root!();
    let state = state_dir("session-ja");
    let out = session_with(
        Mode::Root,
        &["--lang", "ja", "exercise", "start", "06-hostname"],
        "lab exercise hint\n\
         lab exercise check; echo check-said-$?\n\
         lab exercise hint\n\
         exit\n",
        &state,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("課題: "), "{stdout}");
    assert!(stdout.contains("ここはサンドボックスの中です"), "{stdout}");
    assert!(stdout.contains("チェックは毎秒実行され"), "{stdout}");
    assert!(
        stdout.contains("ヒント 1/4: 専用の UTS namespace にいるプロセスはまだありません"),
        "the first hint, from the checks, in Japanese: {stdout}"
    );
    assert!(stdout.contains("ヒント 2/4: "), "{stdout}");
    assert!(
        stdout.contains(
            "  ✗ シェルとは別の UTS namespace にいる生きているプロセス\n      期待値: 1 つ以上\n      実際:   なし"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("まだです（`lab exercise hint` が手がかりになります）") && stdout.contains("check-said-1"),
        "{stdout}"
    );
    assert!(stdout.contains("06-hostname: 未完了"), "{stdout}");
    let _ = std::fs::remove_dir_all(&state);
}
