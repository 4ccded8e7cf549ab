//! Device rules on cgroup v2: an eBPF program of type `BPF_PROG_TYPE_CGROUP_DEVICE`.
//!
//! Why hand-assembled: v2 has no `devices.allow`; the kernel instead runs a BPF program
//! attached to the cgroup on every device open and `mknod`, and the program returns 1 (allow)
//! or 0 (deny). The program needed is a flat list of comparisons, so it is emitted here as raw
//! instructions and loaded with the `bpf(2)` syscall, without a BPF toolchain or library.
//!
//! Semantics (as runc): the *last* matching rule decides, and a device no rule matches is
//! denied. The rules are emitted last-first, each as "if the device matches, return
//! allow/deny". A rule that matches everything ends the program, since the kernel's verifier
//! rejects unreachable instructions.
//!
//! Attaching uses `BPF_F_ALLOW_MULTI`; a new `apply` attaches its program first and then
//! detaches the ones attached before, so there is no window without a filter.
//!
//! All raw syscalls of this crate are in this file.

use std::fs::File;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;

use crate::devices::{DevType, DeviceRule};
use crate::CgroupError;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

// struct bpf_cgroup_dev_ctx { u32 access_type /* access << 16 | type */; u32 major; u32 minor; }
const DEV_BLOCK: u32 = 1;
const DEV_CHAR: u32 = 2;
const ACC_MKNOD: u32 = 1;
const ACC_READ: u32 = 2;
const ACC_WRITE: u32 = 4;

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    pub code: u8,
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        // The dst/src nibbles follow the byte order of the bitfield.
        #[cfg(target_endian = "little")]
        let regs = (src << 4) | dst;
        #[cfg(target_endian = "big")]
        let regs = (dst << 4) | src;
        Self {
            code,
            regs,
            off,
            imm,
        }
    }
    #[cfg(test)]
    pub(crate) fn dst(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs & 0xf
        } else {
            self.regs >> 4
        }
    }
    #[cfg(test)]
    pub(crate) fn src(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs >> 4
        } else {
            self.regs & 0xf
        }
    }
}

pub(crate) const LDX_W: u8 = 0x61; // dst = *(u32 *)(src + off)
pub(crate) const AND32_K: u8 = 0x54; // (u32) dst &= imm
pub(crate) const RSH32_K: u8 = 0x74; // (u32) dst >>= imm
pub(crate) const MOV64_X: u8 = 0xbf; // dst = src
pub(crate) const MOV64_K: u8 = 0xb7; // dst = imm
pub(crate) const JNE32_K: u8 = 0x56; // if (u32) dst != imm goto +off
pub(crate) const JNE32_X: u8 = 0x5e; // if (u32) dst != (u32) src goto +off
pub(crate) const EXIT: u8 = 0x95;

/// The instructions of a device filter, ready to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceFilterProgram {
    pub(crate) insns: Vec<Insn>,
}

impl DeviceFilterProgram {
    /// Compiles rules (in OCI order) into a filter.
    pub(crate) fn compile(rules: &[DeviceRule]) -> Self {
        // r2 = type, r3 = access, r4 = major, r5 = minor
        let mut p = vec![
            Insn::new(LDX_W, 2, 1, 0, 0),
            Insn::new(AND32_K, 2, 0, 0, 0xffff),
            Insn::new(LDX_W, 3, 1, 0, 0),
            Insn::new(RSH32_K, 3, 0, 0, 16),
            Insn::new(LDX_W, 4, 1, 4, 0),
            Insn::new(LDX_W, 5, 1, 8, 0),
        ];
        for rule in rules.iter().rev() {
            let mut block = Vec::new();
            let mut jumps = Vec::new();
            match rule.typ {
                DevType::All => {}
                DevType::Char | DevType::Block => {
                    let t = if rule.typ == DevType::Char {
                        DEV_CHAR
                    } else {
                        DEV_BLOCK
                    };
                    jumps.push(block.len());
                    block.push(Insn::new(JNE32_K, 2, 0, 0, t as i32));
                }
            }
            if rule.access != "rwm" {
                let mask = rule.access.chars().fold(0, |m, c| {
                    m | match c {
                        'r' => ACC_READ,
                        'w' => ACC_WRITE,
                        _ => ACC_MKNOD,
                    }
                });
                // The requested access must be a subset of the rule's: (access & mask) == access.
                block.push(Insn::new(MOV64_X, 1, 3, 0, 0));
                block.push(Insn::new(AND32_K, 1, 0, 0, mask as i32));
                jumps.push(block.len());
                block.push(Insn::new(JNE32_X, 1, 3, 0, 0));
            }
            for (reg, number) in [(4, rule.major), (5, rule.minor)] {
                if let Some(n) = number {
                    jumps.push(block.len());
                    block.push(Insn::new(JNE32_K, reg, 0, 0, n as i32));
                }
            }
            block.push(Insn::new(MOV64_K, 0, 0, 0, i32::from(rule.allow)));
            block.push(Insn::new(EXIT, 0, 0, 0, 0));
            for &j in &jumps {
                block[j].off = (block.len() - j - 1) as i16;
            }
            p.extend(block);
            if jumps.is_empty() {
                return Self { insns: p };
            }
        }
        p.push(Insn::new(MOV64_K, 0, 0, 0, 0));
        p.push(Insn::new(EXIT, 0, 0, 0, 0));
        Self { insns: p }
    }
}

