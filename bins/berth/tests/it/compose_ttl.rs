//! Ephemeral compose stacks against a private berthd: `up --ttl` then `compose prune`,
//! `up --max-projects` evicting by priority then age, and TTL labels that do not make an
//! unchanged `up` recreate containers.

use crate::compose::Stack;
use crate::daemon_client::Daemon;
use crate::Run;

const APP: &str = r#"services:
  app:
    image: bench/load:latest
    command: ["busybox", "sleep", "3600"]
    stop_grace_period: 1s
"#;

fn label(d: &Daemon, container: &str, key: &str) -> String {
    let f = format!("{{{{index .Config.Labels \"{key}\"}}}}");
    let v = d.ok(&["inspect", "-f", &f, container]);
    // A missing key prints as Go templates do.
    v.trim().trim_start_matches("<no value>").to_string()
}

fn up(s: &Stack, args: &[&str]) -> Run {
    let mut all = vec!["up", "-d", "-t", "1"];
    all.extend_from_slice(args);
    let r = s.run(&all);
    assert!(r.ok, "up {args:?}: {r:?}\nberthd log:\n{}", s.d.log());
    r
}

fn ids(s: &Stack) -> Vec<String> {
    s.ids().into_iter().map(|(_, i)| i).collect()
}

#[test]
fn compose_ttl_prune_removes_only_expired_projects() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let eph = Stack::new(&d, "ttleph", APP);
    let keep = Stack::new(&d, "ttlkeep", APP);
    up(&eph, &["--ttl", "1s"]);
    up(&keep, &[]);
    let exp: i64 = label(&d, "ttleph-app-1", "org.berth.compose.expires")
        .parse()
        .expect("expires is unix seconds");
    let created: i64 = label(&d, "ttleph-app-1", "org.berth.compose.created")
        .parse()
        .expect("created is unix seconds");
    assert!((1..=3).contains(&(exp - created)), "{exp} {created}");
    assert_eq!(label(&d, "ttleph-app-1", "org.berth.compose.priority"), "0");
    assert_eq!(label(&d, "ttlkeep-app-1", "org.berth.compose.expires"), "");
    let net = d.ok(&[
        "network",
        "inspect",
        "-f",
        "{{index .Labels \"org.berth.compose.expires\"}}",
        "ttleph_default",
    ]);
    assert_eq!(
        net.trim(),
        exp.to_string(),
        "the network carries the expiry"
    );
    std::thread::sleep(std::time::Duration::from_millis(2500));

    let dry = d.ok(&["compose", "prune", "--dry-run"]);
    assert!(
        dry.contains("Project ttleph  Would remove (expired "),
        "{dry}"
    );
    assert!(!dry.contains("ttlkeep"), "{dry}");
    assert!(
        dry.ends_with("Total: 1 project would be removed\n"),
        "{dry}"
    );
    assert_eq!(ids(&eph).len(), 1, "--dry-run removes nothing");

    // `-p NAME` restricts prune to that project; --all-expired lifts it.
    let only = keep.ok(&["prune", "-t", "1"]);
    assert_eq!(only, "Total: 0 projects removed\n");
    assert_eq!(ids(&eph).len(), 1);

    let keep_ids = ids(&keep);
    let out = keep.ok(&["prune", "--all-expired", "-t", "1"]);
    assert!(out.contains("Project ttleph  Removed (expired "), "{out}");
    assert!(out.ends_with("Total: 1 project removed\n"), "{out}");
    assert!(ids(&eph).is_empty(), "expired project's containers removed");
    assert!(!d.berth(&["network", "inspect", "ttleph_default"]).ok);
    assert_eq!(ids(&keep), keep_ids, "the project without --ttl stays");
    assert_eq!(d.ok(&["compose", "prune"]), "Total: 0 projects removed\n");
}

