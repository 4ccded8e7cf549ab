//! The subset of Go's text/template that `--format` / `-f` use in practice, over JSON values:
//! `{{.Field.Sub}}`, `{{.}}`, `{{json .X}}`, `{{index .Map "key"}}`, `{{join .List ","}}`,
//! `{{upper .X}}`, `{{lower .X}}`, `{{len .X}}`, and the `table` prefix (header row + aligned columns).
//!
//! Why over `serde_json::Value`: the daemon's answers already are JSON, and docker's own
//! inspect templates run on the decoded JSON, so field paths are the API's names as-is.
//! Values print the way Go's `%v` prints decoded JSON (`map[k:v]`, `[a b]`, `<no value>`).

use anyhow::{bail, Result};
use serde_json::Value;

use crate::format::table;

/// Docker's escapes in a format string: a literal `\t` and `\n` become a tab and a newline.
pub fn unescape(tpl: &str) -> String {
    tpl.replace("\\t", "\t").replace("\\n", "\n")
}

/// Renders `tpl` against `v`.
pub fn render(tpl: &str, v: &Value) -> Result<String> {
    let tpl = unescape(tpl);
    let mut out = String::new();
    let mut rest = tpl.as_str();
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            bail!("template: unclosed action in {tpl:?}");
        };
        let inner = rest[start + 2..start + end].trim_matches('-').trim();
        out.push_str(&eval(inner, v)?);
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Splits an action into words, keeping `"quoted strings"` whole.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The value of one argument: `.A.B`, `.`, or a `"string"`. `None` for a missing field.
fn arg(w: &str, v: &Value) -> Result<Option<Value>> {
    if let Some(s) = w.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return Ok(Some(Value::String(s.to_string())));
    }
    if w == "." {
        return Ok(Some(v.clone()));
    }
    let Some(path) = w.strip_prefix('.') else {
        if let Ok(n) = w.parse::<i64>() {
            return Ok(Some(Value::from(n)));
        }
        bail!("template: unsupported argument {w:?}");
    };
    let mut cur = v;
    for part in path.split('.') {
        match cur.get(part) {
            Some(n) => cur = n,
            None => return Ok(None),
        }
    }
    Ok(Some(cur.clone()))
}

fn eval(inner: &str, v: &Value) -> Result<String> {
    // `{{.X | json}}` is `{{json .X}}`.
    let inner = match inner.split_once('|') {
        Some((a, f)) => format!("{} {}", f.trim(), a.trim()),
        None => inner.to_string(),
    };
    let w = words(&inner);
    let Some(first) = w.first() else {
        return Ok(String::new());
    };
    let one = |i: usize| -> Result<Option<Value>> {
        match w.get(i) {
            Some(a) => arg(a, v),
            None => bail!("template: {first} needs an argument"),
        }
    };
    Ok(match first.as_str() {
        "json" => serde_json::to_string(&one(1)?.unwrap_or(Value::Null))?,
        "upper" => show(one(1)?.as_ref()).to_uppercase(),
        "len" => match one(1)? {
            Some(Value::Array(a)) => a.len().to_string(),
            Some(Value::Object(m)) => m.len().to_string(),
            Some(Value::String(s)) => s.len().to_string(),
            Some(Value::Null) | None => "0".to_string(),
            Some(other) => bail!("template: len of {other}: not an array, map or string"),
        },
        "lower" => show(one(1)?.as_ref()).to_lowercase(),
        "join" => {
            let sep = w
                .get(2)
                .map(|s| s.trim_matches('"').to_string())
                .unwrap_or_default();
            match one(1)? {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|x| show(Some(x)))
                    .collect::<Vec<_>>()
                    .join(&sep),
                other => show(other.as_ref()),
            }
        }
        "index" => {
            let mut cur = one(1)?;
            for k in &w[2..] {
                let key = arg(k, v)?;
                cur = match (cur, key) {
                    (Some(Value::Object(m)), Some(Value::String(k))) => m.get(&k).cloned(),
                    (Some(Value::Array(a)), Some(Value::Number(n))) => {
                        n.as_u64().and_then(|i| a.get(i as usize).cloned())
                    }
                    _ => None,
                };
            }
            show(cur.as_ref())
        }
        w0 if w0.starts_with('.') || w0.starts_with('"') => show(arg(w0, v)?.as_ref()),
        other => bail!("template: function {other:?} not defined"),
    })
}

/// Go's `%v` of a decoded JSON value.
pub fn show(v: Option<&Value>) -> String {
    match v {
        None => "<no value>".into(),
        Some(Value::Null) => "<nil>".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(a)) => {
            let items: Vec<String> = a.iter().map(|x| show(Some(x))).collect();
            format!("[{}]", items.join(" "))
        }
        Some(Value::Object(m)) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, x)| format!("{k}:{}", show(Some(x))))
                .collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

/// Renders rows for a list verb: with a `table` prefix, a header row (each `.Field` replaced
/// by `header(Field)`) and columns aligned like Docker's tabwriter; otherwise one rendered
/// line per row.
pub fn render_list(tpl: &str, rows: &[Value], header: &dyn Fn(&str) -> String) -> Result<String> {
    let Some(body) = tpl.strip_prefix("table") else {
        let mut out = String::new();
        for r in rows {
            out.push_str(&render(tpl, r)?);
            out.push('\n');
        }
        return Ok(out);
    };
    let body = body.trim_start();
    let mut lines: Vec<Vec<String>> = Vec::new();
    let head = header_line(body, header);
    lines.push(unescape(&head).split('\t').map(str::to_string).collect());
    for r in rows {
        lines.push(render(body, r)?.split('\t').map(str::to_string).collect());
    }
    Ok(table(&lines))
}

fn header_line(tpl: &str, header: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = tpl;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 2..start + end].trim();
        let field = words(inner)
            .into_iter()
            .find(|w| w.starts_with('.'))
            .unwrap_or_default();
        out.push_str(&header(field.trim_start_matches('.')));
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn docker_template_subset() {
        let v = json!({"Id":"abc","State":{"Status":"running","ExitCode":3},
            "Config":{"Env":["A=1"],"Labels":{"k":"v"}}});
        assert_eq!(render("{{.State.Status}}", &v).unwrap(), "running");
        assert_eq!(
            render("{{ .Id }}/{{.State.ExitCode}}", &v).unwrap(),
            "abc/3"
        );
        assert_eq!(render("{{json .Config.Env}}", &v).unwrap(), r#"["A=1"]"#);
        assert_eq!(
            render("{{len .Config.Labels}} {{len .Config.Env}}", &v).unwrap(),
            "1 1"
        );
        assert_eq!(render("{{index .Config.Labels \"k\"}}", &v).unwrap(), "v");
        assert_eq!(render("{{.Config.Labels}}", &v).unwrap(), "map[k:v]");
        assert_eq!(render("{{.Nope}}", &v).unwrap(), "<no value>");
        assert_eq!(render("{{.Config.Env | json}}", &v).unwrap(), r#"["A=1"]"#);
        assert!(render("{{bogus .Id}}", &v).is_err());
        let rows = [
            json!({"Names":"a","Status":"Up"}),
            json!({"Names":"bbbbbbbbbbbb","Status":"Exited"}),
        ];
        let t = render_list("table {{.Names}}\\t{{.Status}}", &rows, &|f| {
            f.to_uppercase()
        })
        .unwrap();
        assert_eq!(
            t,
            "NAMES          STATUS\na              Up\nbbbbbbbbbbbb   Exited\n"
        );
    }
}
