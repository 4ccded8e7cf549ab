//! Typed helpers, one per endpoint the CLI uses, returning `berth-api-types` structs.
//! Bodies the api-types crate has no client-side shape for (the create body, exec create,
//! update) are passed as JSON values built by the caller with Docker's field names.

use std::io::Read;

use berth_api_types::{
    ContainerCreateResponse, ContainerInspect, ContainerSummary, ContainerWaitResponse,
    HistoryResponseItem, ImageDeleteResponseItem, ImageInspect, ImageSummary, ImagesPruneResponse,
    Info, JsonMessage, Version, Volume, VolumeCreateRequest, VolumeListResponse,
    VolumesPruneResponse,
};
use http::Method;
use serde_json::Value;

use crate::stream::reader_body;
use crate::{encode, BodyStream, Client, Error, Hijacked, JsonLines, Result};

/// `GET /containers/json` parameters.
#[derive(Debug, Clone, Default)]
pub struct ContainerListOptions {
    /// Stopped ones too.
    pub all: bool,
    /// At most this many, newest first.
    pub limit: Option<usize>,
    /// `key=value` filters.
    pub filters: Vec<String>,
    /// Sizes.
    pub size: bool,
}

/// `GET /containers/{id}/logs` parameters.
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    /// Keep streaming.
    pub follow: bool,
    /// `all` or a number of lines.
    pub tail: Option<String>,
    /// Prefix timestamps.
    pub timestamps: bool,
    /// Only since this time.
    pub since: Option<String>,
    /// Only until this time.
    pub until: Option<String>,
}

/// `key=value` filters as the API's `{"key":["value",…]}` query parameter.
pub fn filters_param(filters: &[String]) -> String {
    let mut map = serde_json::Map::new();
    for f in filters {
        let (k, v) = f.split_once('=').unwrap_or((f.as_str(), ""));
        let e = map
            .entry(k.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = e {
            a.push(Value::String(v.to_string()));
        }
    }
    encode(&Value::Object(map).to_string())
}

fn flag(b: bool) -> &'static str {
    if b {
        "1"
    } else {
        "0"
    }
}

impl Client {
    /// `GET /_ping`.
    pub fn ping(&self) -> Result<()> {
        self.call(Method::GET, "/_ping", None).map(drop)
    }

    /// `GET /version`.
    pub fn version(&self) -> Result<Version> {
        self.get("/version")
    }

    /// `GET /info`.
    pub fn info(&self) -> Result<Info> {
        self.get("/info")
    }

    /// `GET /info` as raw JSON.
    pub fn info_raw(&self) -> Result<Value> {
        self.get("/info")
    }

    // ---- containers ----

    /// `POST /containers/create?name=`.
    pub fn create_container(
        &self,
        name: Option<&str>,
        body: &Value,
    ) -> Result<ContainerCreateResponse> {
        let q = name
            .map(|n| format!("?name={}", encode(n)))
            .unwrap_or_default();
        self.post(&format!("/containers/create{q}"), Some(body))
    }

    /// `POST /containers/{id}/start`.
    pub fn start_container(&self, id: &str) -> Result<()> {
        self.post_empty(&format!("/containers/{}/start", encode(id)), None)
    }

