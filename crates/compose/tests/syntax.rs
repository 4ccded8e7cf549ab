//! Short and long syntaxes normalized into the typed model.

mod common;

use std::time::Duration;

use berth_compose::{Condition, MountType, Restart};
use common::{corpus, load};

fn project() -> berth_compose::Loaded {
    load("syntax", &[], &[("API_KEY", "k")]).unwrap()
}

#[test]
fn ports_short_and_long() {
    let l = project();
    let p = &l.project.services["web"].ports;
    let desc: Vec<String> = p
        .iter()
        .map(|p| {
            format!(
                "{}:{}:{}/{}/{}",
                p.host_ip.as_deref().unwrap_or(""),
                p.published.as_deref().unwrap_or(""),
                p.target,
                p.protocol,
                p.mode
            )
        })
        .collect();
    assert_eq!(
        desc,
        [
            "::80/tcp/ingress",
            ":8080:80/tcp/ingress",
            "127.0.0.1:5353:53/udp/ingress",
            ":3000:4000/tcp/ingress",
            ":3001:4001/tcp/ingress",
            ":3002:4002/tcp/ingress",
            "0.0.0.0:9001:9000/tcp/host",
        ]
    );
}

#[test]
fn volumes_short_and_long() {
    let l = project();
    let v = &l.project.services["web"].volumes;
    let dir = corpus("syntax");
    assert_eq!(v[0].kind, MountType::Bind);
    assert_eq!(
        v[0].source.as_deref(),
        Some(dir.join("site").to_str().unwrap())
    );
    assert!(v[0].read_only);
    let b = v[0].bind.as_ref().unwrap();
    assert!(b.create_host_path, "the short syntax creates the host path");
    assert_eq!(b.selinux.as_deref(), Some("z"));
    assert_eq!(v[1].source.as_deref(), Some("/abs/path"));
    assert_eq!(
        v[2].source.as_deref(),
        Some("/home/tester/cache"),
        "~ is HOME"
    );
    assert_eq!(
        (v[3].kind, v[3].source.as_deref()),
        (MountType::Volume, Some("data"))
    );
    assert!(v[3].volume.as_ref().unwrap().nocopy);
    assert_eq!(
        (v[4].kind, v[4].source.as_deref()),
        (MountType::Volume, None),
        "anonymous"
    );
    assert_eq!(
        v[5].source.as_deref(),
        Some(dir.join("conf").to_str().unwrap())
    );
    assert!(v[5].read_only && v[5].bind.as_ref().unwrap().create_host_path);
    assert!(v[6].volume.as_ref().unwrap().nocopy);
    assert_eq!(v[7].kind, MountType::Tmpfs);
    assert_eq!(v[7].tmpfs.as_ref().unwrap().size, Some(64 << 20));
}

#[test]
fn depends_on_healthcheck_deploy_and_more() {
    let l = project();
    let s = &l.project.services;
    let web = &s["web"];
    assert_eq!(
        web.restart,
        Some(Restart::UnlessStopped),
        "from the YAML merge key"
    );
    assert_eq!(s["db"].restart, Some(Restart::OnFailure(Some(3))));
    let db = &web.depends_on["db"];
    assert_eq!(
        (db.condition, db.restart, db.required),
        (Condition::ServiceHealthy, true, true)
    );
    assert_eq!(
        s["sidecar"].depends_on["db"].condition,
        Condition::ServiceStarted
    );
    let hc = web.healthcheck.as_ref().unwrap();
    assert_eq!(hc.test, ["CMD-SHELL", "curl -f http://localhost"]);
    assert_eq!(hc.interval, Some(Duration::from_secs(90)));
    assert_eq!(hc.timeout, Some(Duration::from_millis(500)));
    assert_eq!(hc.retries, Some(5));
    let d = web.deploy.as_ref().unwrap();
    assert_eq!(d.replicas, Some(2));
    let r = d.resources.as_ref().unwrap();
    assert_eq!(r.limits.as_ref().unwrap().cpus, Some(0.5));
    assert_eq!(r.limits.as_ref().unwrap().memory, Some(512 << 20));
    assert_eq!(r.reservations.as_ref().unwrap().memory, Some(1 << 30));
    assert_eq!(
        web.command.as_deref().unwrap(),
        ["sh", "-c", "echo \"hello world\""]
    );
    assert_eq!(web.stop_grace_period, Some(Duration::from_secs(60)));
    assert_eq!(
        (web.ulimits["nproc"].soft, web.ulimits["nproc"].hard),
        (65535, 65535)
    );
    assert_eq!(
        (web.ulimits["nofile"].soft, web.ulimits["nofile"].hard),
        (1024, 4096)
    );
    assert_eq!(web.extra_hosts["somehost"], "162.242.195.82");
    assert_eq!(web.extra_hosts["otherhost"], "50.31.209.229");
    assert_eq!(
        (web.shm_size, web.mem_limit, web.cpus),
        (Some(128 << 20), Some(1 << 30), Some(1.5))
    );
    assert_eq!(web.tmpfs, ["/run"]);
    assert_eq!(web.secrets[1].mode, Some(0o440));
    assert_eq!(web.secrets[1].target.as_deref(), Some("/run/secrets/api"));
    assert_eq!(web.logging.as_ref().unwrap()["options"]["max-size"], "10m");
    let b = web.build.as_ref().unwrap();
    assert_eq!(
        b.context,
        corpus("syntax").join("web").display().to_string()
    );
    assert_eq!(b.args["VERSION"].as_deref(), Some("1"));
    assert_eq!(b.args["FLAG"], None);
    assert!(web.init == Some(true) && web.tty && web.stdin_open);
}

