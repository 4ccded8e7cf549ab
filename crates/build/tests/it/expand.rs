//! Variable substitution: Docker's operators, quoting and escaping, word splitting, and which
//! instructions expand.

use std::collections::BTreeMap;

use berth_build::expand::{expand_heredoc, expand_instruction, expand_word, expand_words};
use berth_build::{parse, Command, CommandLine, CopySource, KeyValue};

const VARS: &[(&str, &str)] = &[
    ("a", "A"),
    ("empty", ""),
    ("sp", "x  y"),
    ("path", "/usr/bin"),
];

#[test]
fn operator_table() {
    let table: &[(&str, &str)] = &[
        ("$a", "A"),
        ("${a}", "A"),
        ("pre${a}post", "preApost"),
        ("$a$a", "AA"),
        ("$undefined", ""),
        ("${undefined}", ""),
        ("x$undefined/y", "x/y"),
        ("${a:-word}", "A"),
        ("${empty:-word}", "word"),
        ("${undefined:-word}", "word"),
        ("${a-word}", "A"),
        ("${empty-word}", ""),
        ("${undefined-word}", "word"),
        ("${a:+word}", "word"),
        ("${empty:+word}", ""),
        ("${undefined:+word}", ""),
        ("${a+word}", "word"),
        ("${empty+word}", "word"),
        ("${undefined+word}", ""),
        ("${a:?msg}", "A"),
        ("${empty?msg}", ""),
        ("${undefined:-$a}", "A"),
        ("${undefined:-${path}/x}", "/usr/bin/x"),
        ("${undefined:-a b}", "a b"),
        ("${undefined:-'}'}", "}"),
        ("$", "$"),
        ("a$", "a$"),
        ("$1", ""),
        ("$@", ""),
        ("$.x", "$.x"),
        ("$a_b", ""),
        ("${a}_b", "A_b"),
    ];
    for (word, want) in table {
        assert_eq!(expand_word(word, VARS, '\\').unwrap(), *want, "{word}");
    }
}

