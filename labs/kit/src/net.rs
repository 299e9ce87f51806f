//! Network namespaces seen through rtnetlink, used synchronously
//! (`netlink-packet-route` messages over a `netlink-sys` socket): links, their
//! flags, addresses and routes, as `ip link`, `ip addr` and `ip route` show
//! them. A netlink socket talks to the network namespace it was created in,
//! so a child opens its own after entering a new one; `/proc/net/dev` is read
//! through procfs and shows the reader's namespace too.
//!
//! Labs use these calls only inside network namespaces they created.

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use nix::errno::Errno;

use crate::narrate::Narrate;

/// Errors talking rtnetlink.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The netlink socket could not be opened, or sending/receiving failed.
    #[error("netlink socket: {0}")]
    Socket(std::io::Error),
    /// The kernel refused the request.
    #[error("rtnetlink request refused: {0}")]
    Kernel(Errno),
    /// A reply could not be decoded.
    #[error("malformed rtnetlink reply: {0}")]
    Decode(String),
    /// No interface of that name.
    #[error("no interface named {0}")]
    NoSuchLink(String),
    /// The kernel lacks the driver of a link type (`EOPNOTSUPP` from
    /// RTM_NEWLINK): the step cannot run here; the reason names the module.
    #[error("rtnetlink request refused: EOPNOTSUPP")]
    DriverMissing(#[source] crate::lab::CannotRun),
}

impl NetError {
    /// The errno to narrate: the kernel's, or EIO for the library's own troubles.
    pub fn errno(&self) -> Errno {
        match self {
            NetError::Kernel(e) => *e,
            NetError::Socket(e) => e.raw_os_error().map_or(Errno::EIO, Errno::from_raw),
            NetError::NoSuchLink(_) => Errno::ENODEV,
            NetError::Decode(_) => Errno::EIO,
            NetError::DriverMissing(_) => Errno::EOPNOTSUPP,
        }
    }
}

/// An interface as `ip -brief link` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Link {
    /// Index in its namespace.
    pub index: u32,
    /// Name.
    pub name: String,
    /// Flags, ip-style: `LOOPBACK,UP,LOWER_UP`.
    pub flags: String,
    /// Kind (`veth`), when the driver says.
    pub kind: Option<String>,
}

/// An rtnetlink socket in the caller's network namespace.
pub struct Netlink {
    sock: Socket,
    seq: u32,
}

impl Netlink {
    /// Open a socket; it stays tied to the namespace the caller is in now.
    pub fn open() -> Result<Netlink, NetError> {
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(NetError::Socket)?;
        sock.bind_auto().map_err(NetError::Socket)?;
        sock.connect(&SocketAddr::new(0, 0)).map_err(NetError::Socket)?;
        Ok(Netlink { sock, seq: 0 })
    }

    /// Send one request and collect the replies up to the ACK or the end of the dump.
    fn request(&mut self, msg: RouteNetlinkMessage, flags: u16) -> Result<Vec<RouteNetlinkMessage>, NetError> {
        let mut packet = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(msg));
        self.seq += 1;
        packet.header.flags = NLM_F_REQUEST | flags;
        packet.header.sequence_number = self.seq;
        packet.finalize();
        let mut buf = vec![0; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.sock.send(&buf, 0).map_err(NetError::Socket)?;
        let mut out = Vec::new();
        loop {
            let mut rx: Vec<u8> = Vec::with_capacity(1 << 16);
            let len = self.sock.recv(&mut rx, 0).map_err(NetError::Socket)?;
            let mut offset = 0;
            while offset < len {
                let msg: NetlinkMessage<RouteNetlinkMessage> =
                    NetlinkMessage::deserialize(&rx[offset..len]).map_err(|e| NetError::Decode(e.to_string()))?;
                let size = msg.header.length as usize;
                if msg.header.sequence_number == self.seq {
                    match msg.payload {
                        NetlinkPayload::Done(_) => return Ok(out),
                        NetlinkPayload::Error(e) => {
                            return match e.code {
                                None => Ok(out),
                                Some(code) => Err(NetError::Kernel(Errno::from_raw(-code.get()))),
                            };
                        }
                        NetlinkPayload::InnerMessage(m) => out.push(m),
                        _ => {}
                    }
                }
                if size == 0 {
                    break;
                }
                offset += (size + 3) & !3;
            }
        }
    }

