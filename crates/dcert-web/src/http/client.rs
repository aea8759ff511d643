//! Who the client is: the peer's address, or, when the peer is a reverse proxy this site was
//! told to trust, the address that proxy saw. Rate limits and the audit log count clients by
//! [`crate::serve::client_group`] (an IPv6 client by its /64).

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use serde::Deserialize;

/// The reverse proxies whose `X-Forwarded-For` this site believes, as addresses or CIDR
/// blocks (`127.0.0.1`, `10.0.0.0/8`, `2001:db8::/32`). Empty by default: the peer is the
/// client, and a forwarded header is ignored (anyone could send one). In a settings file, a
/// list; in an environment variable, the same entries separated by commas.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "ProxyList")]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

/// The proxies as written: a list, or one string of comma-separated entries.
#[derive(Deserialize)]
#[serde(untagged)]
enum ProxyList {
    Text(String),
    List(Vec<String>),
}

impl TryFrom<ProxyList> for TrustedProxies {
    type Error = BadProxy;

    fn try_from(list: ProxyList) -> Result<Self, BadProxy> {
        match list {
            ProxyList::List(entries) => entries.try_into(),
            ProxyList::Text(text) => text
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
                .try_into(),
        }
    }
}

/// A trusted proxy that is not an address or a CIDR block.
#[derive(Debug, thiserror::Error)]
#[error("trusted_proxies: \"{0}\" is not an IP address or a CIDR block such as 10.0.0.0/8")]
pub struct BadProxy(String);

impl TryFrom<Vec<String>> for TrustedProxies {
    type Error = BadProxy;

    fn try_from(entries: Vec<String>) -> Result<Self, BadProxy> {
        let parse = |text: &str| -> Option<(IpAddr, u8)> {
            let (addr, bits) = match text.split_once('/') {
                Some((a, b)) => (a.parse::<IpAddr>().ok()?, b.parse::<u8>().ok()?),
                None => {
                    let a = text.parse::<IpAddr>().ok()?;
                    (a, if a.is_ipv4() { 32 } else { 128 })
                }
            };
            let max = if addr.is_ipv4() { 32 } else { 128 };
            if bits > max {
                return None;
            }
            // An IPv4-mapped entry (::ffff:10.0.0.1, as dual-stack sockets show peers) is the
            // IPv4 address or block it maps: peers are compared as IPv4 too.
            match addr {
                IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => {
                    let v4 = v6.to_ipv4_mapped()?;
                    (bits >= 96).then(|| (IpAddr::V4(v4), bits - 96))
                }
                _ => Some((addr, bits)),
            }
        };
        entries
            .iter()
            .map(|e| parse(e.trim()).ok_or_else(|| BadProxy(e.clone())))
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl TrustedProxies {
    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|(net, bits)| match (*net, ip) {
            // Entries are canonical and their lengths checked when parsed; a zero-length block
            // matches everything of its family.
            (IpAddr::V4(n), IpAddr::V4(a)) if *bits <= 32 => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*bits)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) if *bits <= 128 => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*bits)).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        })
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then the last
    /// `X-Forwarded-For` entry that is not itself a trusted proxy (each proxy appends the address
    /// it saw, so the entries left of it are the client's own claims and are not believed).
    pub fn client(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer.map(|p| canonical(p.ip()))?;
        if !self.contains(peer) {
            return Some(peer);
        }
        let mut forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>();
        while let Some(entry) = forwarded.pop() {
            match forwarded_address(entry) {
                Some(ip) if self.contains(ip) => continue,
                Some(ip) => return Some(canonical(ip)),
                // Garbage where an address should be: the proxy's own view is all we know.
                None => return Some(peer),
            }
        }
        Some(peer)
    }

    /// The client as rate limits and the audit log count it (an IPv6 client by its /64), or
    /// `-` when the connection's address is unknown.
    pub fn client_group(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> String {
        self.client(peer, headers).map(crate::serve::client_group).unwrap_or_else(|| "-".into())
    }
}

