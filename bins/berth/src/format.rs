//! Docker's human formats: sizes (`4.26MB`), ages (`2 hours ago`) and column tables.

/// Decimal units with three significant digits, as Docker's `units.HumanSizeWithPrecision`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    // %.4g: at most three significant digits after trimming, as Go's %.3g prints them.
    let s = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{}", UNITS[i])
}

/// Docker's `units.HumanSize`: decimal units, `%.4g`.
pub fn human_size4(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let (mut v, mut i) = (bytes as f64, 0);
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let decimals = 3 - usize::from(v >= 10.0) - usize::from(v >= 100.0);
    let s = format!("{v:.decimals$}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{}", UNITS[i])
}

/// Docker's `units.HumanDuration` of the time since `then` (seconds since the epoch) + " ago".
pub fn since(then: i64, now: i64) -> String {
    let secs = (now - then).max(0);
    let d = match secs {
        0 => "Less than a second".to_string(),
        1 => "1 second".to_string(),
        s if s < 60 => format!("{s} seconds"),
        s if s / 60 == 1 => "About a minute".to_string(),
        s if s < 3600 => format!("{} minutes", s / 60),
        s if (s as f64 / 3600.0).round() as i64 == 1 => "About an hour".to_string(),
        s if s < 48 * 3600 => format!("{} hours", (s as f64 / 3600.0).round() as i64),
        s if s < 7 * 24 * 3600 * 2 => format!("{} days", s / 86400),
        s if s < 30 * 24 * 3600 * 3 => format!("{} weeks", s / (7 * 86400)),
        s if s < 365 * 24 * 3600 * 2 => format!("{} months", s / (30 * 86400)),
        s => format!("{} years", s / (365 * 86400)),
    };
    format!("{d} ago")
}

/// Left-aligned columns separated by three spaces, each at least 10 wide: Docker's
/// `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)` (minwidth 10, padding 3).
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < r.len() {
                let pad = (widths[c] + 3).max(10) - cell.chars().count();
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Renders a Go-template-like `--format` with `{{.Field}}` placeholders (and `\t`).
pub fn template(format: &str, field: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 2..start + end].trim();
        let name = inner.trim_start_matches('.');
        out.push_str(&field(name).unwrap_or_default());
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out.replace("\\t", "\t")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ages_read_like_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(4_261_000), "4.26MB");
        assert_eq!(human_size(1_240_000_000), "1.24GB");
        assert_eq!(human_size(12_300_000), "12.3MB");
        assert_eq!(human_size(123_000_000), "123MB");
        assert_eq!(since(100, 100), "Less than a second ago");
        assert_eq!(since(0, 7200), "2 hours ago");
        assert_eq!(since(0, 90), "About a minute ago");
        assert_eq!(since(0, 3 * 86400), "3 days ago");
        assert_eq!(
            template("{{.ID}}\\t{{ .Tag }}", |f| Some(f.to_lowercase())),
            "id\ttag"
        );
        assert_eq!(
            table(&[
                vec!["A".into(), "B".into()],
                vec!["long".into(), "x".into()]
            ]),
            "A         B\nlong      x\n"
        );
        assert_eq!(
            table(&[vec!["longer-than-ten".into(), "y".into()]]),
            "longer-than-ten   y\n"
        );
    }
}
