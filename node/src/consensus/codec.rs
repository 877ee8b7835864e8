//! Binary encodings of every consensus, sync and WAL message (network and disk input: every
//! length is bounded before allocation, every decoder consumes its input exactly).
//!
//! Integers are big-endian; a round is an i64 (`-1` = nil); a value id, address or hash is 32
//! bytes; a signature 64 bytes; byte strings and lists carry a u32 length.

use bytes::Bytes;
use malachitebft_app_channel::app::consensus::LivenessMsg;
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use malachitebft_app_channel::app::types::core::{
    CommitSignature, ExtendedCommitCertificate, NilOrVal, PolkaCertificate, PolkaSignature, Round,
    RoundCertificate, RoundCertificateType, RoundSignature, SignedMessage, ValidatorProof,
    Validity, VoteType,
};
use malachitebft_app_channel::app::types::sync;
use malachitebft_app_channel::app::types::{PeerId, ProposedValue, SignedConsensusMsg};

use super::context::{Address, Ctx, Height, Proposal, ProposalPart, Sig, Value, ValueId, Vote};

/// Largest data chunk of a streamed proposal.
pub const MAX_CHUNK: usize = 1 << 20;
/// Largest encoded block (value bytes in sync, reassembled proposals).
pub const MAX_BLOCK_BYTES: usize = 16 << 20;
/// Most signatures in any certificate.
pub const MAX_SIGNATURES: usize = 256;
/// Most decided values in one sync response.
pub const MAX_SYNC_VALUES: usize = 64;

/// A message did not decode.
#[derive(Debug, thiserror::Error)]
#[error("undecodable consensus message: {0}")]
pub struct CodecError(pub &'static str);

/// The one codec for network, sync and WAL.
#[derive(Clone, Copy, Debug, Default)]
pub struct TradelogCodec;

#[derive(Default)]
struct W(Vec<u8>);

impl W {
    fn u8(&mut self, x: u8) {
        self.0.push(x)
    }
    fn u32(&mut self, x: u32) {
        self.0.extend_from_slice(&x.to_be_bytes())
    }
    fn u64(&mut self, x: u64) {
        self.0.extend_from_slice(&x.to_be_bytes())
    }
    fn round(&mut self, r: Round) {
        self.0.extend_from_slice(&r.as_i64().to_be_bytes())
    }
    fn b32(&mut self, x: &[u8; 32]) {
        self.0.extend_from_slice(x)
    }
    fn sig(&mut self, s: &Sig) {
        self.0.extend_from_slice(&s.0)
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }
    fn value(&mut self, v: &NilOrVal<ValueId>) {
        match v {
            NilOrVal::Nil => self.u8(0),
            NilOrVal::Val(id) => {
                self.u8(1);
                self.b32(&id.0);
            }
        }
    }
    fn vote_type(&mut self, t: VoteType) {
        self.u8(match t {
            VoteType::Prevote => 0,
            VoteType::Precommit => 1,
        })
    }
    fn done(self) -> Result<Bytes, CodecError> {
        Ok(Bytes::from(self.0))
    }
}

struct R<'a>(&'a [u8]);

impl<'a> R<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.0.len() < n {
            return Err(CodecError("truncated"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, CodecError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, CodecError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    fn round(&mut self) -> Result<Round, CodecError> {
        match i64::from_be_bytes(self.array()?) {
            -1 => Ok(Round::Nil),
            v if (0..=i64::from(u32::MAX - 1)).contains(&v) => Ok(Round::new(v as u32)),
            _ => Err(CodecError("round out of range")),
        }
    }
    fn b32(&mut self) -> Result<[u8; 32], CodecError> {
        self.array()
    }
    fn sig(&mut self) -> Result<Sig, CodecError> {
        Ok(Sig(self.array()?))
    }
    fn bytes(&mut self, max: usize) -> Result<&'a [u8], CodecError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(CodecError("byte string too long"));
        }
        self.take(n)
    }
    fn count(&mut self, max: usize) -> Result<usize, CodecError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(CodecError("list too long"));
        }
        Ok(n)
    }
    fn value(&mut self) -> Result<NilOrVal<ValueId>, CodecError> {
        match self.u8()? {
            0 => Ok(NilOrVal::Nil),
            1 => Ok(NilOrVal::Val(ValueId(self.b32()?))),
            _ => Err(CodecError("bad nil/value tag")),
        }
    }
    fn vote_type(&mut self) -> Result<VoteType, CodecError> {
        match self.u8()? {
            0 => Ok(VoteType::Prevote),
            1 => Ok(VoteType::Precommit),
            _ => Err(CodecError("bad vote type")),
        }
    }
    fn end<T>(self, t: T) -> Result<T, CodecError> {
        if self.0.is_empty() {
            Ok(t)
        } else {
            Err(CodecError("trailing bytes"))
        }
    }
}

