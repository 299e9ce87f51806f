//! `lab container`: the command runs as PID 1 with the container's hostname,
//! root and capabilities, root and rootless; its exit status comes back;
//! signals reach it; an interactive shell works under a real terminal; bad
//! options are one line and exit 2; nothing is left behind.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use std::io::Read;
use std::os::fd::AsFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{HostState, LAB, Mode, host_turn};

const PROBE: &str = "echo pid=$$; hostname; ls /; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; \
                     tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '";

#[test]
fn the_command_sees_the_container_root_and_rootless() {
    require_root!();
    let _turn = host_turn();
    let before = HostState::read();
    for mode in [Mode::Root, Mode::Nobody] {
        let out = mode
            .command(LAB, &["container", "--hostname", "box", "--", "sh", "-c", PROBE])
            .output()
            .expect("runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            mode.name(),
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "pid=1", "{text}");
        assert_eq!(lines[1], "box");
        for dir in ["bin", "dev", "etc", "proc", "tmp", "usr"] {
            assert!(lines.contains(&dir), "{} missing from / in:\n{text}", dir);
        }
        assert!(
            !lines.contains(&"home") && !lines.contains(&"work"),
            "host directories leak:\n{text}"
        );
        let mask = format!("{:016x}", lab_kit::container::default_caps_mask());
        assert!(lines.contains(&format!("CapEff:\t{mask}").as_str()), "{text}");
        assert!(lines.contains(&format!("CapBnd:\t{mask}").as_str()), "{text}");
        assert!(lines.contains(&"NoNewPrivs:\t1"), "{text}");
        assert_eq!(lines.last(), Some(&"lo"), "only lo:\n{text}");
    }
    assert_eq!(before, HostState::read(), "the host changed");
}

#[test]
fn exit_status_comes_back() {
    require_root!();
    let code = |args: &[&str]| {
        let mut all = vec!["container", "--"];
        all.extend_from_slice(args);
        Command::new(LAB)
            .args(&all)
            .stderr(Stdio::null())
            .status()
            .expect("runs")
            .code()
    };
    assert_eq!(code(&["sh", "-c", "exit 42"]), Some(42));
    assert_eq!(code(&["true"]), Some(0));
    assert_eq!(code(&["/no/such/program"]), Some(127));
    assert_eq!(code(&["/etc"]), Some(126));
    assert_eq!(
        code(&["sh", "-c", "kill -KILL $$"]),
        Some(0),
        "PID 1 cannot kill itself from inside: SIGKILL from its own namespace is ignored"
    );
}

