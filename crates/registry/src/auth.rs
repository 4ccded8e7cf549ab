//! The registry's `WWW-Authenticate` challenge and the token service's answer.
//!
//! Flow (distribution's "token authentication"): `GET /v2/` answers 401 with
//! `Bearer realm="…",service="…"` (or `Basic realm="…"`). For Bearer, the client asks
//! `realm?service=…&scope=repository:<path>:pull[,push]`, with Basic credentials when it has
//! some, and sends the returned `token` (or `access_token`) as `Authorization: Bearer`.

use std::time::Duration;

/// How a registry wants to be authenticated, from its `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// Send `Authorization: Basic` with the user's credentials.
    Basic,
    /// Get a token from `realm`.
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// Parses `Bearer realm="https://auth",service="registry",scope="…"` or `Basic realm="x"`.
/// Returns `None` for schemes the client does not speak.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((header, ""));
    let params = parse_params(rest);
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    if scheme.eq_ignore_ascii_case("basic") {
        Some(Challenge::Basic)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Some(Challenge::Bearer {
            realm: get("realm")?,
            service: get("service"),
        })
    } else {
        None
    }
}

/// `k1="v, 1",k2=v2` → pairs; quoted values may contain commas and `\"`.
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars
            .peek()
            .is_some_and(|c| c.is_ascii_whitespace() || *c == ',')
        {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() && chars.peek().is_none() {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                value.push(n);
                            }
                        }
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        let key = key.trim().to_owned();
        if !key.is_empty() {
            out.push((key, value.trim().to_owned()));
        }
        if chars.peek().is_none() {
            return out;
        }
    }
}

/// The token service's JSON answer.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl TokenResponse {
    /// The token (`token` preferred, `access_token` as OAuth2 services send it).
    pub(crate) fn token(&self) -> Option<&str> {
        self.token
            .as_deref()
            .filter(|t| !t.is_empty())
            .or(self.access_token.as_deref().filter(|t| !t.is_empty()))
    }

    /// How long the token may be cached: `expires_in` (the spec's default and minimum is 60
    /// seconds), less a margin for clock and transfer time.
    pub(crate) fn lifetime(&self) -> Duration {
        let secs = self.expires_in.unwrap_or(60).max(60);
        Duration::from_secs(secs.saturating_sub(10))
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters kept).
pub(crate) fn encode_component(s: &str) -> String {
    berth_types::percent_encode(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
            })
        );
        let c = parse_challenge(r#"bearer realm=http://127.0.0.1:1/t"#);
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "http://127.0.0.1:1/t".into(),
                service: None
            })
        );
    }

    #[test]
    fn basic_and_unknown_challenges() {
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None);
    }

    #[test]
    fn params_with_escapes_and_commas() {
        let p = parse_params(r#"a="x, \"y\"", b=z ,c="""#);
        assert_eq!(
            p,
            vec![
                ("a".into(), r#"x, "y""#.into()),
                ("b".into(), "z".into()),
                ("c".into(), String::new())
            ]
        );
    }

    #[test]
    fn token_fields() {
        let t: TokenResponse = serde_json::from_str(r#"{"access_token":"abc"}"#).unwrap();
        assert_eq!(t.token(), Some("abc"));
        assert_eq!(t.lifetime(), Duration::from_secs(50));
        let t: TokenResponse =
            serde_json::from_str(r#"{"token":"t","access_token":"a","expires_in":300}"#).unwrap();
        assert_eq!(t.token(), Some("t"));
        assert_eq!(t.lifetime(), Duration::from_secs(290));
    }

    #[test]
    fn encoding() {
        assert_eq!(
            encode_component("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
    }
}