fn put_vote(w: &mut W, v: &SignedMessage<Ctx, Vote>) -> Result<(), CodecError> {
    if v.message.extension.is_some() {
        return Err(CodecError("vote extensions are not used"));
    }
    w.vote_type(v.message.typ);
    w.u64(v.message.height.0);
    w.round(v.message.round);
    w.value(&v.message.value);
    w.b32(&v.message.validator.0);
    w.sig(&v.signature);
    Ok(())
}

fn get_vote(r: &mut R<'_>) -> Result<SignedMessage<Ctx, Vote>, CodecError> {
    let typ = r.vote_type()?;
    let height = Height(r.u64()?);
    let round = r.round()?;
    let value = r.value()?;
    let validator = Address(r.b32()?);
    let sig = r.sig()?;
    Ok(SignedMessage::new(
        Vote {
            typ,
            height,
            round,
            value,
            validator,
            extension: None,
        },
        sig,
    ))
}

fn put_proposal(w: &mut W, p: &SignedMessage<Ctx, Proposal>) {
    w.u64(p.message.height.0);
    w.round(p.message.round);
    w.b32(&p.message.value.id.0);
    w.round(p.message.pol_round);
    w.b32(&p.message.proposer.0);
    w.sig(&p.signature);
}

fn get_proposal(r: &mut R<'_>) -> Result<SignedMessage<Ctx, Proposal>, CodecError> {
    let height = Height(r.u64()?);
    let round = r.round()?;
    let value = Value {
        id: ValueId(r.b32()?),
    };
    let pol_round = r.round()?;
    let proposer = Address(r.b32()?);
    let sig = r.sig()?;
    Ok(SignedMessage::new(
        Proposal {
            height,
            round,
            value,
            pol_round,
            proposer,
        },
        sig,
    ))
}

fn put_part(w: &mut W, p: &ProposalPart) {
    match p {
        ProposalPart::Init {
            height,
            round,
            pol_round,
            proposer,
        } => {
            w.u8(0);
            w.u64(height.0);
            w.round(*round);
            w.round(*pol_round);
            w.b32(&proposer.0);
        }
        ProposalPart::Data(b) => {
            w.u8(1);
            w.bytes(b);
        }
        ProposalPart::Fin => w.u8(2),
    }
}

fn get_part(r: &mut R<'_>) -> Result<ProposalPart, CodecError> {
    Ok(match r.u8()? {
        0 => ProposalPart::Init {
            height: Height(r.u64()?),
            round: r.round()?,
            pol_round: r.round()?,
            proposer: Address(r.b32()?),
        },
        1 => ProposalPart::Data(Bytes::copy_from_slice(r.bytes(MAX_CHUNK)?)),
        2 => ProposalPart::Fin,
        _ => return Err(CodecError("bad proposal part tag")),
    })
}

fn put_polka(w: &mut W, c: &PolkaCertificate<Ctx>) {
    w.u64(c.height.0);
    w.round(c.round);
    w.b32(&c.value_id.0);
    w.u32(c.polka_signatures.len() as u32);
    for s in &c.polka_signatures {
        w.b32(&s.address.0);
        w.sig(&s.signature);
    }
}

fn get_polka(r: &mut R<'_>) -> Result<PolkaCertificate<Ctx>, CodecError> {
    let height = Height(r.u64()?);
    let round = r.round()?;
    let value_id = ValueId(r.b32()?);
    let n = r.count(MAX_SIGNATURES)?;
    let mut polka_signatures = Vec::with_capacity(n);
    for _ in 0..n {
        polka_signatures.push(PolkaSignature::new(Address(r.b32()?), r.sig()?));
    }
    Ok(PolkaCertificate {
        height,
        round,
        value_id,
        polka_signatures,
    })
}

