//! The split lifecycle as containerd's shim drives a runtime binary: `create`, `start`, wait for
//! the container's init to exit, `delete`. Like the shim, this process is a child subreaper, so
//! it reaps the init itself (this VM's pid 1 reaps orphans late, which would skew a poll).
//! Prints one line per run (milliseconds, or `FAIL <why>` when the runtime failed that run; the
//! container is then force-deleted and the run not timed) for bench/runtime.sh.
//!
//! Usage: split_bench <runtime-binary> <bundle> <runs>

use std::process::Command;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: split_bench <runtime-binary> <bundle> <runs>");
        std::process::exit(2);
    }
    let (bin, bundle) = (&args[1], &args[2]);
    let runs: usize = args[3].parse().expect("runs is a number");
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let root = std::env::temp_dir().join(format!("berth-split-{}", std::process::id()));
    let pid_file = root.with_extension("pid");
    let rt = |a: &[&str]| -> bool {
        Command::new(bin)
            .arg("--root")
            .arg(&root)
            .args(a)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    for i in 0..runs {
        let id = format!("split-{i}");
        let t = Instant::now();
        if !rt(&[
            "create",
            "--bundle",
            bundle,
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
        ]) {
            println!("FAIL create");
            rt(&["delete", "--force", &id]);
            continue;
        }
        let t_create = t.elapsed();
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        if !rt(&["start", &id]) {
            println!("FAIL start");
            rt(&["delete", "--force", &id]);
            continue;
        }
        loop {
            let mut status = 0;
            // SAFETY: waitpid on any child; status is a valid out-pointer.
            let r = unsafe { libc::waitpid(-1, &mut status, 0) };
            if r == pid || r < 0 {
                break;
            }
        }
        let t_exited = t.elapsed();
        if !rt(&["delete", &id]) {
            println!("FAIL delete");
            continue;
        }
        if std::env::var_os("BENCH_STEPS").is_some() {
            let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
            eprintln!(
                "create {:.2} start+exit {:.2} delete {:.2}",
                ms(t_create),
                ms(t_exited - t_create),
                ms(t.elapsed() - t_exited)
            );
        }
        println!("{:.3}", t.elapsed().as_secs_f64() * 1000.0);
    }
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_file(&pid_file);
}
