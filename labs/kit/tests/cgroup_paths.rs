//! The cgroup code paths on this machine, as root: the v2 core files
//! (`cgroup.freeze`, `cgroup.events`, `cgroup.kill`) in whatever v2
//! hierarchy is mounted, the manual kill (freeze, kill each, thaw) on v1 and
//! v2, a controller the parent does not offer (a reason, not an error), and
//! the guard removing everything. It forks, and the kit refuses to fork a
//! process with other threads, so it runs without the test harness (one
//! thread: `harness = false`).

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

use std::time::Duration;

use lab_kit::cgroup::{CgroupError, Group, Layout, RunGuard, Version, v1};
use lab_kit::event::Event;
use lab_kit::narrate::Narrate;
use lab_kit::privilege::Caller;
use lab_kit::{Status, child};

#[derive(Default)]
struct Collect(Vec<String>);

impl Narrate for Collect {
    fn emit(&mut self, event: Event) {
        if let Event::Call { text } = event {
            self.0.push(text);
        }
    }
}

fn sleeper(g: &Group, n: &mut Collect) -> child::Child {
    let c = child::spawn(n, |_| {
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    })
    .expect("fork");
    g.add(n, c.pid().as_raw(), "<child>").expect("move the child in");
    c
}

fn emptied(g: &Group) -> bool {
    g.wait_until(Duration::from_secs(2), |g| g.procs().is_ok_and(|p| p.is_empty()))
}

fn main() {
    cgroup_code_paths_on_this_machine();
    println!("test cgroup_code_paths_on_this_machine ... ok");
}

fn cgroup_code_paths_on_this_machine() {
    if !Caller::read().is_real_root() {
        eprintln!("skipped: needs real root");
        return;
    }
    let layout = Layout::read().expect("layout");
    let mut n = Collect::default();
    let mut guard = RunGuard::create(&mut n, &layout).expect("guard");
    let mut dirs = Vec::new();

    if let Some(v2) = layout.v2().cloned() {
        let g = guard.group_in(&mut n, &v2, "freeze", &[]).expect("v2 group");
        dirs.push(g.path().to_path_buf());
        let c = sleeper(&g, &mut n);
        assert!(
            g.freeze(&mut n, true).expect("freeze"),
            "cgroup.events never said frozen 1"
        );
        assert_eq!(g.read_key("cgroup.events", "frozen").expect("cgroup.events"), 1);
        assert!(g.freeze(&mut n, false).expect("thaw"));
        // The manual way, on v2 (kernels before cgroup.kill).
        v1::kill_all(&g, &mut n).expect("manual kill");
        assert_eq!(child::describe(&c.reap().expect("reap")), "killed by SIGKILL");
        assert!(emptied(&g));
        if g.has("cgroup.kill") {
            let c = sleeper(&g, &mut n);
            g.kill_all(&mut n).expect("cgroup.kill");
            assert_eq!(child::describe(&c.reap().expect("reap")), "killed by SIGKILL");
            assert!(n.0.iter().any(|c| c.contains("cgroup.kill, \"1\") = 0")));
        }
        // A controller the root does not enable for its children is a reason, not an error.
        let offered = std::fs::read_to_string(v2.mount.join("cgroup.subtree_control")).unwrap_or_default();
        if let Some(missing) = ["memory", "pids", "cpu"].into_iter().find(|c| !offered.contains(c)) {
            match guard.group_in(&mut n, &v2, "no", &[missing]) {
                Err(CgroupError::Refused(r)) => {
                    let c = lab_kit::outcome::CannotRun::from(r);
                    assert_eq!(c.status, Status::Unsupported);
                    assert!(c.reason.contains(missing), "{}", c.reason);
                }
                other => panic!("expected a reason, got {:?}", other.map(|g| g.path().to_path_buf())),
            }
        }
    }

    if let Some(h) = layout.holder("freezer").filter(|h| h.version == Version::V1).cloned() {
        let g = guard.group_in(&mut n, &h, "manual", &[]).expect("v1 group");
        dirs.push(g.path().to_path_buf());
        let c = sleeper(&g, &mut n);
        g.kill_all(&mut n).expect("manual kill");
        assert!(n.0.iter().any(|c| c.contains("freezer.state, \"FROZEN\") = 0")));
        assert_eq!(child::describe(&c.reap().expect("reap")), "killed by SIGKILL");
        assert!(emptied(&g));
        // A frozen process left in a v1 group: the guard thaws and kills it.
        // (Its handle is forgotten: dropping it would wait for a frozen process.)
        std::mem::forget(sleeper(&g, &mut n));
        assert!(g.freeze(&mut n, true).expect("freeze"));
    }

    let left = guard.close(&mut n);
    assert!(left.is_empty(), "left: {left:?}");
    for d in dirs {
        assert!(!d.exists(), "{} remains", d.display());
    }
}
