//! The corpus of well-formed Dockerfiles: the parsed structure, instruction by instruction.

use std::time::Duration;

use berth_build::*;

use crate::parse_corpus;

fn commands(stage: &Stage) -> Vec<&Command> {
    stage.instructions.iter().map(|i| &i.command).collect()
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: v.into(),
    }
}

fn shell(s: &str) -> CommandLine {
    CommandLine::Shell(s.into())
}

fn exec(v: &[&str]) -> CommandLine {
    CommandLine::Exec(v.iter().map(|s| s.to_string()).collect())
}

#[test]
fn every_instruction() {
    let df = parse_corpus("all_instructions.Dockerfile");
    assert_eq!(df.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(df.directives.escape, '\\');
    assert_eq!(df.stages.len(), 1);
    let stage = &df.stages[0];
    assert_eq!(stage.name.as_deref(), Some("base"));
    assert_eq!(
        stage.from,
        From {
            image: "alpine:3.20".into(),
            platform: Some("linux/amd64".into()),
            alias: Some("base".into())
        }
    );
    assert_eq!(stage.location, Location { line: 2, column: 1 });
    let c = commands(stage);
    assert_eq!(
        c[0],
        &Command::Maintainer("Jane Doe <jane@example.com>".into())
    );
    assert_eq!(
        c[1],
        &Command::Run(Run {
            mounts: vec!["type=cache,target=/var/cache/apk".into()],
            network: Some("none".into()),
            security: None,
            command: shell("apk add curl"),
            heredocs: vec![],
        })
    );
    assert!(
        matches!(c[2], Command::Run(r) if r.command == exec(&["/bin/sh", "-c", "echo exec form"]))
    );
    assert_eq!(c[3], &Command::Cmd(exec(&["nginx", "-g", "daemon off;"])));
    assert_eq!(c[4], &Command::Entrypoint(shell("/docker-entrypoint.sh")));
    assert_eq!(
        c[5],
        &Command::Env(vec![
            kv("PATH", "/opt/bin:$PATH"),
            kv("LANG", "\"C.UTF-8\"")
        ])
    );
    assert_eq!(c[6], &Command::Env(vec![kv("LEGACY", "value with spaces")]));
    assert_eq!(
        c[7],
        &Command::Arg(vec![
            ArgDef {
                name: "VERSION".into(),
                default: Some("1.0".into())
            },
            ArgDef {
                name: "FLAVOR".into(),
                default: None
            },
        ])
    );
    assert_eq!(
        c[8],
        &Command::Label(vec![
            kv("org.opencontainers.image.title", "\"demo app\""),
            kv("version", "$VERSION")
        ])
    );
    assert_eq!(c[9], &Command::Expose(vec!["80/tcp".into(), "443".into()]));
    assert_eq!(
        c[10],
        &Command::Copy(Copy {
            from: Some("builder".into()),
            chown: Some("app:app".into()),
            chmod: Some("0755".into()),
            link: true,
            sources: vec![
                CopySource::Path("a.txt".into()),
                CopySource::Path("b.txt".into())
            ],
            dest: "/dst/".into(),
            ..Copy::default()
        })
    );
    assert_eq!(
        c[11],
        &Command::Add(Copy {
            checksum: Some("sha256:abc".into()),
            keep_git_dir: true,
            sources: vec![CopySource::Path("https://example.com/x.tar.gz".into())],
            dest: "/tmp/".into(),
            ..Copy::default()
        })
    );
    assert_eq!(c[12], &Command::Workdir("/app".into()));
    assert_eq!(c[13], &Command::User("app:app".into()));
    assert_eq!(
        c[14],
        &Command::Volume(vec!["/data".into(), "/logs".into()])
    );
    assert_eq!(
        c[15],
        &Command::Volume(vec!["/cache".into(), "/tmp/x".into()])
    );
    assert_eq!(c[16], &Command::Stopsignal("SIGTERM".into()));
    assert_eq!(
        c[17],
        &Command::Healthcheck(Healthcheck::Check(HealthCheckCmd {
            interval: Some(Duration::from_secs(30)),
            timeout: Some(Duration::from_secs(90)),
            start_period: Some(Duration::from_secs(5)),
            start_interval: Some(Duration::from_millis(500)),
            retries: Some(3),
            command: shell("curl -f http://localhost/ || exit 1"),
        }))
    );
    assert_eq!(
        c[18],
        &Command::Shell(vec![
            "/bin/bash".into(),
            "-o".into(),
            "pipefail".into(),
            "-c".into()
        ])
    );
    let Command::Onbuild(inner) = c[19] else {
        panic!("{:?}", c[19])
    };
    assert!(matches!(&inner.command, Command::Run(r) if r.command == shell("echo triggered")));
    assert_eq!(
        inner.location,
        Location {
            line: 22,
            column: 9
        }
    );
    assert_eq!(c.len(), 20);
    let keywords: Vec<&str> = c.iter().map(|c| c.keyword()).collect();
    assert_eq!(keywords[..3], ["MAINTAINER", "RUN", "RUN"]);
}

#[test]
fn escape_directive_backtick_keeps_windows_paths() {
    let df = parse_corpus("escape_backtick.Dockerfile");
    assert_eq!(df.directives.escape, '`');
    let c = commands(&df.stages[0]);
    assert_eq!(c[0], &Command::Workdir(r"C:\Users\Public".into()));
    let Command::Copy(copy) = c[1] else { panic!() };
    assert_eq!(copy.sources, vec![CopySource::Path(r"app\bin".into())]);
    assert_eq!(copy.dest, r"C:\app\bin");
    // The backtick continues the line; the backslash before it is part of the path.
    assert_eq!(
        c[2],
        &Command::Run(Run {
            mounts: vec![],
            network: None,
            security: None,
            command: shell(r"dir c:\     && echo done"),
            heredocs: vec![],
        })
    );
    assert_eq!(
        c[3],
        &Command::Env(vec![kv("TARGET", r"C:\tools\`$NOT_A_VAR")])
    );
}

#[test]
fn continuations_drop_comments_and_empty_lines() {
    let df = parse_corpus("continuations.Dockerfile");
    let stage = &df.stages[0];
    let c = commands(stage);
    assert_eq!(
        c[0],
        &Command::Run(Run {
            mounts: vec![],
            network: None,
            security: None,
            command: shell("echo one     two     three"),
            heredocs: vec![],
        })
    );
    assert!(
        matches!(c[1], Command::Run(r) if r.command == shell("echo   lower-case keyword   four"))
    );
    assert_eq!(
        stage.instructions[1].location,
        Location { line: 7, column: 4 }
    );
    assert_eq!(c[2], &Command::Env(vec![kv("A", "1"), kv("B", "2")]));
    assert!(matches!(c[3], Command::Run(r) if r.command == shell("echo a # not a comment")));
    assert_eq!(c.len(), 4);
}

fn heredoc(name: &str, content: &str, chomp: bool, quoted: bool, fd: Option<u32>) -> Heredoc {
    Heredoc {
        name: name.into(),
        content: content.into(),
        chomp,
        quoted,
        fd,
    }
}

#[test]
fn heredocs_for_run_and_copy() {
    let df = parse_corpus("heredocs.Dockerfile");
    let stage = &df.stages[0];
    let c = commands(stage);
    let Command::Run(r) = c[0] else { panic!() };
    assert_eq!(r.command, shell("<<EOF"));
    assert_eq!(
        r.heredocs,
        vec![heredoc(
            "EOF",
            "echo hello\necho $HOME\n",
            false,
            false,
            None
        )]
    );
    let Command::Run(r) = c[1] else { panic!() };
    assert_eq!(r.command, shell("<<-\"SCRIPT\" bash"));
    assert_eq!(
        r.heredocs,
        vec![heredoc(
            "SCRIPT",
            "echo tabs stripped\necho $NOT_EXPANDED\n",
            true,
            true,
            None
        )]
    );
    let Command::Copy(copy) = c[2] else { panic!() };
    assert_eq!(
        copy.sources,
        vec![
            CopySource::Heredoc(heredoc("A", "a content\n", false, false, None)),
            CopySource::Heredoc(heredoc("B", "b content\n", false, false, None)),
        ]
    );
    assert_eq!(copy.dest, "/etc/");
    let Command::Run(r) = c[3] else { panic!() };
    assert_eq!(
        r.heredocs,
        vec![
            heredoc("one", "first\n", false, false, None),
            heredoc("two", "second\n", false, true, Some(3))
        ]
    );
    let Command::Copy(copy) = c[4] else { panic!() };
    assert_eq!(copy.chmod.as_deref(), Some("0644"));
    assert_eq!(
        copy.sources,
        vec![CopySource::Heredoc(heredoc(
            "conf.txt",
            "key=$VALUE\n",
            false,
            false,
            None
        ))]
    );
    assert_eq!(c.len(), 5);
    assert_eq!(stage.instructions[4].location.line, 20);
}

#[test]
fn arg_before_from_is_global_and_usable_in_from() {
    let df = parse_corpus("arg_before_from.Dockerfile");
    let names: Vec<&str> = df.global_args.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["REGISTRY", "TAG", "BASE"]);
    assert_eq!(df.stages[0].from.image, "${BASE}");
    let none = Default::default();
    let values = expand::global_arg_values(&df, &none).unwrap();
    let from = expand::expand_from(&df.stages[0].from, &values, '\\').unwrap();
    assert_eq!(from.image, "docker.io/library/alpine:3.20");
    let from = expand::expand_from(&df.stages[1].from, &values, '\\').unwrap();
    assert_eq!(from.image, "docker.io/library/busybox:latest");
    // A --build-arg overrides the default, and later defaults see it.
    let args = [("TAG".to_string(), "edge".to_string())]
        .into_iter()
        .collect();
    let values = expand::global_arg_values(&df, &args).unwrap();
    let from = expand::expand_from(&df.stages[0].from, &values, '\\').unwrap();
    assert_eq!(from.image, "docker.io/library/alpine:edge");
    // Inside the stage, ARG TAG redeclares the global one (no default of its own).
    assert_eq!(
        commands(&df.stages[0])[0],
        &Command::Arg(vec![ArgDef {
            name: "TAG".into(),
            default: None
        }])
    );
}

