//! Lab 11: the network namespace. A new one has only a loopback interface,
//! down; ports, addresses, routes and interfaces are per namespace. Seen
//! through rtnetlink (what `ip` uses), `/proc/net/dev` and `/proc/PID/ns/net`.
//!
//! Every interface, address and packet of the lab lives in network namespaces
//! the lab created; named namespaces live in a tmpfs over /run inside its
//! private mount namespace. The host's network is only read, never changed.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::os::fd::AsFd;

use lab_kit::mount;
use lab_kit::net::{self, Netlink};
use lab_kit::prelude::*;

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "11",
    slug: "net",
    title: "Network namespace: interfaces and ports",
    mechanisms: &[Mechanism::NsNet],
    requires: &[Requirement::Namespace("net")],
    rootless: Rootless::EnterUserns,
    steps: &[EMPTY, LOOPBACK, NAMED, VETH],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const EMPTY: StepDecl = StepDecl {
    title: "A new network namespace has only lo, and it is down",
    why: "A network namespace starts with its own loopback interface and nothing else: no other interface, address, route or socket of the host is visible from inside.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["net"],
    },
};
const LOOPBACK: StepDecl = StepDecl {
    title: "Ports are per namespace",
    why: "With lo up, a listener on 127.0.0.1 inside is reachable from inside only; the host's 127.0.0.1 is another interface in another namespace, so the host can bind the same port at the same time.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_NET_ADMIN]),
};
const NAMED: StepDecl = StepDecl {
    title: "A named namespace is a bind mount under /run/netns",
    why: "`ip netns add NAME` bind-mounts a namespace's file on /run/netns/NAME, which keeps it alive with no process in it; `ip netns exec` opens that file and calls setns.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["mnt"],
    },
};
const VETH: StepDecl = StepDecl {
    title: "A veth pair joins two namespaces",
    why: "A veth pair is a virtual cable: what goes in one end comes out of the other. With one end in each namespace and an address on each, they talk over TCP; this is how a container is wired to a bridge on the host.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN, Capability::CAP_NET_ADMIN],
        namespaces: &["net"],
    },
};

/// A private range (RFC 1918), used only inside the lab's namespaces.
const ADDR_A: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
const ADDR_B: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);
/// Free by construction: nothing else listens in a namespace the lab made.
const VETH_PORT: u16 = 9009;

/// What a child sees of its namespace.
#[derive(serde::Serialize, serde::Deserialize)]
struct View {
    links: Vec<String>,
    addresses: Vec<String>,
    routes: Vec<String>,
}

fn view() -> anyhow::Result<View> {
    let mut nl = Netlink::open()?;
    let links = nl.links()?;
    Ok(View {
        links: net::describe(&links),
        addresses: nl.addresses()?,
        routes: nl.routes()?,
    })
}

fn observe_view(s: &mut impl Narrate, side: &str, v: &View) {
    s.observe(format!("links {side}"), &v.links);
    s.observe(format!("addresses {side}"), &v.addresses);
    s.observe(format!("routes {side}"), &v.routes);
}

/// Send a greeting to whoever connects once, then close.
fn greet_once(listener: &TcpListener, greeting: &str) -> anyhow::Result<()> {
    let (mut conn, _) = listener.accept().context("accept()")?;
    conn.write_all(greeting.as_bytes()).context("write()")?;
    Ok(())
}

/// Connect, read what the other side says.
fn hear(c: &mut ChildCtx, addr: SocketAddrV4) -> anyhow::Result<String> {
    let mut conn = net::tcp_connect(c, addr, true)?;
    let mut heard = String::new();
    conn.read_to_string(&mut heard).context("read()")?;
    Ok(heard)
}

