//! Tests of manifests, indexes, configs and chain ids against documents shaped like the ones
//! Docker Hub, buildkit and `docker save` produce.

use super::media_type::*;
use super::*;
use crate::digest::Digest;
use crate::error::ImageError;

fn hex(c: char) -> String {
    std::iter::repeat_n(c, 64).collect()
}

fn digest(c: char) -> Digest {
    format!("sha256:{}", hex(c)).parse().unwrap()
}

fn plat(s: &str) -> Platform {
    Platform::parse(s).unwrap()
}

fn manifest(json: &str, hint: Option<&str>) -> Manifest {
    match ManifestOrIndex::parse(json.as_bytes(), hint).unwrap() {
        ManifestOrIndex::Manifest(m) => m,
        other => panic!("expected a manifest, got {other:?}"),
    }
}

fn index(json: &str, hint: Option<&str>) -> Index {
    match ManifestOrIndex::parse(json.as_bytes(), hint).unwrap() {
        ManifestOrIndex::Index(i) => i,
        other => panic!("expected an index, got {other:?}"),
    }
}

#[test]
fn docker_schema2_manifest() {
    let json = format!(
        r#"{{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {{
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1472,
      "digest": "sha256:{a}"
   }},
   "layers": [
      {{
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 3401613,
         "digest": "sha256:{b}"
      }},
      {{
         "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
         "size": 1654,
         "digest": "sha256:{c}",
         "urls": ["https://mcr.microsoft.com/v2/windows/blobs/sha256:{c}"]
      }}
   ]
}}"#,
        a = hex('a'),
        b = hex('b'),
        c = hex('c')
    );
    // The hint is ignored when it is generic; the body's mediaType decides.
    let m = manifest(&json, Some("application/json"));
    assert_eq!(m.schema_version, 2);
    assert_eq!(m.media_type.as_deref(), Some(DOCKER_MANIFEST));
    assert_eq!(m.config.media_type, DOCKER_CONFIG);
    assert_eq!(m.config.digest, digest('a'));
    assert_eq!(m.config.size, 1472);
    assert_eq!(m.layers.len(), 2);
    assert_eq!(m.layers[0].digest, digest('b'));
    assert_eq!(m.layers[0].size, 3_401_613);
    assert!(is_foreign_layer(&m.layers[1].media_type));
    assert_eq!(m.layers[1].urls.as_ref().map(Vec::len), Some(1));
    assert_eq!(m.subject, None);
    // Serialising keeps the spec's camelCase names and skips absent fields.
    let out = serde_json::to_value(&m).unwrap();
    assert_eq!(out["schemaVersion"], 2);
    assert_eq!(out["config"]["mediaType"], DOCKER_CONFIG);
    assert!(out["layers"][0].get("urls").is_none());
    assert!(out.get("annotations").is_none());
}

#[test]
fn oci_manifest_without_media_type_uses_hint_or_keys() {
    let json = format!(
        r#"{{"schemaVersion":2,"artifactType":"application/vnd.example+type",
        "config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{a}","size":7023}},
        "layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"sha256:{b}","size":32654,
                    "annotations":{{"org.opencontainers.image.title":"rootfs"}}}}],
        "subject":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{c}","size":527}},
        "annotations":{{"com.example.key1":"value1"}}}}"#,
        a = hex('a'),
        b = hex('b'),
        c = hex('c')
    );
    for hint in [Some(OCI_MANIFEST), None] {
        let m = manifest(&json, hint);
        assert_eq!(m.media_type, None);
        assert_eq!(
            m.artifact_type.as_deref(),
            Some("application/vnd.example+type")
        );
        assert_eq!(m.config.media_type, OCI_CONFIG);
        assert_eq!(m.layers[0].media_type, OCI_LAYER_ZSTD);
        let title = m.layers[0].annotations.as_ref().unwrap();
        assert_eq!(title["org.opencontainers.image.title"], "rootfs");
        assert_eq!(m.subject.as_ref().unwrap().digest, digest('c'));
        assert_eq!(
            m.annotations.as_ref().unwrap()["com.example.key1"],
            "value1"
        );
    }
}