fn put_round_cert(w: &mut W, c: &RoundCertificate<Ctx>) {
    w.u64(c.height.0);
    w.round(c.round);
    w.u8(match c.cert_type {
        RoundCertificateType::Skip => 0,
        RoundCertificateType::Precommit => 1,
    });
    w.u32(c.round_signatures.len() as u32);
    for s in &c.round_signatures {
        w.vote_type(s.vote_type);
        w.value(&s.value_id);
        w.b32(&s.address.0);
        w.sig(&s.signature);
    }
}

fn get_round_cert(r: &mut R<'_>) -> Result<RoundCertificate<Ctx>, CodecError> {
    let height = Height(r.u64()?);
    let round = r.round()?;
    let cert_type = match r.u8()? {
        0 => RoundCertificateType::Skip,
        1 => RoundCertificateType::Precommit,
        _ => return Err(CodecError("bad round certificate type")),
    };
    let n = r.count(MAX_SIGNATURES * 2)?;
    let mut round_signatures = Vec::with_capacity(n);
    for _ in 0..n {
        let vote_type = r.vote_type()?;
        let value_id = r.value()?;
        let address = Address(r.b32()?);
        let signature = r.sig()?;
        round_signatures.push(RoundSignature::new(vote_type, value_id, address, signature));
    }
    Ok(RoundCertificate {
        height,
        round,
        cert_type,
        round_signatures,
    })
}

fn put_commit(w: &mut W, c: &ExtendedCommitCertificate<Ctx>) -> Result<(), CodecError> {
    w.u64(c.height.0);
    w.round(c.round);
    w.b32(&c.value_id.0);
    w.u32(c.commit_signatures.len() as u32);
    for s in &c.commit_signatures {
        if s.extension.is_some() {
            return Err(CodecError("vote extensions are not used"));
        }
        w.b32(&s.address.0);
        w.sig(&s.signature);
    }
    Ok(())
}

fn get_commit(r: &mut R<'_>) -> Result<ExtendedCommitCertificate<Ctx>, CodecError> {
    let height = Height(r.u64()?);
    let round = r.round()?;
    let value_id = ValueId(r.b32()?);
    let n = r.count(MAX_SIGNATURES)?;
    let mut sigs = Vec::with_capacity(n);
    for _ in 0..n {
        sigs.push(CommitSignature::new(Address(r.b32()?), r.sig()?));
    }
    let cert = malachitebft_app_channel::app::types::core::CommitCertificate {
        height,
        round,
        value_id,
        commit_signatures: sigs,
    };
    Ok(ExtendedCommitCertificate::from_commit_certificate_and_extensions(cert, Default::default()))
}

macro_rules! codec {
    ($t:ty, |$w:ident, $m:ident| $enc:block, |$r:ident| $dec:block) => {
        impl Codec<$t> for TradelogCodec {
            type Error = CodecError;
            fn encode(&self, $m: &$t) -> Result<Bytes, CodecError> {
                let mut $w = W::default();
                $enc;
                $w.done()
            }
            fn decode(&self, b: Bytes) -> Result<$t, CodecError> {
                let mut $r = R(&b);
                let v = $dec;
                $r.end(v)
            }
        }
    };
}

codec!(ProposalPart, |w, m| { put_part(&mut w, m) }, |r| {
    get_part(&mut r)?
});

codec!(
    SignedConsensusMsg<Ctx>,
    |w, m| {
        match m {
            SignedConsensusMsg::Vote(v) => {
                w.u8(0);
                put_vote(&mut w, v)?;
            }
            SignedConsensusMsg::Proposal(p) => {
                w.u8(1);
                put_proposal(&mut w, p);
            }
        }
    },
    |r| {
        match r.u8()? {
            0 => SignedConsensusMsg::Vote(get_vote(&mut r)?),
            1 => SignedConsensusMsg::Proposal(get_proposal(&mut r)?),
            _ => return Err(CodecError("bad consensus message tag")),
        }
    }
);

codec!(
    LivenessMsg<Ctx>,
    |w, m| {
        match m {
            LivenessMsg::Vote(v) => {
                w.u8(0);
                put_vote(&mut w, v)?;
            }
            LivenessMsg::PolkaCertificate(c) => {
                w.u8(1);
                put_polka(&mut w, c);
            }
            LivenessMsg::SkipRoundCertificate(c) => {
                w.u8(2);
                put_round_cert(&mut w, c);
            }
        }
    },
    |r| {
        match r.u8()? {
            0 => LivenessMsg::Vote(get_vote(&mut r)?),
            1 => LivenessMsg::PolkaCertificate(get_polka(&mut r)?),
            2 => LivenessMsg::SkipRoundCertificate(get_round_cert(&mut r)?),
            _ => return Err(CodecError("bad liveness message tag")),
        }
    }
);

