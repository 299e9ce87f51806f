//! The guest's results travel as frames on a serial line of their own
//! (`/dev/ttyS1`, a file on the host), never as free text to be scraped:
//!
//! ```text
//! @@labvm1 <message-id> <kind> <index>/<count> <crc32-hex> <chunk>
//! ```
//!
//! A message is one compact JSON value (no newline can occur in it), cut
//! into chunks at character boundaries; each chunk carries the CRC-32 of its
//! bytes. The decoder accepts frames anywhere in a line (a kernel message may
//! precede one), ignores what is not a frame, drops frames whose checksum or
//! shape is wrong, and reports messages that never arrived whole.

use std::collections::BTreeMap;

/// What starts every frame.
pub const MAGIC: &str = "@@labvm1 ";
/// Bytes of payload per frame (before the header).
pub const CHUNK: usize = 1024;

/// The frames of one message, each a line ending in `\n`.
pub fn encode(id: u32, kind: &str, payload: &str) -> Vec<String> {
    debug_assert!(!kind.contains(' ') && !payload.contains('\n'));
    let mut chunks = Vec::new();
    let mut rest = payload;
    while !rest.is_empty() || chunks.is_empty() {
        let mut end = rest.len().min(CHUNK);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        chunks.push(&rest[..end]);
        rest = &rest[end..];
    }
    let count = chunks.len();
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{MAGIC}{id} {kind} {}/{count} {:08x} {c}\n",
                i + 1,
                crc32fast::hash(c.as_bytes())
            )
        })
        .collect()
}

/// One message put back together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its kind (`hello`, `report`, `dmesg`, `done`, ...).
    pub kind: String,
    /// The JSON text.
    pub payload: String,
}

/// What the decoder made of a stream.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Whole messages, in the order their last frame arrived.
    pub messages: Vec<Message>,
    /// Frames dropped: bad checksum, bad header, or inconsistent count.
    pub bad_frames: usize,
    /// Messages of which some frames never arrived: `(id, kind, got, count)`.
    pub incomplete: Vec<(u32, String, usize, usize)>,
}

impl Decoded {
    /// The last whole message of `kind`.
    pub fn last(&self, kind: &str) -> Option<&Message> {
        self.messages.iter().rev().find(|m| m.kind == kind)
    }
}

struct Partial {
    kind: String,
    count: usize,
    chunks: BTreeMap<usize, String>,
}

/// Decode every frame in `text` (the whole data channel so far).
pub fn decode(text: &[u8]) -> Decoded {
    let text = String::from_utf8_lossy(text);
    let mut out = Decoded::default();
    let mut partial: BTreeMap<u32, Partial> = BTreeMap::new();
    let mut done: std::collections::BTreeSet<u32> = Default::default();
    for line in text.split_inclusive('\n') {
        // Only a line that ends is a frame: the last, unterminated one may
        // still be being written.
        let Some(line) = line.strip_suffix('\n') else { continue };
        let line = line.trim_end_matches('\r');
        let Some(at) = line.find(MAGIC) else { continue };
        let Some((id, kind, index, count, chunk)) = parse_frame(&line[at + MAGIC.len()..]) else {
            out.bad_frames += 1;
            continue;
        };
        if done.contains(&id) {
            continue; // a repeated frame of a finished message
        }
        let p = partial.entry(id).or_insert_with(|| Partial {
            kind: kind.to_string(),
            count,
            chunks: BTreeMap::new(),
        });
        if p.kind != kind || p.count != count {
            out.bad_frames += 1;
            continue;
        }
        p.chunks.insert(index, chunk.to_string());
        if p.chunks.len() == p.count
            && let Some(p) = partial.remove(&id)
        {
            done.insert(id);
            out.messages.push(Message {
                kind: p.kind,
                payload: p.chunks.into_values().collect(),
            });
        }
    }
    out.incomplete = partial
        .into_iter()
        .map(|(id, p)| (id, p.kind, p.chunks.len(), p.count))
        .collect();
    out
}

