//! Request parsing shared by the handlers: the optional `/v1.NN` path prefix and its check,
//! percent-decoding, query strings, Docker's boolean and `filters` parameters.

use std::collections::BTreeMap;

use berth_api_types::{parse_api_version, API_VERSION, MAX_ACCEPTED_API_VERSION, MIN_API_VERSION};

use crate::error::ApiError;

/// Splits `/v1.43/images/json` into `(Some("1.43"), "/images/json")`.
pub fn split_version(path: &str) -> (Option<&str>, &str) {
    if let Some(rest) = path.strip_prefix("/v") {
        let end = rest.find('/').unwrap_or(rest.len());
        let v = &rest[..end];
        if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return (Some(v), &rest[end..]);
        }
    }
    (None, path)
}

/// Refuses versions outside `MIN_API_VERSION..=MAX_ACCEPTED_API_VERSION`, in Docker's words.
pub fn check_version(v: &str) -> Result<(), ApiError> {
    let Some(parsed) = parse_api_version(v) else {
        return Err(ApiError::BadRequest(format!("invalid API version {v:?}")));
    };
    if Some(parsed) < parse_api_version(MIN_API_VERSION) {
        return Err(ApiError::BadRequest(format!(
            "client version {v} is too old. Minimum supported API version is {MIN_API_VERSION}, \
             please upgrade your client to a newer version"
        )));
    }
    if Some(parsed) > parse_api_version(MAX_ACCEPTED_API_VERSION) {
        return Err(ApiError::BadRequest(format!(
            "client version {v} is too new. Maximum supported API version is {API_VERSION}"
        )));
    }
    Ok(())
}

/// Decodes `%XX` escapes (and `+` as a space in query strings). Bad escapes stay as written.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A parsed query string.
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses `a=1&b=x%20y`.
    pub fn parse(q: Option<&str>) -> Query {
        Query(
            q.unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (percent_decode(k, true), percent_decode(v, true))
                })
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `h` and `w` of a resize request (rows, columns).
    pub fn terminal_size(&self) -> Result<(u16, u16), ApiError> {
        let (rows, cols) = (self.get("h").unwrap_or("0"), self.get("w").unwrap_or("0"));
        match (rows.parse::<u16>(), cols.parse::<u16>()) {
            (Ok(r), Ok(c)) => Ok((r, c)),
            _ => Err(ApiError::BadRequest(format!(
                "invalid terminal size h={rows:?} w={cols:?}: give two numbers"
            ))),
        }
    }

    /// Docker's boolean: `1`, `true`, `True` are true; absent, `0`, `false`, `` are false.
    pub fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "" | "0" | "false" | "no"))
    }

    /// The `filters` parameter: `{"k":["v"]}` or the legacy `{"k":{"v":true}}`; keys must be
    /// among `allowed`.
    pub fn filters(&self, allowed: &[&str]) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
        let mut out = BTreeMap::new();
        let Some(text) = self.get("filters").filter(|t| !t.is_empty()) else {
            return Ok(out);
        };
        let bad = |e: String| ApiError::BadRequest(format!("invalid filters {text:?}: {e}"));
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let serde_json::Value::Object(map) = v else {
            return Err(bad("expected a JSON object".into()));
        };
        for (k, v) in map {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::BadRequest(format!("invalid filter '{k}'")));
            }
            let values: Vec<String> = match v {
                serde_json::Value::Array(a) => a
                    .into_iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad(format!("values of {k} must be strings")))?,
                serde_json::Value::Object(o) => o
                    .into_iter()
                    .filter(|(_, on)| on.as_bool() == Some(true))
                    .map(|(x, _)| x)
                    .collect(),
                _ => return Err(bad(format!("values of {k} must be a list"))),
            };
            out.insert(k, values);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(split_version("/v1.43/info"), (Some("1.43"), "/info"));
        assert_eq!(split_version("/version"), (None, "/version"));
        assert_eq!(split_version("/v1.43"), (Some("1.43"), ""));
        assert!(check_version("1.24").is_ok());
        assert!(check_version("1.50").is_ok());
        let e = check_version("9.99").unwrap_err().to_string();
        assert_eq!(
            e,
            "client version 9.99 is too new. Maximum supported API version is 1.43"
        );
        assert!(check_version("1.12").is_err());
    }

    #[test]
    fn queries() {
        let q = Query::parse(Some(
            "names=a%2Fb&names=c&force=1&filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D",
        ));
        assert_eq!(q.all("names"), vec!["a/b", "c"]);
        assert!(q.flag("force"));
        assert!(!q.flag("noprune"));
        let f = q.filters(&["dangling"]).unwrap();
        assert_eq!(f["dangling"], vec!["true"]);
        assert!(q.filters(&["label"]).is_err());
        let legacy = Query::parse(Some("filters={\"label\":{\"a=b\":true}}"));
        assert_eq!(legacy.filters(&["label"]).unwrap()["label"], vec!["a=b"]);
        assert_eq!(percent_decode("a%zz%4", false), "a%zz%4");
    }
}