/// An `X-Forwarded-For` entry's address: a bare address, or one with a port as some proxies
/// write it (`198.51.100.7:5678`, `[2001:db8::1]:5678`).
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    entry.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// The client's address as [`TrustedProxies::client_group`] counts it, put in each request by
/// the site's middleware.
#[derive(Clone, Debug)]
pub struct Client(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::try_from(list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn check(list: &[&str], peer: &str, forwarded: Option<&str>, expected: &str) {
        let mut headers = HeaderMap::new();
        if let Some(f) = forwarded {
            headers.insert("x-forwarded-for", f.parse().unwrap());
        }
        let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
        assert_eq!(proxies(list).client_group(Some(peer), &headers), expected, "{list:?} {peer} {forwarded:?}");
    }

    #[test]
    fn a_forwarded_address_is_believed_only_from_a_trusted_proxy() {
        check(&[], "203.0.113.9", Some("198.51.100.1"), "203.0.113.9");
        check(&["10.0.0.1"], "203.0.113.9", Some("198.51.100.1"), "203.0.113.9");
        check(&["10.0.0.1"], "10.0.0.1", Some("198.51.100.1"), "198.51.100.1");
        check(&["10.0.0.0/8"], "10.9.8.7", Some("198.51.100.1"), "198.51.100.1");
        check(&["10.0.0.1"], "10.0.0.1", None, "10.0.0.1");
    }

    #[test]
    fn the_client_is_the_last_forwarded_entry_that_is_not_a_trusted_proxy() {
        // The client claims 1.1.1.1; the outer proxy saw 198.51.100.1; the inner one is trusted too.
        check(&["10.0.0.0/8"], "10.0.0.1", Some("1.1.1.1, 198.51.100.1, 10.0.0.2"), "198.51.100.1");
        check(&["10.0.0.1"], "10.0.0.1", Some("1.1.1.1, not-an-address"), "10.0.0.1");
    }

    #[test]
    fn ipv6_clients_count_by_their_slash_64_and_mapped_ipv4_as_ipv4() {
        check(&["::1"], "[::1]", Some("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        check(&[], "[2001:db8:1:2:bbbb::9]", None, "2001:db8:1:2::/64");
        check(&["127.0.0.1"], "[::ffff:127.0.0.1]", Some("198.51.100.1"), "198.51.100.1");
    }

    #[test]
    fn an_ipv4_mapped_proxy_entry_trusts_that_ipv4_proxy_and_no_other_client() {
        check(&["::ffff:10.0.0.1"], "10.0.0.1", Some("198.51.100.1"), "198.51.100.1");
        check(&["::ffff:10.0.0.1"], "203.0.113.9", Some("198.51.100.1"), "203.0.113.9");
        check(&["::ffff:10.0.0.0/104"], "10.9.9.9", Some("198.51.100.1"), "198.51.100.1");
        check(&["::ffff:10.0.0.0/104"], "11.0.0.1", Some("198.51.100.1"), "11.0.0.1");
        assert!(TrustedProxies::try_from(vec!["::ffff:10.0.0.0/90".to_string()]).is_err());
    }

    #[test]
    fn a_forwarded_address_with_a_port_is_the_address() {
        check(&["10.0.0.1"], "10.0.0.1", Some("198.51.100.1:5678"), "198.51.100.1");
        check(&["10.0.0.1"], "10.0.0.1", Some("[2001:db8:1:2::9]:443"), "2001:db8:1:2::/64");
    }

    #[test]
    fn a_proxy_that_is_not_an_address_is_refused_with_its_text() {
        let e = TrustedProxies::try_from(vec!["10.0.0.0/33".to_string()]).unwrap_err();
        assert!(e.to_string().contains("10.0.0.0/33"));
        assert!(TrustedProxies::try_from(vec!["proxy.local".to_string()]).is_err());
    }
}
