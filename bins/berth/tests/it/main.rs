//! End-to-end tests of the `berth` binary's image verbs: each test runs the real binary as root
//! against its own temporary `--data-root`, and checks Docker's output formats.

mod build_client;
mod build_manifest;
mod compose;
mod compose_files;
mod compose_more;
mod compose_rolling;
mod compose_ttl;
mod daemon_client;
mod docker;
mod filters;
mod gc;
mod images;
mod import;
mod network_client;
mod pid_ipc;
mod prune_df;
mod registry;
mod save;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use berth_testutil::tempfile::TempDir;

/// The repository root (bench/ lives there).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What a berth invocation did.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            ok: o.status.success(),
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A private data root in a temp directory (`dir/root`), with room beside it for fixtures.
#[derive(Debug)]
pub struct Store {
    dir: TempDir,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Self {
        let dir = berth_testutil::tempfile::Builder::new()
            .prefix("berth-cli-it-")
            .tempdir()
            .expect("temp dir");
        berth_testutil::pin_gc_policy(&dir.path().join("root"));
        Store { dir }
    }

    /// The temp directory (fixtures go here, beside the data root).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `--data-root`.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// `berth --data-root ROOT ARGS…` with stdin from /dev/null.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
        c.arg("--data-root").arg(self.root()).args(args);
        c.stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.cmd(args).output().expect("spawn berth").into()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert!(r.ok, "berth {args:?} failed: {r:?}");
        r.stdout
    }

    /// Runs and asserts failure (exit 1).
    pub fn fail(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, Some(1), "berth {args:?} should exit 1: {r:?}");
        r
    }

    /// A 4 MB, 1-layer docker-archive of bench/load:latest at `dir/NAME`.
    pub fn archive(&self, name: &str) -> PathBuf {
        make_archive(&self.dir().join(name))
    }

    /// Loads a fresh bench/load:latest archive; returns the image's full id.
    pub fn load_bench(&self) -> String {
        let a = self.archive("bench.tar");
        let out = self.ok(&["load", "-i", a.to_str().expect("utf-8 path")]);
        assert_eq!(out, "Loaded image: bench/load:latest\n");
        self.id("bench/load")
    }

    /// `inspect -f '{{.Id}}' NAME`.
    pub fn id(&self, name: &str) -> String {
        let out = self.ok(&["inspect", "-f", "{{.Id}}", name]);
        let id = out.trim_end().to_string();
        assert_full_id(&id);
        id
    }

    /// A busybox rootfs tar for `import`, at `dir/bb/rootfs.tar`.
    pub fn busybox_tar(&self) -> PathBuf {
        let d = self.dir().join("bb");
        std::fs::create_dir_all(&d).expect("mkdir bb");
        berth_testutil::peers::busybox_tar(&d)
    }

    /// `import TAR [REF] ARGS…`; returns the printed id.
    pub fn import(&self, tar: &Path, args: &[&str]) -> String {
        let mut all = vec!["import", tar.to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        let id = out.trim_end().to_string();
        assert_full_id(&id);
        assert_eq!(out, format!("{id}\n"), "import prints only the id");
        id
    }

    /// Bytes under the data root, as `du -sB1` counts them.
    pub fn du(&self) -> u64 {
        let out = Command::new("du")
            .arg("-sB1")
            .arg(self.root())
            .output()
            .expect("spawn du");
        assert!(out.status.success(), "du: {out:?}");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .expect("du output")
    }
}

/// Runs bench/make-archive.sh OUT 4 1.
pub fn make_archive(out: &Path) -> PathBuf {
    let st = Command::new(repo_root().join("bench/make-archive.sh"))
        .arg(out)
        .args(["4", "1"])
        .stdout(Stdio::null())
        .status()
        .expect("spawn bench/make-archive.sh");
    assert!(st.success(), "bench/make-archive.sh failed");
    out.to_path_buf()
}

/// `sha256:` and 64 lowercase hex digits.
pub fn assert_full_id(id: &str) {
    let hex = id
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("{id:?} is not sha256:…"));
    assert!(
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{id:?} is not a full sha256 id"
    );
}

/// Docker's 12-digit short id of a full id.
pub fn short(id: &str) -> String {
    id.trim_start_matches("sha256:")[..12].to_string()
}

/// Collapses runs of spaces to one (comparing tables modulo column widths).
pub fn collapse(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Splits a table line into cells at runs of two or more spaces.
pub fn cells(line: &str) -> Vec<String> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// Asserts `table` starts with a header of exactly `words` (modulo widths), and that every cell
/// of every following line starts in its header word's column, as Docker's tabwriter aligns
/// them. Returns the rows as cells.
pub fn check_table(table: &str, words: &[&str]) -> Vec<Vec<String>> {
    let mut lines = table.lines();
    let header = lines.next().expect("a header line");
    assert_eq!(cells(header), words, "header of:\n{table}");
    let starts: Vec<usize> = words
        .iter()
        .scan(0, |from, w| {
            let at = *from + header[*from..].find(w).expect("header word");
            *from = at + w.len();
            Some(at)
        })
        .collect();
    let mut rows = Vec::new();
    for line in lines {
        let chars: Vec<char> = line.chars().collect();
        for &s in &starts[1..] {
            if s < chars.len() {
                assert!(
                    chars[s - 1] == ' ' && chars[s] != ' ',
                    "cell not aligned at column {s} in {line:?} under {header:?}"
                );
            }
        }
        rows.push(cells(line));
    }
    rows
}

/// The header line Docker's tabwriter (minwidth 10, padding 3) prints for these words above
/// these rows: every column but the last is max(widest cell + 3, 10) wide.
pub fn docker_header(words: &[&str], rows: &[Vec<String>]) -> String {
    let mut line = String::new();
    for (c, w) in words.iter().enumerate() {
        line.push_str(w);
        if c + 1 < words.len() {
            let widest = rows
                .iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .chain([w.len()])
                .max()
                .unwrap_or(0);
            line.push_str(&" ".repeat((widest + 3).max(10) - w.len()));
        }
    }
    line
}

pub const IMAGES_HEADER: [&str; 5] = ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"];
