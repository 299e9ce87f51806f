//! What people expect of a command-line tool, tried as they would: shell
//! completions that the shells accept and that complete, manual pages that
//! `man` renders without a warning, Markdown drawn without its marks and
//! fitted to the terminal (in tmux, at 60 and 100 columns), the pager for a
//! text taller than the screen, `lab run -q` and `-v`, and `lab bench`'s
//! JSON and progress bar. A tool that is not installed (tmux, man, zsh,
//! fish) skips its part with the reason.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::LAB;

fn lab(args: &[&str]) -> Output {
    Command::new(LAB)
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("the runner starts")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn installed(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("cl-polish-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Scratch(dir)
    }

    fn file(&self, name: &str, text: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write a scratch file");
        path
    }

    fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.file(name, format!("#!/bin/sh\n{body}\n").as_bytes());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------- tmux

/// A tmux server of the test's own (its own socket), running one command in
/// a window of a given size; killed when dropped.
struct Tmux {
    socket: String,
}

const DONE: &str = "__lab_test_done__";

/// The servers running: a server starting and the directory of the
/// sockets being removed after the last one take turns.
static LIVE: std::sync::Mutex<usize> = std::sync::Mutex::new(0);

impl Tmux {
    /// Run `command` (a shell command line) in a `width`×`height` window,
    /// or `None` without tmux. The command's environment has no colour,
    /// pager or `LESS` settings of the test's.
    fn start(name: &str, width: u16, height: u16, command: &str) -> Option<Tmux> {
        if !installed("tmux") {
            eprintln!("skipped: tmux is not installed (apt-get install tmux)");
            return None;
        }
        // A socket of its own each time: a server being killed must not be
        // the one the next window is asked of.
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let socket = format!("cl-polish-{name}-{}-{n}", std::process::id());
        let line = format!(
            "env -u NO_COLOR -u PAGER -u LAB_PAGER -u LESS -u COLUMNS -u LINES sh -c '{command}'; echo {DONE}; sleep 600"
        );
        let mut live = LIVE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let out = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg(line)
            .env("TERM", "xterm-256color")
            .stdin(Stdio::null())
            .output()
            .expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        *live += 1;
        Some(Tmux { socket })
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The window's text (and its history), lines the terminal wrapped
    /// joined again, so that a line too long for the window shows as one.
    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-"])
    }

    /// The same with the escape sequences of the styles.
    fn styled(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-e", "-J", "-S", "-"])
    }

    /// Wait until the window shows `needle`; the screen then, or a panic.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(Instant::now() < deadline, "tmux never showed {needle:?}:\n{screen}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&self, keys: &str) {
        self.tmux(&["send-keys", keys]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let mut live = LIVE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .stderr(Stdio::null())
            .status();
        // The server leaves its socket behind: remove it, and, after the
        // test's last server, tmux's directory unless something else (a
        // server of the user's) is in it.
        let dir = std::env::var_os("TMUX_TMPDIR")
            .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
            .join(format!("tmux-{}", nix::unistd::getuid()));
        let _ = std::fs::remove_file(dir.join(&self.socket));
        *live -= 1;
        if *live == 0 {
            let _ = std::fs::remove_dir(&dir);
        }
    }
}

/// The lines a command printed before the end marker.
fn printed(screen: &str) -> Vec<&str> {
    let lines: Vec<&str> = screen.lines().collect();
    let end = lines.iter().position(|l| l.contains(DONE)).unwrap_or(lines.len());
    lines[..end].to_vec()
}

fn width(line: &str) -> usize {
    line.chars().count()
}

// ---------------------------------------------------------- completions

#[test]
fn bash_accepts_the_completion_script_and_it_completes_commands_labs_and_options() {
    let out = lab(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    let dir = Scratch::new("bash");
    let script = dir.file("lab.bash", &out.stdout);
    let check = Command::new("bash").arg("-n").arg(&script).output().expect("bash runs");
    assert!(
        check.status.success(),
        "bash -n rejects the script: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    // What <TAB> offers: bash calls the function `complete -p lab` names
    // with the words typed so far.
    let driver = format!(
        r#"source {}
f=$(complete -p lab | sed 's/.*-F \([^ ]*\) lab$/\1/')
try() {{ COMP_WORDS=("$@"); COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}}; COMPREPLY=()
  "$f" lab "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"; echo "${{COMPREPLY[*]}}"; }}
try lab ''
try lab run ''
try lab run --fo
try lab run --format ''
try lab explain u
try lab completions ''
"#,
        script.display()
    );
    let out = Command::new("bash").arg("-c").arg(&driver).output().expect("bash runs");
    let text = stdout(&out);
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(
        lines.len(),
        6,
        "{text}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for word in [
        "list",
        "run",
        "explain",
        "doctor",
        "bench",
        "completions",
        "man",
        "--color",
    ] {
        assert!(lines[0].contains(&word), "`lab <TAB>` lacks {word}: {:?}", lines[0]);
    }
    assert!(!lines[0].contains(&"__lab"), "the internal subcommand is offered");
    for word in [
        "--quiet",
        "-q",
        "--verbose",
        "--format",
        "--timeout",
        "07-uts",
        "17-container",
    ] {
        assert!(lines[1].contains(&word), "`lab run <TAB>` lacks {word}: {:?}", lines[1]);
    }
    assert_eq!(lines[2], ["--format"]);
    assert_eq!(lines[3], ["human", "json", "junit", "tap"]);
    assert_eq!(lines[4], Vec::<&str>::new(), "no lab id starts with u");
    assert_eq!(
        lines[5],
        [
            "-h",
            "--color",
            "--lang",
            "--help",
            "bash",
            "elvish",
            "fish",
            "powershell",
            "zsh"
        ]
    );
}

#[test]
fn zsh_and_fish_accept_their_scripts() {
    for (shell, check) in [("zsh", &["-n"][..]), ("fish", &["--no-execute"][..])] {
        let out = lab(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0));
        assert!(stdout(&out).contains("lab"), "{shell}: {}", stdout(&out));
        if !installed(shell) {
            eprintln!("skipped: {shell} is not installed (apt-get install {shell}), its script is not parsed");
            continue;
        }
        let dir = Scratch::new(shell);
        let script = dir.file("lab.completion", &out.stdout);
        let out = Command::new(shell)
            .args(check)
            .arg(&script)
            .output()
            .expect("the shell runs");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{shell} rejects its script: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for shell in ["elvish", "powershell"] {
        let out = lab(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0));
        assert!(stdout(&out).contains("'lab"), "{shell}: {}", stdout(&out));
    }
}

// ------------------------------------------------------------ man pages

#[test]
fn man_renders_every_page_without_warnings() {
    if !installed("man") {
        eprintln!("skipped: man is not installed (apt-get install man-db)");
        return;
    }
    let mut pages = vec![vec![]];
    pages.extend(lab_runner::manpage::commands().into_iter().map(|c| vec![c]));
    assert!(pages.len() > 5, "{pages:?}");
    for page in pages {
        let mut args = vec!["man"];
        args.extend(page.iter().map(String::as_str));
        let roff = lab(&args);
        assert_eq!(roff.status.code(), Some(0), "lab {}", args.join(" "));
        let name = format!("lab{}", page.iter().map(|c| format!("-{c}")).collect::<String>());
        let mut man = Command::new("man")
            .args(["--warnings=w", "-l", "-"])
            .env("MANWIDTH", "80")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("man runs");
        use std::io::Write;
        man.stdin
            .take()
            .expect("piped")
            .write_all(&roff.stdout)
            .expect("man reads the page");
        let out = man.wait_with_output().expect("man ends");
        let text = stdout(&out);
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "man -l fails on {name}: {warnings}");
        assert!(warnings.is_empty(), "man -l warns on {name}:\n{warnings}");
        assert!(text.starts_with(&format!("{name}(1)")), "{name}:\n{text}");
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"] {
            assert!(
                text.contains(&format!("\n{section}\n")),
                "{name} lacks {section}:\n{text}"
            );
        }
        if page.is_empty() {
            for part in ["EXIT STATUS", "130", "LAB_PAGER", "lab-run(1)"] {
                assert!(text.contains(part), "lab(1) lacks {part}:\n{text}");
            }
        }
    }
}

