//! OCI device cgroup rules, checked once and rendered for v1 files or the v2 eBPF filter.
//!
//! Why a module of its own: v1 and v2 enforce the same rules by completely different means
//! (`devices.allow`/`devices.deny` strings versus a BPF program), and both must agree on what a
//! rule means — type `a` matches every device, a missing or `-1` major/minor matches any
//! number, a missing access means `rwm`.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::CgroupError;

/// The device type a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DevType {
    All,
    Char,
    Block,
}

/// One device rule, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceRule {
    pub allow: bool,
    pub typ: DevType,
    /// `None` = any.
    pub major: Option<u32>,
    /// `None` = any.
    pub minor: Option<u32>,
    /// Subset of `rwm`, in that order, never empty.
    pub access: String,
}

impl DeviceRule {
    /// Checks an OCI rule; `None` for rules the device cgroup does not see (FIFOs).
    pub fn from_oci(d: &LinuxDeviceCgroup) -> Result<Option<Self>, CgroupError> {
        let typ = match d.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => DevType::All,
            LinuxDeviceType::C | LinuxDeviceType::U => DevType::Char,
            LinuxDeviceType::B => DevType::Block,
            LinuxDeviceType::P => return Ok(None),
        };
        let number = |n: Option<i64>, what: &str| -> Result<Option<u32>, CgroupError> {
            match n {
                None | Some(-1) => Ok(None),
                Some(n) => u32::try_from(n).map(Some).map_err(|_| {
                    CgroupError::InvalidArgument(format!(
                        "device rule {what} number {n} is out of range: use 0..=4294967295 or -1 for any"
                    ))
                }),
            }
        };
        let major = number(d.major(), "major")?;
        let minor = number(d.minor(), "minor")?;
        let given = d.access().as_deref().unwrap_or("rwm");
        if given.is_empty() || given.chars().any(|c| !matches!(c, 'r' | 'w' | 'm')) {
            return Err(CgroupError::InvalidArgument(format!(
                "device rule access {given:?} is invalid: use a non-empty combination of r, w and m"
            )));
        }
        let access = ['r', 'w', 'm']
            .iter()
            .filter(|c| given.contains(**c))
            .collect();
        Ok(Some(Self {
            allow: d.allow(),
            typ,
            major,
            minor,
            access,
        }))
    }

    /// The v1 `devices.allow`/`devices.deny` file this rule goes to.
    pub fn v1_file(&self) -> &'static str {
        if self.allow {
            "devices.allow"
        } else {
            "devices.deny"
        }
    }

    /// The v1 rule text, e.g. `c 1:3 rwm` or `a *:* rwm`.
    pub fn v1_string(&self) -> String {
        let t = match self.typ {
            DevType::All => 'a',
            DevType::Char => 'c',
            DevType::Block => 'b',
        };
        let n = |v: Option<u32>| v.map_or("*".to_string(), |v| v.to_string());
        format!("{t} {}:{} {}", n(self.major), n(self.minor), self.access)
    }
}

/// Validates a list of OCI rules, keeping their order.
pub(crate) fn rules(devices: &[LinuxDeviceCgroup]) -> Result<Vec<DeviceRule>, CgroupError> {
    let mut out = Vec::new();
    for d in devices {
        out.extend(DeviceRule::from_oci(d)?);
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    pub(crate) fn rule(
        allow: bool,
        t: LinuxDeviceType,
        maj: i64,
        min: i64,
        acc: &str,
    ) -> LinuxDeviceCgroup {
        LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .typ(t)
            .major(maj)
            .minor(min)
            .access(acc)
            .build()
            .unwrap()
    }

    #[test]
    fn renders_v1_strings() {
        let r = DeviceRule::from_oci(&rule(false, LinuxDeviceType::A, -1, -1, "rwm"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (r.v1_file(), r.v1_string().as_str()),
            ("devices.deny", "a *:* rwm")
        );
        let r = DeviceRule::from_oci(&rule(true, LinuxDeviceType::C, 1, 3, "wr"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (r.v1_file(), r.v1_string().as_str()),
            ("devices.allow", "c 1:3 rw")
        );
        let r = DeviceRule::from_oci(&rule(true, LinuxDeviceType::U, 136, -1, "m"))
            .unwrap()
            .unwrap();
        assert_eq!(r.v1_string(), "c 136:* m");
        let bare = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .build()
            .unwrap();
        assert_eq!(
            DeviceRule::from_oci(&bare).unwrap().unwrap().v1_string(),
            "a *:* rwm"
        );
    }

    #[test]
    fn fifo_rules_are_dropped_and_bad_ones_refused() {
        assert_eq!(
            DeviceRule::from_oci(&rule(true, LinuxDeviceType::P, 1, 1, "r")).unwrap(),
            None
        );
        assert!(DeviceRule::from_oci(&rule(true, LinuxDeviceType::C, 1, 3, "rx")).is_err());
        assert!(DeviceRule::from_oci(&rule(true, LinuxDeviceType::C, 1, 3, "")).is_err());
        assert!(DeviceRule::from_oci(&rule(true, LinuxDeviceType::C, -5, 3, "r")).is_err());
    }
}
