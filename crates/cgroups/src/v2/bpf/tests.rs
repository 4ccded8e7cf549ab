//! The device filter is checked by running it in a tiny interpreter of the instructions it
//! uses: the kernel verifier only proves a program safe, not that it means the rules.

use super::*;
use crate::devices::rules;
use crate::devices::tests::rule;
use oci_spec::runtime::LinuxDeviceType as T;

/// Runs `p` on a device access; returns r0, or panics on an unknown instruction.
fn run(p: &DeviceFilterProgram, typ: u32, access: u32, major: u32, minor: u32) -> u64 {
    let ctx = [(access << 16) | typ, major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(steps < 10_000, "program does not terminate");
        let i = p.insns[pc];
        let (d, s) = (i.dst() as usize, i.src() as usize);
        pc += 1;
        match i.code {
            LDX_W => {
                assert_eq!(s, 1, "loads only from the context");
                r[d] = u64::from(ctx[i.off as usize / 4]);
            }
            AND32_K => r[d] = u64::from(r[d] as u32 & i.imm as u32),
            RSH32_K => r[d] = u64::from((r[d] as u32) >> i.imm),
            MOV64_X => r[d] = r[s],
            MOV64_K => r[d] = i.imm as i64 as u64,
            JNE32_K if r[d] as u32 != i.imm as u32 => pc += i.off as usize,
            JNE32_X if r[d] as u32 != r[s] as u32 => pc += i.off as usize,
            JNE32_K | JNE32_X => {}
            EXIT => return r[0],
            c => panic!("unexpected opcode {c:#x}"),
        }
    }
}

fn compile(spec: &[(bool, T, i64, i64, &str)]) -> DeviceFilterProgram {
    let oci: Vec<_> = spec
        .iter()
        .map(|&(a, t, ma, mi, acc)| rule(a, t, ma, mi, acc))
        .collect();
    DeviceFilterProgram::compile(&rules(&oci).unwrap())
}

const R: u32 = ACC_READ;
const W: u32 = ACC_WRITE;
const M: u32 = ACC_MKNOD;

#[test]
fn docker_default_rules() {
    let p = compile(&[
        (false, T::A, -1, -1, "rwm"),
        (true, T::C, 1, 3, "rwm"),    // /dev/null
        (true, T::C, 1, 5, "rwm"),    // /dev/zero
        (true, T::C, 136, -1, "rwm"), // ptys
        (true, T::C, 5, 1, "rw"),     // console, no mknod
        (true, T::B, -1, -1, "m"),    // mknod of any block device
    ]);
    assert_eq!(run(&p, DEV_CHAR, R, 1, 3), 1);
    assert_eq!(run(&p, DEV_CHAR, W, 1, 5), 1);
    assert_eq!(run(&p, DEV_BLOCK, R, 1, 3), 0, "type matters");
    assert_eq!(run(&p, DEV_CHAR, R, 136, 7), 1, "wildcard minor");
    assert_eq!(run(&p, DEV_CHAR, R | W, 5, 1), 1);
    assert_eq!(run(&p, DEV_CHAR, M, 5, 1), 0, "access not granted");
    assert_eq!(run(&p, DEV_BLOCK, M, 8, 0), 1);
    assert_eq!(run(&p, DEV_BLOCK, R, 8, 0), 0);
    assert_eq!(run(&p, DEV_CHAR, R, 10, 200), 0, "default deny");
    // The leading deny-all is unconditional: nothing follows it.
    assert_eq!(p.insns.last().unwrap().code, EXIT);
    assert_eq!(p.insns[p.insns.len() - 2], Insn::new(MOV64_K, 0, 0, 0, 0));
}

#[test]
fn last_matching_rule_wins() {
    let p = compile(&[(true, T::A, -1, -1, "rwm"), (false, T::C, 1, 3, "w")]);
    assert_eq!(run(&p, DEV_CHAR, W, 1, 3), 0);
    assert_eq!(
        run(&p, DEV_CHAR, R, 1, 3),
        1,
        "write denied, read still allowed"
    );
    assert_eq!(run(&p, DEV_BLOCK, W, 8, 0), 1);
    let p = compile(&[(false, T::C, 1, 3, "w"), (true, T::A, -1, -1, "rwm")]);
    assert_eq!(run(&p, DEV_CHAR, W, 1, 3), 1);
}

#[test]
fn no_unreachable_instructions() {
    // An allow-all at the end makes everything before it unreachable: only it is emitted.
    let p = compile(&[(false, T::C, 1, 3, "w"), (true, T::A, -1, -1, "rwm")]);
    assert_eq!(p.insns.len(), 6 + 2);
    let p = compile(&[]);
    assert_eq!(p.insns.len(), 6 + 2);
    assert_eq!(run(&p, DEV_CHAR, R, 1, 3), 0, "no rules: deny");
}

#[test]
fn large_device_numbers_compare_as_u32() {
    let p = compile(&[(true, T::C, 4_000_000_000, 0, "r")]);
    assert_eq!(run(&p, DEV_CHAR, R, 4_000_000_000, 0), 1);
    assert_eq!(run(&p, DEV_CHAR, R, 4_000_000_001, 0), 0);
}