    /// Every interface of the namespace, by index.
    pub fn links(&mut self) -> Result<Vec<Link>, NetError> {
        let replies = self.request(RouteNetlinkMessage::GetLink(LinkMessage::default()), NLM_F_DUMP)?;
        let mut links: Vec<Link> = replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_of(&l)),
                _ => None,
            })
            .collect();
        links.sort_by_key(|l| l.index);
        Ok(links)
    }

    fn index_of(&mut self, name: &str) -> Result<u32, NetError> {
        self.links()?
            .into_iter()
            .find(|l| l.name == name)
            .map(|l| l.index)
            .ok_or_else(|| NetError::NoSuchLink(name.to_string()))
    }

    /// Set `IFF_UP` on an interface (`ip link set NAME up`).
    pub fn set_up(&mut self, name: &str) -> Result<(), NetError> {
        // By name (index 0 and IFLA_IFNAME): the kernel finds the link, so
        // the request is the only message sent, as `ip link set` does.
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::SetLink(msg), NLM_F_ACK).map(drop)
    }

    /// Create a veth pair `name` here, `peer` in the namespace behind
    /// `peer_ns` (`ip link add NAME type veth peer name PEER netns NS`).
    pub fn add_veth(&mut self, name: &str, peer: &str, peer_ns: BorrowedFd<'_>) -> Result<(), NetError> {
        let mut other = LinkMessage::default();
        other.attributes.push(LinkAttribute::IfName(peer.to_string()));
        other.attributes.push(LinkAttribute::NetNsFd(peer_ns.as_raw_fd()));
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(other))),
        ]));
        self.request(RouteNetlinkMessage::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK)
            .map(drop)
            .map_err(|e| driver_missing(e, "veth", "CONFIG_VETH"))
    }

    /// Give an interface an IPv4 address (`ip addr add ADDR/LEN dev NAME`).
    pub fn add_address(&mut self, name: &str, addr: Ipv4Addr, prefix_len: u8) -> Result<(), NetError> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        msg.header.prefix_len = prefix_len;
        msg.header.index = self.index_of(name)?;
        msg.attributes.push(AddressAttribute::Local(addr.into()));
        msg.attributes.push(AddressAttribute::Address(addr.into()));
        self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK,
        )
        .map(drop)
    }

    /// The IPv4 addresses, as `NAME ADDR/LEN` (`ip -4 -brief addr`).
    pub fn addresses(&mut self) -> Result<Vec<String>, NetError> {
        let names = self.links()?;
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        let replies = self.request(RouteNetlinkMessage::GetAddress(msg), NLM_F_DUMP)?;
        let mut out: Vec<String> = replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => {
                    let ip = a.attributes.iter().find_map(|at| match at {
                        AddressAttribute::Local(ip) => Some(*ip),
                        _ => None,
                    })?;
                    let name = names.iter().find(|l| l.index == a.header.index)?.name.clone();
                    Some(format!("{name} {ip}/{}", a.header.prefix_len))
                }
                _ => None,
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// The IPv4 routes of the main table, as `ip -4 route` prints them.
    pub fn routes(&mut self) -> Result<Vec<String>, NetError> {
        let names = self.links()?;
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet;
        let replies = self.request(RouteNetlinkMessage::GetRoute(msg), NLM_F_DUMP)?;
        let mut out: Vec<String> = replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(r) if r.header.table == RouteHeader::RT_TABLE_MAIN => {
                    let mut text = match r.attributes.iter().find_map(|a| match a {
                        RouteAttribute::Destination(RouteAddress::Inet(ip)) => Some(*ip),
                        _ => None,
                    }) {
                        Some(ip) => format!("{ip}/{}", r.header.destination_prefix_length),
                        None => "default".to_string(),
                    };
                    for a in &r.attributes {
                        match a {
                            RouteAttribute::Gateway(RouteAddress::Inet(ip)) => text += &format!(" via {ip}"),
                            RouteAttribute::Oif(i) => {
                                if let Some(l) = names.iter().find(|l| l.index == *i) {
                                    text += &format!(" dev {}", l.name);
                                }
                            }
                            _ => {}
                        }
                    }
                    text += &format!(" scope {}", format!("{:?}", r.header.scope).to_lowercase());
                    if let Some(src) = r.attributes.iter().find_map(|a| match a {
                        RouteAttribute::PrefSource(RouteAddress::Inet(ip)) => Some(*ip),
                        _ => None,
                    }) {
                        text += &format!(" src {src}");
                    }
                    Some(text)
                }
                _ => None,
            })
            .collect();
        out.sort();
        Ok(out)
    }
}

