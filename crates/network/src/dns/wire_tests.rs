//! Unit tests of the wire format, including hostile input.

use super::*;
use crate::dns::tests::{parse_reply, query};

#[test]
fn parses_a_query_and_lowercases() {
    let msg = query(0xBEEF, "Web.Example", TYPE_AAAA);
    let q = parse_query(&msg).unwrap();
    assert_eq!(q.id, 0xBEEF);
    assert!(q.recursion_desired());
    assert_eq!(
        q.question,
        Question {
            name: "web.example".into(),
            qtype: TYPE_AAAA,
            qclass: CLASS_IN
        }
    );
    let root = query(1, "", TYPE_A);
    assert_eq!(parse_query(&root).unwrap().question.name, "");
}

#[test]
fn escapes_odd_label_bytes() {
    let mut msg = query(1, "", TYPE_A);
    msg.truncate(HEADER_LEN);
    msg.extend_from_slice(&[4, b'a', b'.', 0, b'\\', 1, b'x', 0, 0, 1, 0, 1]);
    assert_eq!(parse_query(&msg).unwrap().question.name, "a\\.\\000\\\\.x");
}

#[test]
fn header_errors() {
    assert_eq!(parse_query(&[0; 11]), Err(WireError::Short));
    let mut msg = query(7, "a.b", TYPE_A);
    msg[2] |= 0x80;
    assert_eq!(parse_query(&msg), Err(WireError::NotQuery));
    assert_eq!(error_response(&msg, Rcode::FormErr), None);
    msg[2] = 0x10; // opcode 2 (STATUS)
    assert_eq!(parse_query(&msg), Err(WireError::NotImplemented(2)));
    msg[2] = 0x01;
    msg[5] = 2;
    assert!(matches!(parse_query(&msg), Err(WireError::Malformed(_))));
    msg[5] = 0;
    assert!(matches!(parse_query(&msg), Err(WireError::Malformed(_))));
}

#[test]
fn refuses_pointers_and_bad_labels() {
    let mut msg = query(1, "", TYPE_A);
    msg.truncate(HEADER_LEN);
    // A pointer to itself: a loop if followed.
    let mut looped = msg.clone();
    looped.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
    assert!(matches!(parse_query(&looped), Err(WireError::Malformed(_))));
    let mut ext = msg.clone();
    ext.extend_from_slice(&[0x41, b'a', 0, 0, 1, 0, 1]);
    assert!(matches!(parse_query(&ext), Err(WireError::Malformed(_))));
    // 5 labels of 63 bytes: 320 bytes on the wire, over 255.
    let mut long = msg.clone();
    for _ in 0..5 {
        long.push(63);
        long.extend_from_slice(&[b'a'; 63]);
    }
    long.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert!(matches!(parse_query(&long), Err(WireError::Malformed(_))));
    // 4 labels of 62 bytes plus the root: exactly 253 + 1 bytes, fine.
    let mut max = msg;
    for _ in 0..4 {
        max.push(62);
        max.extend_from_slice(&[b'b'; 62]);
    }
    max.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert!(parse_query(&max).is_ok());
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let msg = query(9, "some.name.example", TYPE_A);
    for len in 0..msg.len() {
        let err = parse_query(&msg[..len]).unwrap_err();
        if len < HEADER_LEN {
            assert_eq!(err, WireError::Short);
            assert_eq!(error_response(&msg[..len], Rcode::FormErr), None);
        } else {
            assert!(matches!(err, WireError::Malformed(_)), "len {len}: {err:?}");
            assert_eq!(
                error_response(&msg[..len], Rcode::FormErr).unwrap().len(),
                HEADER_LEN
            );
        }
    }
    assert!(parse_query(&msg).is_ok());
}

#[test]
fn random_garbage_never_panics() {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let base = query(3, "x.example", TYPE_A);
    for round in 0..20_000 {
        let mut msg: Vec<u8> = if round % 2 == 0 {
            let len = (next() % 300) as usize;
            (0..len).map(|_| next() as u8).collect()
        } else {
            // Mutate a valid query: flip a few bytes, keep the header mostly sane.
            let mut m = base.clone();
            for _ in 0..(next() % 4 + 1) {
                let i = (next() as usize) % m.len();
                m[i] = next() as u8;
            }
            m.truncate((next() as usize) % (m.len() + 1));
            m
        };
        if round % 3 == 0 && msg.len() > 2 {
            msg[2] &= 0x07; // a query, opcode 0
        }
        if let Ok(q) = parse_query(&msg) {
            let r = response(
                &q,
                Rcode::NoError,
                &[Answer::A(Ipv4Addr::LOCALHOST)],
                UDP_MAX,
            );
            assert!(is_reply_to(&msg, &r));
        }
        let _ = error_response(&msg, Rcode::FormErr);
        let _ = is_reply_to(&msg, &msg);
    }
}

#[test]
fn response_layout() {
    let msg = query(0x1234, "WEB.net", TYPE_A);
    let q = parse_query(&msg).unwrap();
    let answers = [
        Answer::A(Ipv4Addr::new(10, 0, 0, 2)),
        Answer::Ptr("bad..name".into()),
    ];
    let r = response(&q, Rcode::NoError, &answers, UDP_MAX);
    assert_eq!(&r[..2], &[0x12, 0x34]);
    assert_eq!(r[2], 0x81); // QR, RD
    assert_eq!(r[3], 0x80); // RA, NOERROR
    assert_eq!(&r[HEADER_LEN..msg.len()], &msg[HEADER_LEN..]); // question echoed, case kept
    let reply = parse_reply(&r);
    assert_eq!(reply.answers, vec![(TYPE_A, 600, vec![10, 0, 0, 2])]);
    let nx = response(&q, Rcode::NxDomain, &[], UDP_MAX);
    assert_eq!(parse_reply(&nx).rcode, 3);
    assert_eq!(nx.len(), msg.len());
}

#[test]
fn response_truncates_to_fit() {
    let q = parse_query(&query(1, "many.example", TYPE_A)).unwrap();
    let answers: Vec<Answer> = (0..100)
        .map(|i| Answer::A(Ipv4Addr::new(10, 0, 0, i)))
        .collect();
    let r = response(&q, Rcode::NoError, &answers, UDP_MAX);
    assert!(r.len() <= UDP_MAX);
    assert_ne!(r[2] & 0x02, 0, "TC set");
    assert!(parse_reply(&r).answers.len() > 20);
    let full = response(&q, Rcode::NoError, &answers, 65535);
    assert_eq!(full[2] & 0x02, 0);
    assert_eq!(parse_reply(&full).answers.len(), 100);
}

#[test]
fn names_and_reverse() {
    assert_eq!(
        encode_name("a.bc.").unwrap(),
        vec![1, b'a', 2, b'b', b'c', 0]
    );
    assert_eq!(encode_name("").unwrap(), vec![0]);
    assert_eq!(encode_name("a..b"), None);
    assert_eq!(encode_name(&"x".repeat(64)), None);
    assert_eq!(encode_name(&vec!["y".repeat(60); 5].join(".")), None);
    assert_eq!(
        reverse_ip("4.3.2.1.in-addr.arpa"),
        Some(Ipv4Addr::new(1, 2, 3, 4))
    );
    for bad in [
        "3.2.1.in-addr.arpa",
        "5.4.3.2.1.in-addr.arpa",
        "256.0.0.1.in-addr.arpa",
        "+1.0.0.1.in-addr.arpa",
    ] {
        assert_eq!(reverse_ip(bad), None, "{bad}");
    }
    assert_eq!(reverse_ip("1.0.0.127.ip6.arpa"), None);
}
