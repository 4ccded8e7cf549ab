//! `ports`: short syntax (`"8080:80"`, `"127.0.0.1:8080:80/udp"`, `"3000-3005:3000-3005"`,
//! `"80"`, `80`) and long syntax, normalized to [`Port`]s; ranges are expanded.

use serde_yaml::Value;

use super::*;
use crate::model::Port;

const HINT: &str =
    "use \"[HOST_IP:][HOST:]CONTAINER[/PROTO]\", e.g. \"8080:80\" or \"127.0.0.1:53:53/udp\"";

/// Converts a `ports` list.
pub(crate) fn ports(ctx: &mut Ctx, v: &Value, path: &str) -> Result<Vec<Port>> {
    let mut out = Vec::new();
    for (i, item) in list(ctx, v, path)?.iter().enumerate() {
        let ip = format!("{path}[{i}]");
        match item {
            Value::Mapping(m) => {
                ctx.check_keys(
                    m,
                    &ip,
                    &["target", "published", "host_ip", "protocol", "mode"],
                    &["name", "app_protocol"],
                );
                let target = m
                    .get("target")
                    .ok_or_else(|| ctx.err(&ip, "missing \"target\" (the container port)"))?;
                let target = port_number(&string(ctx, target, &join(&ip, "target"))?)
                    .map_err(|e| ctx.err(&join(&ip, "target"), e))?;
                let published = opt_string(ctx, m, "published", &ip)?;
                if let Some(p) = &published {
                    port_range(p).map_err(|e| ctx.err(&join(&ip, "published"), e))?;
                }
                out.push(Port {
                    target,
                    published,
                    host_ip: opt_string(ctx, m, "host_ip", &ip)?,
                    protocol: protocol(ctx, opt_string(ctx, m, "protocol", &ip)?, &ip)?,
                    mode: opt_string(ctx, m, "mode", &ip)?.unwrap_or_else(|| "ingress".into()),
                });
            }
            Value::String(_) | Value::Number(_) => {
                let s = string(ctx, item, &ip)?;
                out.extend(
                    parse_short(&s)
                        .map_err(|e| ctx.err(&ip, format!("invalid port {s:?}: {e}; {HINT}")))?,
                );
            }
            other => return Err(ctx.type_err(&ip, "a string, a number or a mapping", other)),
        }
    }
    Ok(out)
}

fn protocol(ctx: &Ctx, p: Option<String>, path: &str) -> Result<String> {
    let p = p.unwrap_or_else(|| "tcp".into()).to_ascii_lowercase();
    if !matches!(p.as_str(), "tcp" | "udp" | "sctp") {
        return Err(ctx.err(
            &join(path, "protocol"),
            format!("invalid protocol {p:?}; use tcp, udp or sctp"),
        ));
    }
    Ok(p)
}

fn port_number(s: &str) -> std::result::Result<u16, String> {
    match s.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{s:?} is not a port number (1-65535)")),
    }
}

/// `80` or `3000-3005` as an inclusive range.
fn port_range(s: &str) -> std::result::Result<(u16, u16), String> {
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (port_number(a)?, port_number(b)?);
            if a > b {
                return Err(format!("range {s:?} ends before it starts"));
            }
            Ok((a, b))
        }
        None => port_number(s).map(|n| (n, n)),
    }
}

/// Parses one short-syntax entry.
pub(crate) fn parse_short(s: &str) -> std::result::Result<Vec<Port>, String> {
    let (rest, proto) = match s.rsplit_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (s, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("unknown protocol {proto:?}"));
    }
    let (ip, rest) = if let Some(r) = rest.strip_prefix('[') {
        let (ip, r) = r
            .split_once("]:")
            .ok_or("unclosed \"[\" around the IPv6 address")?;
        (Some(ip.to_string()), r)
    } else {
        (None, rest)
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, published, target) = match (ip, parts.as_slice()) {
        (None, [t]) => (None, None, *t),
        (ip, [p, t]) => (ip, Some(*p), *t),
        (None, [ip, p, t]) => (Some(ip.to_string()), Some(*p), *t),
        _ => return Err("too many \":\"".into()),
    };
    let published = published.filter(|p| !p.is_empty());
    let (t0, t1) = port_range(target)?;
    let pub_range = published.map(port_range).transpose()?;
    let port = |target: u16, published: Option<String>| Port {
        target,
        published,
        host_ip: ip.clone(),
        protocol: proto.clone(),
        mode: "ingress".into(),
    };
    if t0 == t1 {
        return Ok(vec![port(t0, published.map(str::to_string))]);
    }
    match pub_range {
        None => Ok((t0..=t1).map(|t| port(t, None)).collect()),
        Some((p0, p1)) if p1 - p0 == t1 - t0 => Ok((t0..=t1)
            .zip(p0..=p1)
            .map(|(t, p)| port(t, Some(p.to_string())))
            .collect()),
        Some(_) => Err("host and container ranges differ in size".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_short;

    #[test]
    fn short_syntax() {
        let p = parse_short("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(p[0].published.as_deref(), Some("8080"));
        assert_eq!((p[0].target, p[0].protocol.as_str()), (80, "udp"));
        let r = parse_short("3000-3002:4000-4002").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(
            (r[2].target, r[2].published.as_deref()),
            (4002, Some("3002"))
        );
        assert_eq!(parse_short("80").unwrap()[0].published, None);
        assert_eq!(
            parse_short("[::1]:53:53").unwrap()[0].host_ip.as_deref(),
            Some("::1")
        );
        assert_eq!(parse_short("127.0.0.1::80").unwrap()[0].published, None);
        assert_eq!(
            parse_short("8000-8010:80").unwrap()[0].published.as_deref(),
            Some("8000-8010")
        );
        assert!(parse_short("80:abc").is_err());
        assert!(parse_short("1:2:3:4").is_err());
        assert!(parse_short("80/xyz").is_err());
        assert!(parse_short("1-3:1-2").is_err());
        assert!(parse_short("0").is_err());
    }
}
