//! The DNS wire format (RFC 1035), just as much as the embedded server needs.
//!
//! Why hand-written: the server answers exactly one kind of message — a standard query with one
//! question — and relays everything else byte for byte, so a full DNS library would be weight
//! without use. What it reads comes from any process in any container, so parsing is defensive:
//! every read is bounds-checked, compression pointers in the question are refused (a query has
//! nothing to compress against, and refusing them rules out pointer loops), labels and names are
//! held to their RFC limits, and nothing here can panic on hostile input.
//!
//! Responses echo the id and the question exactly as received (resolvers that randomise the
//! case of the name, "0x20", compare it), set QR and RA, copy RD, and point every answer's
//! owner name at the question (`0xC00C`).

use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// TTL of the records the server answers itself: Docker's embedded DNS uses 600 seconds.
pub const TTL: u32 = 600;
/// The largest message a plain (non-EDNS) UDP answer may be; longer ones are truncated (TC).
pub const UDP_MAX: usize = 512;
/// Length of the fixed DNS header.
pub const HEADER_LEN: usize = 12;

/// QTYPE of an IPv4 address record.
pub const TYPE_A: u16 = 1;
/// QTYPE of a domain-name pointer (reverse lookups).
pub const TYPE_PTR: u16 = 12;
/// QTYPE of an IPv6 address record.
pub const TYPE_AAAA: u16 = 28;
/// QTYPE `*`: any record type.
pub const TYPE_ANY: u16 = 255;
/// QCLASS Internet.
pub const CLASS_IN: u16 = 1;
/// QCLASS `*`: any class.
pub const CLASS_ANY: u16 = 255;

const FLAG_QR: u16 = 0x8000;
const FLAG_TC: u16 = 0x0200;
const FLAG_RD: u16 = 0x0100;
const FLAG_RA: u16 = 0x0080;
const OPCODE_MASK: u16 = 0x7800;
const MAX_NAME: usize = 255;
const MAX_LABEL: usize = 63;

/// A response code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    /// No error (an empty answer section means "the name exists, not this type").
    NoError = 0,
    /// The query could not be parsed.
    FormErr = 1,
    /// The server could not answer (no upstream, or all of them failed).
    ServFail = 2,
    /// The name does not exist.
    NxDomain = 3,
    /// The opcode is not supported (only standard queries are).
    NotImp = 4,
}

/// Why a message is not a query the server can answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Shorter than a header: there is no id to answer to.
    #[error("message shorter than a DNS header")]
    Short,
    /// The QR bit is set: a response, which is never answered (that could loop).
    #[error("message is a response, not a query")]
    NotQuery,
    /// The opcode is not QUERY; answered with NOTIMP.
    #[error("opcode {0} not implemented")]
    NotImplemented(u8),
    /// The header is fine but the rest is not; answered with FORMERR.
    #[error("malformed query: {0}")]
    Malformed(&'static str),
}

/// The question of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The name in lower case, without the trailing dot (`""` for the root). Bytes outside
    /// printable ASCII, and `.` or `\` inside a label, are written `\DDD` / `\.` / `\\`, so the
    /// text is unambiguous and never matches a container name by accident.
    pub name: String,
    /// The QTYPE.
    pub qtype: u16,
    /// The QCLASS.
    pub qclass: u16,
}

/// A parsed standard query with exactly one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The id, echoed in the response.
    pub id: u16,
    /// The second header word (flags) as received.
    pub flags: u16,
    /// The question.
    pub question: Question,
    /// The question section as received, echoed verbatim in the response.
    raw_question: Vec<u8>,
}

impl Query {
    /// Whether the client asked for recursion (RD).
    pub fn recursion_desired(&self) -> bool {
        self.flags & FLAG_RD != 0
    }
}

/// One record of an answer section; the owner is always the question's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// An A record.
    A(Ipv4Addr),
    /// A PTR record pointing at this name (with or without the trailing dot).
    Ptr(String),
}

