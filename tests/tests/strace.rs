//! The narration is what ran: every lab, as root, under `strace -f`; each
//! call it narrates must be found in strace's record of the same run, in
//! order, with the same name, arguments (flags compared as sets,
//! placeholders such as `<child>` matching any value) and result.
//!
//! The kit's naming rules (`labs/kit/src/op.rs`) map onto strace's names
//! here: `open` is `openat(AT_FDCWD, …)`, `fork()` a `clone` without
//! namespace flags, `write(PATH, "…")` an `openat` of PATH and a `write` of
//! the content, an rtnetlink request a `sendto` whose answer is the next
//! `recvfrom`'s `error=`. The matcher is tested on its own, including on
//! wrong narrations it must reject.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test that cannot set up must fail loudly

mod common;

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

/// One system call from strace's record.
#[derive(Debug, Clone)]
struct Traced {
    pid: u32,
    name: String,
    args: Vec<String>,
    result: String,
}

/// One narrated call.
#[derive(Debug, Clone, PartialEq)]
struct Narrated {
    name: String,
    args: Vec<String>,
    result: String,
    times: usize,
}

/// Split `a, b(c, d), "e, f"` at its top-level commas.
fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut escaped = false;
    let mut cur = String::new();
    for ch in s.chars() {
        if in_str {
            cur.push(ch);
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => {
                in_str = true;
                cur.push(ch);
            }
            '(' | '[' | '{' | '<' => {
                depth += 1;
                cur.push(ch);
            }
            ')' | ']' | '}' | '>' => {
                depth -= 1;
                cur.push(ch);
            }
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
            }
            _ => cur.push(ch),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// `name(args) = result`, the call part at the outermost parentheses.
fn split_call(line: &str) -> Option<(String, String, String)> {
    let open = line.find('(')?;
    let name = line[..open].trim().to_string();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut escaped = false;
    for (i, ch) in line[open..].char_indices() {
        if in_str {
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_str = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    let close = open + i;
                    let args = line[open + 1..close].to_string();
                    let result = line[close + 1..].trim().strip_prefix('=')?.trim().to_string();
                    return Some((name, args, result));
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_narrated(text: &str) -> Option<Narrated> {
    let (text, times) = match text.rsplit_once(" (×") {
        Some((t, n)) => (t, n.trim_end_matches(')').parse().ok()?),
        None => (text, 1),
    };
    let (name, args, result) = split_call(text)?;
    Some(Narrated {
        name,
        args: split_args(&args),
        result,
        times,
    })
}

/// strace's own lines: `PID name(args) = result`, with unfinished calls
/// joined to their resumption.
fn parse_strace(text: &str) -> Vec<Traced> {
    // An unfinished call keeps its place where it started: a fork's child
    // runs (and its calls are logged) before the parent's clone returns.
    let mut pending: HashMap<u32, (usize, String)> = HashMap::new();
    let mut slots: Vec<Option<Traced>> = Vec::new();
    for line in text.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(pid) = pid.trim().parse::<u32>() else { continue };
        let rest = rest.trim_start();
        let (slot, full) = if let Some(head) = rest.strip_suffix("<unfinished ...>") {
            slots.push(None);
            pending.insert(pid, (slots.len() - 1, head.trim_end().to_string()));
            continue;
        } else if rest.starts_with("<... ") {
            let Some((_, tail)) = rest.split_once(" resumed>") else {
                continue;
            };
            let Some((slot, head)) = pending.remove(&pid) else {
                continue;
            };
            (slot, format!("{head}{tail}"))
        } else {
            slots.push(None);
            (slots.len() - 1, rest.to_string())
        };
        if full.starts_with("+++") || full.starts_with("---") {
            continue;
        }
        if let Some((name, args, result)) = split_call(&full) {
            slots[slot] = Some(Traced {
                pid,
                name,
                args: split_args(&args),
                result,
            });
        }
    }
    slots.into_iter().flatten().collect()
}

/// strace's name and arguments in the kit's terms.
fn normalize(t: &Traced) -> (String, Vec<String>) {
    let mut args = t.args.clone();
    let at = args.first().is_some_and(|a| a == "AT_FDCWD");
    let name = match t.name.as_str() {
        "openat" | "mkdirat" | "fchownat" if at => {
            args.remove(0);
            match t.name.as_str() {
                "openat" => "open",
                "mkdirat" => "mkdir",
                _ => "chown",
            }
        }
        "fchmodat" if at => {
            args.remove(0);
            "chmod"
        }
        "unlinkat" if at => {
            args.remove(0);
            if args.get(1).is_some_and(|f| f.contains("AT_REMOVEDIR")) {
                "rmdir"
            } else {
                "unlink"
            }
        }
        "symlinkat" if args.get(1).is_some_and(|a| a == "AT_FDCWD") => {
            args.remove(1);
            "symlink"
        }
        "pread64" => "pread",
        "clone" | "clone3" | "fork" | "vfork" => {
            let flags = args
                .iter()
                .find_map(|a| a.strip_prefix("flags=").or_else(|| a.strip_prefix("{flags=")))
                .unwrap_or("")
                .to_string();
            let new: Vec<&str> = flags.split('|').filter(|f| f.starts_with("CLONE_NEW")).collect();
            return if new.is_empty() {
                ("fork".into(), vec![])
            } else {
                ("clone".into(), vec![format!("{}|SIGCHLD", new.join("|"))])
            };
        }
        "mq_open" => {
            if let Some(n) = args.first_mut() {
                *n = n.replacen("\"", "\"/", 1);
            }
            "mq_open"
        }
        other => other,
    };
    (name.to_string(), args)
}

/// Flags as a set: `A|B|<kept: C|D>` is {A, B, C, D}.
fn flag_set(s: &str) -> BTreeSet<String> {
    s.replace("<kept:", "|")
        .replace(['>', ' '], "")
        .split('|')
        .filter(|f| !f.is_empty())
        .map(String::from)
        .collect()
}

fn looks_like_flags(s: &str) -> bool {
    !s.starts_with('"') && s.contains(|c: char| c.is_ascii_uppercase()) && !s.contains('(')
}

/// Whether a narrated argument stands for what strace shows.
fn arg_matches(narrated: &str, traced: &str) -> bool {
    if narrated == "..." || narrated == "…" || narrated.starts_with('&') || narrated.starts_with("{nodename") {
        return true;
    }
    if let Some(fields) = narrated.strip_prefix('{').and_then(|f| f.strip_suffix('}')) {
        // A structure: the fields shown are among strace's.
        return fields.split(", ").all(|f| traced.contains(f));
    }
    if narrated == "~0U" {
        return traced == "4294967295" || traced == "~0" || traced == "-1";
    }
    if narrated.contains('<') && !narrated.contains("<kept:") {
        return placeholder_matches(narrated, traced);
    }
    if looks_like_flags(narrated) || narrated.contains("<kept:") {
        return flag_set(narrated) == flag_set(traced);
    }
    narrated == traced
}

/// `"/proc/<child>/ns/uts"` matches `"/proc/4242/ns/uts"`: each `<…>` stands for any run of characters.
fn placeholder_matches(pattern: &str, text: &str) -> bool {
    let mut parts = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('<') {
        parts.push(&rest[..start]);
        rest = rest[start..].find('>').map_or("", |end| &rest[start + end + 1..]);
    }
    parts.push(rest);
    let mut pos = 0;
    for (i, part) in parts.iter().enumerate() {
        match text[pos..].find(part) {
            Some(at) if i > 0 || at == 0 => pos += at + part.len(),
            _ => return false,
        }
    }
    parts.last().is_none_or(|p| p.is_empty() || text.ends_with(p))
}

fn result_matches(narrated: &str, traced: &str) -> bool {
    if narrated.starts_with('<') {
        return traced.parse::<i64>().is_ok_and(|n| n >= 0);
    }
    if let Some(errno) = narrated.strip_prefix("-1 ") {
        let name = errno.split_whitespace().next().unwrap_or("");
        return traced.starts_with("-1 ") && traced.split_whitespace().nth(1) == Some(name);
    }
    // A descriptor or count may be followed by strace's decoding (`3</dev/null>`).
    traced.split_whitespace().next() == Some(narrated)
}

/// Where `n` was made in `trace`, at or after `from`: the index of the
/// entry that completes it.
fn find(n: &Narrated, trace: &[Traced], from: usize) -> Option<usize> {
    // A file written whole: the open of its path, then a write of the content.
    if n.name == "write" && n.args.first().is_some_and(|a| !a.chars().all(|c| c.is_ascii_digit())) {
        let path = format!("{:?}", n.args[0]);
        for (i, t) in trace.iter().enumerate().skip(from) {
            let (name, args) = normalize(t);
            if name != "open" || !args.first().is_some_and(|p| arg_matches(&path, p)) {
                continue;
            }
            if result_matches(&n.result, &t.result) && n.result.starts_with("-1") {
                return Some(i);
            }
            let fd = t.result.split_whitespace().next().unwrap_or("");
            let write = trace
                .iter()
                .enumerate()
                .skip(i + 1)
                .find(|(_, w)| w.pid == t.pid && w.name == "write" && w.args.first().is_some_and(|a| a == fd));
            if let Some((j, w)) = write
                && result_matches(&n.result, if w.result.starts_with("-1") { &w.result } else { "0" })
                && w.args.get(1).is_some_and(|c| arg_matches(&n.args[1], c))
            {
                return Some(j);
            }
        }
        return None;
    }
    // An rtnetlink request: its answer is the ack read next.
    if n.name == "sendto" && n.args.first().is_some_and(|a| a == "NETLINK_ROUTE") {
        let kind = n.args.get(1)?.split_whitespace().next()?.to_string();
        // strace names the type only where it can tell the socket's
        // protocol (not always in a new network namespace): else a number.
        let code = match kind.as_str() {
            "RTM_NEWLINK" => "0x10",
            "RTM_SETLINK" => "0x13",
            "RTM_NEWADDR" => "0x14",
            _ => return None,
        };
        let is_request =
            |a: &String| a.contains(&format!("nlmsg_type={kind}")) || a.contains(&format!("nlmsg_type={code} "));
        for (i, t) in trace.iter().enumerate().skip(from) {
            if !(t.name == "sendto" || t.name == "sendmsg") || !t.args.iter().any(is_request) {
                continue;
            }
            let ack = trace
                .iter()
                .skip(i + 1)
                .find(|r| r.pid == t.pid && r.name.starts_with("recv"))?;
            let want = match n.result.strip_prefix("-1 ") {
                Some(e) => format!("error=-{}", e.split_whitespace().next().unwrap_or("")),
                None => "error=0".to_string(),
            };
            if ack.args.iter().any(|a| a.contains(&want)) {
                return Some(i);
            }
        }
        return None;
    }
    trace.iter().enumerate().skip(from).find_map(|(i, t)| {
        let (name, args) = normalize(t);
        let same_args = match n.name.as_str() {
            // The kit's capset lines say which set changed; strace shows all three.
            "capset" | "uname" => true,
            "bind" | "connect" => {
                n.args.first() == args.first()
                    && n.args.get(1).is_some_and(|want| {
                        let (ip, port) = want.rsplit_once(':').unwrap_or((want, ""));
                        let whole = args.get(1).map_or("", String::as_str);
                        whole.contains(&format!("inet_addr(\"{ip}\")"))
                            && (port.starts_with('<') || whole.contains(&format!("htons({port})")))
                    })
            }
            _ => n.args.len() <= args.len() && n.args.iter().zip(&args).all(|(a, b)| arg_matches(a, b)),
        };
        (name == n.name && same_args && result_matches(&n.result, &t.result)).then_some(i)
    })
}

/// Every narrated call, in order, in the trace; the ones that are not.
fn unmatched(narrated: &[Narrated], trace: &[Traced]) -> Vec<String> {
    let mut from = 0;
    let mut missing = Vec::new();
    for n in narrated {
        for _ in 0..n.times {
            match find(n, trace, from) {
                Some(i) => from = i + 1,
                None => {
                    missing.push(format!("{}({}) = {}", n.name, n.args.join(", "), n.result));
                    break;
                }
            }
        }
    }
    missing
}

#[test]
fn the_matcher_accepts_what_ran_and_rejects_what_did_not() {
    let trace = parse_strace(
        r#"100 unshare(CLONE_NEWNS) = 0
100 mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL) = 0
100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 4242
4242 openat(AT_FDCWD, "/proc/self/uid_map", O_WRONLY|O_CLOEXEC <unfinished ...>
100 wait4(4242,  <unfinished ...>
4242 <... openat resumed>) = 5
4242 write(5, "0 1000 1", 8) = 8
100 mount(NULL, "/tmp/usr", NULL, MS_RDONLY|MS_NOSUID|MS_NODEV|MS_REMOUNT|MS_BIND, NULL) = 0
100 sethostname("x", 1) = -1 EPERM (Operation not permitted)
100 pread64(3, "the secret", 64, 0) = 10
"#,
    );
    let n = |s: &str| parse_narrated(s).expect(s);
    let good = [
        n("unshare(CLONE_NEWNS) = 0"),
        n(r#"mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL) = 0"#),
        n("fork() = <child>"),
        n(r#"write(/proc/self/uid_map, "0 <caller> 1") = 0"#),
        n(r#"mount(NULL, "/tmp/usr", NULL, MS_RDONLY|MS_REMOUNT|MS_BIND|<kept: MS_NOSUID|MS_NODEV>, NULL) = 0"#),
        n(r#"sethostname("x", 1) = -1 EPERM (Operation not permitted)"#),
        n("pread(3, &buf, 64, 0) = 10"),
    ];
    assert_eq!(unmatched(&good, &trace), Vec::<String>::new());

    // Each of these differs from what ran in one thing: it must be caught.
    for wrong in [
        "unshare(CLONE_NEWUTS) = 0",                                                // another flag
        r#"mount(NULL, "/", NULL, MS_REC|MS_SHARED, NULL) = 0"#,                    // another propagation
        r#"mount(NULL, "/tmp/usr", NULL, MS_RDONLY|MS_REMOUNT|MS_BIND, NULL) = 0"#, // kept flags hidden
        r#"sethostname("x", 1) = 0"#,                                               // another result
        "clone(CLONE_NEWPID|SIGCHLD) = <child>",                                    // a clone that did not happen
        r#"chroot("/tmp/root") = 0"#,                                               // a call that was never made
        r#"write(/proc/self/gid_map, "0 <caller> 1") = 0"#,                         // another file
    ] {
        assert_eq!(unmatched(&[n(wrong)], &trace).len(), 1, "{wrong} was not caught");
    }
    // Order counts: the fork came after the mount.
    let out_of_order = [n("fork() = <child>"), n("unshare(CLONE_NEWNS) = 0")];
    assert_eq!(unmatched(&out_of_order, &trace).len(), 1);
}

#[test]
fn every_narrated_call_of_every_lab_is_in_straces_record() {
    require_root!();
    if Command::new("strace").arg("-V").output().is_err() {
        panic!("strace is not installed: apt-get install strace (CI installs it)");
    }
    let dir = std::env::temp_dir().join(format!("container-labs-strace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut failures = Vec::new();
    let mut checked = 0;
    for decl in lab_runner::registry::LABS {
        let out_file = dir.join(format!("{}.strace", decl.id));
        let out = Command::new("strace")
            .args(["-f", "-qq", "-s", "65536", "-o"])
            .arg(&out_file)
            .args([common::LAB, "__lab", decl.id, "--format", "json"])
            .env("NO_COLOR", "1")
            .output()
            .expect("strace runs");
        let narrated: Vec<Narrated> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<lab_kit::Event>(l).ok())
            .filter_map(|e| match e {
                lab_kit::Event::Call { text } | lab_kit::Event::Setup { text } => parse_narrated(&text),
                _ => None,
            })
            .collect();
        let trace = parse_strace(&std::fs::read_to_string(&out_file).expect("strace output"));
        checked += narrated.iter().map(|n| n.times).sum::<usize>();
        let missing = unmatched(&narrated, &trace);
        if !missing.is_empty() {
            failures.push(format!(
                "lab {}: not found in order in strace's record:\n  {}",
                decl.full_id(),
                missing.join("\n  ")
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(checked > 100, "only {checked} narrated calls: did the labs run?");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("{checked} narrated calls found in strace's record");
}