fn entry(mt: &str, d: char, platform: &str) -> String {
    let mut parts = platform.split('/');
    let (os, arch) = (parts.next().unwrap(), parts.next().unwrap());
    let variant = parts
        .next()
        .map_or(String::new(), |v| format!(r#","variant":"{v}""#));
    format!(
        r#"{{"mediaType":"{mt}","size":528,"digest":"sha256:{}","platform":{{"architecture":"{arch}","os":"{os}"{variant}}}}}"#,
        hex(d)
    )
}

#[test]
fn docker_manifest_list_selects_like_docker_pull() {
    let entries = [
        entry(DOCKER_MANIFEST, '1', "linux/386"),
        entry(DOCKER_MANIFEST, '2', "linux/amd64"),
        entry(DOCKER_MANIFEST, '3', "linux/arm/v5"),
        entry(DOCKER_MANIFEST, '4', "linux/arm/v7"),
        entry(DOCKER_MANIFEST, '5', "linux/arm64/v8"),
        entry(DOCKER_MANIFEST, '6', "linux/ppc64le"),
        entry(DOCKER_MANIFEST, '7', "windows/amd64"),
    ];
    let json = format!(
        r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST_LIST}","manifests":[{}]}}"#,
        entries.join(",")
    );
    let list = index(&json, Some(DOCKER_MANIFEST_LIST));
    assert_eq!(list.media_type.as_deref(), Some(DOCKER_MANIFEST_LIST));
    assert_eq!(list.manifests.len(), 7);
    let pick = |wanted: &str| list.select(&plat(wanted)).map(|d| d.digest.clone());
    // amd64 itself, not the 386 fallback listed before it.
    assert_eq!(pick("linux/amd64"), Some(digest('2')));
    assert_eq!(pick("linux/x86_64"), Some(digest('2')));
    // arm64 with and without the default variant.
    assert_eq!(pick("linux/arm64"), Some(digest('5')));
    assert_eq!(pick("linux/arm64/v8"), Some(digest('5')));
    // arm/v7 itself, not the older arm/v5 listed before it; plain arm means v7.
    assert_eq!(pick("linux/arm/v7"), Some(digest('4')));
    assert_eq!(pick("linux/arm"), Some(digest('4')));
    assert_eq!(pick("linux/arm/v6"), Some(digest('3')));
    assert_eq!(pick("windows/amd64"), Some(digest('7')));
    assert_eq!(pick("linux/386"), Some(digest('1')));
    // No match at all.
    assert_eq!(pick("linux/s390x"), None);
    assert_eq!(pick("linux/riscv64"), None);
    assert_eq!(pick("darwin/arm64"), None);
}

#[test]
fn arm64_falls_back_to_arm_v7_when_no_arm64_image() {
    let json = format!(
        r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST_LIST}","manifests":[{},{}]}}"#,
        entry(DOCKER_MANIFEST, '1', "linux/amd64"),
        entry(DOCKER_MANIFEST, '2', "linux/arm/v7"),
    );
    let list = index(&json, None);
    assert_eq!(
        list.select(&plat("linux/arm64")).map(|d| &d.digest),
        Some(&digest('2'))
    );
    assert_eq!(list.select(&plat("linux/arm/v6")), None);
}