/// Calls `bpf(cmd, attr, sizeof attr)`.
fn sys_bpf<T>(cmd: libc::c_long, attr: &mut T) -> Result<libc::c_long, Errno> {
    // SAFETY: `attr` is a live, exclusively borrowed `repr(C)` value of the layout the kernel
    // expects for `cmd`, and the size passed is its size; the kernel writes only inside it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            size_of::<T>() as u32,
        )
    };
    if rc < 0 {
        Err(Errno::last())
    } else {
        Ok(rc)
    }
}

fn fd_from(rc: libc::c_long) -> OwnedFd {
    // SAFETY: `rc` is a file descriptor the kernel just returned to us, owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(rc as i32) }
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// Loads the program into the kernel; on refusal, reloads with the verifier log for the error.
pub(crate) fn load(prog: &DeviceFilterProgram, dir: &Path) -> Result<OwnedFd, CgroupError> {
    let license = b"Apache-2.0\0";
    let mut name = [0u8; 16];
    name[..12].copy_from_slice(b"berth_device");
    let attr = |log: &mut Vec<u8>, level: u32| ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.insns.len() as u32,
        insns: prog.insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: level,
        log_size: log.len() as u32,
        log_buf: if log.is_empty() {
            0
        } else {
            log.as_mut_ptr() as u64
        },
        prog_name: name,
        ..Default::default()
    };
    let err = |errno, log: String| CgroupError::Bpf {
        op: "BPF_PROG_LOAD",
        path: dir.to_path_buf(),
        errno,
        log,
    };
    match sys_bpf(BPF_PROG_LOAD, &mut attr(&mut Vec::new(), 0)) {
        Ok(fd) => Ok(fd_from(fd)),
        Err(Errno::EINVAL | Errno::EACCES) => {
            let mut log = vec![0u8; 64 * 1024];
            let errno = match sys_bpf(BPF_PROG_LOAD, &mut attr(&mut log, 1)) {
                Ok(fd) => return Ok(fd_from(fd)),
                Err(e) => e,
            };
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            Err(err(
                errno,
                String::from_utf8_lossy(&log[..end]).into_owned(),
            ))
        }
        Err(Errno::EPERM) => Err(err(
            Errno::EPERM,
            "loading BPF programs needs CAP_BPF/CAP_SYS_ADMIN".into(),
        )),
        Err(errno) => Err(err(errno, String::new())),
    }
}

/// The ids of the device programs attached directly to the cgroup.
fn attached(cgroup: &File, dir: &Path) -> Result<Vec<u32>, CgroupError> {
    let mut ids = vec![0u32; 64];
    let mut attr = QueryAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..Default::default()
    };
    sys_bpf(BPF_PROG_QUERY, &mut attr).map_err(|errno| CgroupError::Bpf {
        op: "BPF_PROG_QUERY",
        path: dir.to_path_buf(),
        errno,
        log: String::new(),
    })?;
    ids.truncate(attr.prog_cnt as usize);
    Ok(ids)
}

/// Compiles `rules`, attaches the program to the cgroup at `dir` and detaches the device
/// programs that were attached to it before.
pub(crate) fn apply_device_rules(dir: &Path, rules: &[DeviceRule]) -> Result<(), CgroupError> {
    let prog = load(&DeviceFilterProgram::compile(rules), dir)?;
    let cgroup = File::open(dir).map_err(|e| CgroupError::Dir {
        op: "open",
        path: dir.to_path_buf(),
        source: e,
        hint: "the cgroup must exist before device rules are applied",
    })?;
    let bpf_err = |op, errno| CgroupError::Bpf {
        op,
        path: dir.to_path_buf(),
        errno,
        log: String::new(),
    };
    let old = attached(&cgroup, dir)?;
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    sys_bpf(BPF_PROG_ATTACH, &mut attr).map_err(|e| bpf_err("BPF_PROG_ATTACH", e))?;
    for id in old {
        let mut get = GetFdAttr {
            prog_id: id,
            ..Default::default()
        };
        let old_prog = match sys_bpf(BPF_PROG_GET_FD_BY_ID, &mut get) {
            Ok(fd) => fd_from(fd),
            Err(Errno::ENOENT) => continue, // detached meanwhile
            Err(e) => return Err(bpf_err("BPF_PROG_GET_FD_BY_ID", e)),
        };
        let mut detach = AttachAttr {
            target_fd: cgroup.as_raw_fd() as u32,
            attach_bpf_fd: old_prog.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            ..Default::default()
        };
        match sys_bpf(BPF_PROG_DETACH, &mut detach) {
            Ok(_) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(bpf_err("BPF_PROG_DETACH", e)),
        }
    }
    Ok(())
}

/// The number of device programs attached directly to the cgroup at `dir` (for tests and
/// diagnostics).
pub fn attached_device_programs(dir: &Path) -> Result<usize, CgroupError> {
    let cgroup = File::open(dir).map_err(|e| CgroupError::Dir {
        op: "open",
        path: dir.to_path_buf(),
        source: e,
        hint: "the cgroup does not exist",
    })?;
    Ok(attached(&cgroup, dir)?.len())
}

#[cfg(test)]
mod tests;
