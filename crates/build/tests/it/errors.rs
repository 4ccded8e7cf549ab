//! Malformed Dockerfiles: the exact position and the words of each error.

use berth_build::{parse, parse_named, BuildError};

use crate::corpus;

/// (file under corpus/bad, line, column, a fragment of the message)
const BAD: &[(&str, usize, usize, &str)] = &[
    ("unknown_instruction", 3, 1, "unknown instruction: FORM (did you mean FROM?)"),
    ("single_quoted_json", 2, 5, "JSON arrays must use double quotes"),
    ("no_from", 3, 1, "no FROM instruction"),
    ("before_from", 2, 1, "RUN instruction before FROM: a Dockerfile must start with FROM (only ARG may come before it)"),
    ("unterminated_heredoc", 3, 9, "unterminated heredoc: no line `EOF` ends the heredoc"),
    ("copy_unknown_flag", 2, 6, "unknown flag: --form (COPY takes --from, --chown, --chmod, --link)"),
    ("add_from_flag", 2, 5, "unknown flag: --from (ADD takes"),
    ("env_flag", 2, 7, "unknown flag: --x (ENV takes no flags)"),
    ("onbuild_from", 2, 9, "FROM isn't allowed as an ONBUILD trigger"),
    ("onbuild_onbuild", 2, 9, "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("shell_not_json", 2, 7, "SHELL requires the arguments to be in JSON form"),
    ("copy_one_arg", 2, 6, "COPY requires at least two arguments"),
    ("from_two_words", 1, 6, "FROM requires either one or three arguments"),
    ("bad_escape", 1, 1, "invalid escape token 'x'"),
    ("bad_duration", 2, 13, "invalid duration \"soon\" for --interval"),
    ("flag_without_value", 2, 5, "missing a value on flag: --network (write --network=<value>)"),
    ("env_no_value", 4, 5, "ENV A has no value: write ENV A=<value>"),
    ("env_missing_equals", 2, 9, "can't find = in \"B\""),
    ("duplicate_stage", 2, 11, "duplicate stage name \"one\""),
    ("healthcheck_none_flags", 2, 25, "HEALTHCHECK NONE takes no other arguments or flags"),
    ("healthcheck_type", 2, 13, "unknown type \"RUN\" in HEALTHCHECK (try CMD)"),
];

#[test]
fn malformed_corpus_positions_and_messages() {
    for (name, line, column, fragment) in BAD {
        let file = format!("{name}.Dockerfile");
        let err = parse_named(&file, &corpus(&format!("bad/{file}")))
            .expect_err(&format!("{file} should not parse"));
        let text = err.to_string();
        assert_eq!(err.position(), Some((*line, *column)), "{file}: {text}");
        assert!(
            text.starts_with(&format!("{file}:{line}:{column}: ")),
            "{text}"
        );
        assert!(err.message().contains(fragment), "{file}: {text}");
    }
}

#[test]
fn error_display_is_file_line_column_message() {
    let err = parse("FROM alpine\nRUN echo hi\nFORM alpine\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Dockerfile:3:1: unknown instruction: FORM (did you mean FROM?)"
    );
    assert_eq!(err.kind(), berth_types::ErrorKind::InvalidArgument);
    let err = parse("FROM a\nFOOBARBAZ x\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Dockerfile:2:1: unknown instruction: FOOBARBAZ"
    );
}

#[test]
fn positions_inside_continuations_and_indentation() {
    let err = parse("FROM alpine\nRUN \\\n  --mount=a --bogus=1 true\n").unwrap_err();
    assert_eq!(err.position(), Some((3, 13)), "{err}");
    let err = parse("FROM alpine\n\n    \tCPY a b\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Dockerfile:3:6: unknown instruction: CPY (did you mean COPY?)"
    );
}

#[test]
fn empty_and_directive_errors() {
    let err = parse("").unwrap_err();
    assert_eq!(err.position(), Some((1, 1)));
    assert!(err.message().contains("no FROM instruction"), "{err}");
    let err = parse("# comment only\n").unwrap_err();
    assert!(err.message().contains("no FROM"), "{err}");
    let err = parse("# escape=`\n# escape=\\\nFROM a\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Dockerfile:2:1: only one escape parser directive can be used"
    );
}

#[test]
fn other_malformed_lines() {
    let cases: &[(&str, &str)] = &[
        ("FROM a\nRUN\n", "RUN requires at least one argument"),
        (
            "FROM a\nRUN --mount=x\n",
            "RUN requires at least one argument",
        ),
        (
            "FROM a\nCOPY --link=maybe a b\n",
            "expecting boolean value for flag --link",
        ),
        (
            "FROM a\nCOPY --from=a --from=b a b\n",
            "duplicate flag specified: --from",
        ),
        (
            "FROM a\nHEALTHCHECK --retries=-1 CMD true\n",
            "--retries must be a whole number",
        ),
        (
            "FROM a\nHEALTHCHECK CMD\n",
            "HEALTHCHECK CMD requires a command",
        ),
        (
            "FROM a\nONBUILD MAINTAINER me\n",
            "MAINTAINER isn't allowed as an ONBUILD trigger",
        ),
        ("FROM a\nENV =x\n", "ENV names can not be blank"),
        (
            "FROM a\nVOLUME ['/a']\n",
            "JSON arrays must use double quotes",
        ),
        ("FROM a AS 1x\n", "invalid stage name \"1x\""),
        ("FROM a\nRUN cat <<-END\n\tbody\n", "unterminated heredoc"),
        (
            "FROM --plat=x a\n",
            "unknown flag: --plat (FROM takes --platform)",
        ),
    ];
    for (text, fragment) in cases {
        let err: BuildError = parse(text).expect_err(text);
        assert!(err.message().contains(fragment), "{text:?}: {err}");
        assert!(err.position().is_some());
    }
}

#[test]
fn no_panic_on_any_prefix_of_the_corpus() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut texts = Vec::new();
    for sub in [dir.clone(), dir.join("bad")] {
        for entry in std::fs::read_dir(sub).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                texts.push(std::fs::read_to_string(path).unwrap());
            }
        }
    }
    for text in &texts {
        for (i, _) in text.char_indices() {
            let prefix = &text[..i];
            let _ = parse(prefix);
            let _ = parse(&format!("# escape=`\n{prefix}"));
            let _ = berth_build::DockerIgnore::parse(prefix);
            if let Ok(df) = parse(prefix) {
                for inst in df.stages.iter().flat_map(|s| &s.instructions) {
                    let _ = berth_build::normalize::cache_text(inst);
                    let vars: &[(&str, &str)] = &[];
                    let _ = berth_build::expand::expand_instruction(inst, vars, '\\');
                }
            }
        }
    }
}