fn link_of(l: &LinkMessage) -> Link {
    let name = l
        .attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let kind = l.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::Kind(k) => Some(k.to_string()),
            _ => None,
        }),
        _ => None,
    });
    Link {
        index: l.header.index,
        name,
        flags: flag_names(l.header.flags),
        kind,
    }
}

/// The flags `ip link` shows, in its order.
pub fn flag_names(flags: LinkFlags) -> String {
    let names: Vec<&str> = [
        (LinkFlags::Loopback, "LOOPBACK"),
        (LinkFlags::Broadcast, "BROADCAST"),
        (LinkFlags::Multicast, "MULTICAST"),
        (LinkFlags::Up, "UP"),
        (LinkFlags::LowerUp, "LOWER_UP"),
    ]
    .into_iter()
    .filter(|(f, _)| flags.contains(*f))
    .map(|(_, n)| n)
    .collect();
    names.join(",")
}

/// `NAME FLAGS` per link, what `ip -brief link` would list (kind added for veths).
pub fn describe(links: &[Link]) -> Vec<String> {
    links
        .iter()
        .map(|l| match &l.kind {
            Some(k) => format!("{} ({k}) <{}>", l.name, l.flags),
            None => format!("{} <{}>", l.name, l.flags),
        })
        .collect()
}

/// RTM_NEWLINK of a link type whose driver the kernel does not have gives
/// EOPNOTSUPP (rtnl_newlink finds no `rtnl-link-KIND` ops, and no modprobe
/// loaded one): that is a missing module, not a kernel that behaves
/// differently, so it becomes [`NetError::DriverMissing`].
fn driver_missing(e: NetError, module: &str, config: &str) -> NetError {
    match e {
        NetError::Kernel(Errno::EOPNOTSUPP) => NetError::DriverMissing(crate::lab::CannotRun::unsupported(format!(
            "the kernel has no {module} driver: RTM_NEWLINK type {module} was refused with EOPNOTSUPP \
             ({config} is a module that is not loaded, or is not built); load it with `modprobe {module}`"
        ))),
        other => other,
    }
}

/// An rtnetlink request that changes the network namespace, as a call
/// value: one `sendto` on a `NETLINK_ROUTE` socket opened for it (a socket
/// talks to the namespace it was opened in: the caller's). The reads that
/// find an interface's index are observations, not narrated.
#[derive(Debug, Clone, Copy)]
pub enum Rtnl<'a> {
    /// `ip link set NAME up`.
    LinkUp(&'a str),
    /// `ip link add NAME type veth peer name PEER netns NS`; `shown` names
    /// the namespace behind the descriptor.
    AddVeth {
        /// This end.
        name: &'a str,
        /// The other end.
        peer: &'a str,
        /// The namespace the other end is made in.
        peer_ns: BorrowedFd<'a>,
        /// What the namespace is shown as.
        shown: &'a str,
    },
    /// `ip addr add ADDR/LEN dev NAME`.
    AddAddress {
        /// The interface.
        name: &'a str,
        /// The address.
        addr: Ipv4Addr,
        /// Its prefix length.
        prefix_len: u8,
    },
}

