//! `network ls` rows, filters and the connect body, as docker 28.2 prints and sends them.

use super::*;

#[test]
fn ls_rows_and_default_table() {
    let n = json!({"Name": "bridge", "Id": "sha256:0123456789abcdef0123", "Driver": "bridge",
        "Scope": "local", "Created": "2024-05-01T10:00:00.5Z", "Internal": false,
        "EnableIPv4": true, "Labels": {"a": "b"}});
    let r = ls_row(&n, true);
    assert_eq!(r["ID"], "0123456789ab");
    assert_eq!(r["IPv4"], "true");
    assert_eq!(r["IPv6"], "false");
    assert_eq!(r["Labels"], "a=b");
    assert_eq!(r["CreatedAt"], "2024-05-01 10:00:00.5 +0000 UTC");
    assert_eq!(ls_row(&n, false)["ID"], "sha256:0123456789abcdef0123");
    let t = gotemplate::render_list(
        "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
        &[r],
        &ls_header,
    )
    .unwrap();
    assert_eq!(
        t,
        "NETWORK ID     NAME      DRIVER    SCOPE\n0123456789ab   bridge    bridge    local\n"
    );
}

#[test]
fn filters_and_ps_networks() {
    assert_eq!(filters_query(&[]), "");
    assert_eq!(
        filters_query(&["driver=bridge".into(), "name=a".into(), "name=b".into()]),
        format!(
            "?filters={}",
            encode(r#"{"driver":["bridge"],"name":["a","b"]}"#)
        )
    );
    let s = json!({"Networks": {"back": {}, "front": {}}});
    assert_eq!(ps_networks(&s), "back,front");
    assert_eq!(ps_networks(&Value::Null), "");
}

#[test]
fn connect_body_as_docker_sends_it() {
    let a = Connect {
        ip: "172.30.0.9".into(),
        ip6: String::new(),
        alias: vec!["web".into()],
        link_local_ip: vec![],
        driver_opt: vec!["k = v".into()],
        gw_priority: 0,
        network: "front".into(),
        container: "c1".into(),
    };
    let b = connect_body(&a).unwrap();
    assert_eq!(b["Container"], "c1");
    let ep = &b["EndpointConfig"];
    assert_eq!(ep["IPAMConfig"], json!({"IPv4Address": "172.30.0.9"}));
    assert_eq!(ep["Aliases"], json!(["web"]));
    assert_eq!(ep["DriverOpts"], json!({"k": "v"}));
    let bad = Connect {
        driver_opt: vec!["novalue".into()],
        ..a
    };
    assert_eq!(
        connect_body(&bad).unwrap_err().to_string(),
        "invalid key/value pair format in driver options"
    );
}
