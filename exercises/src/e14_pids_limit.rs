//! 14-pids-limit: a shell in a cgroup of its own, below the sandbox's, that
//! allows at most 5 processes. Checked from `/proc/PID/cgroup` (the line of
//! the hierarchy that holds the pids controller), the cgroup's `pids.max`
//! (v1 and v2 alike) and by behaviour: a child of `lab` joins the cgroup and
//! forks until the kernel refuses (EAGAIN), then counts `pids.current`.

use std::path::PathBuf;

use lab_kit::cgroup::{Layout, cgroup_of};
use lab_kit::exercise::probe::Proc;
use lab_kit::exercise::{ExerciseDecl, Needs, Probe, Tool, Verdict};
use lab_kit::proc::Who;
use lab_kit::sys::{Forked, fork_tied};
use lab_kit::tr;

/// The exercise.
pub static EXERCISE: ExerciseDecl = ExerciseDecl {
    id: "14-pids-limit",
    lab: "cgroups",
    needs: Needs::Cgroups,
    tools: &[Tool {
        command: "mkdir",
        package: "coreutils",
    }],
    text: include_str!("../text/14-pids-limit.md"),
    text_ja: include_str!("../text/ja/14-pids-limit.md"),
    check,
};

const MAX: u64 = 5;

/// Join the cgroup in `dir`, fork children that wait until `fork` fails,
/// and return the errno's name and `pids.current` at that moment.
fn fork_until_refused(dir: PathBuf) -> anyhow::Result<(String, u64, usize)> {
    let me = nix::unistd::getpid().as_raw().to_string();
    std::fs::write(dir.join("cgroup.procs"), &me).map_err(|e| anyhow::anyhow!("cannot join the cgroup: {e}"))?;
    let mut children = Vec::new();
    let errno = loop {
        match fork_tied() {
            Ok(Forked::Child) => loop {
                nix::unistd::pause();
            },
            Ok(Forked::Parent(pid)) => children.push(pid),
            Err(e) => break e.errno().map_or("?".to_string(), |e| format!("{e:?}")),
        }
        if children.len() >= 64 {
            break tr!("no refusal after 64 forks");
        }
    };
    let current = std::fs::read_to_string(dir.join("pids.current"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0);
    for pid in &children {
        let _ = nix::sys::signal::kill(*pid, nix::sys::signal::Signal::SIGKILL);
    }
    for pid in &children {
        let _ = nix::sys::wait::waitpid(*pid, None);
    }
    Ok((errno, current, children.len()))
}

fn check(p: &mut Probe<'_>) -> Verdict {
    let mut v = Verdict::default();
    let Some(cg) = p.sandbox.cgroup.clone() else {
        v.check(
            "the sandbox has a cgroup of its own",
            false,
            tr!("yes"),
            tr!("no"),
            || tr!("this sandbox has no cgroup of its own (it needs root, or a delegated cgroup v2 subtree)"),
        );
        return v;
    };
    let pids_h = Layout::read().ok().and_then(|l| l.holder("pids").cloned());
    // Each process's cgroup, relative to the sandbox's (the root inside).
    let mut placed: Vec<(Proc, String)> = Vec::new();
    if let Some(h) = &pids_h {
        for pr in p.processes() {
            if let Ok(path) = cgroup_of(Who::Pid(pr.pid), h)
                && let Some(rel) = path.strip_prefix(cg.path.as_str())
            {
                let rel = if rel.is_empty() {
                    "/".to_string()
                } else {
                    rel.to_string()
                };
                placed.push((pr.clone(), rel));
            }
        }
    }
    let own: Vec<&(Proc, String)> = placed
        .iter()
        .filter(|(_, rel)| *rel != cg.start && rel != "/")
        .collect();
    let max_of = |rel: &str| -> String {
        std::fs::read_to_string(cg.dir.join(rel.trim_start_matches('/')).join("pids.max"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| tr!("no pids.max"))
    };
    let best = own
        .iter()
        .find(|(_, rel)| max_of(rel) == MAX.to_string())
        .or_else(|| own.first())
        .map(|x| (*x).clone());
    let actual = match &best {
        Some((pr, rel)) => tr!("{} in {rel}", pr.label()),
        None => tr!("every process is in {}", cg.start),
    };
    let found = v.check(
        "a live process in a cgroup of its own, below the sandbox's",
        best.is_some(),
        tr!("a cgroup other than {}", cg.start),
        &actual,
        || {
            tr!(
                "every process is still in the sandbox's first cgroup ({}): make a cgroup (`mkdir {}/NAME`) and move a shell \
                 into it (write its pid, `$$`, to the new cgroup's cgroup.procs)",
                cg.start, cg.inside
            )
        },
    );
    let Some((proc, rel)) = best.filter(|_| found) else {
        v.not_checked(&[
            ("that cgroup's pids.max", "5"),
            (
                "forking in it is refused when it holds 5 processes",
                &tr!("refused (EAGAIN) at 5"),
            ),
        ]);
        return v;
    };
    let max = max_of(&rel);
    v.check("that cgroup's pids.max", max == MAX.to_string(), MAX, &max, || {
        // One placeholder for the file: a template cannot split two that touch.
        let file = format!("{}{rel}/pids.max", cg.inside);
        tr!(
            "{} is in {rel}, whose pids.max is {max}: write {MAX} to {file}",
            proc.label()
        )
    });
    let dir = cg.dir.join(rel.trim_start_matches('/'));
    let outcome = run_in_child(dir);
    let (ok, actual) = match &outcome {
        Ok((errno, current, _)) => (
            errno == "EAGAIN" && *current == MAX,
            tr!("fork() = {errno} with {current} processes in it"),
        ),
        Err(e) => (false, e.clone()),
    };
    v.check(
        "forking in it is refused when it holds 5 processes",
        ok,
        tr!("fork() = EAGAIN with 5 processes in it"),
        &actual,
        || tr!("the check forked in {rel}: {actual}; is the limit on that cgroup, and nothing above it lower?"),
    );
    v
}

/// [`fork_until_refused`] in a child of `lab` (it must not join the cgroup itself).
fn run_in_child(dir: PathBuf) -> Result<(String, u64, usize), String> {
    let mut child = lab_kit::child::spawn(&mut lab_kit::narrate::Quiet, move |c| {
        let r = fork_until_refused(dir)?;
        c.send(&r)?;
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    let r = child.recv(&mut lab_kit::narrate::Quiet).map_err(|e| e.to_string());
    let _ = child.wait(&mut lab_kit::narrate::Quiet);
    r
}
