//! The byte form of a block in proposal streams and value sync.
//!
//! ```text
//! "TLB1" || u32 head_len || head JSON || u32 count || count × (id[32] || sig[64] || u32 len || event JSON)
//! ```
//!
//! Integers are big-endian. Each event travels with its id and signature in front of its wire
//! JSON, so a receiver that already holds that exact event (same id, same signature: admitted
//! to its mempool, signature verified) takes its own copy instead of parsing the JSON again.
//! An event it does not hold is parsed, and its id and signature must be the ones in front.
//! Every length is checked against what is left and against its limit before allocating.

use tradelog_protocol::event::MAX_EVENT_JSON_BYTES;
use tradelog_protocol::{Event, EventId, Hash, Head, Signature};

use super::Block;

/// Leading bytes of an encoded block (format version 1).
const MAGIC: &[u8; 4] = b"TLB1";
/// Largest head JSON accepted.
const MAX_HEAD_BYTES: usize = 4096;
/// Bytes of an event record besides its JSON.
const EVENT_OVERHEAD: usize = 32 + 64 + 4;

/// Why block bytes do not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockCodecError {
    /// Not a block of this format.
    #[error("block bytes do not start with the format tag")]
    Magic,
    /// The bytes end inside a field.
    #[error("block bytes end inside {0}")]
    Truncated(&'static str),
    /// A length is over its limit or over what is left.
    #[error("block {what}: {size} is over the limit {max}")]
    TooLarge {
        /// Which field.
        what: &'static str,
        /// The announced size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The head does not parse.
    #[error("block head: {0}")]
    Head(String),
    /// An event does not parse.
    #[error("block event {index}: {reason}")]
    Event {
        /// Position in the block.
        index: usize,
        /// Why.
        reason: String,
    },
    /// An event's JSON is not the event named by the id and signature in front of it.
    #[error("block event {index}: its JSON does not match the id and signature in front of it")]
    Mismatch {
        /// Position in the block.
        index: usize,
    },
    /// Bytes after the last event.
    #[error("{0} bytes after the last event")]
    Trailing(usize),
}

/// Encodes a block.
pub fn encode(block: &Block) -> Result<Vec<u8>, BlockCodecError> {
    let head = serde_json::to_vec(&block.head).map_err(|e| BlockCodecError::Head(e.to_string()))?;
    let size = MAGIC.len()
        + 8
        + head.len()
        + block
            .events
            .iter()
            .map(|e| EVENT_OVERHEAD + e.wire().len())
            .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(MAGIC);
    put_len(&mut out, head.len(), "head", MAX_HEAD_BYTES)?;
    out.extend_from_slice(&head);
    put_len(
        &mut out,
        block.events.len(),
        "event count",
        u32::MAX as usize,
    )?;
    for e in &block.events {
        out.extend_from_slice(e.id().as_bytes());
        out.extend_from_slice(&e.sig().to_bytes());
        put_len(&mut out, e.wire().len(), "event", MAX_EVENT_JSON_BYTES)?;
        out.extend_from_slice(e.wire());
    }
    Ok(out)
}

fn put_len(
    out: &mut Vec<u8>,
    len: usize,
    what: &'static str,
    max: usize,
) -> Result<(), BlockCodecError> {
    let n = u32::try_from(len)
        .ok()
        .filter(|_| len <= max)
        .ok_or(BlockCodecError::TooLarge {
            what,
            size: len,
            max,
        })?;
    out.extend_from_slice(&n.to_be_bytes());
    Ok(())
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], BlockCodecError> {
        if self.bytes.len() < n {
            return Err(BlockCodecError::Truncated(what));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], BlockCodecError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    /// A u32 length, at most `max` and at most what is left divided by `unit`.
    fn len(
        &mut self,
        what: &'static str,
        max: usize,
        unit: usize,
    ) -> Result<usize, BlockCodecError> {
        let n = u32::from_be_bytes(self.array::<4>(what)?) as usize;
        let max = max.min(self.bytes.len() / unit.max(1));
        if n > max {
            return Err(BlockCodecError::TooLarge { what, size: n, max });
        }
        Ok(n)
    }
}

/// Decodes a block. `known` returns this node's copy of an event, given its id and signature,
/// if it holds exactly that event; any other event is parsed from its JSON.
pub fn decode(
    bytes: &[u8],
    known: impl Fn(&EventId, &Signature) -> Option<Event>,
) -> Result<Block, BlockCodecError> {
    let mut r = Reader { bytes };
    if r.take(MAGIC.len(), "format tag")? != MAGIC {
        return Err(BlockCodecError::Magic);
    }
    let head_len = r.len("head", MAX_HEAD_BYTES, 1)?;
    let head: Head = serde_json::from_slice(r.take(head_len, "head")?)
        .map_err(|e| BlockCodecError::Head(e.to_string()))?;
    let count = r.len("event count", usize::MAX, EVENT_OVERHEAD)?;
    let mut records: Vec<(Hash, Signature, &[u8])> = Vec::with_capacity(count);
    for _ in 0..count {
        let id = Hash(r.array::<32>("event id")?);
        let sig = Signature::from_bytes(&r.array::<64>("event signature")?);
        let len = r.len("event", MAX_EVENT_JSON_BYTES, 1)?;
        records.push((id, sig, r.take(len, "event")?));
    }
    if !r.bytes.is_empty() {
        return Err(BlockCodecError::Trailing(r.bytes.len()));
    }
    // Events this node holds are taken as they are; the others are parsed, on every core when
    // there are many (a node catching up parses whole blocks of events it never saw).
    let held: Vec<Option<Event>> = records.iter().map(|(id, sig, _)| known(id, sig)).collect();
    let parse = |index: usize| -> Result<Event, BlockCodecError> {
        let (id, sig, json) = &records[index];
        let e = Event::from_json(json).map_err(|e| BlockCodecError::Event {
            index,
            reason: e.to_string(),
        })?;
        if e.id() != *id || e.sig() != sig {
            return Err(BlockCodecError::Mismatch { index });
        }
        Ok(e)
    };
    let missing: Vec<usize> = (0..count).filter(|&i| held[i].is_none()).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parsed: Vec<Result<Event, BlockCodecError>> = if missing.len() < 256 || threads < 2 {
        missing.iter().map(|&i| parse(i)).collect()
    } else {
        let per = missing.len().div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = missing
                .chunks(per)
                .map(|chunk| s.spawn(|| chunk.iter().map(|&i| parse(i)).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join().unwrap_or_else(|_| {
                        vec![Err(BlockCodecError::Event {
                            index: 0,
                            reason: "a parser thread panicked".into(),
                        })]
                    })
                })
                .collect()
        })
    };
    let mut parsed = parsed.into_iter();
    let mut events = Vec::with_capacity(count);
    for h in held {
        match h {
            Some(e) => events.push(e),
            None => events.push(parsed.next().ok_or(BlockCodecError::Truncated("event"))??),
        }
    }
    Ok(Block { head, events })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradelog_protocol::sample::{consignment_route, SampleNetwork};
    use tradelog_protocol::LedgerState;

    fn block() -> Block {
        let net = SampleNetwork::new(4).unwrap();
        let events = consignment_route(&net, 1, 1_767_225_600_000).unwrap();
        let t = events.iter().map(|e| e.body().time).max().unwrap();
        let state = LedgerState::new(&net.genesis);
        let head = state
            .preview_block(&events, t, &|_: &EventId| false)
            .unwrap();
        Block { head, events }
    }

    fn none(_: &EventId, _: &Signature) -> Option<Event> {
        None
    }

    #[test]
    fn round_trip_parsed_and_from_known_events() {
        let b = block();
        let bytes = encode(&b).unwrap();
        assert_eq!(decode(&bytes, none).unwrap(), b);
        let pool = b.events.clone();
        let known = |id: &EventId, sig: &Signature| {
            pool.iter()
                .find(|e| &e.id() == id && e.sig() == sig)
                .cloned()
        };
        assert_eq!(decode(&bytes, known).unwrap(), b);
        let empty = Block {
            head: b.head.clone(),
            events: Vec::new(),
        };
        assert_eq!(decode(&encode(&empty).unwrap(), none).unwrap(), empty);
    }

    #[test]
    fn every_truncation_and_trailing_bytes_are_refused() {
        let bytes = encode(&block()).unwrap();
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n], none).is_err(), "prefix of {n} bytes");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer, none), Err(BlockCodecError::Trailing(1)));
        let mut other = bytes;
        other[0] = b'X';
        assert_eq!(decode(&other, none), Err(BlockCodecError::Magic));
    }

    #[test]
    fn huge_counts_and_lengths_are_refused_before_allocating() {
        let b = block();
        let bytes = encode(&b).unwrap();
        let head_len = u32::from_be_bytes(bytes[4..8].try_into().unwrap()) as usize;
        let count_at = 8 + head_len;
        let mut huge = bytes.clone();
        huge[count_at..count_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            decode(&huge, none),
            Err(BlockCodecError::TooLarge {
                what: "event count",
                ..
            })
        ));
        let len_at = count_at + 4 + 96;
        let mut long = bytes;
        long[len_at..len_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            decode(&long, none),
            Err(BlockCodecError::TooLarge { what: "event", .. })
        ));
    }

    #[test]
    fn json_that_is_not_the_announced_event_is_refused() {
        let b = block();
        let mut swapped = b.clone();
        swapped.events.swap(0, 1);
        let bytes = encode(&b).unwrap();
        let other = encode(&swapped).unwrap();
        // The first record's id and signature with the second event's JSON.
        let head_len = u32::from_be_bytes(bytes[4..8].try_into().unwrap()) as usize;
        let first = 8 + head_len + 4;
        let first_json_len =
            u32::from_be_bytes(bytes[first + 96..first + 100].try_into().unwrap()) as usize;
        let other_json_len =
            u32::from_be_bytes(other[first + 96..first + 100].try_into().unwrap()) as usize;
        let mut forged = bytes[..first + 96].to_vec();
        forged.extend_from_slice(&other[first + 96..first + 100 + other_json_len]);
        forged.extend_from_slice(&bytes[first + 100 + first_json_len..]);
        assert_eq!(
            decode(&forged, none),
            Err(BlockCodecError::Mismatch { index: 0 })
        );
    }
}