#[test]
fn signals_are_forwarded_to_pid_1() {
    require_root!();
    let child = Command::new(LAB)
        .args([
            "container",
            "--",
            "sh",
            "-c",
            "trap 'exit 9' TERM; echo ready; while :; do sleep 0.05; done",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut child = child;
    let mut out = child.stdout.take().expect("stdout");
    let mut buf = [0u8; 6];
    out.read_exact(&mut buf).expect("ready");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("kill");
    let status = child.wait().expect("ends");
    assert_eq!(status.code(), Some(9), "SIGTERM reached the command's trap");
}

#[test]
fn an_interactive_shell_gets_a_terminal() {
    require_root!();
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let slave = || Stdio::from(pty.slave.try_clone().expect("dup"));
    let mut child = Command::new(LAB)
        .args(["container", "--hostname", "tty-box", "--", "/bin/sh"])
        .stdin(slave())
        .stdout(slave())
        .stderr(slave())
        .spawn()
        .expect("starts");
    drop(pty.slave);
    std::thread::sleep(Duration::from_millis(300));
    nix::unistd::write(
        &pty.master,
        b"echo \"in $(hostname) as $$: $((6*7))\"; [ -t 0 ] && echo tty-yes; exit 4\n",
    )
    .expect("type");
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 1024];
    while Instant::now() < deadline {
        let mut fds = [nix::poll::PollFd::new(pty.master.as_fd(), nix::poll::PollFlags::POLLIN)];
        if nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(200u16)).unwrap_or(0) > 0 {
            match nix::unistd::read(&pty.master, &mut buf) {
                Ok(n) if n > 0 => seen.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
    }
    let status = child.wait().expect("ends");
    let text = String::from_utf8_lossy(&seen);
    assert!(text.contains("in tty-box as 1: 42"), "{text}");
    assert!(text.contains("tty-yes"), "the shell's stdin is a terminal:\n{text}");
    assert_eq!(status.code(), Some(4));
}

#[test]
fn bad_options_are_one_line_and_exit_2() {
    for args in [
        &["container"][..],
        &["container", "--net", "bridge", "--", "true"],
        &["container", "--hostname", "-bad", "--", "true"],
        &["container", "--rootfs", "/no/such/dir", "--", "true"],
        &["container", "--hostname"],
    ] {
        let out = Command::new(LAB).args(args).output().expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "lab {}: {err}", args.join(" "));
        assert_eq!(err.lines().count(), 1, "lab {}: {err}", args.join(" "));
    }
}

#[test]
fn limits_are_enforced_and_refused_without_cgroups() {
    require_root!();
    let _turn = host_turn();
    let before = HostState::read();
    let out = Command::new(LAB)
        .args(["container", "--pids", "4", "--memory", "64M", "--cpus", "0.5", "--"])
        .args([
            "sh",
            "-c",
            "cat /proc/self/cgroup; for i in 1 2 3 4 5 6; do sleep 1 & done",
        ])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fork"), "the fifth process is refused: {err}");
    assert!(
        text.lines()
            .filter(|l| l.contains(":pids:") || l.starts_with("0::"))
            .all(|l| l.ends_with(":/")),
        "{text}"
    );
    let out = Mode::Nobody
        .command(LAB, &["container", "--pids", "4", "--", "true"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("need cgroups"), "{err}");
    assert_eq!(before, HostState::read(), "the host changed");
}

#[test]
fn bench_reports_every_measurement() {
    require_root!();
    let _turn = host_turn();
    let out = Command::new(LAB)
        .args(["bench", "--runs", "5", "--warmup", "1", "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let names = common::bench_names(&v);
    for want in [
        "fork + wait",
        "clone(all of them) + wait",
        "mount tmpfs + umount",
        "pivot_root + detach the old root",
        "cgroup: mkdir + rmdir",
        "lab container -- /bin/true",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    for m in v["measurements"].as_array().expect("measurements") {
        let (p10, med, p90) = (m["p10_us"].as_f64(), m["median_us"].as_f64(), m["p90_us"].as_f64());
        assert!(
            matches!((p10, med, p90), (Some(a), Some(b), Some(c)) if 0.0 < a && a <= b && b <= c),
            "{m}"
        );
    }
    assert!(!v["breakdown"].as_array().expect("breakdown").is_empty());
}

#[test]
fn a_prepared_root_filesystem_is_used_as_given() {
    require_root!();
    // A tiny root: the host's /usr bound into it (in a mount namespace of
    // this test's own, so the host never sees the bind), the merged-/usr
    // links, and a marker that only this root has. Read-only: bound as it
    // is, with the mount under it (an overlay's layer shows no submounts).
    let root = std::env::temp_dir().join(format!("cl-rootfs-{}", std::process::id()));
    std::fs::create_dir_all(root.join("usr")).expect("mkdir");
    for dir in ["etc", "proc", "dev", "tmp"] {
        std::fs::create_dir_all(root.join(dir)).expect("mkdir");
    }
    std::fs::write(root.join("etc/marker"), "prepared root\n").expect("marker");
    for link in ["bin", "lib", "lib64", "sbin"] {
        if std::fs::read_link(format!("/{link}")).is_ok() {
            std::os::unix::fs::symlink(format!("usr/{link}"), root.join(link)).expect("symlink");
        }
    }
    let script = format!(
        "mount --bind /usr {r}/usr && exec \"$0\" container --read-only --rootfs {r} -- sh -c 'cat /etc/marker; ls /etc'",
        r = root.display()
    );
    let out = Command::new("unshare")
        .args(["--mount", "--", "sh", "-c", &script, LAB])
        .output()
        .expect("runs");
    let _ = std::fs::remove_dir_all(&root);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        text, "prepared root\nmarker\n",
        "the container sees the prepared root, not an assembled one"
    );
}

/// Copy `/bin/sh` and the libraries it loads into `layer`, at the same
/// paths: a root filesystem of one program.
fn shell_layer(layer: &std::path::Path) {
    let ldd = Command::new("ldd").arg("/bin/sh").output().expect("ldd runs");
    let libs = String::from_utf8_lossy(&ldd.stdout)
        .split_whitespace()
        .filter(|w| w.starts_with('/'))
        .map(String::from)
        .collect::<Vec<_>>();
    for file in libs.iter().map(String::as_str).chain(["/bin/sh"]) {
        let real = std::fs::canonicalize(file).expect("the file exists");
        let to = layer.join(file.trim_start_matches('/'));
        std::fs::create_dir_all(to.parent().expect("a parent")).expect("mkdir");
        std::fs::copy(&real, &to).unwrap_or_else(|e| panic!("copy {file}: {e}"));
    }
    for dir in ["proc", "dev", "tmp", "etc"] {
        std::fs::create_dir_all(layer.join(dir)).expect("mkdir");
    }
}

#[test]
fn image_layers_are_stacked_and_writes_land_above_them() {
    // Rootless or root alike; the layers are plain directories of the test's.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (app, base) = (dir.path().join("app"), dir.path().join("base"));
    shell_layer(&base);
    std::fs::write(base.join("etc/marker"), "base\n").expect("marker");
    std::fs::write(base.join("etc/only-base"), "b\n").expect("file");
    std::fs::create_dir_all(app.join("etc")).expect("mkdir");
    std::fs::write(app.join("etc/marker"), "app\n").expect("marker");
    let layers = format!("{}:{}", app.display(), base.display());
    let out = Command::new(LAB)
        .args(["container", "--rootfs", &layers, "--", "/bin/sh", "-c"])
        .arg("read m </etc/marker; echo $m; read b </etc/only-base; echo $b; echo new >/etc/new && echo wrote")
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if let Some(reason) = unsupported_overlay(&stderr) {
        eprintln!("skipped: {reason}");
        return;
    }
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        text, "app\nb\nwrote\n",
        "the top layer wins, the lower shows through, writes work"
    );
    assert!(
        !app.join("etc/new").exists() && !base.join("etc/new").exists(),
        "the container's write must not reach its layers"
    );
    let ro = Command::new(LAB)
        .args([
            "container",
            "--read-only",
            "--rootfs",
            &layers,
            "--",
            "/bin/sh",
            "-c",
            "echo x >/etc/new",
        ])
        .output()
        .expect("runs");
    assert_ne!(ro.status.code(), Some(0), "--read-only refuses the write");
    assert!(
        String::from_utf8_lossy(&ro.stderr).contains("Read-only file system"),
        "{}",
        String::from_utf8_lossy(&ro.stderr)
    );
}

/// Why this machine cannot mount the container's overlay, from what
/// `lab container` said; `None` when that was not the trouble.
fn unsupported_overlay(stderr: &str) -> Option<&str> {
    (stderr.contains("overlay") && (stderr.contains("ENODEV") || stderr.contains("5.11"))).then_some(stderr)
}

#[test]
fn bad_layers_get_a_one_line_error() {
    for args in [
        &["container", "--rootfs", "/nonexistent-layer", "--", "true"][..],
        &["container", "--layer", "/", "--", "true"][..],
    ] {
        let out = Command::new(LAB).args(args).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            matches!(out.status.code(), Some(2 | 125)),
            "{args:?}: {:?} {stderr}",
            out.status
        );
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.contains("is not a directory") || first.contains("outside its layers"),
            "the first line says what is wrong: {stderr}"
        );
    }
}
