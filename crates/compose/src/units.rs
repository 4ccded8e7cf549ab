//! Durations (`1m30s`, `500ms`) and sizes (`512m`, `1g`) as Compose writes them.

use std::time::Duration;

/// Parses a Go-style duration: one or more `NUMBER UNIT` with units `ns`, `us`, `µs`, `ms`,
/// `s`, `m`, `h`; decimals allowed (`1.5s`). A bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || {
        format!(
            "invalid duration {s:?}; use a number with a unit, like \"1m30s\", \"10s\", \"500ms\""
        )
    };
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(n) = s.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    go_nanos(s)
        .map(|n| Duration::from_nanos(n.round() as u64))
        .ok_or_else(bad)
}

/// The nanoseconds of a Go duration made only of `NUMBER UNIT` pairs (units `ns`, `us`,
/// `µs`, `ms`, `s`, `m`, `h`; decimals allowed), as Go's `time.ParseDuration` reads them;
/// `None` for anything else, a bare number included.
pub fn go_nanos(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        if n == 0 {
            return None;
        }
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += num * nanos;
        rest = &rest[u..];
    }
    Some(total)
}

/// Formats a duration like Go's `time.Duration.String` (what `docker compose config` prints):
/// `1m30s`, `1.5s`, `500ms`, `1h0m0s`; [`parse_duration`] reads it back exactly.
pub fn format_duration(d: Duration) -> String {
    let n = d.as_nanos();
    let frac = |whole: u128, rest: u128, digits: usize, unit: &str| {
        let f = format!("{rest:0digits$}");
        let f = f.trim_end_matches('0');
        if f.is_empty() {
            format!("{whole}{unit}")
        } else {
            format!("{whole}.{f}{unit}")
        }
    };
    match n {
        0 => "0s".to_string(),
        1..=999 => format!("{n}ns"),
        1_000..=999_999 => frac(n / 1_000, n % 1_000, 3, "µs"),
        1_000_000..=999_999_999 => frac(n / 1_000_000, n % 1_000_000, 6, "ms"),
        _ => {
            let secs = n / 1_000_000_000;
            let s = frac(secs % 60, n % 1_000_000_000, 9, "s");
            let (h, m) = (secs / 3600, secs / 60 % 60);
            match (h, secs / 60) {
                (0, 0) => s,
                (0, _) => format!("{m}m{s}"),
                _ => format!("{h}h{m}m{s}"),
            }
        }
    }
}

/// Parses a size in bytes with docker's binary units: `b`, `k`/`kb`, `m`/`mb`, `g`/`gb`
/// (case-insensitive); a bare number is bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let bad = || {
        format!(
            "invalid size {s:?}; use a number with an optional unit b, k, m or g, like \"512m\""
        )
    };
    let n = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    if n == 0 {
        return Err(bad());
    }
    let num: f64 = t[..n].parse().map_err(|_| bad())?;
    let mult: u64 = match t[n..].trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(bad()),
    };
    Ok((num * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("s").is_err());
        for d in [
            90_000_000_000,
            1_500_000_000,
            1_000_000,
            3_600_000_000_007,
            1_500,
            12,
        ] {
            let d = Duration::from_nanos(d);
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format_duration(Duration::from_nanos(1500)), "1.5µs");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512m").unwrap(), 512 << 20);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("100k").unwrap(), 102_400);
        assert_eq!(parse_size("1GB").unwrap(), 1 << 30);
        assert_eq!(parse_size("42").unwrap(), 42);
        assert!(parse_size("12q").is_err());
    }
}
