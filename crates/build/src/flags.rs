//! Instruction flags (`--from=stage`, `--link`): which an instruction takes, their values.
//!
//! Docker rejects a flag an instruction does not know, a string flag without `=value` and a
//! flag given twice (except `RUN --mount`, which repeats); so does berth, naming the flags
//! the instruction does take. Durations (`HEALTHCHECK --interval`) are Go durations.

use std::time::Duration;

use crate::parser::{Ctx, Flag};
use crate::BuildError;

type Result<T> = std::result::Result<T, BuildError>;

pub(crate) fn check_flags(
    ctx: &Ctx<'_>,
    keyword: &str,
    flags: &[Flag],
    allowed: &[&str],
) -> Result<()> {
    for (i, flag) in flags.iter().enumerate() {
        if !allowed.contains(&flag.name.as_str()) {
            let takes = if allowed.is_empty() {
                format!("{keyword} takes no flags")
            } else {
                let list: Vec<String> = allowed.iter().map(|a| format!("--{a}")).collect();
                format!("{keyword} takes {}", list.join(", "))
            };
            return Err(ctx.err(flag.at, format!("unknown flag: --{} ({takes})", flag.name)));
        }
        if flag.name != "mount" && flags[..i].iter().any(|f| f.name == flag.name) {
            return Err(ctx.err(
                flag.at,
                format!("duplicate flag specified: --{}", flag.name),
            ));
        }
    }
    Ok(())
}

pub(crate) fn value_of(ctx: &Ctx<'_>, flag: &Flag) -> Result<String> {
    flag.value.clone().ok_or_else(|| {
        ctx.err(
            flag.at,
            format!(
                "missing a value on flag: --{0} (write --{0}=<value>)",
                flag.name
            ),
        )
    })
}

pub(crate) fn string_flag(ctx: &Ctx<'_>, flags: &[Flag], name: &str) -> Result<Option<String>> {
    flags
        .iter()
        .find(|f| f.name == name)
        .map(|f| value_of(ctx, f))
        .transpose()
}

pub(crate) fn bool_flag(ctx: &Ctx<'_>, flags: &[Flag], name: &str) -> Result<bool> {
    let Some(flag) = flags.iter().find(|f| f.name == name) else {
        return Ok(false);
    };
    match flag
        .value
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(v) => Err(ctx.err(
            flag.at,
            format!("expecting boolean value for flag --{name}, not: {v}"),
        )),
    }
}

/// A Go duration (`1h2m3.5s`, `300ms`, `1us`); `None` if malformed.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    (!text.is_empty()).then(|| Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn go_durations() {
        assert_eq!(
            parse_duration("1h2m3.5s"),
            Some(Duration::from_secs_f64(3723.5))
        );
        assert_eq!(parse_duration("300ms"), Some(Duration::from_millis(300)));
        assert_eq!(parse_duration("1us"), Some(Duration::from_micros(1)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        for bad in ["", "5", "s", "1d", "1.2.3s", "-1s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
