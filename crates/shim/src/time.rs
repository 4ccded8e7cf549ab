//! RFC 3339 timestamps in UTC, formatted by hand: the shim links no date crate to stay small,
//! and Docker's json-file format wants Go's `RFC3339Nano` (nanoseconds, trailing zeros trimmed).

use std::time::{SystemTime, UNIX_EPOCH};

/// `t` as Go's `time.RFC3339Nano` in UTC, e.g. `2024-05-01T12:00:00.123456789Z`.
pub fn rfc3339_nano(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, m, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let mut s = format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    let nanos = d.subsec_nanos();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// The current time as [`rfc3339_nano`].
pub fn now() -> String {
    rfc3339_nano(SystemTime::now())
}

/// Howard Hinnant's days-to-civil: days since 1970-01-01 to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_like_go() {
        let t = UNIX_EPOCH + Duration::new(0, 0);
        assert_eq!(rfc3339_nano(t), "1970-01-01T00:00:00Z");
        // 2024-02-29T23:59:59.5Z (leap day).
        let t = UNIX_EPOCH + Duration::new(1_709_251_199, 500_000_000);
        assert_eq!(rfc3339_nano(t), "2024-02-29T23:59:59.5Z");
        let t = UNIX_EPOCH + Duration::new(951_782_400, 123_456_789);
        assert_eq!(rfc3339_nano(t), "2000-02-29T00:00:00.123456789Z");
    }
}
