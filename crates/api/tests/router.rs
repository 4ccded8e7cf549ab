//! The router in process, against a real engine on a temporary data root: no socket.

use std::sync::Arc;

use berth_api::Api;
use berth_engine::{Engine, EngineConfig};
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};

async fn call(api: &Api, method: Method, path: &str) -> (u16, http::HeaderMap, String) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .body(Full::new(Bytes::new()))
        .expect("request");
    let resp = api.handle(req).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn api() -> (tempfile::TempDir, Api) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
    (dir, Api::new(Arc::new(engine)))
}

#[tokio::test(flavor = "multi_thread")]
async fn ping_carries_docker_headers() {
    let (_d, api) = api();
    let (status, h, body) = call(&api, Method::GET, "/_ping").await;
    assert_eq!((status, body.as_str()), (200, "OK"));
    assert_eq!(h["api-version"], "1.43");
    assert_eq!(h["ostype"], "linux");
    assert_eq!(h["docker-experimental"], "false");
    assert!(h["server"].to_str().unwrap_or("").starts_with("Berth/"));
    let (status, _, body) = call(&api, Method::HEAD, "/v1.43/_ping").await;
    assert_eq!((status, body.as_str()), (200, ""));
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_map_to_statuses() {
    let (_d, api) = api();
    let (status, _, body) = call(&api, Method::GET, "/v9.99/info").await;
    assert_eq!(status, 400);
    assert!(
        body.contains("is too new. Maximum supported API version is 1.43"),
        "{body}"
    );
    let (status, _, body) = call(&api, Method::DELETE, "/v1.43/images/nope").await;
    assert_eq!(status, 404);
    assert_eq!(body.trim(), r#"{"message":"No such image: nope:latest"}"#);
    let (status, _, _) = call(&api, Method::GET, "/images/a/b:1/json").await;
    assert_eq!(status, 404);
    let (status, _, body) = call(&api, Method::GET, "/nowhere").await;
    assert_eq!(
        (status, body.trim()),
        (404, r#"{"message":"page not found"}"#)
    );
    let (status, _, _) = call(
        &api,
        Method::GET,
        "/images/json?filters=%7B%22bogus%22%3A%5B%5D%7D",
    )
    .await;
    assert_eq!(status, 400);
    let (status, _, _) = call(&api, Method::GET, "/images/get?names=nope").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_store_lists() {
    let (_d, api) = api();
    let (status, h, body) = call(&api, Method::GET, "/v1.43/images/json?all=1").await;
    assert_eq!((status, body.trim()), (200, "[]"));
    assert_eq!(h["content-type"], "application/json");
    let (status, _, body) = call(&api, Method::POST, "/images/prune").await;
    assert_eq!(status, 200);
    assert_eq!(body.trim(), r#"{"ImagesDeleted":null,"SpaceReclaimed":0}"#);
    let (status, _, body) = call(&api, Method::GET, "/version").await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(v["ApiVersion"], "1.43");
    assert_eq!(v["MinAPIVersion"], "1.24");
    let (status, _, body) = call(&api, Method::GET, "/info").await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(v["Images"], 0);
    assert_eq!(v["OSType"], "linux");
}