// -------------------------------------------------------------- explain

#[test]
fn explain_without_a_terminal_is_plain_text_without_marks() {
    let out = lab(&["explain", "uts"]);
    let text = stdout(&out);
    assert!(!text.contains('\x1b'), "escape codes in a pipe:\n{text}");
    assert!(!text.contains('*'), "Markdown marks left:\n{text}");
    assert!(!text.contains('`'), "Markdown marks left:\n{text}");
    assert!(text.contains("A UTS namespace holds"), "{text}");
    assert!(text.lines().all(|l| width(l) <= 80), "wider than 80 columns:\n{text}");
    // Reflowed: some line is filled nearly to the width.
    assert!(text.lines().any(|l| width(l) > 70), "{text}");

    let out = lab(&["--color", "always", "explain", "uts"]);
    let text = stdout(&out);
    assert!(text.contains("\x1b[3mUTS namespace\x1b[0m"), "no italics:\n{text:?}");
    assert!(!text.contains('*'), "{text}");
    assert!(!text.contains("\x1b]8;"), "a hyperlink in a pipe: {text:?}");
}

#[test]
fn explain_fits_the_terminal_width_and_shows_emphasis() {
    let mut widest = Vec::new();
    for columns in [60u16, 100] {
        let cmd = format!("{LAB} explain uts --color always");
        let Some(t) = Tmux::start(&format!("explain{columns}"), columns, 200, &cmd) else {
            return;
        };
        let screen = t.wait_for(DONE);
        let lines = printed(&screen);
        let max = lines.iter().map(|l| width(l)).max().unwrap_or(0);
        assert!(
            max <= usize::from(columns),
            "a line is wider than {columns} columns:\n{screen}"
        );
        assert!(
            !screen.contains("*UTS"),
            "the asterisks of the emphasis are shown:\n{screen}"
        );
        let styled = t.styled();
        assert!(
            styled.contains("\x1b[3mUTS namespace"),
            "no italics at {columns} columns:\n{styled:?}"
        );
        widest.push(max);
    }
    assert!(widest[0] > 50, "60 columns are not filled: {widest:?}");
    assert!(widest[1] > 80, "100 columns are not used: {widest:?}");
}

