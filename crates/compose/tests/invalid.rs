//! Invalid files: every error names the file and the exact key path.

mod common;

use common::{corpus, err_of, load};

#[test]
fn invalid_port_from_corpus() {
    let e = load("invalid", &[], &[]).unwrap_err().to_string();
    let file = corpus("invalid").join("compose.yaml");
    assert_eq!(
        e,
        format!(
            "{}: services.web.ports[1]: invalid port \"80:abc\": \"abc\" is not a port number \
             (1-65535); use \"[HOST_IP:][HOST:]CONTAINER[/PROTO]\", e.g. \"8080:80\" or \
             \"127.0.0.1:53:53/udp\"",
            file.display()
        )
    );
}

#[test]
fn yaml_syntax_error_has_line_and_column() {
    let e = err_of("services:\n  web:\n    image: x\n   bad: [\n");
    assert!(e.starts_with("/proj/compose.yaml:4:"), "{e}");
    assert!(e.contains("YAML syntax error"), "{e}");
}

#[test]
fn wrong_types() {
    let cases = [
        (
            "services: {web: {image: x, ports: {a: 1}}}",
            "services.web.ports: must be a list, got a mapping",
        ),
        (
            "services: {web: {image: x, environment: 3}}",
            "services.web.environment: must be a mapping or a list, got a number",
        ),
        (
            "services: {web: {image: [a]}}",
            "services.web.image: must be a string, got a list",
        ),
        (
            "services: {web: {image: x, privileged: maybe}}",
            "services.web.privileged: must be true or false, got \"maybe\"",
        ),
        (
            "services: {web: {image: x, healthcheck: {test: [CMD], retries: many}}}",
            "services.web.healthcheck.retries: must be a number, got \"many\"",
        ),
        ("services: [web]", "services: must be a mapping, got a list"),
        (
            "services: {web: {image: x, deploy: {resources: {limits: {memory: lots}}}}}",
            "services.web.deploy.resources.limits.memory: invalid size \"lots\"",
        ),
        (
            "services: {web: {image: x, stop_grace_period: soon}}",
            "services.web.stop_grace_period: invalid duration \"soon\"",
        ),
        (
            "services: {web: {image: x, volumes: [{type: bind, target: /x}]}}",
            "services.web.volumes[0]: a bind mount needs \"source\"",
        ),
        (
            "services: {web: {image: x, volumes: ['data:relative']}}",
            "services.web.volumes[0]: target \"relative\" must be an absolute path",
        ),
        (
            "services: {web: {image: x, ports: [{published: 80}]}}",
            "services.web.ports[0]: missing \"target\"",
        ),
        (
            "services: {web: {image: x, deploy: {update_config: {order: sideways}}}}",
            "services.web.deploy.update_config.order: unknown order \"sideways\"; use start-first or stop-first",
        ),
    ];
    for (yaml, want) in cases {
        let e = err_of(yaml);
        assert!(
            e.starts_with(&format!("/proj/compose.yaml: {want}")),
            "got {e:?}\nwant {want:?}"
        );
    }
}

#[test]
fn invalid_values() {
    let e = err_of("services: {web: {image: x, restart: sometimes}}");
    assert!(e.contains("services.web.restart: invalid restart policy \"sometimes\"; use no, always, on-failure[:N] or unless-stopped"), "{e}");
    let e = err_of(
        "services: {web: {image: x, depends_on: {db: {condition: service_ready}}}, db: {image: y}}",
    );
    assert!(
        e.contains("services.web.depends_on.db.condition: unknown condition"),
        "{e}"
    );
    let e = err_of("services: {web: {image: x, command: \"echo 'open\"}}");
    assert!(
        e.contains("services.web.command: unterminated single quote"),
        "{e}"
    );
    let e =
        err_of("services: {web: {build: {dockerfile: D}, image: x, healthcheck: {test: [curl]}}}");
    assert!(
        e.contains("services.web.healthcheck.test: a list must start with"),
        "{e}"
    );
    let e = err_of("services: {web: {restart: always}}");
    assert!(
        e.contains("services.web: has neither an image nor a build context"),
        "{e}"
    );
    let e = err_of("services: {'web app': {image: x}}");
    assert!(e.contains("services.web app: invalid service name"), "{e}");
    let e = err_of("services: {web: {image: x}}\nsecrets: {s: {file: a, environment: B}}");
    assert!(e.contains("secrets.s: needs exactly one of"), "{e}");
}

#[test]
fn dangling_references() {
    let e = err_of("services: {web: {image: x, depends_on: [dbx]}}");
    assert_eq!(e, "/proj/compose.yaml: services.web.depends_on: service \"web\" depends on undefined service \"dbx\"; define it or fix the name");
    let e = err_of("services: {db: {image: x, volumes: ['./ok:/ok', 'data:/var/lib/db']}}");
    assert_eq!(e, "/proj/compose.yaml: services.db.volumes[1]: named volume \"data\" is not declared under the top-level volumes key");
    let e = err_of("services: {web: {image: x, networks: [front]}}");
    assert_eq!(e, "/proj/compose.yaml: services.web.networks.front: network \"front\" is not declared under the top-level networks key");
    let e = err_of("services: {web: {image: x, secrets: [tok]}}");
    assert!(
        e.contains(
            "services.web.secrets[0]: \"tok\" is not declared under the top-level secrets key"
        ),
        "{e}"
    );
    let e = err_of("services: {web: {image: x, network_mode: 'service:vpn'}}");
    assert!(e.contains("services.web.network_mode: service \"web\" uses the network of undefined service \"vpn\""), "{e}");
    let e =
        err_of("services: {web: {image: x, network_mode: host, networks: [a]}}\nnetworks: {a: {}}");
    assert!(
        e.contains("services.web: network_mode and networks are mutually exclusive"),
        "{e}"
    );
}

#[test]
fn dependency_cycle() {
    let e = err_of(
        "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [c]}\n  \
         c: {image: x, depends_on: [a]}\n  d: {image: x}\n",
    );
    assert_eq!(
        e,
        "dependency cycle between services: a -> b -> c -> a; remove one of the depends_on"
    );
}

#[test]
fn top_level_must_be_a_mapping() {
    let e = err_of("- just\n- a list\n");
    assert_eq!(
        e,
        "/proj/compose.yaml: (top level): must be a mapping, got a list"
    );
}
