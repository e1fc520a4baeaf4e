//! Who is on the other end of a connection: the socket's peer, whether a proxy stands between,
//! and the client address the limits and the log use.
//!
//! A request that carries `Forwarded`, `X-Forwarded-For` or `X-Real-IP` came through a proxy,
//! whoever sent it: such a connection is never "local", even from 127.0.0.1 (the reverse proxy
//! on the same machine is exactly that case), and neither is one from a trusted proxy.
//!
//! A client address is read from one header only, the one the trusted proxies set
//! ([`ClientHeader`], `X-Forwarded-For` by default), and only when the socket's peer is one of
//! the `trusted_proxies`; otherwise anybody could claim any address. Reading whichever header
//! is present would let a client write a `Forwarded` header its proxy passes on untouched.
//! The address is the last in the header's chain that is not a trusted proxy, so
//! `trusted_proxies` must name the proxies only, never a network that clients connect from.

use std::net::IpAddr;

use ipnet::IpNet;

/// The proxy headers looked at, lowercase.
const PROXY_HEADERS: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

/// The addresses whose proxy headers are believed: single addresses or networks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Proxies from addresses (`10.0.0.5`, `::1`) and networks (`10.0.0.0/8`).
    pub fn new(nets: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies(nets)
    }

    /// The networks, as given.
    pub fn nets(&self) -> &[IpNet] {
        &self.0
    }

    /// Whether `addr` is one of them.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.0.iter().any(|net| net.contains(&addr))
    }
}

/// Which header a trusted proxy gives the client's address in.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum ClientHeader {
    /// `X-Forwarded-For: client, proxy1, ...`: what nginx (`$proxy_add_x_forwarded_for`),
    /// Caddy, HAProxy and most load balancers append to.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
    /// `X-Real-IP: client`, a single address the proxy sets.
    XRealIp,
}

impl ClientHeader {
    fn name(self) -> &'static str {
        match self {
            ClientHeader::XForwardedFor => "x-forwarded-for",
            ClientHeader::Forwarded => "forwarded",
            ClientHeader::XRealIp => "x-real-ip",
        }
    }
}

/// Parses `10.0.0.5` or `10.0.0.0/8` (and IPv6 alike) as a network. An IPv4 address written
/// IPv4-mapped (`::ffff:10.0.0.5`) is taken as the IPv4 address it is.
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    let net = text
        .parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            format!("{text:?} is neither an address (10.0.0.5) nor a network (10.0.0.0/8)")
        })?;
    Ok(match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(net, IpNet::V4),
            None => net,
        },
        _ => net,
    })
}

impl serde::Serialize for TrustedProxies {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(ToString::to_string))
    }
}

impl<'de> serde::Deserialize<'de> for TrustedProxies {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let texts = Vec::<String>::deserialize(deserializer)?;
        texts
            .iter()
            .map(|text| parse_net(text))
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
            .map_err(serde::de::Error::custom)
    }
}

/// The other end of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The socket's peer address.
    pub socket: IpAddr,
    /// The client's address: the socket's peer, or what a trusted proxy forwarded.
    pub client: IpAddr,
    /// Whether the request carried proxy headers.
    pub proxied: bool,
    /// Whether the socket's peer is a trusted proxy.
    pub via_trusted_proxy: bool,
    /// Whether another relay of the cluster forwarded the connection (and vouched for
    /// `client`): it is not forwarded again.
    pub from_node: bool,
    /// Whether that relay let the client in without a token.
    pub vouched_anonymous: bool,
    /// The document that relay vouched for the client for: its `hello` must be for that one.
    pub vouched_doc: Option<String>,
    /// Whether the request carried a relay's vouch that was not believed (another relay's clock
    /// more than a minute apart, the moment a new signing secret is being read, or a vouch
    /// used before).
    pub unverified_vouch: bool,
    /// Whether that relay meant the connection for another relay (whose `--node-url` leads
    /// here by mistake).
    pub misdirected: bool,
}

impl Peer {
    /// A peer whose request has not been read yet.
    pub fn direct(socket: IpAddr) -> Peer {
        let socket = socket.to_canonical();
        Peer {
            socket,
            client: socket,
            proxied: false,
            via_trusted_proxy: false,
            from_node: false,
            vouched_anonymous: false,
            vouched_doc: None,
            unverified_vouch: false,
            misdirected: false,
        }
    }

