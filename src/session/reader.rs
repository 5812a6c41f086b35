//! The read side of a connection: socket bytes into a buffer, frames out of it.
//!
//! Unlike a `FramedRead` stream, filling the buffer and decoding are separate steps, so
//! the driver can wait for bytes in a `select!` (reading is cancel-safe) and then decode
//! everything that arrived in one go, handing the whole batch to the front end at once.

use super::transport::Transport;
use crate::ami::codec::{AmiCodec, Frame};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, ReadHalf};
use tokio_util::codec::Decoder;

/// Bytes asked for per read: large reads keep up with floods at few wake-ups.
pub const READ_SIZE: usize = 256 * 1024;

pub(super) struct FrameReader {
    read: ReadHalf<Transport>,
    buf: BytesMut,
    codec: AmiCodec,
    eof: bool,
    finished: bool,
}

impl FrameReader {
    pub fn new(read: ReadHalf<Transport>, max_message: usize) -> Self {
        FrameReader {
            read,
            buf: BytesMut::with_capacity(READ_SIZE),
            codec: AmiCodec::new(max_message),
            eof: false,
            finished: false,
        }
    }

    /// Reads more bytes. Cancel-safe: if dropped before completing, nothing was read.
    /// Returns 0 at end of stream.
    pub async fn fill(&mut self) -> std::io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        if self.buf.capacity() - self.buf.len() < READ_SIZE / 4 {
            self.buf.reserve(READ_SIZE);
        }
        let n = self.read.read_buf(&mut self.buf).await?;
        if n == 0 {
            self.eof = true;
        }
        Ok(n)
    }

    /// The next frame already in the buffer, without reading. `None` when more bytes are
    /// needed, or when the stream is over ([`Self::is_done`]).
    pub fn decode(&mut self) -> Option<std::io::Result<Frame>> {
        if self.finished {
            return None;
        }
        let result = if self.eof {
            self.codec.decode_eof(&mut self.buf)
        } else {
            self.codec.decode(&mut self.buf)
        };
        match result {
            Ok(Some(frame)) => Some(Ok(frame)),
            Ok(None) => {
                self.finished = self.eof;
                None
            }
            Err(e) => {
                self.finished = true;
                Some(Err(e))
            }
        }
    }

    /// Whether the stream ended and every frame was decoded.
    pub fn is_done(&self) -> bool {
        self.finished
    }

    /// The next frame, reading as needed; `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<std::io::Result<Frame>> {
        loop {
            if let Some(frame) = self.decode() {
                return Some(frame);
            }
            if self.finished {
                return None;
            }
            if let Err(e) = self.fill().await {
                self.finished = true;
                return Some(Err(e));
            }
        }
    }

    /// Bytes received but not yet part of a whole message.
    pub fn unread(&self) -> &[u8] {
        &self.buf
    }
}