#[test]
fn oci_index_never_selects_attestations_or_nested_indexes() {
    let attestation = format!(
        r#"{{"mediaType":"{OCI_MANIFEST}","digest":"sha256:{}","size":839,
        "annotations":{{"vnd.docker.reference.digest":"sha256:{}","vnd.docker.reference.type":"attestation-manifest"}},
        "platform":{{"architecture":"unknown","os":"unknown"}}}}"#,
        hex('9'),
        hex('1')
    );
    let json = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{attestation},{},{},{}],
        "annotations":{{"org.opencontainers.image.ref.name":"latest"}}}}"#,
        entry(OCI_INDEX, '8', "linux/arm64"),
        entry(OCI_MANIFEST, '1', "linux/amd64"),
        entry(OCI_MANIFEST, '2', "linux/arm64"),
    );
    let idx = index(&json, Some(OCI_INDEX));
    assert_eq!(idx.manifests.len(), 4);
    assert_eq!(idx.manifests[0].platform, Some(plat("unknown/unknown")));
    assert_eq!(
        idx.annotations.as_ref().unwrap()["org.opencontainers.image.ref.name"],
        "latest"
    );
    assert_eq!(idx.select(&plat("unknown/unknown")), None);
    assert_eq!(
        idx.select(&plat("linux/amd64")).map(|d| &d.digest),
        Some(&digest('1'))
    );
    // The nested index for arm64 comes first but is not a manifest.
    assert_eq!(
        idx.select(&plat("linux/arm64/v8")).map(|d| &d.digest),
        Some(&digest('2'))
    );
}

#[test]
fn schema1_is_refused_with_a_fix() {
    let body = format!(
        r#"{{"schemaVersion":1,"name":"library/hello-world","tag":"latest","architecture":"amd64",
        "fsLayers":[{{"blobSum":"sha256:{}"}}],"history":[{{"v1Compatibility":"{{}}"}}],
        "signatures":[{{"header":{{"alg":"ES256"}},"signature":"abc","protected":"def"}}]}}"#,
        hex('a')
    );
    for hint in [Some(DOCKER_SCHEMA1_SIGNED), Some(DOCKER_SCHEMA1), None] {
        let err = ManifestOrIndex::parse(body.as_bytes(), hint).unwrap_err();
        assert!(matches!(err, ImageError::ManifestSchema1 { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("schema 1") && msg.contains("deprecated"),
            "{msg}"
        );
        assert!(msg.contains("re-push"), "{msg}");
        assert_eq!(err.kind(), berth_types::ErrorKind::NotImplemented);
    }
    // A schema 1 media type wins even over a body claiming version 2.
    let err = ManifestOrIndex::parse(br#"{"schemaVersion":2}"#, Some(DOCKER_SCHEMA1)).unwrap_err();
    assert!(matches!(err, ImageError::ManifestSchema1 { .. }), "{err:?}");
}

#[test]
fn malformed_documents_are_refused() {
    let layers = format!(
        r#""config":{{"mediaType":"{OCI_CONFIG}","digest":"sha256:{}","size":1}},"layers":[]"#,
        hex('a')
    );
    let cases: Vec<(String, Option<&str>, &str)> = vec![
        ("not json".into(), None, "not valid JSON"),
        ("[]".into(), None, "JSON object"),
        (
            format!(r#"{{"schemaVersion":3,{layers}}}"#),
            None,
            "schemaVersion must be 2, got 3",
        ),
        (
            format!(r#"{{{layers}}}"#),
            None,
            "schemaVersion must be 2, got nothing",
        ),
        (
            format!(r#"{{"schemaVersion":2,"manifests":[],{layers}}}"#),
            None,
            "ambiguous",
        ),
        (
            format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}",{layers}}}"#),
            Some(OCI_INDEX),
            "inconsistent",
        ),
        (r#"{"schemaVersion":2}"#.into(), None, "cannot tell"),
        (
            format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","layers":[]}}"#),
            None,
            "missing field `config`",
        ),
    ];
    for (body, hint, want) in cases {
        let err = ManifestOrIndex::parse(body.as_bytes(), hint).unwrap_err();
        assert!(
            matches!(err, ImageError::InvalidManifest { .. }),
            "{body}: {err:?}"
        );
        assert!(err.to_string().contains(want), "{body}: {err}");
    }
}
