//! 09-netns-veth: a named network namespace `mynet`, a veth pair between it
//! and the sandbox with 10.200.0.1/24 and 10.200.0.2/24, both up, and a
//! packet from one end to the other. Checked in the sandbox's mountinfo
//! (`/run/netns/mynet` is an `nsfs` mount), over rtnetlink in a child that
//! entered each network namespace with `setns` (links, flags, addresses),
//! and by a UDP datagram sent from the sandbox's end to a socket bound in
//! `mynet`.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use lab_kit::exercise::{ExerciseDecl, Needs, Probe, Tool, Verdict};
use lab_kit::net::Netlink;
use lab_kit::tr;
use nix::sched::{CloneFlags, setns};

use crate::ns_file;

/// The exercise.
pub static EXERCISE: ExerciseDecl = ExerciseDecl {
    id: "09-netns-veth",
    lab: "net",
    needs: Needs::Sandbox,
    tools: &[Tool {
        command: "ip",
        package: "iproute2",
    }],
    text: include_str!("../text/09-netns-veth.md"),
    text_ja: include_str!("../text/ja/09-netns-veth.md"),
    check,
};

const NETNS: &str = "/run/netns/mynet";
const NEAR: &str = "10.200.0.1";
const FAR: &str = "10.200.0.2";

/// What one end looks like, read in its namespace: the interface with the
/// address, whether it is a veth, whether it is up.
fn end_with(addr: &'static str) -> impl FnOnce() -> anyhow::Result<Option<(String, bool, bool)>> {
    move || {
        let mut nl = Netlink::open()?;
        let want = format!(" {addr}/24");
        let Some(line) = nl.addresses()?.into_iter().find(|a| a.ends_with(&want)) else {
            return Ok(None);
        };
        let name = line.trim_end_matches(&want).to_string();
        let link = nl.links()?.into_iter().find(|l| l.name == name);
        let veth = link.as_ref().is_some_and(|l| l.kind.as_deref() == Some("veth"));
        let up = link.as_ref().is_some_and(|l| l.flags.split(',').any(|f| f == "UP"));
        Ok(Some((name, veth, up)))
    }
}

fn describe(end: &Result<Option<(String, bool, bool)>, String>, addr: &str) -> (bool, String) {
    match end {
        Err(e) => (false, e.clone()),
        Ok(None) => (false, tr!("no interface has {addr}/24")),
        Ok(Some((name, veth, up))) => {
            let kind = if *veth { "veth".to_string() } else { tr!("not a veth") };
            // `ip link`'s own words for the state.
            let state = if *up { "up" } else { "down" };
            (*veth && *up, tr!("{name} ({kind}, {state})"))
        }
    }
}

fn check(p: &mut Probe<'_>) -> Verdict {
    let mut v = Verdict::default();
    let init = p.sandbox.init;
    let mount = p.mount_at(init, NETNS);
    let named = mount.as_ref().is_some_and(|m| m.fs_type == "nsfs");
    let actual = match &mount {
        Some(m) => tr!("a {} mount", m.fs_type),
        None => tr!("not there"),
    };
    v.check(
        format!("{NETNS} is a network namespace file (nsfs mount)"),
        named,
        tr!("an nsfs mount"),
        &actual,
        || tr!("there is no named network namespace mynet yet: `ip netns add mynet` makes one and keeps it in /run/netns"),
    );
    let near = p.inside(&[(ns_file(init, "net"), CloneFlags::CLONE_NEWNET)], end_with(NEAR));
    let (near_ok, near_text) = describe(&near, NEAR);
    v.check(
        format!("in the sandbox: a veth with {NEAR}/24, up"),
        near_ok,
        tr!("a veth, up"),
        &near_text,
        || match &near {
            Ok(Some((name, false, _))) => tr!("{NEAR}/24 is on {name}, which is not a veth"),
            Ok(Some((name, true, false))) => tr!("{name} has {NEAR}/24 but is down: `ip link set {name} up`"),
            _ => tr!(
                "the sandbox's end has no address yet: make a veth pair (`ip link add NAME type veth peer name PEER netns mynet`) \
                 and give the end that stays here {NEAR}/24 (`ip addr add`)"
            ),
        },
    );
    if !named {
        v.not_checked(&[
            (&*format!("in mynet: a veth with {FAR}/24, up"), &tr!("a veth, up")),
            (&*format!("a packet from {NEAR} reaches {FAR}"), &tr!("arrives")),
        ]);
        return v;
    }
    let netns = p.path_in_sandbox(NETNS);
    let far = p.inside(&[(netns.clone(), CloneFlags::CLONE_NEWNET)], end_with(FAR));
    let (far_ok, far_text) = describe(&far, FAR);
    v.check(
        format!("in mynet: a veth with {FAR}/24, up"),
        far_ok,
        tr!("a veth, up"),
        &far_text,
        || match &far {
            Ok(Some((name, false, _))) => tr!("{FAR}/24 is on {name} in mynet, which is not a veth"),
            Ok(Some((name, true, false))) => tr!("{name} in mynet has {FAR}/24 but is down: `ip -n mynet link set {name} up`"),
            _ => tr!(
                "nothing in mynet has {FAR}/24: the peer of the veth must be in mynet (`ip link set PEER netns mynet`), with the \
                 address given there (`ip -n mynet addr add {FAR}/24 dev PEER`)"
            ),
        },
    );
    if !(near_ok && far_ok) {
        v.not_checked(&[(&*format!("a packet from {NEAR} reaches {FAR}"), &tr!("arrives"))]);
        return v;
    }
    // A datagram from the sandbox's end, received by a socket bound in mynet.
    let sandbox_net = ns_file(init, "net");
    let sent = p.inside(&[(netns, CloneFlags::CLONE_NEWNET)], move || {
        let far: Ipv4Addr = FAR.parse()?;
        let near: Ipv4Addr = NEAR.parse()?;
        let rx = UdpSocket::bind(SocketAddrV4::new(far, 0))?;
        rx.set_read_timeout(Some(Duration::from_millis(1500)))?;
        let port = rx.local_addr()?.port();
        let here = std::fs::File::open(&sandbox_net)?;
        setns(here, CloneFlags::CLONE_NEWNET)?;
        let tx = UdpSocket::bind(SocketAddrV4::new(near, 0))?;
        tx.send_to(b"lab exercise 09", SocketAddrV4::new(far, port))?;
        let mut buf = [0u8; 64];
        match rx.recv_from(&mut buf) {
            Ok((n, from)) if &buf[..n] == b"lab exercise 09" => Ok(tr!("arrives (from {})", from.ip())),
            Ok((_, from)) => Ok(tr!("something else arrived (from {})", from.ip())),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                Ok(tr!("does not arrive within 1.5 s"))
            }
            Err(e) => Err(e.into()),
        }
    });
    let actual = sent.clone().unwrap_or_else(|e| e);
    let arrived = actual == format!("arrives (from {NEAR})");
    v.check(format!("a packet from {NEAR} reaches {FAR}"), arrived, tr!("arrives (from {NEAR})"), &actual, || {
        tr!("both ends are up with their addresses, but a UDP packet from {NEAR} to {FAR} {actual}: are the two ends one pair?")
    });
    v
}
