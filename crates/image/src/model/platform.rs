//! The platform an image runs on (`linux/arm64/v8`) and containerd's rules for matching one.
//!
//! Why containerd's rules and not string equality: the same CPU goes by several names
//! (`x86_64`, `x86-64`, `amd64`; `aarch64`, `arm64`), an absent variant means a default one
//! (`arm64` is `arm64/v8`, `arm` is `arm/v7`), and a CPU runs code built for older variants of
//! itself (an `arm/v7` host runs `arm/v6`). Docker selects from manifest lists with
//! containerd's `platforms.Only`; matching the same way means `berth pull` picks the same
//! manifest as `docker pull` for every index.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ImageError;

/// An OCI platform: operating system, CPU architecture and optional variant, with Go's names
/// (`amd64`, `arm64`) as in the image spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Platform {
    /// The CPU architecture (`amd64`, `arm64`, `arm`, `ppc64le`, ...).
    pub architecture: String,
    /// The operating system (`linux`, `windows`, ...).
    pub os: String,
    /// The OS version (Windows images only, e.g. `10.0.17763.1879`).
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// Required OS features (Windows images only, e.g. `win32k`).
    #[serde(
        rename = "os.features",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_features: Option<Vec<String>>,
    /// The CPU variant (`v7` for `arm`, `v8` for `arm64`, `v2`/`v3` for `amd64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// A platform from its parts, without os.version or os.features.
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Self {
        Self {
            architecture: architecture.to_owned(),
            os: os.to_owned(),
            os_version: None,
            os_features: None,
            variant: variant.map(str::to_owned),
        }
    }

    /// The platform of this process, as a Linux container host: the compile-time architecture
    /// mapped to Go's name (`x86_64` → `amd64`, `aarch64` → `arm64/v8`, ...), os `linux`.
    pub fn host() -> Self {
        let little = cfg!(target_endian = "little");
        let (arch, variant) = go_arch(std::env::consts::ARCH, little, host_arm_variant());
        Self::new("linux", arch, variant)
    }

    /// Parses `os/arch[/variant]` as given to `--platform` (`linux/arm64/v8`, `linux/amd64`).
    ///
    /// The parts are kept as written; [`Platform::matches`] normalises when comparing.
    pub fn parse(input: &str) -> Result<Self, ImageError> {
        let bad = |reason: String| ImageError::InvalidPlatform {
            input: input.to_owned(),
            reason,
        };
        let parts: Vec<&str> = input.split('/').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(bad(format!(
                "expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8, got {} part(s)",
                parts.len()
            )));
        }
        for part in &parts {
            let ok = !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !ok {
                return Err(bad(format!(
                    "part {part:?} must be non-empty and use only letters, digits, '_', '-' \
                     and '.'; expected os/arch[/variant], e.g. linux/arm64/v8"
                )));
            }
        }
        Ok(Self::new(parts[0], parts[1], parts.get(2).copied()))
    }

    /// This platform in containerd's canonical form: lowercase, Go's architecture names,
    /// default variants dropped or filled in (`aarch64/v8` → `arm64`, `arm` → `arm/v7`,
    /// `amd64/v1` → `amd64`, `armhf` → `arm/v7`, `macos` → `darwin`).
    pub fn normalized(&self) -> Self {
        let mut os = self.os.to_ascii_lowercase();
        if os == "macos" {
            os = "darwin".to_owned();
        }
        let (architecture, variant) = normalize_arch(
            &self.architecture.to_ascii_lowercase(),
            &self.variant.as_deref().unwrap_or("").to_ascii_lowercase(),
        );
        Self {
            architecture,
            os,
            os_version: self.os_version.clone(),
            os_features: self.os_features.clone(),
            variant: (!variant.is_empty()).then_some(variant),
        }
    }

    /// Whether an image built for `self` can run where `wanted` is asked for, by containerd's
    /// `platforms.Only(wanted)`: after normalisation, os, architecture and variant are equal,
    /// or `self` is an older variant `wanted` can run (`arm/v7` also runs `arm/v6` and `arm/v5`;
    /// `arm64` also runs `arm/v8` down to `arm/v5`; `amd64/v3` also runs `amd64/v2` and
    /// `amd64`; `amd64` also runs `386`).
    ///
    /// So a wanted `linux/arm64` matches `arm64` and `arm64/v8` but not `arm64/v9`; a wanted
    /// `linux/arm` matches `arm`, `arm/v7` and `arm/v6` but not `arm/v8`. `os.version` and
    /// `os.features` are not compared (they only select between Windows images).
    pub fn matches(&self, wanted: &Platform) -> bool {
        self.match_rank(wanted).is_some()
    }

    /// How well `self` fits `wanted`: `Some(0)` for an exact match after normalisation, larger
    /// for older fallbacks, `None` when it does not run there.
    pub(crate) fn match_rank(&self, wanted: &Platform) -> Option<usize> {
        let have = self.normalized();
        compatible(&wanted.normalized()).iter().position(|p| {
            p.os == have.os && p.architecture == have.architecture && p.variant == have.variant
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// containerd's `normalizeArch`, on lowercase input.
fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let (arch, variant) = match arch {
        "i386" => ("386", ""),
        "x86_64" | "x86-64" | "amd64" => ("amd64", if variant == "v1" { "" } else { variant }),
        "aarch64" | "arm64" => match variant {
            "8" | "v8" | "v8.0" => ("arm64", ""),
            "9" | "9.0" | "v9.0" => ("arm64", "v9"),
            v => ("arm64", v),
        },
        "armhf" => ("arm", "v7"),
        "armel" => ("arm", "v6"),
        "arm" => match variant {
            "" | "7" => ("arm", "v7"),
            "5" => ("arm", "v5"),
            "6" => ("arm", "v6"),
            "8" => ("arm", "v8"),
            v => ("arm", v),
        },
        a => (a, variant),
    };
    (arch.to_owned(), variant.to_owned())
}

/// containerd's `platformVector`: the normalised platforms an image may be built for to run on
/// `p` (itself normalised), best first.
fn compatible(p: &Platform) -> Vec<Platform> {
    let variant_num = |v: Option<&str>| -> Option<u32> { v?.strip_prefix('v')?.parse().ok() };
    let with = |arch: &str, variant: Option<String>| Platform {
        architecture: arch.to_owned(),
        variant,
        ..p.clone()
    };
    let mut out = vec![p.clone()];
    match p.architecture.as_str() {
        "amd64" => {
            if let Some(n) = variant_num(p.variant.as_deref()).filter(|&n| n > 1) {
                for v in (2..n).rev() {
                    out.push(with("amd64", Some(format!("v{v}"))));
                }
                // v1 is the baseline, normalised to no variant.
                out.push(with("amd64", None));
            }
            out.push(with("386", None));
        }
        "arm" => {
            if let Some(n) = variant_num(p.variant.as_deref()).filter(|&n| n > 5) {
                for v in (5..n).rev() {
                    out.push(with("arm", Some(format!("v{v}"))));
                }
            }
        }
        "arm64" => {
            if p.variant.as_deref().is_some_and(|v| v.starts_with("v9")) {
                // Every v9 core runs v8 code; v8 is the normalised default (no variant).
                out.push(with("arm64", None));
            }
            // A 64-bit ARM core runs 32-bit arm/v8 down to arm/v5.
            out.extend(compatible(&with("arm", Some("v8".to_owned()))));
        }
        _ => {}
    }
    out
}

/// Rust's `std::env::consts::ARCH` → Go's `GOARCH` (and the variant Docker reports).
fn go_arch<'a>(
    rust: &'a str,
    little_endian: bool,
    arm_variant: &'a str,
) -> (&'a str, Option<&'a str>) {
    match rust {
        "x86_64" => ("amd64", None),
        "x86" => ("386", None),
        "aarch64" => ("arm64", Some("v8")),
        "arm" => ("arm", Some(arm_variant)),
        "powerpc64" if little_endian => ("ppc64le", None),
        "powerpc64" => ("ppc64", None),
        "powerpc" => ("ppc", None),
        "mips" if little_endian => ("mipsle", None),
        "mips64" if little_endian => ("mips64le", None),
        "loongarch64" => ("loong64", None),
        // s390x, riscv64, mips, mips64, sparc64: the same name in Go.
        other => (other, None),
    }
}

fn host_arm_variant() -> &'static str {
    if cfg!(target_feature = "v7") {
        "v7"
    } else if cfg!(target_feature = "v6") {
        "v6"
    } else {
        "v5"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        Platform::parse(s).unwrap()
    }

    #[test]
    fn parse_and_display() {
        let arm = p("linux/arm64/v8");
        assert_eq!(
            (arm.os.as_str(), arm.architecture.as_str()),
            ("linux", "arm64")
        );
        assert_eq!(arm.variant.as_deref(), Some("v8"));
        assert_eq!(arm.to_string(), "linux/arm64/v8");
        assert_eq!(p("linux/amd64").variant, None);
        assert_eq!(p("linux/amd64").to_string(), "linux/amd64");
    }

    #[test]
    fn parse_errors_name_the_expected_form() {
        for bad in [
            "",
            "linux",
            "amd64",
            "linux/",
            "/amd64",
            "linux/arm/v7/x",
            "linux/am d64",
        ] {
            let err = Platform::parse(bad).unwrap_err();
            assert!(matches!(err, ImageError::InvalidPlatform { .. }), "{bad:?}");
            let msg = err.to_string();
            assert!(msg.contains("os/arch[/variant]"), "{bad:?}: {msg}");
            assert!(msg.contains(&format!("{bad:?}")), "{bad:?}: {msg}");
        }
    }

    #[test]
    fn normalisation_follows_containerd() {
        let n = |s: &str| p(s).normalized().to_string();
        assert_eq!(n("linux/x86_64"), "linux/amd64");
        assert_eq!(n("linux/x86-64"), "linux/amd64");
        assert_eq!(n("linux/amd64/v1"), "linux/amd64");
        assert_eq!(n("linux/amd64/v3"), "linux/amd64/v3");
        assert_eq!(n("linux/aarch64"), "linux/arm64");
        assert_eq!(n("linux/arm64/v8"), "linux/arm64");
        assert_eq!(n("linux/arm64/v9.0"), "linux/arm64/v9");
        assert_eq!(n("linux/arm"), "linux/arm/v7");
        assert_eq!(n("linux/arm/6"), "linux/arm/v6");
        assert_eq!(n("linux/armhf"), "linux/arm/v7");
        assert_eq!(n("linux/i386"), "linux/386");
        assert_eq!(n("LINUX/AMD64"), "linux/amd64");
        assert_eq!(n("macos/arm64"), "darwin/arm64");
    }

    #[test]
    fn matching_follows_containerd_only() {
        let yes = |have: &str, wanted: &str| p(have).matches(&p(wanted));
        // Aliases and default variants.
        assert!(yes("linux/amd64", "linux/x86_64"));
        assert!(yes("linux/arm64", "linux/arm64/v8"));
        assert!(yes("linux/arm64/v8", "linux/arm64"));
        assert!(yes("linux/arm64/v8", "linux/aarch64"));
        assert!(yes("linux/arm", "linux/arm/v7"));
        assert!(yes("linux/arm/v7", "linux/arm"));
        // Older variants run, newer ones do not.
        assert!(yes("linux/arm/v6", "linux/arm/v7"));
        assert!(yes("linux/arm/v5", "linux/arm"));
        assert!(!yes("linux/arm/v8", "linux/arm"));
        assert!(!yes("linux/arm/v7", "linux/arm/v6"));
        assert!(!yes("linux/arm64/v9", "linux/arm64"));
        assert!(yes("linux/arm64/v8", "linux/arm64/v9"));
        assert!(yes("linux/amd64", "linux/amd64/v3"));
        assert!(yes("linux/amd64/v2", "linux/amd64/v3"));
        assert!(!yes("linux/amd64/v3", "linux/amd64"));
        // 64-bit hosts run their 32-bit relatives.
        assert!(yes("linux/arm/v7", "linux/arm64"));
        assert!(yes("linux/386", "linux/amd64"));
        assert!(!yes("linux/amd64", "linux/386"));
        // Different OS or architecture never matches.
        assert!(!yes("windows/amd64", "linux/amd64"));
        assert!(!yes("linux/arm64", "linux/amd64"));
        assert!(!yes("unknown/unknown", "linux/amd64"));
    }

    #[test]
    fn exact_match_ranks_before_fallbacks() {
        let wanted = p("linux/arm64");
        let exact = p("linux/arm64/v8").match_rank(&wanted).unwrap();
        let arm32 = p("linux/arm/v7").match_rank(&wanted).unwrap();
        assert_eq!(exact, 0);
        assert!(arm32 > exact);
        let wanted = p("linux/amd64");
        assert!(p("linux/386").match_rank(&wanted).unwrap() > 0);
    }

    #[test]
    fn host_uses_go_names() {
        assert_eq!(go_arch("x86_64", true, "v7"), ("amd64", None));
        assert_eq!(go_arch("aarch64", true, "v7"), ("arm64", Some("v8")));
        assert_eq!(go_arch("arm", true, "v6"), ("arm", Some("v6")));
        assert_eq!(go_arch("powerpc64", true, "v7"), ("ppc64le", None));
        assert_eq!(go_arch("powerpc64", false, "v7"), ("ppc64", None));
        assert_eq!(go_arch("s390x", false, "v7"), ("s390x", None));
        assert_eq!(go_arch("loongarch64", true, "v7"), ("loong64", None));
        let host = Platform::host();
        assert_eq!(host.os, "linux");
        assert!(!host.architecture.is_empty());
        assert_ne!(host.architecture, "x86_64");
        assert_ne!(host.architecture, "aarch64");
        assert!(host.matches(&host));
    }

    #[test]
    fn serde_uses_spec_names() {
        let json = r#"{"architecture":"amd64","os":"windows","os.version":"10.0.17763.1879","os.features":["win32k"]}"#;
        let plat: Platform = serde_json::from_str(json).unwrap();
        assert_eq!(plat.os_version.as_deref(), Some("10.0.17763.1879"));
        assert_eq!(plat.os_features, Some(vec!["win32k".to_owned()]));
        assert_eq!(plat.variant, None);
        assert_eq!(serde_json::to_string(&plat).unwrap(), json);
    }
}
