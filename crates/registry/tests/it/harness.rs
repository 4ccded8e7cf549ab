//! Test registries on 127.0.0.1: Debian's `docker-registry` (CNCF distribution 2.8) with
//! filesystem storage in a temp dir — anonymous, htpasswd, or token auth with a small token
//! issuer signing RS256 JWTs through the `openssl` CLI — and a scripted fake server for the
//! cases a well-behaved registry never produces (wrong bytes, 503s, ignored ranges).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use berth_registry::{ClientConfig, RegistryClient};

pub const USER: &str = "berth";
pub const PASS: &str = "s3cret-pass";
const SERVICE: &str = "berth-test-registry";
const ISSUER: &str = "berth-test-issuer";

/// Skips (returns) when the registry tools are missing, unless `CI=true`, where that fails.
#[macro_export]
macro_rules! require_registry {
    () => {
        if !$crate::harness::tools_present() {
            return;
        }
    };
}

pub fn tools_present() -> bool {
    let missing: Vec<&str> = [
        "/usr/bin/docker-registry",
        "/usr/bin/htpasswd",
        "/usr/bin/openssl",
    ]
    .into_iter()
    .filter(|p| !Path::new(p).exists())
    .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "missing {missing:?}: install the Debian packages docker-registry apache2-utils openssl"
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}");
    }
    eprintln!("skipping: {msg}");
    false
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Anonymous,
    Htpasswd,
    Token,
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A running `docker-registry serve` (berth-testutil's), with this crate's auth variants.
pub struct Registry {
    inner: berth_testutil::registry::Registry,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    pub issuer: Option<TokenIssuer>,
}

impl Registry {
    pub fn start(auth: Auth) -> Registry {
        Self::start_with(auth, false)
    }

    /// With `tls`, the registry serves HTTPS only, with a self-signed cert for 127.0.0.1.
    pub fn start_with(auth: Auth, tls: bool) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let mut issuer = None;
        let auth_yaml = match auth {
            Auth::Anonymous => String::new(),
            Auth::Htpasswd => {
                let line = run(Command::new("htpasswd").args(["-Bbn", USER, PASS]));
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, line).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: berth-basic-realm\n    path: {}\n",
                    file.display()
                )
            }
            Auth::Token => {
                let t = TokenIssuer::start(dir.path());
                let yaml = format!(
                    "auth:\n  token:\n    realm: http://{}/token\n    service: {SERVICE}\n    \
                     issuer: {ISSUER}\n    rootcertbundle: {}\n",
                    t.addr,
                    t.cert.display()
                );
                issuer = Some(t);
                yaml
            }
        };
        let tls_yaml = if tls {
            let (key, cert) = (dir.path().join("tls.key"), dir.path().join("tls.crt"));
            run(Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                ])
                .args([
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                ])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert));
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            )
        } else {
            String::new()
        };
        let inner =
            berth_testutil::registry::Registry::serve(dir, &format!("{tls_yaml}{auth_yaml}"));
        Registry {
            addr: inner.addr.clone(),
            inner,
            issuer,
        }
    }

    /// A directory for auth files and certs of this test.
    pub fn dir(&self) -> &Path {
        self.inner.dir()
    }

    /// A client with no auth file, certs dir inside the temp dir.
    pub fn client(&self) -> RegistryClient {
        self.client_with(None)
    }

    pub fn client_with(&self, auth_file: Option<PathBuf>) -> RegistryClient {
        RegistryClient::new(ClientConfig {
            auth_file,
            certs_dir: self.inner.dir().join("certs.d"),
            user_agent: "berth-registry-tests".into(),
            ..ClientConfig::default()
        })
        .unwrap()
    }

    pub fn reference(&self, repo_and_tag: &str) -> berth_image::Reference {
        berth_image::Reference::parse(&format!("{}/{repo_and_tag}", self.addr)).unwrap()
    }
}

/// A tiny HTTP server on 127.0.0.1 that answers each request with `handler`'s response, one
/// connection per request (`Connection: close`). TLS client hellos are hung up on, so the
/// client's HTTPS-first probe falls back to HTTP at once.
pub struct Server {
    pub addr: String,
    pub requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Clone)]