#[test]
fn compose_ttl_quota_evicts_lowest_priority_first() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let q1 = Stack::new(&d, "q1", APP);
    let q2 = Stack::new(&d, "q2", APP);
    let q3 = Stack::new(&d, "q3", APP);
    let q4 = Stack::new(&d, "q4", APP);
    up(&q1, &["--max-projects", "2"]);
    up(&q2, &["--max-projects", "2", "--priority", "5"]);
    let r = up(&q3, &["--max-projects", "2", "--priority", "1"]);
    assert!(r.stderr.contains(" Project q1  Evicting"), "{r:?}");
    assert!(!r.stderr.contains("Project q2"), "{r:?}");
    assert!(ids(&q1).is_empty(), "q1 (priority 0) evicted");
    assert!(!d.berth(&["network", "inspect", "q1_default"]).ok);
    assert_eq!(ids(&q2).len(), 1);
    assert_eq!(label(&d, "q3-app-1", "org.berth.compose.priority"), "1");
    let q2_ids = ids(&q2);
    let q3_ids = ids(&q3);

    // Through the environment variable this time.
    let f = q4.file();
    let out = d
        .berth_cmd(&[
            "compose",
            "-f",
            f.to_str().expect("utf-8"),
            "-p",
            "q4",
            "up",
            "-d",
            "--priority",
            "0",
        ])
        .env("BERTH_COMPOSE_MAX_PROJECTS", "2")
        .output()
        .expect("berth runs");
    let r = Run::from(out);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("quota of 2 running projects"), "{r:?}");
    assert!(
        r.stderr.contains("q2 (priority 5)") && r.stderr.contains("q3 (priority 1)"),
        "{r:?}"
    );
    assert!(ids(&q4).is_empty(), "q4 not created");
    assert_eq!(
        (ids(&q2), ids(&q3)),
        (q2_ids.clone(), q3_ids),
        "nothing evicted"
    );

    // An `up` of a project already there is not a new project: no eviction.
    up(&q3, &["--max-projects", "1", "--priority", "1"]);
    assert_eq!(ids(&q2), q2_ids);
}

#[test]
fn compose_ttl_labels_do_not_recreate_unchanged_containers() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let s = Stack::new(&d, "ttlsame", APP);
    up(&s, &["--ttl", "1h", "--priority", "3"]);
    let first = ids(&s);
    let exp1: i64 = label(&d, "ttlsame-app-1", "org.berth.compose.expires")
        .parse()
        .expect("unix seconds");
    let created = label(&d, "ttlsame-app-1", "org.berth.compose.created");
    std::thread::sleep(std::time::Duration::from_millis(1100));

    let r = up(&s, &["--ttl", "1h"]);
    assert_eq!(ids(&s), first, "TTL labels are not part of the config hash");
    assert!(r.stderr.contains("--force-recreate"), "warns: {r:?}");
    up(&s, &[]);
    assert_eq!(ids(&s), first, "a plain up keeps them too");

    let r = up(&s, &["--ttl", "2h", "--force-recreate"]);
    assert!(!r.stderr.contains("WARN"), "{r:?}");
    assert_ne!(ids(&s), first, "--force-recreate renews");
    let exp2: i64 = label(&d, "ttlsame-app-1", "org.berth.compose.expires")
        .parse()
        .expect("unix seconds");
    assert!(exp2 >= exp1 + 3600, "{exp1} -> {exp2}");
    assert_eq!(
        label(&d, "ttlsame-app-1", "org.berth.compose.created"),
        created,
        "created is the first up's"
    );
    assert_eq!(
        label(&d, "ttlsame-app-1", "org.berth.compose.priority"),
        "3",
        "priority carried over"
    );
}

#[test]
fn berthd_expiry_policy_removes_expired_projects_by_itself() {
    berth_testutil::require_root!();
    let d = Daemon::start_with(&["--compose-expiry-interval", "1"]);
    d.load_image();
    let eph = Stack::new(&d, "polleph", APP);
    let keep = Stack::new(&d, "pollkeep", APP);
    let later = Stack::new(&d, "polllater", APP);
    up(&eph, &["--ttl", "2s"]);
    up(&keep, &[]);
    up(&later, &["--ttl", "1h"]);
    let keep_ids = ids(&keep);
    crate::compose::eventually("berthd removing the expired project", || {
        match ids(&eph).is_empty() {
            true => Ok(()),
            false => Err(format!("{:?}", eph.ids())),
        }
    });
    assert!(!d.berth(&["network", "inspect", "polleph_default"]).ok);
    assert_eq!(ids(&keep), keep_ids, "the project without --ttl stays");
    assert_eq!(ids(&later).len(), 1, "the project with time left stays");
    assert!(
        d.log().contains("removed compose project polleph"),
        "{}",
        d.log()
    );
}
