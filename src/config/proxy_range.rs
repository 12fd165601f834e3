//! `http.trusted_proxies` entries: one address, or a range in CIDR notation (a Kubernetes
//! ingress controller's pods come from a pod network, not a fixed address).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

/// A trusted proxy: `10.0.0.7` (that address alone) or `10.0.0.0/8` (the range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyRange(IpNet);

impl ProxyRange {
    /// The address is this proxy, or inside its range.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.contains(ip)
    }
}

impl FromStr for ProxyRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        s.parse::<IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
            .map(|net| ProxyRange(net.trunc()))
            .map_err(|_| format!("`{s}` is neither an IP address nor a CIDR range (such as 10.0.0.0/8)"))
    }
}

impl fmt::Display for ProxyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for ProxyRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_itself_and_a_range_holds_its_addresses() {
        // (entry, address, inside)
        let table = [
            ("10.0.0.7", "10.0.0.7", true),
            ("10.0.0.7", "10.0.0.8", false),
            ("10.0.0.0/8", "10.244.3.17", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("10.1.2.3/16", "10.1.200.4", true),
            ("fd00::/8", "fd12::1", true),
            ("fd00::/8", "10.0.0.1", false),
            ("::1", "::1", true),
        ];
        for (entry, addr, inside) in table {
            let range: ProxyRange = entry.parse().unwrap();
            assert_eq!(range.contains(&addr.parse().unwrap()), inside, "{entry} {addr}");
        }
    }

    #[test]
    fn anything_else_is_refused_with_what_is_accepted() {
        for bad in ["", "10.0.0", "10.0.0.0/33", "proxy.local"] {
            let err = bad.parse::<ProxyRange>().unwrap_err();
            assert!(err.contains("CIDR"), "{bad}: {err}");
        }
    }
}
