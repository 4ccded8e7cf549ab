//! Cache keys by meaning: equivalent spellings agree, any change in meaning differs.

use berth_build::normalize::{cache_text, digest, digest_text, from_text, squeeze_shell};
use berth_build::{parse, Instruction};

fn only(text: &str) -> Instruction {
    let df = parse(&format!("FROM base\n{text}\n")).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(df.stages[0].instructions.len(), 1, "{text:?}");
    df.stages[0].instructions[0].clone()
}

fn key(text: &str) -> String {
    digest("sha256:parent", &only(text))
}

const SAME: &[(&str, &str)] = &[
    ("RUN echo a b", "run   echo    a\tb   "),
    ("RUN echo a b", "RUN echo a \\\n  b"),
    ("RUN echo a b", "RUN echo a \\\n# comment\n\n    b"),
    ("RUN echo 'a  b'", "RUN    echo   'a  b'"),
    (
        "RUN --mount=type=cache,target=/c --network=none make",
        "Run --network=none   --mount=type=cache,target=/c make",
    ),
    ("CMD [\"a\",\"b\"]", "CMD [ \"a\" , \"b\" ]"),
    ("CMD [\"a\",\"b\"]", "cmd [ \\\n\"a\", \\\n \"b\"]"),
    (
        "ENTRYPOINT [\"/bin/app\"]",
        "entrypoint   [\"/bin/app\"]   ",
    ),
    ("ENV a=b", "ENV a b"),
    ("ENV a=b", "env    a=b"),
    ("ENV a=1 b=2", "ENV a=1 \\\n    b=2"),
    ("LABEL k=v", "LABEL k v"),
    ("EXPOSE 80 443", "expose 80   443"),
    ("VOLUME /a /b", "VOLUME [\"/a\", \"/b\"]"),
    ("COPY a b /d/", "copy   a  b \\\n  /d/"),
    ("COPY [\"a\", \"/d/\"]", "COPY a /d/"),
    (
        "COPY --chown=1:1 --link a /d",
        "COPY --link --chown=1:1 a /d",
    ),
    ("WORKDIR /app", "workdir    /app"),
    (
        "HEALTHCHECK --interval=90s CMD true",
        "HEALTHCHECK --interval=1m30s CMD   true",
    ),
    ("SHELL [\"sh\",\"-c\"]", "SHELL [ \"sh\", \"-c\" ]"),
    ("ONBUILD RUN a  b", "onbuild   run a b"),
    ("ARG A=1 B", "arg A=1    B"),
];

const DIFFERENT: &[(&str, &str)] = &[
    ("RUN echo a b", "RUN echo a c"),
    ("RUN echo 'a b'", "RUN echo 'a  b'"),
    ("RUN echo \"a b\"", "RUN echo \"a  b\""),
    ("RUN echo a\\ b", "RUN echo a\\  b"),
    ("RUN echo a b", "RUN [\"echo\", \"a\", \"b\"]"),
    ("RUN --network=none make", "RUN --network=host make"),
    ("RUN make", "RUN --mount=type=cache,target=/c make"),
    ("CMD [\"a\",\"b\"]", "CMD [\"a\",\"B\"]"),
    ("CMD [\"a b\"]", "CMD [\"a\",\"b\"]"),
    ("CMD a", "ENTRYPOINT a"),
    ("ENV a=b", "ENV a=c"),
    ("ENV a b c", "ENV a b  c"),
    ("ENV a=1 b=2", "ENV b=2 a=1"),
    ("ENV a=b", "LABEL a=b"),
    ("ENV a=b", "ARG a=b"),
    ("ARG A", "ARG A="),
    ("EXPOSE 80", "EXPOSE 81"),
    ("COPY a /d", "COPY a /d/"),
    ("COPY a b /d/", "COPY b a /d/"),
    ("COPY a /d", "COPY --link a /d"),
    ("COPY a /d", "ADD a /d"),
    ("COPY --chmod=755 a /d", "COPY --chmod=754 a /d"),
    ("USER app", "USER App"),
    ("HEALTHCHECK CMD true", "HEALTHCHECK NONE"),
    (
        "HEALTHCHECK --retries=3 CMD true",
        "HEALTHCHECK --retries=4 CMD true",
    ),
    (
        "HEALTHCHECK --interval=1s CMD true",
        "HEALTHCHECK --timeout=1s CMD true",
    ),
    ("ONBUILD RUN a", "RUN a"),
    ("STOPSIGNAL 9", "STOPSIGNAL 8"),
    ("MAINTAINER a", "MAINTAINER b"),
    ("WORKDIR /app", "WORKDIR /App"),
];

#[test]
fn equivalent_spellings_share_a_key() {
    for (a, b) in SAME {
        assert_eq!(cache_text(&only(a)), cache_text(&only(b)), "{a:?} vs {b:?}");
        assert_eq!(key(a), key(b), "{a:?} vs {b:?}");
    }
}

#[test]
fn changes_in_meaning_change_the_key() {
    for (a, b) in DIFFERENT {
        assert_ne!(key(a), key(b), "{a:?} vs {b:?}");
    }
}

#[test]
fn heredoc_spacing_is_content() {
    let a = parse("FROM b\nRUN <<EOF\necho  a\nEOF\n").unwrap();
    let b = parse("FROM b\nRUN <<EOF\necho a\nEOF\n").unwrap();
    let c = parse("FROM b\nRUN   <<EOF\necho  a\nEOF\n").unwrap();
    let k = |df: &berth_build::Dockerfile| digest("p", &df.stages[0].instructions[0]);
    assert_ne!(k(&a), k(&b));
    assert_eq!(k(&a), k(&c));
    let a = parse("FROM b\nCOPY <<A /d/\nx\nA\n").unwrap();
    let b = parse("FROM b\nCOPY <<B /d/\nx\nB\n").unwrap();
    assert_ne!(k(&a), k(&b), "the heredoc name is the file name in /d/");
}

#[test]
fn parent_key_and_digest_shape() {
    let inst = only("RUN true");
    let d = digest("sha256:one", &inst);
    assert_eq!(d.len(), 64);
    assert!(d
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_ne!(d, digest("sha256:two", &inst));
    assert_eq!(d, digest_text("sha256:one", &cache_text(&inst)));
    // Separators in values cannot imitate another instruction.
    assert_ne!(key("ENV a=\"b c=d\""), key("ENV a=b c=d"));
}

#[test]
fn canonical_text_examples() {
    assert_eq!(cache_text(&only("env a b")), r#"ENV "a"="b""#);
    assert_eq!(
        cache_text(&only("cmd [ \"a\" , \"b\" ]")),
        r#"CMD exec=["a","b"]"#
    );
    assert_eq!(
        cache_text(&only("copy --from=x a /d")),
        r#"COPY from="x" src="a" dest="/d""#
    );
    let df = parse("FROM --platform=linux/arm64 alpine AS x\n").unwrap();
    assert_eq!(
        from_text(&df.stages[0].from),
        r#"FROM image="alpine" platform="linux/arm64""#
    );
}

#[test]
fn squeeze_shell_table() {
    let table: &[(&str, &str)] = &[
        ("  a   b  ", "a b"),
        ("a\t\tb", "a b"),
        ("a 'x   y' b", "a 'x   y' b"),
        ("a \"x   y\" b", "a \"x   y\" b"),
        ("a \"x \\\"  y\"  b", "a \"x \\\"  y\" b"),
        ("a 'x\\'   b", "a 'x\\' b"),
        ("a\\   b", "a\\  b"),
    ];
    for (input, want) in table {
        assert_eq!(squeeze_shell(input), *want, "{input:?}");
    }
}
