//! The observer of [`unpack_layer_observed`] and [`observe_decompressed`]: it must see the
//! uncompressed stream exactly, end-of-archive blocks and trailing bytes included, whatever the
//! compression and however the reader chunks its input.

use std::fs;
use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

use super::{root_opts, Tb};
use crate::{observe_decompressed, unpack_layer_observed, FsError, UnpackStats};

/// A small layer that extracts without privileges, padded to a 10 KiB tar record the way GNU
/// tar pads (so zero bytes follow the end-of-archive blocks).
fn layer() -> Vec<u8> {
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut plain = Tb::new()
        .dir("d/")
        .file("d/a", b"hello")
        .file("d/big", &big)
        .symlink("d/l", "a")
        .finish();
    plain.resize(plain.len().next_multiple_of(10_240), 0);
    plain
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).expect("gzip");
    gz.finish().expect("gzip finish")
}

pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Unpacks into a fresh temp dir; returns the stats and what the observer saw.
pub(crate) fn unpack_seen(reader: impl Read) -> Result<(UnpackStats, Vec<u8>), FsError> {
    let t = tempfile::tempdir().expect("tempdir");
    let mut seen = Vec::new();
    let stats = unpack_layer_observed(reader, t.path(), &root_opts(), &mut |b| {
        seen.extend_from_slice(b)
    })?;
    assert_eq!(fs::read(t.path().join("d/a")).expect("d/a"), b"hello");
    Ok((stats, seen))
}

/// Hands out at most 7 bytes per read, to exercise every short-read path.
struct Trickle<R>(R);

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(7);
        self.0.read(&mut buf[..n])
    }
}

#[test]
fn observer_sees_the_whole_uncompressed_stream() {
    let plain = layer();
    let diff_id = hex(&Sha256::digest(&plain));
    let half = plain.len() / 2;
    let multi_gz = [gzip(&plain[..half]), gzip(&plain[half..])].concat();
    let multi_zst = [
        zstd::encode_all(&plain[..half], 3).expect("zstd"),
        zstd::encode_all(&plain[half..], 3).expect("zstd"),
    ]
    .concat();
    let blobs = [
        ("plain", plain.clone()),
        ("gzip", gzip(&plain)),
        ("gzip, two members", multi_gz),
        ("zstd", zstd::encode_all(&plain[..], 3).expect("zstd")),
        ("zstd, two frames", multi_zst),
    ];
    for (what, blob) in &blobs {
        let (stats, seen) = unpack_seen(&blob[..]).expect(what);
        assert_eq!((stats.entries, stats.bytes), (4, 300_005), "{what}");
        assert!(seen == plain, "{what}: observed {} bytes", seen.len());

        let (_, trickled) = unpack_seen(Trickle(&blob[..])).expect(what);
        assert!(trickled == plain, "{what}, trickled");

        let mut hasher = Sha256::new();
        let len = observe_decompressed(&blob[..], &mut |b| hasher.update(b)).expect(what);
        assert_eq!(len, plain.len() as u64, "{what}");
        assert_eq!(hex(&hasher.finalize()), diff_id, "{what}");
    }
}

#[test]
fn bytes_after_the_end_of_archive_are_observed() {
    let mut plain = layer();
    plain.extend_from_slice(b"not tar, but part of the blob");
    let (_, seen) = unpack_seen(&plain[..]).expect("plain");
    assert!(seen == plain);
    let (_, seen) = unpack_seen(&gzip(&plain)[..]).expect("gzip");
    assert!(seen == plain);
}

#[test]
fn a_bad_gzip_trailer_is_an_error() {
    // The CRC sits after all the tar data; only reading the stream to its end checks it.
    let mut gz = gzip(&layer());
    let crc = gz.len() - 8;
    gz[crc] ^= 0xff;
    let err = unpack_seen(&gz[..]).expect_err("bad crc");
    assert!(matches!(err, FsError::Archive { .. }), "{err}");
    assert!(observe_decompressed(&gz[..], &mut |_| {}).is_err());
}

#[test]
fn observe_decompressed_of_empty_and_non_tar_input() {
    let mut seen = Vec::new();
    assert_eq!(
        observe_decompressed(&b""[..], &mut |b| seen.extend_from_slice(b)).ok(),
        Some(0)
    );
    assert!(seen.is_empty());
    let gz = gzip(b"any bytes at all");
    let len = observe_decompressed(&gz[..], &mut |b| seen.extend_from_slice(b)).expect("gz");
    assert_eq!((len, &seen[..]), (16, &b"any bytes at all"[..]));
}
