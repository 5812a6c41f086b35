//! Shared by the demo tests: a raw-bytes AMI client, vector parsing, key comparison.
#![allow(dead_code)]

use amicon::ami::{AmiCodec, Frame, Message};
use amicon::demo::{self, DemoOptions, DemoServer, Users};
use amicon::secret::Secret;
use bytes::BytesMut;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder;

pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A quiet demo server (no background calls) that knows the vectors' user admin/amp111.
pub async fn quiet_server() -> DemoServer {
    let mut users = Users::default();
    users.add("admin", Secret::new("amp111".into()));
    demo::start(DemoOptions {
        calls_per_second: 0.0,
        seed: 42,
        users,
        ..Default::default()
    })
    .await
    .expect("demo server starts")
}

pub fn vector(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn demo_fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/demo/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every message of a capture (banner dropped).
pub fn messages(bytes: &[u8]) -> Vec<Message> {
    let mut codec = AmiCodec::default();
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Ok(Some(frame)) = codec.decode(&mut buf) {
        if let Frame::Message(m) = frame {
            out.push(m);
        }
    }
    out
}

/// The `.actions` file split into single actions, each with its blank line.
pub fn actions(bytes: &[u8]) -> Vec<Vec<u8>> {
    let text = bytes.to_vec();
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(i) = find(&text[start..], b"\r\n\r\n") {
        out.push(text[start..start + i + 4].to_vec());
        start += i + 4;
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The header keys of a message, in order.
pub fn keys(m: &Message) -> Vec<String> {
    m.headers()
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .collect()
}

pub fn name(m: &Message) -> String {
    m.get_str("Event")
        .or_else(|| {
            m.get_str("Response")
                .map(|r| format!("Response:{r}").into())
        })
        .unwrap_or_default()
        .into_owned()
}

/// A raw AMI client over TCP.
pub struct Client {
    stream: TcpStream,
    codec: AmiCodec,
    buf: BytesMut,
    pub banner: Vec<u8>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connects");
        let mut client = Client {
            stream,
            codec: AmiCodec::default(),
            buf: BytesMut::new(),
            banner: Vec::new(),
        };
        match client.next_frame().await {
            Some(Frame::Banner(b)) => client.banner = b.to_vec(),
            other => panic!("expected a banner, got {other:?}"),
        }
        client
    }

    /// This client's own address (what the server calls its RemoteAddress).
    pub fn local_addr(&self) -> SocketAddr {
        self.stream.local_addr().expect("a connected socket")
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    async fn next_frame(&mut self) -> Option<Frame> {
        loop {
            if let Some(frame) = self.codec.decode(&mut self.buf).expect("decode") {
                return Some(frame);
            }
            let mut chunk = [0u8; 65536];
            let n = tokio::time::timeout(READ_TIMEOUT, self.stream.read(&mut chunk))
                .await
                .expect("the server answers in time")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The next message, or None at EOF.
    pub async fn next(&mut self) -> Option<Message> {
        loop {
            match self.next_frame().await? {
                Frame::Message(m) => return Some(m),
                _ => continue,
            }
        }
    }

    /// Everything until the server closes.
    pub async fn until_close(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        while let Some(m) = self.next().await {
            out.push(m);
        }
        out
    }

    /// Messages until one matches `done` (included).
    pub async fn until(&mut self, mut done: impl FnMut(&Message) -> bool) -> Vec<Message> {
        let mut out = Vec::new();
        while let Some(m) = self.next().await {
            let stop = done(&m);
            out.push(m);
            if stop {
                return out;
            }
        }
        panic!("connection closed before the expected message; got {out:?}");
    }

    /// Sends one action and returns the messages up to its response (or list end).
    pub async fn action(&mut self, action: &[u8]) -> Vec<Message> {
        self.send(action).await;
        let sent = Message::parse(action);
        let id = sent.get("ActionID").map(<[u8]>::to_vec);
        let mut list = false;
        self.until(|m| {
            if m.get("ActionID").map(<[u8]>::to_vec) != id {
                return false;
            }
            if m.is("EventList", "start") {
                list = true;
                return false;
            }
            if list {
                return m.is("EventList", "Complete");
            }
            m.get("Event").is_none()
        })
        .await
    }
}

/// `md5(challenge + secret)` in lowercase hex.
pub fn md5_key(challenge: &[u8], secret: &str) -> String {
    amicon::ami::auth::md5_key(challenge, &Secret::new(secret.into()))
}

/// Key sequences of two message lists, side by side, for assertion messages.
pub fn describe(ours: &[Message], theirs: &[Message]) -> String {
    let mut s = String::new();
    for i in 0..ours.len().max(theirs.len()) {
        s.push_str(&format!(
            "#{i}\n  ours:   {:?}\n  theirs: {:?}\n",
            ours.get(i).map(keys),
            theirs.get(i).map(keys)
        ));
    }
    s
}

/// Asserts the two lists hold the same messages, key for key, in the same order.
pub fn assert_same_keys(ours: &[Message], theirs: &[Message]) {
    let a: Vec<Vec<String>> = ours.iter().map(keys).collect();
    let b: Vec<Vec<String>> = theirs.iter().map(keys).collect();
    assert_eq!(a, b, "\n{}", describe(ours, theirs));
}
