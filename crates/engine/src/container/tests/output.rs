//! The spec as a whole: `config.json` serialisation and the label merge.

use super::*;

#[test]
fn spec_serializes_like_runc_config_json() {
    let opts = CreateOptions {
        domainname: "example.org".into(),
        host_config: HostConfig {
            memory: 64 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    let spec = build_ok(&image(None, Some(&["sh", "-c", "true"])), &opts);
    let v: serde_json::Value = serde_json::to_value(&spec).unwrap();
    assert_eq!(v["ociVersion"], "1.2.0");
    assert_eq!(
        v["process"]["args"],
        serde_json::json!(["sh", "-c", "true"])
    );
    assert_eq!(v["process"]["user"]["uid"], 0);
    assert_eq!(v["process"]["cwd"], "/");
    assert!(v["process"]["capabilities"]["bounding"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("CAP_CHOWN")));
    assert!(v["root"]["path"].as_str().unwrap().ends_with("/rootfs"));
    assert_eq!(v["hostname"], "0123456789ab");
    assert_eq!(v["domainname"], "example.org");
    assert_eq!(v["mounts"][0]["destination"], "/proc");
    assert_eq!(v["mounts"][0]["type"], "proc");
    assert_eq!(v["linux"]["resources"]["memory"]["limit"], 64 << 20);
    assert_eq!(v["linux"]["resources"]["devices"][0]["allow"], false);
    assert_eq!(v["linux"]["namespaces"][0]["type"], "mount");
    assert_eq!(v["linux"]["cgroupsPath"], "/berth/0123456789ab");
    assert_eq!(v["linux"]["maskedPaths"][0], "/proc/asound");
    // And it reads back.
    let back: Spec = serde_json::from_value(v).unwrap();
    assert_eq!(back, spec);
}

#[test]
fn labels_merge() {
    let mut img = image(None, Some(&["sh"]));
    img.config.as_mut().unwrap().labels = Some(
        [
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "2".to_string()),
        ]
        .into(),
    );
    let opts = CreateOptions {
        labels: [("b".to_string(), "3".to_string())].into(),
        ..Default::default()
    };
    let l = spec::merged_labels(&img, &opts);
    assert_eq!(l["a"], "1");
    assert_eq!(l["b"], "3");
}