#[test]
fn multistage_names_and_copy_from() {
    let df = parse_corpus("multistage.Dockerfile");
    let names: Vec<Option<&str>> = df.stages.iter().map(|s| s.name.as_deref()).collect();
    assert_eq!(names, [Some("build"), Some("test"), None]);
    assert_eq!(df.stages[0].from.alias.as_deref(), Some("Build"));
    assert_eq!(df.stages[1].from.image, "build");
    assert_eq!(df.stages[2].location, Location { line: 9, column: 1 });
    let froms: Vec<Option<&str>> = df.stages[2]
        .instructions
        .iter()
        .filter_map(|i| match &i.command {
            Command::Copy(c) => Some(c.from.as_deref()),
            _ => None,
        })
        .collect();
    assert_eq!(froms, [Some("build"), Some("0")]);
    assert_eq!(
        df.stages
            .iter()
            .map(|s| s.instructions.len())
            .collect::<Vec<_>>(),
        [3, 1, 3]
    );
}

#[test]
fn onbuild_triggers_are_parsed_instructions() {
    let df = parse_corpus("onbuild.Dockerfile");
    let c = commands(&df.stages[0]);
    let inner: Vec<&Command> = c
        .iter()
        .map(|c| match c {
            Command::Onbuild(i) => &i.command,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(
        matches!(inner[0], Command::Copy(c) if c.chown.as_deref() == Some("node") && c.dest == "/app/")
    );
    assert!(matches!(inner[1], Command::Run(r) if r.network.as_deref() == Some("none")));
    assert_eq!(inner[2], &Command::Env(vec![kv("NODE_ENV", "$NODE_ENV")]));
    assert_eq!(inner[3], &Command::Healthcheck(Healthcheck::None));
}

#[test]
fn crlf_and_bom_are_accepted() {
    let df = parse("\u{feff}FROM alpine\r\nRUN echo a \\\r\n  b\r\n").unwrap();
    assert!(
        matches!(&df.stages[0].instructions[0].command, Command::Run(r) if r.command == shell("echo a   b"))
    );
}

#[test]
fn unknown_directive_ends_directives() {
    let df = parse("# foo=bar\n# escape=`\nFROM a\n").unwrap();
    assert_eq!(df.directives.escape, '\\');
    let df = parse("# Escape = `\n# SYNTAX=x\nFROM a\n").unwrap();
    assert_eq!(
        (df.directives.escape, df.directives.syntax.as_deref()),
        ('`', Some("x"))
    );
}