fn be16(msg: &[u8], at: usize) -> Option<u16> {
    let b = msg.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// Parses a query: header, then exactly one question. Additional records (an EDNS OPT, say)
/// are ignored; the response is plain DNS.
pub fn parse_query(msg: &[u8]) -> Result<Query, WireError> {
    if msg.len() < HEADER_LEN {
        return Err(WireError::Short);
    }
    let id = be16(msg, 0).ok_or(WireError::Short)?;
    let flags = be16(msg, 2).ok_or(WireError::Short)?;
    if flags & FLAG_QR != 0 {
        return Err(WireError::NotQuery);
    }
    let opcode = ((flags & OPCODE_MASK) >> 11) as u8;
    if opcode != 0 {
        return Err(WireError::NotImplemented(opcode));
    }
    if be16(msg, 4) != Some(1) {
        return Err(WireError::Malformed("question count is not 1"));
    }
    let (name, end) = parse_name(msg, HEADER_LEN)?;
    let qtype = be16(msg, end).ok_or(WireError::Malformed("truncated question"))?;
    let qclass = be16(msg, end + 2).ok_or(WireError::Malformed("truncated question"))?;
    let raw_question = msg[HEADER_LEN..end + 4].to_vec();
    Ok(Query {
        id,
        flags,
        question: Question {
            name,
            qtype,
            qclass,
        },
        raw_question,
    })
}

/// Decodes an uncompressed name starting at `pos`; returns it and the offset just past it.
fn parse_name(msg: &[u8], mut pos: usize) -> Result<(String, usize), WireError> {
    let mut name = String::new();
    let mut wire_len = 1; // the terminating root label
    loop {
        let len = usize::from(*msg.get(pos).ok_or(WireError::Malformed("truncated name"))?);
        pos += 1;
        match len & 0xC0 {
            0 => {}
            0xC0 => return Err(WireError::Malformed("compression pointer in question")),
            _ => return Err(WireError::Malformed("unknown label type")),
        }
        if len == 0 {
            return Ok((name, pos));
        }
        wire_len += len + 1;
        if wire_len > MAX_NAME {
            return Err(WireError::Malformed("name longer than 255 bytes"));
        }
        let label = msg
            .get(pos..pos + len)
            .ok_or(WireError::Malformed("truncated label"))?;
        pos += len;
        if !name.is_empty() {
            name.push('.');
        }
        for &b in label {
            match b {
                b'A'..=b'Z' => name.push(char::from(b.to_ascii_lowercase())),
                b'.' | b'\\' => {
                    name.push('\\');
                    name.push(char::from(b));
                }
                0x21..=0x7e => name.push(char::from(b)),
                _ => {
                    let _ = write!(name, "\\{b:03}");
                }
            }
        }
    }
}

/// Encodes a dotted name (a trailing dot is allowed) as uncompressed labels; `None` if a label
/// is empty or longer than 63 bytes, or the name longer than 255.
pub fn encode_name(name: &str) -> Option<Vec<u8>> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let mut out = Vec::with_capacity(name.len() + 2);
    if !name.is_empty() {
        for label in name.split('.') {
            if label.is_empty() || label.len() > MAX_LABEL {
                return None;
            }
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    (out.len() <= MAX_NAME).then_some(out)
}

/// The IPv4 address a reverse name stands for: `4.3.2.1.in-addr.arpa` → `1.2.3.4`.
pub fn reverse_ip(name: &str) -> Option<Ipv4Addr> {
    let rest = name.strip_suffix(".in-addr.arpa")?;
    let mut octets = [0u8; 4];
    let mut parts = rest.split('.');
    for slot in octets.iter_mut().rev() {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    parts.next().is_none().then(|| Ipv4Addr::from(octets))
}

fn reply_flags(query_flags: u16, rcode: Rcode) -> u16 {
    FLAG_QR | (query_flags & (OPCODE_MASK | FLAG_RD)) | FLAG_RA | rcode as u16
}

/// Builds the response to `query`: its id and question, `rcode`, and as many of `answers` as
/// fit in `max_len` bytes (TC is set if some did not). Answers whose name cannot be encoded
/// are left out.
pub fn response(query: &Query, rcode: Rcode, answers: &[Answer], max_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(UDP_MAX);
    out.extend_from_slice(&query.id.to_be_bytes());
    out.extend_from_slice(&reply_flags(query.flags, rcode).to_be_bytes());
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&query.raw_question);
    let mut count: u16 = 0;
    let mut truncated = false;
    for answer in answers {
        let (rtype, rdata) = match answer {
            Answer::A(ip) => (TYPE_A, ip.octets().to_vec()),
            Answer::Ptr(name) => match encode_name(name) {
                Some(wire) => (TYPE_PTR, wire),
                None => continue,
            },
        };
        if out.len() + 12 + rdata.len() > max_len || count == u16::MAX {
            truncated = true;
            break;
        }
        out.extend_from_slice(&[0xC0, HEADER_LEN as u8]);
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&TTL.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rdata);
        count += 1;
    }
    out[6..8].copy_from_slice(&count.to_be_bytes());
    if truncated {
        out[2] |= (FLAG_TC >> 8) as u8;
    }
    out
}

/// A header-only response (no question) with `rcode`, for a message whose question could not
/// be parsed, or a forwarded query whose upstreams all failed. `None` if `msg` has no header or
/// is itself a response: those are dropped, never answered.
pub fn error_response(msg: &[u8], rcode: Rcode) -> Option<Vec<u8>> {
    let id = be16(msg, 0)?;
    let flags = be16(msg, 2)?;
    if msg.len() < HEADER_LEN || flags & FLAG_QR != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&reply_flags(flags, rcode).to_be_bytes());
    out.extend_from_slice(&[0; 8]);
    Some(out)
}

/// Whether `reply` can be the answer to `query`: a response carrying the query's id.
pub fn is_reply_to(query: &[u8], reply: &[u8]) -> bool {
    reply.len() >= HEADER_LEN
        && be16(query, 0) == be16(reply, 0)
        && be16(reply, 2).is_some_and(|f| f & FLAG_QR != 0)
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
