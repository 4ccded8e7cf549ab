//! `.dockerignore` with Docker's pattern semantics.

use berth_build::ignore::clean;
use berth_build::DockerIgnore;

fn di(text: &str) -> DockerIgnore {
    DockerIgnore::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// (patterns, path, excluded?)
const CASES: &[(&str, &str, bool)] = &[
    ("*.md", "README.md", true),
    ("*.md", "docs/README.md", false),
    ("*/*.md", "docs/README.md", true),
    ("**/*.md", "README.md", true),
    ("**/*.md", "a/b/c/README.md", true),
    ("**/*.md", "a/b/c/README.txt", false),
    ("a/**/b", "a/b", true),
    ("a/**/b", "a/x/y/b", true),
    ("a/**/b", "a/x/y/c", false),
    ("a/**", "a/x/y", true),
    ("a/**", "a", false),
    ("**", "anything/at/all", true),
    ("node_modules", "node_modules", true),
    ("node_modules", "node_modules/x/index.js", true),
    ("node_modules", "src/node_modules", false),
    ("**/node_modules", "src/node_modules/x", true),
    ("/build", "build/out.o", true),
    ("build/", "build/out.o", true),
    ("./tmp/../cache", "cache/x", true),
    ("./tmp/../cache", "tmp/cache", false),
    ("a//b/./c", "a/b/c", true),
    ("file?.txt", "file1.txt", true),
    ("file?.txt", "file/.txt", false),
    ("[a-c]*.log", "b1.log", true),
    ("[^a-c]*.log", "b1.log", false),
    ("[!a-c]*.log", "d1.log", true),
    ("\\*.txt", "*.txt", true),
    ("\\*.txt", "a.txt", false),
    ("*\n!keep.md", "keep.md", false),
    ("*\n!keep.md", "other.md", true),
    ("*.md\n!README.md", "README.md", false),
    ("*.md\n!README.md\nREADME.md", "README.md", true),
    ("!README.md\n*.md", "README.md", true),
    ("docs\n!docs/keep", "docs/keep", false),
    ("docs\n!docs/keep", "docs/keep/sub/file", false),
    ("docs\n!docs/keep", "docs/other", true),
    ("# comment\n*.md", "# comment", false),
    ("  # not a comment", "# not a comment", true),
    ("\n\n   \n*.o\n", "x.o", true),
    ("  *.o  ", "x.o", true),
    ("*.o", "./x.o", true),
    ("*.o", "/x.o", true),
    ("*.o", "sub/../x.o", true),
    ("Dockerfile\n.dockerignore", "Dockerfile", true),
];

#[test]
fn pattern_table() {
    for (patterns, path, want) in CASES {
        assert_eq!(
            di(patterns).is_excluded(path),
            *want,
            "patterns {patterns:?}, path {path:?}"
        );
    }
}

#[test]
fn patterns_are_cleaned() {
    let d = di("# c\n./a/../b\n/abs/x\n! ./keep/\nc//d/.\n../up\n");
    assert_eq!(d.patterns(), ["b", "abs/x", "!keep", "c/d", "../up"]);
}

#[test]
fn clean_matches_go() {
    let table = [
        ("", "."),
        (".", "."),
        ("a/./b", "a/b"),
        ("a/../..", ".."),
        ("../a", "../a"),
        ("/../a", "/a"),
        ("a//b/", "a/b"),
        ("/", "/"),
    ];
    for (input, want) in table {
        assert_eq!(clean(input), want, "{input:?}");
    }
}

#[test]
fn directory_skipping() {
    let d = di("vendor\nnode_modules\n!node_modules/keep\n");
    assert!(d.can_skip_dir("vendor"));
    assert!(
        !d.can_skip_dir("node_modules"),
        "an exception re-includes something below"
    );
    assert!(d.can_skip_dir("node_modules/other"));
    assert!(!d.can_skip_dir("src"), "not excluded at all");
    let d = di("vendor\nlogs/**\n!**/important.log\n");
    assert!(
        !d.can_skip_dir("logs/2024"),
        "**/important.log could be anywhere below"
    );
    assert!(!d.can_skip_dir("vendor"), "... including below vendor");
    let d = di("*\n!src/*.rs\n");
    assert!(d.can_skip_dir("target"));
    assert!(!d.can_skip_dir("src"));
    let d = di("a\n!a*/keep\n");
    assert!(
        !d.can_skip_dir("a"),
        "a wildcard exception may match below a"
    );
}

#[test]
fn bad_patterns_are_errors() {
    let err = DockerIgnore::parse("ok\n!\n").unwrap_err();
    assert_eq!(err.position(), Some((2, 1)));
    assert!(
        err.to_string()
            .starts_with(".dockerignore:2:1: illegal exclusion pattern"),
        "{err}"
    );
    let err = DockerIgnore::from_patterns(&["[abc"]).unwrap_err();
    assert!(err.message().contains("unclosed '['"), "{err}");
}

#[test]
fn empty_ignores_nothing() {
    let d = DockerIgnore::default();
    assert!(!d.is_excluded("a"));
    assert!(!d.can_skip_dir("a"));
}
