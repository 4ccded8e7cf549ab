//! The compose labels that both `berth compose` (the client) and berthd (its optional expiry
//! policy) read, and the one rule for a project's expiry.
//!
//! Why here: ephemeral stacks are expired by `berth compose prune` on the client and, when
//! asked, by berthd itself; both must agree on what "expired" means, and neither depends on
//! the other.

use std::collections::BTreeMap;

/// docker compose's project label.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";
/// docker compose's one-off label (`True` on `compose run` containers).
pub const ONEOFF_LABEL: &str = "com.docker.compose.oneoff";
/// berth's expiry label: unix seconds, UTC.
pub const EXPIRES_LABEL: &str = "org.berth.compose.expires";
/// berth's eviction priority label.
pub const PRIORITY_LABEL: &str = "org.berth.compose.priority";
/// berth's label for the unix seconds of the project's first `up`.
pub const CREATED_LABEL: &str = "org.berth.compose.created";

/// Whether a container with `labels` is a one-off (`compose run`) container.
pub fn is_oneoff(labels: &BTreeMap<String, String>) -> bool {
    labels
        .get(ONEOFF_LABEL)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// A project's expiry from its containers' labels: the newest expiry among its service
/// containers (any (re)created container renews the project); `None` — never — when one of
/// them has none, or when it has no service container. One-off containers do not count.
pub fn project_expiry<'a>(
    containers: impl IntoIterator<Item = &'a BTreeMap<String, String>>,
) -> Option<i64> {
    let mut newest = None;
    for labels in containers.into_iter().filter(|l| !is_oneoff(l)) {
        let e: i64 = labels.get(EXPIRES_LABEL)?.parse().ok()?;
        newest = newest.max(Some(e));
    }
    newest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn expiry_is_the_newest_and_one_without_it_never_expires() {
        let a = labels(&[(EXPIRES_LABEL, "100")]);
        let b = labels(&[(EXPIRES_LABEL, "200")]);
        let run = labels(&[(ONEOFF_LABEL, "True")]);
        let none = labels(&[]);
        assert_eq!(project_expiry([&a, &b, &run]), Some(200));
        assert_eq!(project_expiry([&a, &none]), None);
        assert_eq!(project_expiry([&run]), None);
        assert_eq!(project_expiry(std::iter::empty()), None);
        let bad = labels(&[(EXPIRES_LABEL, "soon")]);
        assert_eq!(project_expiry([&a, &bad]), None);
    }
}
