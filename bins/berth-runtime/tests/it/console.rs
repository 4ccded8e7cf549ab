//! The terminal: runc's --console-socket protocol (the pty master arrives by SCM_RIGHTS), and a
//! process that really has a controlling terminal.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

use berth_testutil::require_root;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

use crate::harness::{sh, Rt};

fn recv_fd(sock: &std::os::unix::net::UnixStream) -> OwnedFd {
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        std::os::fd::AsRawFd::as_raw_fd(sock),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .unwrap();
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the kernel gave us this fd.
            return unsafe { OwnedFd::from_raw_fd(fds[0]) };
        }
    }
    panic!("no fd received on the console socket");
}

#[test]
fn console_socket_receives_a_working_pty() {
    require_root!();
    let mut b = sh("tty; [ -t 0 ] && echo stdin-is-tty; stty size");
    b.edit(|c| {
        c["process"]["terminal"] = true.into();
        c["process"]["consoleSize"] = serde_json::json!({"height": 33, "width": 111});
    });
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("console.sock");
    let listener = UnixListener::bind(&sock_path).unwrap();
    let rt = Rt::berth();
    let guard = rt.guard("tty");
    let id = guard.id.clone();
    rt.ok(&[
        "create",
        "--bundle",
        b.path().to_str().unwrap(),
        "--console-socket",
        sock_path.to_str().unwrap(),
        &id,
    ]);
    let (conn, _) = listener.accept().unwrap();
    let master = recv_fd(&conn);
    rt.ok(&["start", &id]);
    let mut f = std::fs::File::from(master);
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    // Reading the master ends with EIO once the last slave fd closes.
    while let Ok(n) = f.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("/dev/pts/0"),
        "the process's tty is the container's pts: {text}"
    );
    assert!(text.contains("stdin-is-tty"), "{text}");
    assert!(text.contains("33 111"), "console size applied: {text}");
    rt.ok(&["delete", "--force", &id]);
}

#[test]
fn foreground_run_with_a_terminal_proxies_the_pty() {
    require_root!();
    // No --console-socket: berth-runtime keeps the pty master itself and copies it to stdout.
    let mut b = sh("tty; echo via-pty");
    b.edit(|c| c["process"]["terminal"] = true.into());
    let rt = Rt::berth();
    let guard = rt.guard("fgtty");
    let out = rt.run(&b, &guard.id);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("/dev/pts/0") && text.contains("via-pty"),
        "{text}"
    );
}