#[allow(dead_code)] // `body` is for handlers that want it
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    pub fn query(&self, key: &str) -> Vec<String> {
        let Some((_, q)) = self.target.split_once('?') else {
            return Vec::new();
        };
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| percent_decode(v))
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Server {
    pub fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let (stop2, requests2) = (stop.clone(), requests.clone());
        let handler = Arc::new(handler);
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let handler = handler.clone();
                let requests = requests2.clone();
                std::thread::spawn(move || serve_one(conn, &*handler, &requests));
            }
        });
        Server {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve_one(conn: TcpStream, handler: &dyn Fn(&Request) -> Response, requests: &AtomicUsize) {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    // A TLS handshake record starts with 0x16: not for us.
    match reader.fill_buf() {
        Ok(b) if !b.is_empty() && b[0] != 0x16 => {}
        _ => {
            let _ = conn.shutdown(Shutdown::Both);
            return;
        }
    }
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    requests.fetch_add(1, Ordering::SeqCst);
    let req = Request {
        method,
        target,
        headers,
        body,
    };
    let resp = handler(&req);
    let mut out = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", resp.status);
    let mut has_len = false;
    for (k, v) in &resp.headers {
        has_len |= k.eq_ignore_ascii_case("content-length");
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !has_len {
        out.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    }
    out.push_str("\r\n");
    let mut w = conn;
    let _ = w.write_all(out.as_bytes());
    if req.method != "HEAD" {
        let _ = w.write_all(&resp.body);
    }
    let _ = w.flush();
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The token service of a token-auth registry: `GET /token?service&scope…` answered with an
/// RS256 JWT whose `x5c` is a self-signed cert the registry trusts (`rootcertbundle`).
/// Authenticated requests (Basic `USER:PASS`) get the access they ask for; anonymous ones get
/// a token with no access; wrong credentials get 401.
pub struct TokenIssuer {
    server: Server,
    pub addr: String,
    pub cert: PathBuf,
    /// Scopes asked for, one entry per token request.
    pub scopes: Arc<Mutex<Vec<String>>>,
}

impl TokenIssuer {
    fn start(dir: &Path) -> TokenIssuer {
        let key = dir.join("token.key");
        let cert = dir.join("token.crt");
        run(Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=berth-test-token-issuer",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert));
        let pem = std::fs::read_to_string(&cert).unwrap();
        let x5c: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        let scopes = Arc::new(Mutex::new(Vec::new()));
        let scopes2 = scopes.clone();
        let expected_basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"))
        );
        let server = Server::start(move |req| {
            if req.path() != "/token" {
                return Response::new(404, "not found");
            }
            let asked = req.query("scope");
            scopes2.lock().unwrap().push(asked.join(" "));
            let authed = match req.header("authorization") {
                None => false,
                Some(v) if v == expected_basic => true,
                Some(_) => {
                    return Response::new(
                        401,
                        r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#,
                    )
                }
            };
            let access: Vec<serde_json::Value> = if authed {
                asked
                    .iter()
                    .filter_map(|s| {
                        let mut it = s.splitn(3, ':');
                        let (t, name, actions) = (it.next()?, it.next()?, it.next()?);
                        Some(serde_json::json!({
                            "type": t, "name": name,
                            "actions": actions.split(',').collect::<Vec<_>>()
                        }))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let jwt = sign_jwt(&key, &x5c, access, req.query("service").first().cloned());
            Response::new(
                200,
                serde_json::json!({"token": jwt, "expires_in": 300}).to_string(),
            )
            .header("Content-Type", "application/json")
        });
        TokenIssuer {
            addr: server.addr.clone(),
            server,
            cert,
            scopes,
        }
    }

    pub fn requests(&self) -> usize {
        self.server.count()
    }
}

fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn sign_jwt(
    key: &Path,
    x5c: &str,
    access: Vec<serde_json::Value>,
    service: Option<String>,
) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [x5c]});
    let claims = serde_json::json!({
        "iss": ISSUER,
        "sub": USER,
        "aud": service.unwrap_or_else(|| SERVICE.to_owned()),
        "exp": now + 300,
        "nbf": now - 10,
        "iat": now - 10,
        "jti": format!("{now}-{}", std::process::id()),
        "access": access,
    });
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let out = berth_testutil::peers::output_with_stdin(
        Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(key),
        input.as_bytes(),
    );
    assert!(out.status.success(), "openssl dgst -sign failed");
    format!("{input}.{}", b64url(&out.stdout))
}
