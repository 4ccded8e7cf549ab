//! Streamed answers: an error before any output is an ordinary error response; after output,
//! a JSON stream ends with Docker's `error`/`errorDetail` line.

use berth_api::body::{stream, StreamKind};
use berth_api::ApiError;
use berth_api_types::JsonMessage;
use http_body_util::BodyExt;

fn status_line(text: &str) -> JsonMessage {
    JsonMessage {
        status: Some(text.into()),
        ..JsonMessage::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failure_before_output_is_an_error_response() {
    let r = stream(StreamKind::Json, |_| {
        Err(ApiError::BadRequest("bad archive".into()))
    })
    .await;
    assert_eq!(r.status(), 400);
    let body = r.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(
        String::from_utf8_lossy(&body).trim(),
        r#"{"message":"bad archive"}"#
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failure_after_output_ends_the_json_stream() {
    let r = stream(StreamKind::Json, |w| {
        w.message(&status_line("Pulling fs layer"))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Err(ApiError::Internal("connection reset".into()))
    })
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body = r.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&body);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], r#"{"status":"Pulling fs layer"}"#);
    assert_eq!(
        lines[1],
        r#"{"error":"connection reset","errorDetail":{"message":"connection reset"}}"#
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_streams_are_chunked_through() {
    let r = stream(StreamKind::Binary("application/x-tar"), |w| {
        use std::io::Write;
        for _ in 0..100 {
            w.write_all(&[7u8; 10_000])
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        }
        Ok(())
    })
    .await;
    assert_eq!(r.status(), 200);
    let body = r.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(body.len(), 1_000_000);
}