impl std::fmt::Display for Rtnl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rtnl::LinkUp(name) => write!(
                f,
                "sendto(NETLINK_ROUTE, RTM_SETLINK {{ifname={name:?}, flags=IFF_UP}})"
            ),
            Rtnl::AddVeth { name, peer, shown, .. } => write!(
                f,
                "sendto(NETLINK_ROUTE, RTM_NEWLINK {{ifname={name:?}, kind=\"veth\", peer={{ifname={peer:?}, netns=<{shown}>}}}})"
            ),
            Rtnl::AddAddress { name, addr, prefix_len } => write!(
                f,
                "sendto(NETLINK_ROUTE, RTM_NEWADDR {{dev={name:?}, local={addr}/{prefix_len}}})"
            ),
        }
    }
}

impl crate::op::Op for Rtnl<'_> {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        let mut nl = Netlink::open().map_err(|e| e.errno())?;
        let res = match *self {
            Rtnl::LinkUp(name) => nl.set_up(name),
            Rtnl::AddVeth {
                name, peer, peer_ns, ..
            } => nl.add_veth(name, peer, peer_ns),
            Rtnl::AddAddress { name, addr, prefix_len } => nl.add_address(name, addr, prefix_len),
        };
        res.map_err(|e| e.errno())
    }
}

/// `ip link set NAME up`, narrated.
pub fn link_up(n: &mut impl Narrate, name: &str) -> Result<(), NetError> {
    n.run(Rtnl::LinkUp(name)).map_err(NetError::Kernel)
}

/// `ip link add NAME type veth peer name PEER netns NS`, narrated (`shown` names the namespace).
pub fn add_veth(
    n: &mut impl Narrate,
    name: &str,
    peer: &str,
    peer_ns: BorrowedFd<'_>,
    shown: &str,
) -> Result<(), NetError> {
    n.run(Rtnl::AddVeth {
        name,
        peer,
        peer_ns,
        shown,
    })
    .map_err(|e| driver_missing(NetError::Kernel(e), "veth", "CONFIG_VETH"))
}

/// `ip addr add ADDR/LEN dev NAME`, narrated.
pub fn add_address(n: &mut impl Narrate, name: &str, addr: Ipv4Addr, prefix_len: u8) -> Result<(), NetError> {
    n.run(Rtnl::AddAddress { name, addr, prefix_len })
        .map_err(NetError::Kernel)
}

/// A TCP listener on `addr`, narrated: `socket`, `bind`, `listen`. With
/// `port_placeholder`, the port is one the kernel chose on this machine and
/// is shown as `<port>`.
pub fn tcp_listener(
    n: &mut impl Narrate,
    addr: std::net::SocketAddrV4,
    port_placeholder: bool,
) -> nix::Result<std::net::TcpListener> {
    use std::os::fd::AsFd;
    let fd = n.run(crate::op::TcpSocket)?;
    n.run(crate::op::Bind {
        fd: fd.as_fd(),
        addr,
        port_placeholder,
    })?;
    n.run(crate::op::Listen(fd.as_fd()))?;
    Ok(std::net::TcpListener::from(fd))
}

/// A TCP connection to `addr`, narrated: `socket`, `connect`.
pub fn tcp_connect(
    n: &mut impl Narrate,
    addr: std::net::SocketAddrV4,
    port_placeholder: bool,
) -> nix::Result<std::net::TcpStream> {
    use std::os::fd::AsFd;
    let fd = n.run(crate::op::TcpSocket)?;
    n.run(crate::op::Connect {
        fd: fd.as_fd(),
        addr,
        port_placeholder,
    })?;
    Ok(std::net::TcpStream::from(fd))
}

/// Interface names in `/proc/net/dev` (the reader's namespace), sorted.
pub fn proc_net_dev() -> Result<Vec<String>, crate::KitError> {
    let mut names: Vec<String> = procfs::net::dev_status()
        .map_err(|e| crate::KitError::proc("/proc/net/dev", e))?
        .into_keys()
        .collect();
    names.sort();
    Ok(names)
}

/// Interface names in `/sys/class/net` (the host's, for the lab's checks), sorted.
pub fn sys_class_net() -> Result<Vec<String>, crate::KitError> {
    let dir = std::fs::read_dir("/sys/class/net").map_err(|e| crate::KitError::io("/sys/class/net", e))?;
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}