    /// `POST /containers/{id}/stop?t=&signal=`.
    pub fn stop_container(
        &self,
        id: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<()> {
        let mut q = Vec::new();
        if let Some(t) = timeout {
            q.push(format!("t={t}"));
        }
        if let Some(s) = signal {
            q.push(format!("signal={}", encode(s)));
        }
        self.post_empty(
            &format!("/containers/{}/stop?{}", encode(id), q.join("&")),
            None,
        )
    }

    /// `POST /containers/{id}/restart?t=`.
    pub fn restart_container(&self, id: &str, timeout: Option<i64>) -> Result<()> {
        let q = timeout.map(|t| format!("?t={t}")).unwrap_or_default();
        self.post_empty(&format!("/containers/{}/restart{q}", encode(id)), None)
    }

    /// `POST /containers/{id}/kill?signal=`.
    pub fn kill_container(&self, id: &str, signal: Option<&str>) -> Result<()> {
        let q = signal
            .map(|s| format!("?signal={}", encode(s)))
            .unwrap_or_default();
        self.post_empty(&format!("/containers/{}/kill{q}", encode(id)), None)
    }

    /// `DELETE /containers/{id}?force=&v=`.
    pub fn remove_container(&self, id: &str, force: bool, volumes: bool) -> Result<()> {
        let p = format!(
            "/containers/{}?force={}&v={}",
            encode(id),
            flag(force),
            flag(volumes)
        );
        self.call(Method::DELETE, &p, None).map(drop)
    }

    /// `GET /containers/json`.
    pub fn list_containers(&self, o: &ContainerListOptions) -> Result<Vec<ContainerSummary>> {
        let mut q = vec![format!("all={}", flag(o.all))];
        if let Some(n) = o.limit {
            q.push(format!("limit={n}"));
        }
        if o.size {
            q.push("size=1".into());
        }
        if !o.filters.is_empty() {
            q.push(format!("filters={}", filters_param(&o.filters)));
        }
        self.get(&format!("/containers/json?{}", q.join("&")))
    }

    /// `GET /containers/{id}/json`.
    pub fn inspect_container(&self, id: &str) -> Result<ContainerInspect> {
        self.get(&format!("/containers/{}/json", encode(id)))
    }

    /// `GET /containers/{id}/json` as raw JSON (for templates).
    pub fn inspect_container_raw(&self, id: &str) -> Result<Value> {
        self.get(&format!("/containers/{}/json", encode(id)))
    }

    /// `GET /containers/{id}/logs`: frames (raw for a TTY), whole or followed.
    pub fn logs(&self, id: &str, o: &LogsOptions) -> Result<BodyStream<'_>> {
        let mut q = vec![
            "stdout=1".to_string(),
            "stderr=1".into(),
            format!("follow={}", flag(o.follow)),
            format!("timestamps={}", flag(o.timestamps)),
        ];
        if let Some(t) = &o.tail {
            q.push(format!("tail={}", encode(t)));
        }
        if let Some(s) = &o.since {
            q.push(format!("since={}", encode(s)));
        }
        if let Some(s) = &o.until {
            q.push(format!("until={}", encode(s)));
        }
        let p = format!("/containers/{}/logs?{}", encode(id), q.join("&"));
        self.stream(Method::GET, &p, None, &[])
    }

