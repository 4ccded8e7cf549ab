//! Signal names as runc, Docker and berth's tools accept them: `KILL`, `SIGKILL`, `sigkill`,
//! or a number 1–64. One parser for the runtime CLI, the shim and the engine.

use nix::sys::signal::Signal;

/// The signal number of `s`, or `None` if it names no signal.
pub fn parse_signal(s: &str) -> Option<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<Signal>().ok().map(|sig| sig as i32)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_and_numbers() {
        use super::parse_signal as p;
        assert_eq!(p("KILL"), Some(9));
        assert_eq!(p("sigterm"), Some(15));
        assert_eq!(p("SIGUSR1"), Some(10));
        assert_eq!(p("64"), Some(64));
        assert_eq!(p("0"), None);
        assert_eq!(p("65"), None);
        assert_eq!(p("NOPE"), None);
    }
}
