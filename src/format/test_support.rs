//! Shared helpers for the format tests: messages decoded from the captured vectors,
//! and stream entries at one fixed time.

pub(crate) use super::{json_line, summary, Charset};
pub(crate) use crate::ami::{Kind, Message};
pub(crate) use crate::session::event::{
    ActionError, EndReason, Link, ServerInfo, SessionEvent, Stamped,
};
pub(crate) use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ami::{AmiCodec, Frame};
use bytes::BytesMut;
use tokio_util::codec::Decoder;

pub(crate) fn capture(name: &str) -> Vec<Message> {
    let bytes = std::fs::read(format!("tests/fixtures/vectors/{name}")).unwrap();
    let mut buf = BytesMut::from(&bytes[..]);
    let mut codec = AmiCodec::default();
    let mut out = Vec::new();
    while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
        if let Frame::Message(m) = frame {
            out.push(m);
        }
    }
    out
}

pub(crate) fn first_event<'a>(messages: &'a [Message], name: &str) -> &'a Message {
    messages
        .iter()
        .find(|m| m.event_name() == Some(name.as_bytes()))
        .unwrap_or_else(|| panic!("{name}"))
}

pub(crate) fn fields(msg: &Message) -> String {
    let s = summary(msg);
    format!(
        "{} {}",
        String::from_utf8_lossy(&s.name),
        s.fields_text(Charset::UTF8)
    )
}

pub(crate) fn at(secs: u64, micros: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(secs, micros * 1000)
}

pub(crate) fn stamped(event: SessionEvent) -> Stamped {
    // 2026-11-28T20:01:02.123456Z
    Stamped {
        at: at(1_795_896_062, 123_456),
        event,
    }
}

pub(crate) fn received(message: Message, link: Link) -> Stamped {
    stamped(SessionEvent::Received {
        message,
        link,
        internal: false,
    })
}
