//! Content digests (`sha256:<hex>`, `sha512:<hex>`) and a streaming hasher.
//!
//! Why a type and not a `String`: a digest names a file under `blobs/`, so an unvalidated one
//! would be a path traversal waiting to happen. A [`Digest`] can only be built by parsing
//! (length and lowercase hex checked) or by hashing, so every value is safe to use as a file
//! name and compares equal exactly when the content is equal.

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

use crate::error::ImageError;

/// A hash algorithm the store accepts, as named in OCI descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256, the default for OCI and Docker content.
    Sha256,
    /// SHA-512, allowed by the OCI image spec.
    Sha512,
}

impl Algorithm {
    /// Every supported algorithm, in the order the store lists them.
    pub const ALL: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

    /// The name used in digest strings and directory names (`sha256`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    /// The number of hex characters in a digest of this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            Self::Sha256 => 64,
            Self::Sha512 => 128,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = ImageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sha256" => Ok(Self::Sha256),
            "sha512" => Ok(Self::Sha512),
            _ => Err(ImageError::InvalidDigest {
                input: s.to_owned(),
                reason: "unsupported algorithm; use sha256 or sha512".to_owned(),
            }),
        }
    }
}

/// A validated content digest: an algorithm and the lowercase hex of the hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Builds a digest from its parts, checking length and lowercase hex.
    pub fn new(algorithm: Algorithm, hex: &str) -> Result<Self, ImageError> {
        let bad = |reason: String| ImageError::InvalidDigest {
            input: format!("{algorithm}:{hex}"),
            reason,
        };
        if hex.len() != algorithm.hex_len() {
            return Err(bad(format!(
                "{algorithm} needs {} hex characters, got {}",
                algorithm.hex_len(),
                hex.len()
            )));
        }
        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad("the hash must be lowercase hex (0-9, a-f)".to_owned()));
        }
        Ok(Self {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// The SHA-256 digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self::of_with(Algorithm::Sha256, bytes)
    }

    /// The digest of `bytes` under `algorithm`.
    pub fn of_with(algorithm: Algorithm, bytes: &[u8]) -> Self {
        let mut h = Hasher::new(algorithm);
        h.update(bytes);
        h.finish()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The lowercase hex of the hash, without the algorithm prefix.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

impl FromStr for Digest {
    type Err = ImageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((alg, hex)) = s.split_once(':') else {
            return Err(ImageError::InvalidDigest {
                input: s.to_owned(),
                reason: "expected algorithm:hex, e.g. sha256:<64 hex characters>".to_owned(),
            });
        };
        let algorithm = alg
            .parse::<Algorithm>()
            .map_err(|_| ImageError::InvalidDigest {
                input: s.to_owned(),
                reason: format!("unsupported algorithm {alg:?}; use sha256 or sha512"),
            })?;
        Digest::new(algorithm, hex).map_err(|e| match e {
            ImageError::InvalidDigest { reason, .. } => ImageError::InvalidDigest {
                input: s.to_owned(),
                reason,
            },
            other => other,
        })
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A streaming hasher: feed bytes with [`Hasher::update`], get the [`Digest`] with
/// [`Hasher::finish`].
#[derive(Debug, Clone)]
pub struct Hasher {
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A hasher for `algorithm`.
    pub fn new(algorithm: Algorithm) -> Self {
        let inner = match algorithm {
            Algorithm::Sha256 => Inner::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Inner::Sha512(sha2::Sha512::new()),
        };
        Self { inner }
    }

    /// The algorithm this hasher computes.
    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            Inner::Sha256(_) => Algorithm::Sha256,
            Inner::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// Feeds more content.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.inner {
            Inner::Sha256(h) => h.update(bytes),
            Inner::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self.inner {
            Inner::Sha256(h) => (Algorithm::Sha256, to_hex(&h.finalize())),
            Inner::Sha512(h) => (Algorithm::Sha512, to_hex(&h.finalize())),
        };
        Digest { algorithm, hex }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str =
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn known_values() {
        assert_eq!(Digest::of(b"").to_string(), EMPTY_SHA256);
        assert_eq!(
            Digest::of(b"abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let d = Digest::of_with(Algorithm::Sha512, b"abc");
        assert_eq!(d.algorithm(), Algorithm::Sha512);
        assert!(d.hex().starts_with("ddaf35a193617aba"));
        assert_eq!(d.hex().len(), 128);
    }

    #[test]
    fn streaming_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for alg in Algorithm::ALL {
            let mut h = Hasher::new(alg);
            for chunk in data.chunks(333) {
                h.update(chunk);
            }
            assert_eq!(h.finish(), Digest::of_with(alg, &data));
        }
    }

    #[test]
    fn parse_and_display_round_trip() {
        let d: Digest = EMPTY_SHA256.parse().unwrap();
        assert_eq!(d.to_string(), EMPTY_SHA256);
        let s512 = format!("sha512:{}", "a".repeat(128));
        assert_eq!(s512.parse::<Digest>().unwrap().to_string(), s512);
    }

    #[test]
    fn parse_rejects() {
        let cases = [
            "",
            "sha256",
            "sha256:",
            "sha256:abc",
            &format!("sha256:{}", "A".repeat(64)),
            &format!("sha256:{}", "g".repeat(64)),
            &format!("sha256:{}", "a".repeat(65)),
            &format!("sha512:{}", "a".repeat(64)),
            &format!("md5:{}", "a".repeat(32)),
            &format!("sha256:../{}", "a".repeat(61)),
        ];
        for c in cases {
            let err = c.parse::<Digest>().unwrap_err();
            assert!(
                matches!(err, ImageError::InvalidDigest { .. }),
                "{c}: {err}"
            );
            assert_eq!(err.kind(), berth_types::ErrorKind::InvalidArgument);
        }
    }

    #[test]
    fn serde_as_string() {
        let d = Digest::of(b"");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{EMPTY_SHA256}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<Digest>("\"sha256:xyz\"").is_err());
    }
}