#[test]
fn networks_and_top_level_objects() {
    let l = project();
    let p = &l.project;
    let web = &p.services["web"];
    let front = &web.networks["front"];
    assert_eq!(
        (front.aliases.clone(), front.priority),
        (vec!["www".to_string()], Some(100))
    );
    assert_eq!(front.ipv4_address.as_deref(), Some("172.28.0.10"));
    assert!(web.networks.contains_key("back"));
    assert!(
        p.services["cache"].networks.is_empty(),
        "network_mode: no default network"
    );
    assert_eq!(
        p.services["sidecar"].networks.keys().collect::<Vec<_>>(),
        ["default"]
    );
    assert_eq!(p.networks["default"].name, "syntax_default");
    assert_eq!(p.networks["front"].name, "syntax_front");
    assert_eq!(
        p.networks["outside"].name, "outside",
        "external keeps its key as name"
    );
    let pool = &p.networks["front"].ipam.as_ref().unwrap().config[0];
    assert_eq!(pool.subnet.as_deref(), Some("172.28.0.0/16"));
    assert!(p.networks["back"].internal);
    assert_eq!(p.volumes["data"].name, "syntax_data");
    assert_eq!(p.volumes["data"].labels["backup"], "daily");
    let f = p.secrets["db_password"].file.as_ref().unwrap();
    assert_eq!(f, &corpus("syntax").join("secrets/db.txt"));
    assert_eq!(p.secrets["api_key"].environment.as_deref(), Some("API_KEY"));
    assert!(p.configs["app_config"].external);
}

#[test]
fn unknown_keys_are_warnings_with_full_paths() {
    let l = project();
    let file = corpus("syntax").join("compose.yaml").display().to_string();
    let w = |s: &str| l.warnings.iter().any(|x| *x == format!("{file}: {s}"));
    assert!(
        w("services.web.frobnicate: unknown key, ignored"),
        "{:?}",
        l.warnings
    );
    assert!(
        w("volumes.data.mystery: unknown key, ignored"),
        "{:?}",
        l.warnings
    );
    assert!(w(
        "version: the attribute `version` is obsolete, it will be ignored; remove it"
    ));
    assert!(
        !l.warnings.iter().any(|x| x.contains("x-")),
        "x-* keys are silent"
    );
    assert!(
        !l.warnings.iter().any(|x| x.contains("<<")),
        "merge keys were applied"
    );
}

#[test]
fn update_order_is_kept_other_update_keys_warn_and_the_hash_ignores_it() {
    let yaml = |order: &str| {
        format!("services: {{web: {{image: x, deploy: {{update_config: {{order: {order}, parallelism: 2}}}}}}}}")
    };
    let l = common::load_mem(&[("compose.yaml", &yaml("stop-first"))]).unwrap();
    let web = &l.project.services["web"];
    let u = web.deploy.as_ref().unwrap().update_config.as_ref().unwrap();
    assert_eq!(u.order.as_deref(), Some("stop-first"));
    assert!(
        l.warnings
            .iter()
            .any(|w| w.contains("deploy.update_config.parallelism")),
        "{:?}",
        l.warnings
    );
    // How a container is replaced is not part of its configuration: no recreate for it.
    let other = common::load_mem(&[("compose.yaml", &yaml("start-first"))]).unwrap();
    assert_eq!(
        web.config_hash(),
        other.project.services["web"].config_hash()
    );
}

#[test]
fn namespace_modes_of_another_service_imply_a_dependency() {
    let yaml = "services:\n  app: {image: x, pid: 'service:side', ipc: 'service:side'}\n  side: {image: x, network_mode: 'service:base'}\n  base: {image: x}\n";
    let l = common::load_mem(&[("compose.yaml", yaml)]).unwrap();
    let s = &l.project.services;
    assert!(s["app"].depends_on.contains_key("side"));
    assert!(s["side"].depends_on.contains_key("base"));
    assert_eq!(l.project.start_order(), ["base", "side", "app"]);
    let e = common::err_of("services:\n  app: {image: x, pid: 'service:nope'}\n");
    assert!(
        e.contains("services.app.pid: service \"app\" uses the pid namespace of undefined service \"nope\""),
        "{e}"
    );
}