codec!(
    StreamMessage<ProposalPart>,
    |w, m| {
        w.bytes(&m.stream_id.to_bytes());
        w.u64(m.sequence);
        match &m.content {
            StreamContent::Data(p) => {
                w.u8(0);
                put_part(&mut w, p);
            }
            StreamContent::Fin => w.u8(1),
        }
    },
    |r| {
        let stream_id = StreamId::new(Bytes::copy_from_slice(r.bytes(64)?));
        let sequence = r.u64()?;
        let content = match r.u8()? {
            0 => StreamContent::Data(get_part(&mut r)?),
            1 => StreamContent::Fin,
            _ => return Err(CodecError("bad stream content tag")),
        };
        StreamMessage::new(stream_id, sequence, content)
    }
);

codec!(
    ValidatorProof<Ctx>,
    |w, m| {
        w.bytes(&m.public_key);
        w.bytes(&m.peer_id);
        w.sig(&m.signature);
    },
    |r| {
        let public_key = r.bytes(64)?.to_vec();
        let peer_id = r.bytes(128)?.to_vec();
        ValidatorProof::new(public_key, peer_id, r.sig()?)
    }
);

codec!(
    sync::Status<Ctx>,
    |w, m| {
        w.bytes(&m.peer_id.to_bytes());
        w.u64(m.tip_height.0);
        w.u64(m.history_min_height.0);
    },
    |r| {
        let peer_id = PeerId::from_bytes(r.bytes(128)?).map_err(|_| CodecError("bad peer id"))?;
        sync::Status {
            peer_id,
            tip_height: Height(r.u64()?),
            history_min_height: Height(r.u64()?),
        }
    }
);

codec!(
    sync::Request<Ctx>,
    |w, m| {
        let sync::Request::ValueRequest(req) = m;
        w.u64(req.range.start().0);
        w.u64(req.range.end().0);
    },
    |r| {
        let start = Height(r.u64()?);
        let end = Height(r.u64()?);
        sync::Request::ValueRequest(malachitebft_sync::ValueRequest::new(start..=end))
    }
);

codec!(
    sync::Response<Ctx>,
    |w, m| {
        let sync::Response::ValueResponse(resp) = m;
        w.u64(resp.start_height.0);
        w.u32(resp.values.len() as u32);
        for v in &resp.values {
            w.bytes(&v.value_bytes);
            put_commit(&mut w, &v.certificate)?;
        }
    },
    |r| {
        let start = Height(r.u64()?);
        let n = r.count(MAX_SYNC_VALUES)?;
        let mut values = Vec::with_capacity(n);
        for _ in 0..n {
            let bytes = Bytes::copy_from_slice(r.bytes(MAX_BLOCK_BYTES)?);
            let cert = get_commit(&mut r)?;
            values.push(sync::RawDecidedValue::new(bytes, cert));
        }
        sync::Response::ValueResponse(malachitebft_sync::ValueResponse::new(start, values))
    }
);

impl HasEncodedLen<sync::Response<Ctx>> for TradelogCodec {
    fn encoded_len(&self, m: &sync::Response<Ctx>) -> Result<usize, CodecError> {
        Ok(self.encode(m)?.len())
    }
}

codec!(
    ProposedValue<Ctx>,
    |w, m| {
        w.u64(m.height.0);
        w.round(m.round);
        w.round(m.valid_round);
        w.b32(&m.proposer.0);
        w.b32(&m.value.id.0);
        w.u8(u8::from(m.validity.is_valid()));
    },
    |r| {
        ProposedValue {
            height: Height(r.u64()?),
            round: r.round()?,
            valid_round: r.round()?,
            proposer: Address(r.b32()?),
            value: Value {
                id: ValueId(r.b32()?),
            },
            validity: Validity::from_bool(r.u8()? == 1),
        }
    }
);