#[test]
fn lab_output_wraps_why_lines_and_notes_to_the_terminal() {
    let cmd = format!("{LAB} __lab uts --format human --color never");
    let Some(t) = Tmux::start("why60", 60, 200, &cmd) else {
        return;
    };
    let screen = t.wait_for(DONE);
    assert!(screen.contains("result: "), "{screen}");
    let lines = printed(&screen);
    let notes: Vec<&&str> = lines.iter().filter(|l| l.starts_with("      note ")).collect();
    assert!(!notes.is_empty(), "{screen}");
    // The why lines: after a step's title, before its first narration.
    let mut why = Vec::new();
    let mut in_why = false;
    for l in &lines {
        let t = l.trim_start();
        if l.starts_with("  ") && t.chars().next().is_some_and(|c| c.is_ascii_digit()) && t.contains('/') {
            in_why = true;
        } else if in_why
            && l.starts_with("      ")
            && !["$", "·", "✓", "✗", "note", "→"].iter().any(|p| t.starts_with(p))
        {
            why.push(*l);
        } else {
            in_why = false;
        }
    }
    assert!(why.len() >= 4, "{screen}");
    for l in why.iter().chain(notes.iter().copied()) {
        assert!(width(l) <= 60, "wider than the terminal: {l:?}\n{screen}");
    }
    assert!(
        why.iter().any(|l| width(l) > 50),
        "the why lines do not fill the 60 columns:\n{screen}"
    );
}