fn run(lab: &mut Lab) -> Result<(), Halt> {
    let host_links = net::sys_class_net().map_err(anyhow::Error::from);

    // ANCHOR: empty
    let mut inside = lab.step(&EMPTY, |s| {
        let mut inside = child::spawn_in(s, CloneFlags::CLONE_NEWNET, |c| {
            c.send(&view()?)?;
            c.send(&net::proc_net_dev()?)?;
            let port: u16 = c.recv()?;
            loopback_inside(c, port)?;
            c.wait_for(Cue::Release)?; // until the namespace has a name
            Ok(())
        })?;
        s.note("clone(CLONE_NEWNET): the child is born in a new network namespace.");
        let ns = s.observe_ns("network namespace of the child", Who::Pid(inside.pid().as_raw()), "net")?;
        s.check_eq("the child is in a new network namespace", "new#1", ns.as_str());
        let v: View = inside.recv(s)?;
        observe_view(s, "inside", &v);
        s.check_eq(
            "only lo, and down (no UP flag)",
            "lo <LOOPBACK>",
            v.links.join(", ").as_str(),
        );
        s.check_eq(
            "no address yet, not even 127.0.0.1",
            "",
            v.addresses.join(", ").as_str(),
        );
        let dev: Vec<String> = inside.recv(s)?;
        s.observe("/proc/net/dev inside", &dev);
        s.check_eq("/proc/net/dev inside lists lo alone", "lo", dev.join(" ").as_str());
        Ok(inside)
    })?;
    // ANCHOR_END: empty

    // ANCHOR: loopback
    lab.step(&LOOPBACK, |s| {
        // Port 0: the kernel chooses a free port of the host's loopback.
        let host = net::tcp_listener(s, SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0), false)?;
        let port = host.local_addr().context("getsockname()")?.port();
        s.note("<port> is that port, chosen by the kernel; it differs between runs and is not shown.");
        inside.send(&port)?;
        let heard_inside: String = inside.recv(s)?;
        s.check_eq(
            "inside, 127.0.0.1:PORT answers from inside",
            "inside",
            heard_inside.as_str(),
        );
        // The host connects to the same address: its own listener answers.
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        let mut client = child::spawn(s, |c| {
            let heard = hear(c, addr)?;
            c.send(&heard)?;
            Ok(())
        })?;
        greet_once(&host, "host")?;
        let heard_host: String = client.recv(s)?;
        client.wait(s)?;
        s.check_eq(
            "from the host, 127.0.0.1:PORT is the host's own listener",
            "host",
            heard_host.as_str(),
        );
        Ok(())
    })?;
    // ANCHOR_END: loopback

    // ANCHOR: named
    lab.step(&NAMED, |s| {
        ops::private_mount_ns(s)?;
        // A tmpfs over /run (in the lab's mount namespace only) holds /run/netns,
        // whether or not the host has one.
        ops::mount_tmpfs(s, "/run")?;
        mount::mkdir(s, "/run/netns")?;
        mount::touch(s, "/run/netns/lab-a")?;
        let mut inside = inside;
        mount::bind_as(s, Arg::child_proc(inside.pid(), "ns/net"), "/run/netns/lab-a")?;
        inside.tell(Cue::Release)?;
        inside.wait(s)?;
        s.note("The child has exited: only the bind mount holds its network namespace.");
        let file = s.run(op::Open::new("/run/netns/lab-a", OFlag::O_RDONLY | OFlag::O_CLOEXEC))?;
        let mut joiner = child::spawn(s, |c| {
            c.run(op::Setns::new(&file, CloneFlags::CLONE_NEWNET))?;
            c.send(&view()?)?;
            Ok(())
        })?;
        let v: View = joiner.recv(s)?;
        joiner.wait(s)?;
        drop(file);
        s.observe("links after setns through /run/netns/lab-a", &v.links);
        s.check_eq(
            "it is the same namespace: lo is still up",
            "lo <LOOPBACK,UP,LOWER_UP>",
            v.links.join(", ").as_str(),
        );
        // `ip netns delete lab-a`
        mount::unmount(s, "/run/netns/lab-a")?;
        s.run(op::Unlink::new("/run/netns/lab-a"))?;
        let left: Vec<String> = std::fs::read_dir("/run/netns")
            .context("listing /run/netns")?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        s.observe("/run/netns after the delete", &left);
        s.check_eq("no named namespace is left", "", left.join(" ").as_str());
        Ok(())
    })?;
    // ANCHOR_END: named

    // ANCHOR: veth
    lab.step(&VETH, |s| {
        let mut b = child::spawn_in(s, CloneFlags::CLONE_NEWNET, |c| {
            c.wait_for(Cue::Release)?; // the veth exists
            net::link_up(c, "lo")?;
            net::add_address(c, "veth-b", ADDR_B, 24)?;
            net::link_up(c, "veth-b")?;
            let listener = net::tcp_listener(c, SocketAddrV4::new(ADDR_B, VETH_PORT), false)?;
            c.tell(Cue::Ready)?;
            let (mut conn, _) = listener.accept().context("accept()")?;
            let mut got = [0u8; 4];
            conn.read_exact(&mut got).context("read()")?;
            conn.write_all(b"pong").context("write()")?;
            c.send(&String::from_utf8_lossy(&got))?;
            c.send(&view()?)?;
            Ok(())
        })?;
        s.note("Child B was born in a new network namespace.");
        let b_ns = s.run(op::Open::new(
            Arg::child_proc(b.pid(), "ns/net"),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        ))?;
        let mut a = child::spawn_in(s, CloneFlags::CLONE_NEWNET, |c| {
            net::add_veth(c, "veth-a", "veth-b", b_ns.as_fd(), "child B's netns")?;
            net::link_up(c, "lo")?;
            net::add_address(c, "veth-a", ADDR_A, 24)?;
            net::link_up(c, "veth-a")?;
            c.tell(Cue::Ready)?;
            c.wait_for(Cue::Release)?; // B listens
            let mut conn = net::tcp_connect(c, SocketAddrV4::new(ADDR_B, VETH_PORT), false)?;
            conn.write_all(b"ping").context("write()")?;
            let mut got = String::new();
            conn.read_to_string(&mut got).context("read()")?;
            c.send(&got)?;
            c.send(&view()?)?;
            Ok(())
        })?;
        s.note("Child A was born in another new network namespace.");
        // Not observed by name: the namespace of step 1 is gone, and the
        // kernel may reuse its inode number for one of these.
        let a_ns = proc::namespace(Who::Pid(a.pid().as_raw()), "net")?;
        let b_ns = proc::namespace(Who::Pid(b.pid().as_raw()), "net")?;
        let host = proc::namespace(Who::This, "net")?;
        let relation = if a_ns == b_ns {
            "the same"
        } else if a_ns == host || b_ns == host {
            "one is the host's"
        } else {
            "two new namespaces"
        };
        s.observe("network namespaces of A and B", relation);
        s.check_eq("A and B are in two new namespaces", "two new namespaces", relation);
        a.wait_for(Cue::Ready, s)?;
        b.tell(Cue::Release)?;
        b.wait_for(Cue::Ready, s)?;
        a.tell(Cue::Release)?;
        let a_heard: String = a.recv(s)?;
        let b_heard: String = b.recv(s)?;
        s.check_eq("B received over the veth", "ping", b_heard.as_str());
        s.check_eq("A received the answer", "pong", a_heard.as_str());
        let a_view: View = a.recv(s)?;
        let b_view: View = b.recv(s)?;
        observe_view(s, "in A", &a_view);
        observe_view(s, "in B", &b_view);
        s.check_eq(
            "A's route to the peer's network goes through its veth end",
            "10.9.0.0/24 dev veth-a scope link src 10.9.0.1",
            a_view.routes.join(", ").as_str(),
        );
        s.check_eq(
            "B's route likewise",
            "10.9.0.0/24 dev veth-b scope link src 10.9.0.2",
            b_view.routes.join(", ").as_str(),
        );
        a.wait(s)?;
        b.wait(s)?;
        let after = net::sys_class_net()?;
        match &host_links {
            Ok(before) => {
                s.check_unchanged(
                    "the host's interfaces (/sys/class/net)",
                    &before.join(" "),
                    &after.join(" "),
                );
            }
            Err(e) => s.note(format!("The host's interfaces could not be read before: {e}")),
        }
        Ok(())
    })?;
    // ANCHOR_END: veth
    Ok(())
}

// ANCHOR: loopback_inside
/// In the child: bring lo up, serve 127.0.0.1:PORT, talk to it.
fn loopback_inside(c: &mut ChildCtx, port: u16) -> anyhow::Result<()> {
    net::link_up(c, "lo")?;
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    let listener = net::tcp_listener(c, addr, true)?;
    let mut talker = child::spawn(c, |t| {
        let heard = hear(t, addr)?;
        t.send(&heard)?;
        Ok(())
    })?;
    greet_once(&listener, "inside")?;
    let heard: String = talker.recv(c)?;
    talker.wait(c)?;
    c.send(&heard)?;
    Ok(())
}
// ANCHOR_END: loopback_inside
