//! The in-process path berthd's shim will use: `Runtime::run` + wait + delete from the library,
//! with no exec of a runtime binary. Prints one line per run (milliseconds) for bench/runtime.sh.
//!
//! Usage: inproc_bench <bundle> <runs>

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: inproc_bench <bundle> <runs>");
        std::process::exit(2);
    }
    let runs: usize = args[2].parse().expect("runs is a number");
    let root = std::env::temp_dir().join(format!("berth-inproc-{}", std::process::id()));
    let rt = berth_runtime::Runtime::new(&root);
    for i in 0..runs {
        let opts = berth_runtime::CreateOptions {
            id: format!("inproc-{i}"),
            bundle: args[1].clone().into(),
            ..Default::default()
        };
        let t = Instant::now();
        let r = rt.run(&opts).expect("run");
        let code = berth_runtime::wait::wait_forwarding(r.pid, r.pty).expect("wait");
        rt.delete(&opts.id, true).expect("delete");
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(code, 0, "container exited with {code}");
        println!("{ms:.3}");
    }
    let _ = std::fs::remove_dir_all(&root);
}