#[test]
fn explain_opens_the_pager_only_when_taller_than_the_screen() {
    if !installed("tmux") {
        eprintln!("skipped: tmux is not installed (apt-get install tmux)");
        return;
    }
    let dir = Scratch::new("pager");
    let paged = dir.0.join("paged");
    // A pager that keeps what it was given and says so.
    let pager = dir.script("pager", &format!("cat > {}; echo PAGER-RAN", paged.display()));
    let run = |name: &str, rows: u16, env: &str, args: &str| -> String {
        let _ = std::fs::remove_file(&paged);
        let cmd = format!("{env} {LAB} explain uts {args}");
        let t = Tmux::start(name, 80, rows, &cmd).expect("tmux is installed");
        t.wait_for(DONE)
    };
    let lab_pager = format!("LAB_PAGER={}", pager.display());
    let screen = run("short", 10, &lab_pager, "");
    assert!(screen.contains("PAGER-RAN"), "a short window does not page:\n{screen}");
    let given = std::fs::read_to_string(&paged).expect("the pager got the text");
    assert!(given.contains("UTS namespace"), "{given}");
    assert!(
        given.contains('\x1b'),
        "the pager gets the colours it can show (less -R)"
    );

    let screen = run("tall", 100, &lab_pager, "");
    assert!(
        !screen.contains("PAGER-RAN"),
        "the text fits, yet it was paged:\n{screen}"
    );
    assert!(screen.contains("lesson runs unchanged"), "{screen}");

    for (env, args) in [
        (lab_pager.as_str(), "--no-pager"),
        ("LAB_PAGER=", ""),
        (&format!("PAGER={} LAB_PAGER=", pager.display()), ""),
    ] {
        let screen = run("off", 10, env, args);
        assert!(
            !screen.contains("PAGER-RAN"),
            "`{env} lab explain uts {args}` paged:\n{screen}"
        );
        assert!(!paged.exists());
    }
    let screen = run("pager-env", 10, &format!("PAGER={}", pager.display()), "");
    assert!(screen.contains("PAGER-RAN"), "$PAGER is not used:\n{screen}");

    // And the default, less -R, for real: it waits at its prompt until q.
    if !installed("less") {
        eprintln!("skipped: less is not installed; the default pager is not tried");
        return;
    }
    let t = Tmux::start("less", 80, 10, &format!("{LAB} explain 06")).expect("tmux is installed");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut screen = t.screen();
    while !screen.lines().any(|l| l.trim_end() == ":") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        screen = t.screen();
    }
    assert!(!screen.contains(DONE), "less did not wait:\n{screen}");
    assert!(screen.lines().any(|l| l.trim_end() == ":"), "no less prompt:\n{screen}");
    t.keys("q");
    t.wait_for(DONE);
}

// ------------------------------------------------------------ run -q/-v

/// Stand-in labs: 07 (uts) passes, 08 (pid) has a failing step after a
/// passing one and writes on stderr.
fn fake_labs(dir: &Scratch) -> PathBuf {
    dir.script(
        "fake-lab",
        r#"case "$2" in
07) cat <<'EOF'
{"event":"lab_start","id":"07","slug":"uts","title":"A passing lab","mode":"root","steps":1}
{"event":"step_start","index":0,"title":"The step of 07 that passes","why":"It passes.","privilege":"none"}
{"event":"call","text":"passing_call() = 0"}
{"event":"note","text":"a note of lab 07"}
{"event":"step_end","status":"pass"}
{"event":"lab_end","status":"pass"}
EOF
;;
08) echo "a warning from lab 08" >&2; cat <<'EOF'
{"event":"lab_start","id":"08","slug":"pid","title":"A failing lab","mode":"root","steps":2}
{"event":"step_start","index":0,"title":"The step of 08 that passes","why":"It passes.","privilege":"none"}
{"event":"check","name":"a check that held","ok":true,"expected":"1","actual":"1"}
{"event":"step_end","status":"pass"}
{"event":"step_start","index":1,"title":"The step of 08 that fails","why":"It fails.","privilege":"none"}
{"event":"call","text":"getpid() = 2"}
{"event":"check","name":"the pid","ok":false,"expected":"1","actual":"2"}
{"event":"step_end","status":"fail","reason":"the pid differs"}
{"event":"lab_end","status":"fail"}
EOF
;;
esac"#,
    )
}

fn run_fake(exe: &Path, args: &[&str]) -> Output {
    Command::new(LAB)
        .args(args)
        .env("CONTAINER_LABS_LAB_EXE", exe)
        .env("NO_COLOR", "1")
        .output()
        .expect("the runner starts")
}

