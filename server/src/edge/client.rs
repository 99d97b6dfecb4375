//! Who a request comes from (客户端地址): the connection's address, or, when the
//! connection comes from a proxy the operator trusts (`serve --trusted-proxy`), the
//! address that proxy put in `X-Forwarded-For`. A header from anyone else is ignored:
//! otherwise a client could name any address and escape its limits.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;

/// An address or a network (`10.0.0.0/8`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Whether `ip` is in this network (an IPv4 address mapped into IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an address or a network such as 10.0.0.0/8");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let addr = canonical(addr.parse::<IpAddr>().map_err(|_| bad())?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Self { addr, prefix })
    }
}

/// `::ffff:1.2.3.4` as `1.2.3.4` (a dual-stack socket reports IPv4 peers so).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// An `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or
/// `[2001:db8::1]:443`.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    entry.parse::<std::net::SocketAddr>().ok().map(|s| canonical(s.ip()))
}

/// The key an address is limited by: an IPv4 address itself, an IPv6 address's /64
/// (one subscriber's block: a phone on a Chinese mobile network holds a whole /64 and
/// could otherwise take a fresh address for every attempt).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        v4 => v4,
    }
}

/// The proxies whose forwarded headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    /// Trust these networks.
    pub fn new(networks: Vec<Network>) -> Self {
        Self(networks)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client's address for a connection from `peer` with `headers`: the rightmost
    /// `X-Forwarded-For` address that is not itself a trusted proxy (each proxy appends
    /// the address it saw; the ones left of it could be written by the client), when
    /// `peer` is trusted; else `peer`. The walk from the right stops at an entry that is
    /// not an address (`unknown`, garbage): what lies left of it is the client's word.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        for entry in entries.into_iter().rev() {
            let Some(ip) = parse_forwarded(entry) else { return peer };
            if !self.trusts(ip) {
                return ip;
            }
        }
        peer
    }

    /// Whether the request reached the proxy over HTTPS (`X-Forwarded-Proto: https`
    /// from a trusted proxy).
    pub fn forwarded_https(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        self.trusts(canonical(peer))
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.eq_ignore_ascii_case("https"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn networks_parse_and_contain() {
        let net: Network = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.200.1.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let one: Network = "::1".parse().unwrap();
        assert!(one.contains("::1".parse().unwrap()) && !one.contains("::2".parse().unwrap()));
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        for bad in ["10.0.0.0/33", "proxy", "10.0.0/8", ""] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_forwarded_address_counts_only_from_a_trusted_proxy() {
        let proxies = TrustedProxies::new(vec!["127.0.0.1".parse().unwrap(), "10.0.0.0/8".parse().unwrap()]);
        let (local, outsider) = ("127.0.0.1".parse().unwrap(), "203.0.113.9".parse().unwrap());
        // The client wrote 1.1.1.1 itself; the proxy appended what it saw.
        let h = headers("1.1.1.1, 198.51.100.7, 10.0.0.5");
        assert_eq!(proxies.client(local, &h), "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!(proxies.client(outsider, &h), outsider, "an untrusted peer's header is ignored");
        assert_eq!(proxies.client(local, &HeaderMap::new()), local);
        assert_eq!(TrustedProxies::default().client(local, &h), local);
        // A proxy that adds ports; an entry that is no address stops the walk there.
        let h = headers("6.6.6.6, 198.51.100.7:51234");
        assert_eq!(proxies.client(local, &h), "198.51.100.7".parse::<IpAddr>().unwrap());
        let h = headers("6.6.6.6, unknown, 10.0.0.5");
        assert_eq!(proxies.client(local, &h), local, "the forged 6.6.6.6 is never taken");
        let h = headers("[2001:db8::1]:443");
        assert_eq!(proxies.client(local, &h), "2001:db8::1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn an_ipv6_client_is_limited_by_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(limit_key(a), limit_key(b));
        assert_ne!(limit_key(a), limit_key("2001:db8:1:3::1".parse().unwrap()));
        let v4: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(limit_key(v4), v4);
    }
}
