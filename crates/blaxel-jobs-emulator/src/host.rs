//! Which `Host` a request may be addressed to: a loopback name or address,
//! or a name the user allowed.
//!
//! The emulator listens on 127.0.0.1 only, but a web page can still reach
//! it: its own domain, rebound by its DNS server to 127.0.0.1 after the
//! page loaded (DNS rebinding), makes the browser send the page's requests
//! to the emulator, addressed (`Host`) to that domain. Answering only
//! requests addressed to `localhost`, a `*.localhost` name, a loopback
//! address (`127.0.0.0/8`, `[::1]`), or a name given with
//! [`EmulatorConfig::allowed_host`](crate::EmulatorConfig::allowed_host),
//! as development servers such as Jupyter and Vite do, shuts that door: the
//! page's requests get 403 `host_not_allowed`.

use std::net::{IpAddr, Ipv6Addr};

/// Whether a request whose `Host` header is `host` (`None`: absent or not
/// text) is answered; `extra` are the names the user allowed.
pub(crate) fn allowed(host: Option<&str>, extra: &[String]) -> bool {
    let Some(name) = host.and_then(name_of) else {
        return false;
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    if let Ok(ip) = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return match ip {
            IpAddr::V4(v4) => v4.is_loopback(),
            IpAddr::V6(v6) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        };
    }
    extra
        .iter()
        .any(|h| h.trim_end_matches('.').eq_ignore_ascii_case(&name))
}

/// The name or address of a `Host` value, without its port.
fn name_of(host: &str) -> Option<&str> {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        // `[v6]` or `[v6]:port`.
        let (inside, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
        return (port_ok && inside.parse::<Ipv6Addr>().is_ok())
            .then_some(&host[..inside.len() + 2]);
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        Some(_) => return None,
        None => host,
    };
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_addresses_are_answered_and_nothing_else() {
        let none: &[String] = &[];
        for host in [
            "localhost",
            "localhost:8080",
            "LOCALHOST:1",
            "localhost.",
            "app.localhost:3000",
            "127.0.0.1",
            "127.0.0.1:41234",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:41234",
            "[::ffff:127.0.0.1]:9",
        ] {
            assert!(allowed(Some(host), none), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:41234",
            "localhost.evil.example",
            "127.0.0.1.nip.io:80",
            "10.0.0.1",
            "0.0.0.0:80",
            "[::]:80",
            "[fe80::1]",
            "[::1",
            "::1",
            "localhost:http",
            "",
            ":80",
        ] {
            assert!(!allowed(Some(host), none), "{host}");
        }
        assert!(!allowed(None, none));
        let extra = ["dev.box".to_owned()];
        assert!(allowed(Some("DEV.box:8080"), &extra));
        assert!(!allowed(Some("other.box:8080"), &extra));
    }
}