    /// The peer as the request's headers (name, value) show it: the client's address is read
    /// from `header` when the socket's peer is a trusted proxy.
    pub fn from_request<'h>(
        socket: IpAddr,
        headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
        trusted: &TrustedProxies,
        header: ClientHeader,
    ) -> Peer {
        let mut peer = Peer::direct(socket);
        peer.via_trusted_proxy = trusted.contains(peer.socket);
        let mut chain = Vec::new();
        for (name, value) in headers {
            let name = name.to_ascii_lowercase();
            if !PROXY_HEADERS.contains(&name.as_str()) {
                continue;
            }
            peer.proxied = true;
            if name != header.name() {
                continue;
            }
            let value = String::from_utf8_lossy(value);
            match header {
                ClientHeader::Forwarded => chain.extend(forwarded_for(&value)),
                ClientHeader::XForwardedFor => chain.extend(value.split(',').map(parse_addr)),
                ClientHeader::XRealIp => chain.push(parse_addr(&value)),
            }
        }
        if peer.via_trusted_proxy
            && let Some(client) = client_of(&chain, trusted)
        {
            peer.client = client;
        }
        peer
    }

    /// Whether the connection is truly local: from a loopback address, with no proxy between
    /// (no proxy headers, and not from a trusted proxy), and not forwarded by another relay
    /// (whose word on its client, [`Peer::vouched_anonymous`], is what counts then).
    pub fn is_local(&self) -> bool {
        self.socket.is_loopback() && !self.proxied && !self.via_trusted_proxy && !self.from_node
    }
}

/// The client in a chain of addresses, each proxy appending the one it heard from: the last
/// address that is not a trusted proxy (what a proxy we trust heard from), or the first when
/// all are trusted. An address that cannot be read ends the walk: nothing before it can be
/// believed.
fn client_of(chain: &[Option<IpAddr>], trusted: &TrustedProxies) -> Option<IpAddr> {
    let mut last = None;
    for addr in chain.iter().rev() {
        let addr = (*addr)?;
        if !trusted.contains(addr) {
            return Some(addr);
        }
        last = Some(addr);
    }
    last
}

