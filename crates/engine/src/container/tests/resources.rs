//! Memory and CPU: their conversion into `linux.resources` and Docker's validation errors.

use super::*;

#[test]
fn memory_and_cpu_conversions() {
    let img = image(None, Some(&["sh"]));
    let spec = build_ok(
        &img,
        &hc(|h| {
            h.memory = 100 << 20;
            h.memory_reservation = 50 << 20;
            h.nano_cpus = 1_500_000_000;
            h.cpu_shares = 512;
            h.cpuset_cpus = "0-1,3".into();
            h.pids_limit = Some(100);
            h.oom_score_adj = 500;
        }),
    );
    let res = spec.linux().as_ref().unwrap().resources().clone().unwrap();
    let mem = res.memory().unwrap();
    assert_eq!(mem.limit(), Some(100 << 20));
    assert_eq!(
        mem.swap(),
        Some(200 << 20),
        "Docker: swap defaults to 2× memory"
    );
    assert_eq!(mem.reservation(), Some(50 << 20));
    let cpu = res.cpu().clone().unwrap();
    assert_eq!(cpu.period(), Some(100_000));
    assert_eq!(cpu.quota(), Some(150_000));
    assert_eq!(cpu.shares(), Some(512));
    assert_eq!(cpu.cpus().as_deref(), Some("0-1,3"));
    assert_eq!(res.pids().unwrap().limit(), 100);
    assert_eq!(spec.process().as_ref().unwrap().oom_score_adj(), Some(500));

    let spec = build_ok(
        &img,
        &hc(|h| {
            h.memory = 100 << 20;
            h.memory_swap = -1;
            h.pids_limit = Some(0);
        }),
    );
    let res = spec.linux().as_ref().unwrap().resources().clone().unwrap();
    assert_eq!(res.memory().unwrap().swap(), Some(-1));
    assert_eq!(res.pids().unwrap().limit(), -1);
    let spec = build_ok(&img, &CreateOptions::default());
    let res = spec.linux().as_ref().unwrap().resources().clone().unwrap();
    assert!(res.memory().is_none() && res.cpu().is_none() && res.pids().is_none());
}

#[test]
fn resource_validation_errors() {
    let img = image(None, Some(&["sh"]));
    let cases: [(CreateOptions, &str); 10] = [
        (
            hc(|h| h.memory = 1 << 20),
            "Minimum memory limit allowed is 6MB",
        ),
        (
            hc(|h| h.memory_reservation = 1 << 20),
            "Minimum memory reservation allowed is 6MB",
        ),
        (
            hc(|h| {
                h.memory = 100 << 20;
                h.memory_swap = 50 << 20;
            }),
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ),
        (
            hc(|h| h.memory_swap = 50 << 20),
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ),
        (
            hc(|h| {
                h.memory = 10 << 20;
                h.memory_reservation = 20 << 20;
            }),
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ),
        (
            hc(|h| h.nano_cpus = 1_000_000),
            "--cpus 0.001 is below the minimum 0.01",
        ),
        (
            hc(|h| {
                h.nano_cpus = 1_000_000_000;
                h.cpu_quota = 50_000;
            }),
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ),
        (
            hc(|h| h.cpu_period = 10),
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ),
        (
            hc(|h| h.oom_score_adj = 1001),
            "Invalid value 1001, range for oom score adj is [-1000, 1000]",
        ),
        (
            hc(|h| h.cpuset_cpus = "3-1".into()),
            "Invalid value 3-1 for cpuset cpus: use a list like 0-3,5",
        ),
    ];
    for (opts, want) in cases {
        assert_eq!(build_err(&img, &opts), want);
    }
}