codec!(
    PolkaCertificate<Ctx>,
    |w, m| { put_polka(&mut w, m) },
    |r| { get_polka(&mut r)? }
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::context::Proposal as P;

    fn vote(typ: VoteType, value: NilOrVal<ValueId>) -> SignedMessage<Ctx, Vote> {
        SignedMessage::new(
            Vote {
                typ,
                height: Height(7),
                round: Round::new(2),
                value,
                validator: Address([3u8; 32]),
                extension: None,
            },
            Sig([9u8; 64]),
        )
    }

    /// Round trip, then every truncation and a flipped tag must fail cleanly (no panic).
    fn check<T>(msg: T)
    where
        T: PartialEq + std::fmt::Debug,
        TradelogCodec: Codec<T, Error = CodecError>,
    {
        let bytes = TradelogCodec.encode(&msg).unwrap();
        assert_eq!(TradelogCodec.decode(bytes.clone()).unwrap(), msg);
        for n in 0..bytes.len() {
            assert!(
                TradelogCodec.decode(bytes.slice(..n)).is_err(),
                "truncated to {n} decoded"
            );
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(
            TradelogCodec.decode(Bytes::from(longer)).is_err(),
            "trailing byte accepted"
        );
        let mut bad = bytes.to_vec();
        bad[0] = 0xee;
        let _ = TradelogCodec.decode(Bytes::from(bad));
    }

    #[test]
    fn every_message_round_trips_and_truncation_fails() {
        check(SignedConsensusMsg::Vote(vote(
            VoteType::Prevote,
            NilOrVal::Nil,
        )));
        check(SignedConsensusMsg::Vote(vote(
            VoteType::Precommit,
            NilOrVal::Val(ValueId([1; 32])),
        )));
        check(SignedConsensusMsg::Proposal(SignedMessage::new(
            P {
                height: Height(3),
                round: Round::new(0),
                value: Value {
                    id: ValueId([4; 32]),
                },
                pol_round: Round::Nil,
                proposer: Address([5; 32]),
            },
            Sig([6; 64]),
        )));
        check(ProposalPart::Init {
            height: Height(1),
            round: Round::new(1),
            pol_round: Round::new(0),
            proposer: Address([2; 32]),
        });
        check(ProposalPart::Data(Bytes::from_static(b"block bytes")));
        check(ProposalPart::Fin);
        check(StreamMessage::new(
            StreamId::new(Bytes::from_static(b"h1r0")),
            3,
            StreamContent::Data(ProposalPart::Data(Bytes::from_static(b"x"))),
        ));
        check(StreamMessage::<ProposalPart>::new(
            StreamId::new(Bytes::from_static(b"h1r0")),
            4,
            StreamContent::Fin,
        ));
        check(LivenessMsg::Vote(vote(VoteType::Prevote, NilOrVal::Nil)));
        check(PolkaCertificate::<Ctx> {
            height: Height(9),
            round: Round::new(1),
            value_id: ValueId([8; 32]),
            polka_signatures: vec![PolkaSignature::new(Address([1; 32]), Sig([2; 64]))],
        });
        check(ProposedValue::<Ctx> {
            height: Height(2),
            round: Round::new(0),
            valid_round: Round::Nil,
            proposer: Address([7; 32]),
            value: Value {
                id: ValueId([3; 32]),
            },
            validity: Validity::Valid,
        });
    }

    #[test]
    fn declared_lengths_are_bounded_before_allocation() {
        // A data part claiming 4 GiB, and a polka certificate claiming 2^32-1 signatures.
        let mut huge = vec![1u8];
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            Codec::<ProposalPart>::decode(&TradelogCodec, Bytes::from(huge)),
            Err(CodecError("byte string too long"))
        ));
        let mut many = Vec::new();
        many.extend_from_slice(&1u64.to_be_bytes());
        many.extend_from_slice(&0i64.to_be_bytes());
        many.extend_from_slice(&[0u8; 32]);
        many.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            Codec::<PolkaCertificate<Ctx>>::decode(&TradelogCodec, Bytes::from(many)),
            Err(CodecError("list too long"))
        ));
        // An Init part whose round is beyond u32 is refused.
        let mut r = vec![0u8];
        r.extend_from_slice(&1u64.to_be_bytes());
        r.extend_from_slice(&(i64::MAX).to_be_bytes());
        assert!(matches!(
            Codec::<ProposalPart>::decode(&TradelogCodec, Bytes::from(r)),
            Err(CodecError("round out of range"))
        ));
    }
}