/// The `for=` addresses of a `Forwarded` header (RFC 7239), in order.
fn forwarded_for(value: &str) -> Vec<Option<IpAddr>> {
    value
        .split(',')
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_addr(value))
            })
        })
        .collect()
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:443`, `"[2001:db8::1]:443"`,
/// `2001:db8::1`. `unknown` and obfuscated names are not addresses.
fn parse_addr(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(addr) = text.parse::<IpAddr>() {
        return Some(addr.to_canonical());
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, _) = rest.split_once(']')?;
        return inside.parse::<IpAddr>().ok().map(|a| a.to_canonical());
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<IpAddr>().ok().map(|a| a.to_canonical())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn trusted(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|n| parse_net(n).unwrap()).collect())
    }

    fn peer(socket: &str, headers: &[(&str, &str)], proxies: &[&str]) -> Peer {
        peer_by(socket, headers, proxies, ClientHeader::default())
    }

    fn peer_by(
        socket: &str,
        headers: &[(&str, &str)],
        proxies: &[&str],
        header: ClientHeader,
    ) -> Peer {
        Peer::from_request(
            ip(socket),
            headers.iter().map(|(n, v)| (*n, v.as_bytes())),
            &trusted(proxies),
            header,
        )
    }

    #[test]
    fn a_loopback_peer_without_proxy_headers_is_local() {
        let p = peer("127.0.0.1", &[("Host", "localhost")], &[]);
        assert!(p.is_local());
        assert_eq!(p.client, ip("127.0.0.1"));
        assert!(peer("::1", &[], &[]).is_local());
        assert!(peer("::ffff:127.0.0.1", &[], &[]).is_local());
        assert!(!peer("192.0.2.1", &[], &[]).is_local());
    }

    #[test]
    fn any_proxy_header_makes_a_loopback_peer_remote() {
        for name in [
            "Forwarded",
            "X-Forwarded-For",
            "X-Real-IP",
            "x-forwarded-for",
        ] {
            let p = peer("127.0.0.1", &[(name, "for=203.0.113.9")], &[]);
            assert!(p.proxied, "{name}");
            assert!(!p.is_local(), "{name}");
            // Not trusted: the claimed address is not believed.
            assert_eq!(p.client, ip("127.0.0.1"), "{name}");
        }
        // Even a header that names no address.
        assert!(!peer("127.0.0.1", &[("X-Forwarded-For", "")], &[]).is_local());
        // Trusting the proxy does not make its clients local, with headers or without.
        assert!(!peer("127.0.0.1", &[("X-Real-IP", "127.0.0.1")], &["127.0.0.1"]).is_local());
        assert!(!peer("127.0.0.1", &[], &["127.0.0.1"]).is_local());
    }

    #[test]
    fn a_trusted_proxy_gives_the_client_address() {
        let proxies = &["127.0.0.1", "10.0.0.0/8"];
        let xff = peer(
            "127.0.0.1",
            &[("X-Forwarded-For", "198.51.100.7, 10.1.2.3")],
            proxies,
        );
        assert_eq!(xff.client, ip("198.51.100.7"));
        // A client cannot hide behind an address it wrote itself: the last untrusted one
        // counts.
        let spoof = peer(
            "127.0.0.1",
            &[("X-Forwarded-For", "1.1.1.1, 198.51.100.7")],
            proxies,
        );
        assert_eq!(spoof.client, ip("198.51.100.7"));
        let fwd = peer_by(
            "10.0.0.2",
            &[(
                "Forwarded",
                "for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.9.9.9",
            )],
            proxies,
            ClientHeader::Forwarded,
        );
        assert_eq!(fwd.client, ip("2001:db8:cafe::17"));
        let real = peer_by(
            "127.0.0.1",
            &[("X-Real-IP", "203.0.113.5")],
            proxies,
            ClientHeader::XRealIp,
        );
        assert_eq!(real.client, ip("203.0.113.5"));
        // An unreadable address stops the walk: the proxy itself stays the client.
        let unknown = peer_by(
            "127.0.0.1",
            &[("Forwarded", "for=unknown")],
            proxies,
            ClientHeader::Forwarded,
        );
        assert_eq!(unknown.client, ip("127.0.0.1"));
    }

    /// A proxy that appends to X-Forwarded-For passes a client's own `Forwarded` or
    /// `X-Real-IP` on untouched: only the configured header is read.
    #[test]
    fn headers_the_proxy_does_not_set_are_not_believed() {
        let p = peer(
            "127.0.0.1",
            &[
                ("Forwarded", "for=198.51.100.1"),
                ("X-Real-IP", "198.51.100.2"),
                ("X-Forwarded-For", "203.0.113.7"),
            ],
            &["127.0.0.1"],
        );
        assert_eq!(p.client, ip("203.0.113.7"));
        // Without the configured header, the proxy is the client.
        let p = peer(
            "127.0.0.1",
            &[("Forwarded", "for=198.51.100.1")],
            &["127.0.0.1"],
        );
        assert_eq!(p.client, ip("127.0.0.1"));
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_an_address() {
        let p = peer(
            "192.0.2.1",
            &[("X-Forwarded-For", "203.0.113.5")],
            &["127.0.0.1"],
        );
        assert_eq!(p.client, ip("192.0.2.1"));
    }

    #[test]
    fn networks_parse_from_addresses_and_prefixes() {
        assert!(trusted(&["10.0.0.0/8"]).contains(ip("10.200.0.1")));
        assert!(trusted(&["::1"]).contains(ip("::1")));
        assert!(!trusted(&["10.0.0.1"]).contains(ip("10.0.0.2")));
        assert!(parse_net("proxy.example").is_err());
        // An IPv4 proxy written IPv4-mapped matches the address as peers are seen.
        assert!(trusted(&["::ffff:127.0.0.1"]).contains(ip("127.0.0.1")));
        assert!(trusted(&["::ffff:10.0.0.0/104"]).contains(ip("10.9.9.9")));
        let from_toml: TrustedProxies =
            serde_json::from_str(r#"["127.0.0.1", "fd00::/8"]"#).unwrap();
        assert_eq!(from_toml.nets().len(), 2);
        assert!(serde_json::from_str::<TrustedProxies>(r#"["nope"]"#).is_err());
    }
}