#[test]
fn quotes_and_escapes_table() {
    let table: &[(&str, &str)] = &[
        (r"\$a", "$a"),
        (r"\${a}", "${a}"),
        (r"\\$a", r"\A"),
        ("'$a'", "$a"),
        ("\"$a\"", "A"),
        ("\"'$a'\"", "'A'"),
        ("'\"$a\"'", "\"$a\""),
        (r#""a\"b""#, "a\"b"),
        (r#""\$a""#, "$a"),
        (r#""\n""#, r"\n"),
        (r#""\\""#, r"\"),
        (r"a\ b", "a b"),
        (r"\n", "n"),
        ("'a b'c", "a bc"),
        ("\"\"", ""),
        ("\"it's\"", "it's"),
    ];
    for (word, want) in table {
        assert_eq!(expand_word(word, VARS, '\\').unwrap(), *want, "{word}");
    }
}

#[test]
fn unterminated_quotes_fail() {
    // "it's" opens a single quote that never closes.
    let err = expand_word("it's", VARS, '\\').unwrap_err();
    assert!(err.to_string().contains("matching single-quote"), "{err}");
    let err = expand_word("\"abc", VARS, '\\').unwrap_err();
    assert!(err.to_string().contains("matching double-quote"), "{err}");
}

#[test]
fn backtick_escape() {
    assert_eq!(expand_word(r"C:\dir\`$a", VARS, '`').unwrap(), r"C:\dir\$a");
    assert_eq!(expand_word(r"C:\dir\$a", VARS, '`').unwrap(), r"C:\dir\A");
    assert_eq!(expand_word("\"`\"\"", VARS, '`').unwrap(), "\"");
}

#[test]
fn errors_table() {
    let table: &[(&str, &str)] = &[
        ("${undefined:?is required}", "undefined: is required"),
        ("${empty:?}", "empty: is not allowed to be unset or empty"),
        ("${undefined?}", "undefined: is not allowed to be unset"),
        ("${a", "missing '}'"),
        ("${a:-x", "missing '}'"),
        ("${a:x}", "unsupported modifier (:x)"),
        ("${a%x}", "unsupported modifier (%)"),
        ("${}", "bad substitution"),
    ];
    for (word, want) in table {
        let err = expand_word(word, VARS, '\\').unwrap_err();
        assert!(err.to_string().contains(want), "{word}: {err}");
        assert_eq!(err.position(), None);
    }
}

#[test]
fn word_splitting() {
    let table: &[(&str, &[&str])] = &[
        ("80 443", &["80", "443"]),
        ("$sp", &["x", "y"]),
        ("\"$sp\"", &["x  y"]),
        ("'a b' c", &["a b", "c"]),
        (r"a\ b c", &["a b", "c"]),
        ("  lead  trail  ", &["lead", "trail"]),
        ("$undefined", &[]),
        ("\"\"", &[""]),
    ];
    for (word, want) in table {
        assert_eq!(expand_words(word, VARS, '\\').unwrap(), *want, "{word}");
    }
}

#[test]
fn heredoc_content_keeps_quotes() {
    let got = expand_heredoc("a='$a' \"$a\" \\$a\n", VARS, '\\').unwrap();
    assert_eq!(got, "a='A' \"A\" $a\n");
}

fn vars() -> BTreeMap<String, String> {
    [
        ("V", "1.2"),
        ("PORTS", "80 443"),
        ("D", "/srv"),
        ("U", "app"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn expanded(line: &str) -> Command {
    let df = parse(&format!("FROM a\n{line}\n")).unwrap();
    expand_instruction(&df.stages[0].instructions[0], &vars(), '\\')
        .unwrap()
        .command
}

#[test]
fn which_instructions_expand() {
    let kv = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: v.into(),
    };
    assert_eq!(
        expanded("ENV a=$V b=\"x y\" c='$V'"),
        Command::Env(vec![kv("a", "1.2"), kv("b", "x y"), kv("c", "$V")])
    );
    assert_eq!(
        expanded("ENV a $V and more"),
        Command::Env(vec![kv("a", "1.2 and more")])
    );
    assert_eq!(expanded("LABEL v=$V"), Command::Label(vec![kv("v", "1.2")]));
    assert_eq!(
        expanded("EXPOSE $PORTS 8080"),
        Command::Expose(vec!["80".into(), "443".into(), "8080".into()])
    );
    assert_eq!(
        expanded("WORKDIR $D/app"),
        Command::Workdir("/srv/app".into())
    );
    assert_eq!(
        expanded("USER ${U}:${G:-staff}"),
        Command::User("app:staff".into())
    );
    assert_eq!(
        expanded("STOPSIGNAL ${SIG:-SIGQUIT}"),
        Command::Stopsignal("SIGQUIT".into())
    );
    assert_eq!(
        expanded("VOLUME $D/data"),
        Command::Volume(vec!["/srv/data".into()])
    );
    let Command::Arg(defs) = expanded("ARG X=$V") else {
        panic!()
    };
    assert_eq!(defs[0].default.as_deref(), Some("1.2"));
    let Command::Copy(c) = expanded("COPY --chown=$U --from=${STAGE:-build} $D/a /dst/$V") else {
        panic!()
    };
    assert_eq!(
        (c.chown.as_deref(), c.from.as_deref()),
        (Some("app"), Some("build"))
    );
    assert_eq!(
        (c.sources, c.dest),
        (
            vec![CopySource::Path("/srv/a".into())],
            "/dst/1.2".to_string()
        )
    );
    let Command::Run(r) = expanded("RUN --mount=target=$D echo $V") else {
        panic!()
    };
    assert_eq!(r.mounts, ["target=/srv"]);
    assert_eq!(r.command, CommandLine::Shell("echo $V".into()));
    // Left to the shell or to the child build.
    for line in [
        "CMD echo $V",
        "ENTRYPOINT [\"$V\"]",
        "ONBUILD ENV a=$V",
        "MAINTAINER $U",
        "HEALTHCHECK CMD $V",
    ] {
        let df = parse(&format!("FROM a\n{line}\n")).unwrap();
        assert_eq!(
            expanded(line),
            df.stages[0].instructions[0].command,
            "{line}"
        );
    }
}

#[test]
fn copy_heredoc_expands_unless_quoted() {
    let df = parse("FROM a\nCOPY <<X <<'Y' /d/\nv=$V\nX\nv=$V\nY\n").unwrap();
    let Command::Copy(c) = expand_instruction(&df.stages[0].instructions[0], &vars(), '\\')
        .unwrap()
        .command
    else {
        panic!()
    };
    let contents: Vec<&str> = c
        .sources
        .iter()
        .map(|s| match s {
            CopySource::Heredoc(h) => h.content.as_str(),
            CopySource::Path(p) => p.as_str(),
        })
        .collect();
    assert_eq!(contents, ["v=1.2\n", "v=$V\n"]);
}