fn parse_frame(rest: &str) -> Option<(u32, &str, usize, usize, &str)> {
    let mut it = rest.splitn(5, ' ');
    let id = it.next()?.parse().ok()?;
    let kind = it.next()?;
    let (index, count) = it.next()?.split_once('/')?;
    let (index, count): (usize, usize) = (index.parse().ok()?, count.parse().ok()?);
    let crc = u32::from_str_radix(it.next()?, 16).ok()?;
    let chunk = it.next().unwrap_or("");
    let sane = (1..=count).contains(&index) && count <= 1 << 20 && !kind.is_empty();
    (sane && crc32fast::hash(chunk.as_bytes()) == crc).then_some((id, kind, index, count, chunk))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(frames: &[String]) -> Vec<u8> {
        frames.concat().into_bytes()
    }

    #[test]
    fn a_message_survives_chunking_and_multibyte_characters() {
        let payload = format!("\"{}\"", "é✓x".repeat(CHUNK));
        let frames = encode(7, "report", &payload);
        assert!(frames.len() > 3, "{} frames", frames.len());
        let d = decode(&stream(&frames));
        assert_eq!(
            d.messages,
            vec![Message {
                kind: "report".into(),
                payload
            }]
        );
        assert_eq!((d.bad_frames, d.incomplete.len()), (0, 0));
    }

    #[test]
    fn an_empty_payload_is_one_frame() {
        let d = decode(&stream(&encode(1, "done", "")));
        assert_eq!(d.messages.len(), 1);
        assert_eq!(d.messages[0].payload, "");
    }

    #[test]
    fn garbage_and_kernel_text_around_frames_are_ignored() {
        let mut s = b"[    1.234] random: crng init done\n\x00\xff\xfegarbage\r\n".to_vec();
        s.extend(b"[    2.0] veth: loaded");
        s.extend(stream(&encode(1, "hello", "{\"a\":1}")));
        s.extend(b"@@labvm1 nonsense\n@@labvm1 2 x 1/1 zzzz y\n");
        s.extend(
            stream(&encode(2, "done", "{}"))
                .iter()
                .flat_map(|b| if *b == b'\n' { vec![b'\r', b'\n'] } else { vec![*b] }),
        );
        let d = decode(&s);
        let kinds: Vec<&str> = d.messages.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["hello", "done"]);
        assert_eq!(d.messages[0].payload, "{\"a\":1}");
        assert_eq!(d.bad_frames, 2);
    }

    #[test]
    fn a_corrupted_chunk_is_dropped_and_its_message_is_incomplete() {
        let mut frames = encode(3, "report", &"x".repeat(3 * CHUNK));
        frames[1] = frames[1].replacen("xxxx", "xxyx", 1);
        let d = decode(&stream(&frames));
        assert!(d.messages.is_empty());
        assert_eq!(d.bad_frames, 1);
        assert_eq!(d.incomplete, vec![(3, "report".to_string(), 2, 3)]);
    }

    #[test]
    fn truncated_output_yields_what_is_whole() {
        let mut s = stream(&encode(1, "hello", "{}"));
        let report = stream(&encode(2, "report", &"y".repeat(2 * CHUNK + 10)));
        // The guest died in the middle of the second frame of the report.
        s.extend(&report[..CHUNK + 200]);
        let d = decode(&s);
        assert_eq!(d.messages.len(), 1);
        assert_eq!(d.last("hello").map(|m| m.payload.as_str()), Some("{}"));
        assert_eq!(d.incomplete, vec![(2, "report".to_string(), 1, 3)]);
        assert_eq!(d.bad_frames, 0, "an unterminated last line is not yet a frame");
    }

    #[test]
    fn frames_out_of_order_and_repeated_still_assemble() {
        let mut frames = encode(9, "dmesg", &"z".repeat(2 * CHUNK + 1));
        frames.swap(0, 2);
        frames.push(frames[1].clone());
        let d = decode(&stream(&frames));
        assert_eq!(d.messages.len(), 1);
        assert_eq!(d.messages[0].payload.len(), 2 * CHUNK + 1);
        assert_eq!(d.bad_frames, 0);
    }
}
