//! RFC 3339 timestamps, the one implementation every crate uses: image configs
//! (`"created": "2024-01-02T03:04:05.123Z"`), runtime state, Docker's JSON log times (Go's
//! `RFC3339Nano`: nanoseconds, trailing zeros dropped), volumes' `CreatedAt`. Converted to and
//! from seconds since the epoch without a date library (Howard Hinnant's civil-date
//! algorithms).

use std::time::{SystemTime, UNIX_EPOCH};

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` into seconds since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) => {
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset)
}

/// Formats seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `t` as Go's `RFC3339Nano` in UTC: `2024-02-29T23:59:59.5Z` (no fraction when whole).
pub fn rfc3339_nano(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let whole = format_rfc3339(secs);
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        return whole;
    }
    let frac = format!("{nanos:09}");
    format!(
        "{}.{}Z",
        whole.trim_end_matches('Z'),
        frac.trim_end_matches('0')
    )
}

/// The current time as [`rfc3339_nano`].
pub fn now() -> String {
    rfc3339_nano(SystemTime::now())
}

/// The current time in whole seconds as [`format_rfc3339`].
pub fn now_secs() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    format_rfc3339(secs)
}

/// A fraction of a second (`5`, `000000500`; at most 9 digits) in nanoseconds.
fn fraction_nanos(frac: &str) -> Option<i128> {
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    format!("{frac:0<9}").parse().ok()
}

/// `1700000000` or `1700000000.000000500` (what the docker CLI sends for `--since` and
/// `--until`) as nanoseconds since the epoch.
pub fn unix_nanos(s: &str) -> Option<i128> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i128 = secs.parse().ok()?;
    Some(secs * 1_000_000_000 + fraction_nanos(frac)?)
}

/// Nanoseconds since the epoch of an RFC 3339 UTC time as Docker's logs carry them
/// (`2026-01-02T03:04:05.123Z`, fraction optional).
pub fn rfc3339_nanos(t: &str) -> Option<i128> {
    let body = t.strip_suffix('Z')?;
    let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
    let secs = parse_rfc3339(&format!("{whole}Z"))?;
    Some(i128::from(secs) * 1_000_000_000 + fraction_nanos(frac)?)
}

// Howard Hinnant's civil-date algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_nanos() {
        assert_eq!(unix_nanos("1700000000"), Some(1_700_000_000_000_000_000));
        assert_eq!(unix_nanos("1700000000.5"), Some(1_700_000_000_500_000_000));
        assert_eq!(unix_nanos("soon"), None);
        let a = rfc3339_nanos("2026-11-23T22:00:05Z").unwrap();
        let b = rfc3339_nanos("2026-11-23T22:00:05.1Z").unwrap();
        let c = rfc3339_nanos("2026-11-23T22:00:05.000000002Z").unwrap();
        assert!(a < c && c < b);
        assert_eq!(b - a, 100_000_000);
        assert_eq!(rfc3339_nanos("nope"), None);
        assert_eq!(rfc3339_nanos("2026-11-23T22:00:05.1x2Z"), None);
    }

    #[test]
    fn nanos_like_go() {
        use std::time::Duration;
        let t = UNIX_EPOCH + Duration::new(0, 0);
        assert_eq!(rfc3339_nano(t), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::new(1_709_251_199, 500_000_000);
        assert_eq!(rfc3339_nano(t), "2024-02-29T23:59:59.5Z");
        let t = UNIX_EPOCH + Duration::new(951_782_400, 123_456_789);
        assert_eq!(rfc3339_nano(t), "2000-02-29T00:00:00.123456789Z");
    }

    #[test]
    fn parses_and_formats() {
        // `date -u -d 2024-02-29T12:34:56Z +%s` = 1709210096
        assert_eq!(parse_rfc3339("2024-02-29T12:34:56Z"), Some(1709210096));
        assert_eq!(
            parse_rfc3339("2024-02-29T12:34:56.123456789Z"),
            Some(1709210096)
        );
        assert_eq!(parse_rfc3339("2024-02-29T14:34:56+02:00"), Some(1709210096));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(format_rfc3339(1709210096), "2024-02-29T12:34:56Z");
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        for bad in [
            "",
            "2024-13-01T00:00:00Z",
            "2024-01-01",
            "2024-01-01T00:00:00",
            "x024-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