    /// Sends `POST /containers/{id}/wait?condition=` and returns once the daemon has
    /// answered the headers; [`BodyStream`] then yields the result when the container exits.
    pub fn wait_begin(&self, id: &str, condition: &str) -> Result<BodyStream<'_>> {
        let p = format!(
            "/containers/{}/wait?condition={}",
            encode(id),
            encode(condition)
        );
        self.stream(Method::POST, &p, None, &[])
    }

    /// Reads the answer of [`Client::wait_begin`].
    pub fn wait_end(&self, s: BodyStream<'_>) -> Result<ContainerWaitResponse> {
        let r = s.json_lines::<ContainerWaitResponse>().next();
        let r =
            r.ok_or_else(|| Error::Stream("the daemon ended the wait without an answer".into()))??;
        if let Some(e) = &r.error {
            if !e.message.is_empty() {
                return Err(Error::Stream(e.message.clone()));
            }
        }
        Ok(r)
    }

    /// `POST /containers/{id}/wait?condition=`: blocks until the condition holds.
    pub fn wait_container(&self, id: &str, condition: &str) -> Result<ContainerWaitResponse> {
        let s = self.wait_begin(id, condition)?;
        self.wait_end(s)
    }

    /// `POST /containers/{id}/attach` (hijacked).
    pub fn attach(&self, id: &str, stdin: bool, logs: bool, tty: bool) -> Result<Hijacked<'_>> {
        let p = format!(
            "/containers/{}/attach?stream=1&stdout=1&stderr=1&stdin={}&logs={}",
            encode(id),
            flag(stdin),
            flag(logs)
        );
        self.hijack(&p, None, tty)
    }

    /// `POST /containers/{id}/resize?h=&w=`.
    pub fn resize_container(&self, id: &str, h: u16, w: u16) -> Result<()> {
        self.post_empty(
            &format!("/containers/{}/resize?h={h}&w={w}", encode(id)),
            None,
        )
    }

    /// `GET /containers/{id}/top?ps_args=`.
    pub fn top(&self, id: &str, ps_args: Option<&str>) -> Result<Value> {
        let q = ps_args
            .map(|a| format!("?ps_args={}", encode(a)))
            .unwrap_or_default();
        self.get(&format!("/containers/{}/top{q}", encode(id)))
    }

    /// `POST /containers/{id}/{verb}` for pause and unpause.
    pub fn container_action(&self, id: &str, verb: &str) -> Result<()> {
        self.post_empty(&format!("/containers/{}/{verb}", encode(id)), None)
    }

    /// `PUT /containers/{id}/archive?path=`: extracts the tar `archive` at `path`.
    pub fn put_archive(&self, id: &str, path: &str, archive: Vec<u8>) -> Result<()> {
        let p = format!("/containers/{}/archive?path={}", encode(id), encode(path));
        let h = [("Content-Type", "application/x-tar".to_string())];
        self.stream(Method::PUT, &p, Some(Self::body(archive)), &h)?
            .copy_to(&mut std::io::sink())
    }

    /// `POST /containers/{id}/rename?name=`.
    pub fn rename_container(&self, id: &str, name: &str) -> Result<()> {
        self.post_empty(
            &format!("/containers/{}/rename?name={}", encode(id), encode(name)),
            None,
        )
    }

    /// `POST /containers/{id}/update`.
    pub fn update_container(&self, id: &str, body: &Value) -> Result<Value> {
        self.post(&format!("/containers/{}/update", encode(id)), Some(body))
    }

    // ---- exec ----

    /// `POST /containers/{id}/exec`; returns the exec id.
    pub fn exec_create(&self, id: &str, body: &Value) -> Result<String> {
        let v: Value = self.post(&format!("/containers/{}/exec", encode(id)), Some(body))?;
        Ok(v["Id"].as_str().unwrap_or_default().to_string())
    }

    /// `POST /exec/{id}/start` attached (hijacked).
    pub fn exec_start(&self, exec_id: &str, tty: bool) -> Result<Hijacked<'_>> {
        let body = serde_json::json!({ "Detach": false, "Tty": tty });
        self.hijack(
            &format!("/exec/{}/start", encode(exec_id)),
            Some(&body),
            tty,
        )
    }

    /// `POST /exec/{id}/start` detached.
    pub fn exec_start_detached(&self, exec_id: &str) -> Result<()> {
        let body = serde_json::json!({ "Detach": true, "Tty": false });
        self.post_empty(&format!("/exec/{}/start", encode(exec_id)), Some(&body))
    }

    /// `GET /exec/{id}/json` (raw: the api-types struct is server-side only).
    pub fn exec_inspect(&self, exec_id: &str) -> Result<Value> {
        self.get(&format!("/exec/{}/json", encode(exec_id)))
    }

    // ---- images ----

    /// `GET /images/json`.
    pub fn list_images(&self, all: bool, filters: &[String]) -> Result<Vec<ImageSummary>> {
        let mut p = format!("/images/json?all={}", flag(all));
        if !filters.is_empty() {
            p.push_str(&format!("&filters={}", filters_param(filters)));
        }
        self.get(&p)
    }

    /// `GET /images/{name}/json`.
    pub fn inspect_image(&self, name: &str) -> Result<ImageInspect> {
        self.get(&format!("/images/{name}/json"))
    }

    /// `GET /images/{name}/json` as raw JSON.
    pub fn inspect_image_raw(&self, name: &str) -> Result<Value> {
        self.get(&format!("/images/{name}/json"))
    }

    /// `GET /images/{name}/history`.
    pub fn image_history(&self, name: &str) -> Result<Vec<HistoryResponseItem>> {
        self.get(&format!("/images/{name}/history"))
    }

    /// `DELETE /images/{name}?force=`.
    pub fn remove_image(&self, name: &str, force: bool) -> Result<Vec<ImageDeleteResponseItem>> {
        let b = self.call(
            Method::DELETE,
            &format!("/images/{name}?force={}", flag(force)),
            None,
        )?;
        Ok(serde_json::from_slice(&b)?)
    }

    /// `POST /images/{name}/tag?repo=&tag=`.
    pub fn tag_image(&self, source: &str, repo: &str, tag: &str) -> Result<()> {
        let p = format!(
            "/images/{source}/tag?repo={}&tag={}",
            encode(repo),
            encode(tag)
        );
        self.post_empty(&p, None)
    }

    /// `POST /images/create?fromImage=&tag=` (pull): the JSON progress stream.
    pub fn pull(
        &self,
        image: &str,
        tag: &str,
        platform: Option<&str>,
        auth: Option<String>,
    ) -> Result<JsonLines<'_, JsonMessage>> {
        let mut p = format!(
            "/images/create?fromImage={}&tag={}",
            encode(image),
            encode(tag)
        );
        if let Some(pl) = platform {
            p.push_str(&format!("&platform={}", encode(pl)));
        }
        let h: Vec<(&str, String)> = auth.into_iter().map(|a| ("X-Registry-Auth", a)).collect();
        Ok(self.stream(Method::POST, &p, None, &h)?.json_lines())
    }

    /// `POST /images/{name}/push?tag=`: the JSON progress stream.
    pub fn push(&self, name: &str, tag: &str, auth: String) -> Result<JsonLines<'_, JsonMessage>> {
        let p = format!("/images/{name}/push?tag={}", encode(tag));
        Ok(self
            .stream(Method::POST, &p, None, &[("X-Registry-Auth", auth)])?
            .json_lines())
    }

    /// `POST /images/load?quiet=`, the archive streamed from `r`.
    pub fn load(&self, r: Box<dyn Read + Send>, quiet: bool) -> Result<JsonLines<'_, JsonMessage>> {
        let p = format!("/images/load?quiet={}", flag(quiet));
        let h = [("Content-Type", "application/x-tar".to_string())];
        Ok(self
            .stream(Method::POST, &p, Some(reader_body(r)), &h)?
            .json_lines())
    }

    /// `POST /images/create?fromSrc=-` (import), the tarball streamed from `r`.
    pub fn import(
        &self,
        r: Box<dyn Read + Send>,
        repo: &str,
        tag: &str,
        message: &str,
        changes: &[String],
    ) -> Result<JsonLines<'_, JsonMessage>> {
        let mut p = format!(
            "/images/create?fromSrc=-&repo={}&tag={}&message={}",
            encode(repo),
            encode(tag),
            encode(message)
        );
        for c in changes {
            p.push_str(&format!("&changes={}", encode(c)));
        }
        let h = [("Content-Type", "application/x-tar".to_string())];
        Ok(self
            .stream(Method::POST, &p, Some(reader_body(r)), &h)?
            .json_lines())
    }

    /// `GET /images/get?names=…` (save): the tar stream.
    pub fn save(&self, names: &[String]) -> Result<BodyStream<'_>> {
        let q: Vec<String> = names
            .iter()
            .map(|n| format!("names={}", encode(n)))
            .collect();
        self.stream(
            Method::GET,
            &format!("/images/get?{}", q.join("&")),
            None,
            &[],
        )
    }

    /// `POST /images/prune`.
    pub fn prune_images(&self, filters: &[String]) -> Result<ImagesPruneResponse> {
        self.post(
            &format!("/images/prune?filters={}", filters_param(filters)),
            None,
        )
    }

    /// `GET /system/df` (raw).
    pub fn system_df(&self) -> Result<Value> {
        self.get("/system/df")
    }

    /// `POST /auth`.
    pub fn auth(&self, body: &Value) -> Result<Value> {
        self.post("/auth", Some(body))
    }

    // ---- volumes ----

    /// `POST /volumes/create`.
    pub fn create_volume(&self, req: &VolumeCreateRequest) -> Result<Volume> {
        self.post("/volumes/create", Some(&serde_json::to_value(req)?))
    }

    /// `GET /volumes`.
    pub fn list_volumes(&self, filters: &[String]) -> Result<VolumeListResponse> {
        let q = if filters.is_empty() {
            String::new()
        } else {
            format!("?filters={}", filters_param(filters))
        };
        self.get(&format!("/volumes{q}"))
    }

    /// `GET /volumes/{name}` (raw JSON, for templates).
    pub fn inspect_volume_raw(&self, name: &str) -> Result<Value> {
        self.get(&format!("/volumes/{}", encode(name)))
    }

    /// `DELETE /volumes/{name}?force=`.
    pub fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        let p = format!("/volumes/{}?force={}", encode(name), flag(force));
        self.call(Method::DELETE, &p, None).map(drop)
    }

    /// `POST /volumes/prune`.
    pub fn prune_volumes(&self, filters: &[String]) -> Result<VolumesPruneResponse> {
        self.post(
            &format!("/volumes/prune?filters={}", filters_param(filters)),
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_encode_as_docker_does() {
        let f = filters_param(&["name=a".into(), "name=b".into(), "status=exited".into()]);
        assert_eq!(f, encode(r#"{"name":["a","b"],"status":["exited"]}"#));
    }
}
