//! Terminal helpers shared by whoever holds a container's terminal: the runtime's child (the
//! initial size from `process.consoleSize`), the shim (the master, on `resize`) and berthd
//! (an exec's terminal, reopened through `/proc/<pid>/fd/0`).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Sets the window size of the terminal `fd` refers to (`TIOCSWINSZ`; master or slave).
pub fn set_window_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize from the pointer, which outlives the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
