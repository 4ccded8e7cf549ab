//! Anonymous vs htpasswd Basic vs token (Bearer) auth, login, credentials from the auth file.

use berth_image::model::media_type;
use berth_registry::{credentials, RegistryError};
use berth_types::ErrorKind;

use crate::harness::{Auth, Registry, PASS, USER};
use crate::{content, push_blob, push_image, require_registry};

fn assert_unauthorized(err: &RegistryError, reg: &Registry, repo: &str) {
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    let want = format!(
        "unauthorized: authentication required for {addr}/{repo}; run `berth login {addr}`",
        addr = reg.addr
    );
    assert!(err.to_string().starts_with(&want), "{err}");
}

#[test]
fn basic_auth_refuses_anonymous_and_accepts_stored_credentials() {
    require_registry!();
    let reg = Registry::start(Auth::Htpasswd);
    let anon = reg.client();
    let r = reg.reference("x/y:v1");
    let err = anon.get_manifest(&r, &[]).unwrap_err();
    assert_unauthorized(&err, &reg, "x/y");
    let err = anon
        .upload_blob(&r, &berth_image::Digest::of(b"a"), 1, &b"a"[..], None)
        .unwrap_err();
    assert_unauthorized(&err, &reg, "x/y");

    let err = anon.login(&reg.addr, USER, "wrong").unwrap_err();
    assert!(matches!(err, RegistryError::LoginFailed { .. }), "{err}");
    assert!(err.to_string().contains("incorrect username or password"));
    anon.login(&reg.addr, USER, PASS).unwrap();

    let auth_file = reg.dir().join("docker/config.json");
    credentials::store(&auth_file, &reg.addr, USER, PASS).unwrap();
    let client = reg.client_with(Some(auth_file.clone()));
    let manifest = push_image(&client, &r, 3);
    let d = client
        .put_manifest(&r, media_type::OCI_MANIFEST, &manifest)
        .unwrap();
    assert_eq!(client.get_manifest(&r, &[]).unwrap().2, d);

    // Erased credentials: anonymous again.
    assert!(credentials::erase(&auth_file, &reg.addr).unwrap());
    client.reload_credentials().unwrap();
    assert_unauthorized(&client.get_manifest(&r, &[]).unwrap_err(), &reg, "x/y");
}

#[test]
fn bearer_flow_with_token_service() {
    require_registry!();
    let reg = Registry::start(Auth::Token);
    let issuer = reg.issuer.as_ref().unwrap();
    let r = reg.reference("team/app:v1");

    // Anonymous: the token service hands out a token without access; the registry refuses.
    let anon = reg.client();
    let err = anon.get_manifest(&r, &[]).unwrap_err();
    assert_unauthorized(&err, &reg, "team/app");

    let err = anon.login(&reg.addr, USER, "wrong").unwrap_err();
    assert!(matches!(err, RegistryError::LoginFailed { .. }), "{err}");
    anon.login(&reg.addr, USER, PASS).unwrap();

    let auth_file = reg.dir().join("config.json");
    credentials::store(&auth_file, &reg.addr, USER, PASS).unwrap();
    let client = reg.client_with(Some(auth_file));
    let before = issuer.requests();
    let bytes = content(9, 5000);
    let d = push_blob(&client, &r, &bytes);
    let manifest = push_image(&client, &r, 4);
    let md = client
        .put_manifest(&r, media_type::OCI_MANIFEST, &manifest)
        .unwrap();
    // All pushes share one token for scope pull,push.
    assert_eq!(issuer.requests() - before, 1);
    assert!(issuer
        .scopes
        .lock()
        .unwrap()
        .contains(&"repository:team/app:pull,push".to_owned()));

    for _ in 0..3 {
        assert_eq!(client.blob_exists(&r, &d).unwrap(), Some(5000));
    }
    assert_eq!(client.get_manifest(&r, &[]).unwrap().2, md);
    // One more token, for the pull scope, cached across the calls.
    assert_eq!(issuer.requests() - before, 2);

    // Mount asks for both repositories in one token.
    let dst = reg.reference("team/copy:v1");
    assert!(client.mount_blob(&dst, &d, &r).unwrap());
    assert!(issuer
        .scopes
        .lock()
        .unwrap()
        .contains(&"repository:team/copy:pull,push repository:team/app:pull".to_owned()));
    assert_eq!(client.blob_exists(&dst, &d).unwrap(), Some(5000));
    assert_eq!(client.tags(&r).unwrap(), ["v1"]);
}