#[test]
fn quiet_run_prints_only_the_summary_and_what_failed() {
    let dir = Scratch::new("quiet");
    let exe = fake_labs(&dir);
    let out = run_fake(&exe, &["run", "-q", "uts"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with("\nSummary\n"), "more than the summary:\n{text}");
    assert!(text.contains("07  uts"), "{text}");
    assert_eq!(text.lines().count(), 5, "{text}");

    let out = run_fake(&exe, &["run", "--quiet", "uts", "pid"]);
    assert_eq!(out.status.code(), Some(1), "a failed check is exit 1");
    let text = stdout(&out);
    for shown in [
        "Lab 08 A failing lab",
        "The step of 08 that fails",
        "✗ the pid",
        "expected: 1",
        "actual:   2",
        "→ fail: the pid differs",
        "result: fail",
        "Summary",
        "1 pass, 1 fail",
    ] {
        assert!(text.contains(shown), "-q hides {shown:?}:\n{text}");
    }
    for hidden in [
        "Lab 07",
        "The step of 07",
        "The step of 08 that passes",
        "a note of lab 07",
        "→ pass",
    ] {
        assert!(!text.contains(hidden), "-q shows {hidden:?}:\n{text}");
    }
    // Without -q all of it.
    let text = stdout(&run_fake(&exe, &["run", "uts", "pid"]));
    for shown in ["Lab 07", "The step of 08 that passes", "a note of lab 07"] {
        assert!(text.contains(shown), "{shown:?}:\n{text}");
    }
    assert!(!text.contains("took "), "{text}");
    assert!(!text.contains("a warning from lab 08"), "{text}");
}

#[test]
fn verbose_run_adds_step_times_and_what_a_lab_wrote_on_stderr() {
    let dir = Scratch::new("verbose");
    let exe = fake_labs(&dir);
    let out = run_fake(&exe, &["run", "-v", "uts", "pid"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert_eq!(text.matches(" took ").count(), 3, "one time per step:\n{text}");
    assert!(
        text.contains("stderr of the lab:\n      a warning from lab 08"),
        "{text}"
    );
    assert!(text.contains("a note of lab 07"), "{text}");
    let out = run_fake(&exe, &["run", "-q", "-v"]);
    assert_eq!(out.status.code(), Some(2));
}

// ---------------------------------------------------------------- bench

#[test]
fn bench_json_parses_and_progress_is_drawn_only_on_a_terminal() {
    let out = lab(&["bench", "--runs", "5", "--warmup", "0", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "progress on a stderr that is not a terminal: {:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bench --format json is JSON");
    let ms = v["measurements"].as_array().expect("measurements");
    let names: Vec<&str> = ms.iter().filter_map(|m| m["name"].as_str()).collect();
    for want in [
        "fork + wait",
        "clone(all of them) + wait",
        "pivot_root + detach the old root",
        "lab container -- /bin/true",
    ] {
        assert!(names.contains(&want), "{want} not measured: {names:?}");
    }
    for m in ms {
        assert_eq!(m["runs"], 5, "{m}");
        let (p10, median, p90) = (m["p10_us"].as_f64(), m["median_us"].as_f64(), m["p90_us"].as_f64());
        assert!(p10 <= median && median <= p90 && p10 > Some(0.0), "{m}");
    }
    assert!(v["breakdown"].as_array().is_some_and(|b| !b.is_empty()));

    let out = lab(&["bench", "--runs", "5", "--warmup", "0", "--format", "markdown"]);
    assert!(stdout(&out).starts_with("| operation | median |"), "{}", stdout(&out));

    // On a terminal: a bar on stderr while it runs, gone at the end.
    let dir = Scratch::new("bench");
    let json = dir.0.join("bench.json");
    let cmd = format!("{LAB} bench --runs 100 --warmup 0 --format json > {}", json.display());
    let Some(t) = Tmux::start("bench", 120, 20, &cmd) else {
        return;
    };
    let bar = t.wait_for("lab bench [");
    assert!(bar.contains(" runs, "), "{bar}");
    let screen = t.wait_for(DONE);
    assert!(!screen.contains("lab bench ["), "the bar is left behind:\n{screen}");
    let text = std::fs::read_to_string(&json).expect("bench wrote its report");
    serde_json::from_str::<serde_json::Value>(&text).expect("bench --format json is JSON on a terminal too");
}
