//! The network side of the demo PBX: a TCP listener, one task per client, a ticker that
//! moves the simulation on, and the flood mode for benchmarks.
//!
//! The simulator lives behind one mutex and publishes each batch of events on a bounded
//! broadcast channel; every connection filters them by its own event mask and writes
//! them between actions, as Asterisk does. A client that falls so far behind that the
//! channel overwrites its events is disconnected (Asterisk drops slow readers too), so
//! memory per connection stays bounded and no client slows another.

use super::dialect::Dialect;
use super::session::{Context, Effect, Session};
use super::sim::{Micros, Pbx, SimEvent};
use super::users::Users;
use crate::ami::message::{MAX_HEADERS, MAX_LINE};
use crate::ami::{AmiCodec, Frame, FrameError};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};
use tokio_util::codec::FramedRead;

/// How often the simulation is moved on.
const TICK: Duration = Duration::from_millis(50);
/// Batches kept for connections that have not read them yet.
const BACKLOG: usize = 4096;
/// A client that accepts nothing for this long is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Asterisk's `authtimeout`: an unauthenticated connection is closed, silently, after it.
const AUTH_TIMEOUT: Duration = Duration::from_secs(30);
/// Flood writes are cut at event boundaries into pieces of about this size.
const FLOOD_CHUNK: usize = 256 * 1024;
/// Events kept in the pre-encoded flood buffer.
const FLOOD_EVENTS: usize = 8192;

/// `--flood`: events per second to each client, or as fast as the socket takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloodRate {
    Max,
    PerSecond(u64),
}

impl std::str::FromStr for FloodRate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(FloodRate::Max);
        }
        match s.parse::<u64>() {
            Ok(n) if n > 0 => Ok(FloodRate::PerSecond(n)),
            _ => Err(format!(
                "{s:?}: expected a number of events per second, or `max`"
            )),
        }
    }
}

/// Realistic call events encoded once, replayed in a loop by the flood.
struct FloodBuffer {
    bytes: Bytes,
    /// Start of each event, then the end of the last one.
    bounds: Vec<usize>,
    /// The class of each event.
    classes: Vec<u32>,
}

impl FloodBuffer {
    fn build(seed: u64) -> Self {
        let start: Micros = 1_795_000_000_000_000;
        let mut pbx = Pbx::new(seed, 20.0, start);
        let mut events = Vec::with_capacity(FLOOD_EVENTS + 64);
        let mut t = start;
        while events.len() < FLOOD_EVENTS {
            t += 100_000;
            events.extend(pbx.advance(t).into_iter().filter(|e| e.class != 0));
        }
        Self::from_events(events.iter())
    }

    fn from_events<'a>(events: impl Iterator<Item = &'a SimEvent>) -> Self {
        let mut bytes = BytesMut::new();
        let mut bounds = vec![0];
        let mut classes = Vec::new();
        for event in events {
            bytes.extend_from_slice(&event.wire);
            bounds.push(bytes.len());
            classes.push(event.class);
        }
        FloodBuffer {
            bytes: bytes.freeze(),
            bounds,
            classes,
        }
    }

    /// The events a session with `mask` receives: this buffer when it takes them all,
    /// else a filtered copy (None when it takes none).
    fn for_mask(self: &Arc<Self>, mask: u32) -> Option<Arc<Self>> {
        if self.classes.iter().all(|c| c & mask != 0) {
            return Some(self.clone());
        }
        let kept: Vec<SimEvent> = (0..self.events())
            .filter(|&i| self.classes[i] & mask != 0)
            .map(|i| SimEvent {
                class: self.classes[i],
                wire: self.bytes.slice(self.bounds[i]..self.bounds[i + 1]),
                outcome: None,
            })
            .collect();
        (!kept.is_empty()).then(|| Arc::new(Self::from_events(kept.iter())))
    }

    fn events(&self) -> usize {
        self.bounds.len() - 1
    }

    /// How many whole events `written` bytes from event `from` hold.
    fn whole_events(&self, from: usize, written: usize) -> usize {
        let end = self.bounds[from] + written;
        self.bounds
            .partition_point(|&b| b <= end)
            .saturating_sub(from + 1)
    }

    /// Up to `max` events from event `from`, about [`FLOOD_CHUNK`] bytes at most, without
    /// wrapping: (bytes, count).
    fn chunk(&self, from: usize, max: usize) -> (Bytes, usize) {
        let start = self.bounds[from];
        let mut to = from + 1;
        let limit = from.saturating_add(max.max(1)).min(self.events());
        while to < limit && self.bounds[to + 1] - start <= FLOOD_CHUNK {
            to += 1;
        }
        (self.bytes.slice(start..self.bounds[to]), to - from)
    }
}

/// State every connection shares.
pub(crate) struct Shared {
    pbx: Mutex<Pbx>,
    users: Users,
    events: broadcast::Sender<Arc<[SimEvent]>>,
    flood: Option<(FloodRate, Arc<FloodBuffer>)>,
    flood_sent: AtomicU64,
    connections: AtomicU64,
    seed: u64,
    log: bool,
    dialect: Dialect,
}

impl Shared {
    pub(crate) fn new(
        seed: u64,
        calls_per_second: f64,
        users: Users,
        flood: Option<FloodRate>,
        log: bool,
        dialect: Dialect,
    ) -> Self {
        let (events, _) = broadcast::channel(BACKLOG);
        Shared {
            pbx: Mutex::new(Pbx::new(seed, calls_per_second, now())),
            users,
            events,
            flood: flood.map(|rate| (rate, Arc::new(FloodBuffer::build(seed)))),
            flood_sent: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            seed,
            log,
            dialect,
        }
    }

    pub(crate) fn users(&self) -> &Users {
        &self.users
    }

    pub(crate) fn flood_sent(&self) -> u64 {
        self.flood_sent.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pbx> {
        // A panic elsewhere must not take the server down with it.
        self.pbx
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves the simulation to now and hands its events to every connection. The send
    /// happens under the lock so batches keep their order.
    fn publish(&self) {
        let mut pbx = self.lock();
        let events = pbx.advance(now());
        if !events.is_empty() {
            let _ = self.events.send(events.into());
        }
    }
}

/// The wall clock in the simulator's unit.
pub(crate) fn now() -> Micros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as Micros)
}

/// Accepts clients until `shutdown` turns true, and ticks the simulation meanwhile.
pub(crate) async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let ticker = {
        let shared = shared.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(TICK);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = interval.tick() => shared.publish(),
                    _ = shutdown.changed() => break,
                }
            }
        })
    };
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(connection(shared.clone(), stream, shutdown.clone()));
                }
                Err(e) => {
                    if shared.log {
                        eprintln!("amicon serve: accept failed: {e}");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
    ticker.abort();
}

async fn write(out: &mut OwnedWriteHalf, bytes: &[u8]) -> std::io::Result<()> {
    match tokio::time::timeout(WRITE_TIMEOUT, out.write_all(bytes)).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "client stopped reading",
        )),
    }
}

/// Why a connection ended, for the serve log.
enum End {
    Closed,
    Error(std::io::Error),
    Lagged(u64),
}

async fn connection(shared: Arc<Shared>, stream: TcpStream, shutdown: watch::Receiver<bool>) {
    let remote = stream
        .peer_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let local = stream.local_addr().unwrap_or(remote);
    let number = shared.connections.fetch_add(1, Ordering::Relaxed);
    let mut flood_sent = 0u64;
    let end = serve_connection(
        &shared,
        stream,
        local,
        remote,
        number,
        shutdown,
        &mut flood_sent,
    )
    .await;
    shared.flood_sent.fetch_add(flood_sent, Ordering::Relaxed);
    if shared.log {
        let why = match end {
            End::Closed => "closed".to_string(),
            End::Error(e) => e.to_string(),
            End::Lagged(n) => format!("dropped: {n} event batches behind"),
        };
        if shared.flood.is_some() {
            eprintln!("amicon serve: {remote}: {why}; flood sent {flood_sent} events");
        } else {
            eprintln!("amicon serve: {remote}: {why}");
        }
    }
}

async fn serve_connection(
    shared: &Shared,
    stream: TcpStream,
    local: SocketAddr,
    remote: SocketAddr,
    number: u64,
    mut shutdown: watch::Receiver<bool>,
    flood_sent: &mut u64,
) -> End {
    let (read, mut out) = stream.into_split();
    // Room for 128 full lines; anything larger is answered as Asterisk answers too many lines.
    let mut frames = FramedRead::new(
        read,
        ActionCodec::new(AmiCodec::without_banner(MAX_HEADERS * MAX_LINE + 4096)),
    );
    let mut events = shared.events.subscribe();
    let mut session = Session::new(
        shared.seed ^ number.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        local,
        remote,
    );
    session.set_dialect(shared.dialect);
    if let Err(e) = write(&mut out, &shared.dialect.banner()).await {
        return End::Error(e);
    }
    let mut flooding = false;
    let mut flood_buffer: Option<Arc<FloodBuffer>> = None;
    let mut flood_at = 0usize;
    // When the paced flood (re)started and how many events had gone out by then: the
    // pace counts from the login that asked for events, not from the connection.
    let mut flood_origin = (Instant::now(), 0u64);
    let auth_deadline = tokio::time::Instant::now() + AUTH_TIMEOUT;
    let mut batch = BytesMut::new();
    loop {
        let flood_delay = match (&shared.flood, flooding) {
            (Some((FloodRate::PerSecond(rate), _)), true) => {
                let due = Duration::from_secs_f64(
                    (*flood_sent - flood_origin.1 + 1) as f64 / *rate as f64,
                );
                Some(due.saturating_sub(flood_origin.0.elapsed()))
            }
            _ => None,
        };
        tokio::select! {
            biased;
            _ = shutdown.changed() => return End::Closed,
            _ = tokio::time::sleep_until(auth_deadline), if !session.is_logged_in() => return End::Closed,
            frame = frames.next() => {
                let message = match frame {
                    None => return End::Closed,
                    Some(Err(e)) => return End::Error(e),
                    Some(Ok(Frame::Message(m))) => m,
                    Some(Ok(Frame::Error(FrameError::Oversized { .. }))) => {
                        if let Err(e) = write(&mut out, &Session::oversized()).await {
                            return End::Error(e);
                        }
                        continue;
                    }
                    Some(Ok(_)) => continue,
                };
                let effects = {
                    let mut pbx = shared.lock();
                    let mut ctx = Context { pbx: &mut pbx, users: &shared.users, now: now() };
                    session.handle(&message, &mut ctx)
                };
                for effect in effects {
                    let result = match effect {
                        Effect::Send(bytes) => write(&mut out, &bytes).await,
                        Effect::FailAndClose(bytes) => {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            let _ = write(&mut out, &bytes).await;
                            return End::Closed;
                        }
                        Effect::Close => {
                            let _ = out.shutdown().await;
                            return End::Closed;
                        }
                        Effect::EventMaskSet => {
                            flood_buffer = shared.flood.as_ref().and_then(|(_, b)| b.for_mask(session.event_mask()));
                            flooding = flood_buffer.is_some();
                            flood_at = 0;
                            flood_origin = (Instant::now(), *flood_sent);
                            Ok(())
                        }
                        Effect::Publish => {
                            shared.publish();
                            Ok(())
                        }
                        Effect::AwaitOriginate { call, action_id, limit } => {
                            match await_originate(&mut events, &session, call, flooding, limit).await {
                                Ok((success, held)) => {
                                    let mut bytes = BytesMut::from(&Session::originate_reply(action_id.as_deref(), success)[..]);
                                    bytes.extend_from_slice(&held);
                                    write(&mut out, &bytes).await
                                }
                                Err(end) => return end,
                            }
                        }
                    };
                    if let Err(e) = result {
                        return End::Error(e);
                    }
                }
                // Like `process_events()` after each action: what is queued goes out now,
                // before the next action is read.
                if !flooding {
                    batch.clear();
                    loop {
                        match events.try_recv() {
                            Ok(published) => {
                                for event in published.iter().filter(|e| session.wants(e.class)) {
                                    batch.extend_from_slice(&event.wire);
                                }
                            }
                            Err(broadcast::error::TryRecvError::Empty) => break,
                            Err(broadcast::error::TryRecvError::Lagged(n)) => return End::Lagged(n),
                            Err(broadcast::error::TryRecvError::Closed) => return End::Closed,
                        }
                    }
                    if !batch.is_empty() {
                        if let Err(e) = write(&mut out, &batch).await {
                            return End::Error(e);
                        }
                    }
                }
            }
            received = events.recv(), if !flooding => match received {
                Ok(events) => {
                    batch.clear();
                    for event in events.iter().filter(|e| session.wants(e.class)) {
                        batch.extend_from_slice(&event.wire);
                    }
                    if !batch.is_empty() {
                        if let Err(e) = write(&mut out, &batch).await {
                            return End::Error(e);
                        }
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => return End::Lagged(n),
                Err(broadcast::error::RecvError::Closed) => return End::Closed,
            },
            _ = async { if let Some(d) = flood_delay { tokio::time::sleep(d).await } }, if flooding => {
                let (Some((rate, _)), Some(buffer)) = (&shared.flood, &flood_buffer) else { continue };
                let allowed = match rate {
                    FloodRate::Max => usize::MAX,
                    FloodRate::PerSecond(r) => {
                        let due = flood_origin.1 + (flood_origin.0.elapsed().as_secs_f64() * *r as f64) as u64;
                        due.saturating_sub(*flood_sent).max(1) as usize
                    }
                };
                let (bytes, count) = buffer.chunk(flood_at, allowed);
                // Written piece by piece so that, if the client goes, the count still
                // says exactly how many whole events reached the socket.
                let mut written = 0;
                while written < bytes.len() {
                    let result = tokio::time::timeout(WRITE_TIMEOUT, out.write(&bytes[written..])).await;
                    match result {
                        Ok(Ok(n)) if n > 0 => written += n,
                        Ok(Ok(_)) => {
                            *flood_sent += buffer.whole_events(flood_at, written) as u64;
                            return End::Closed;
                        }
                        Ok(Err(e)) => {
                            *flood_sent += buffer.whole_events(flood_at, written) as u64;
                            return End::Error(e);
                        }
                        Err(_) => {
                            *flood_sent += buffer.whole_events(flood_at, written) as u64;
                            return End::Error(std::io::Error::new(std::io::ErrorKind::TimedOut, "client stopped reading"));
                        }
                    }
                }
                *flood_sent += count as u64;
                flood_at = (flood_at + count) % buffer.events();
            }
        }
    }
}

/// Reads actions as Asterisk's `get_input()` does: like [`AmiCodec`], except that a blank
/// line where an action should start is an empty action (answered `Missing action in
/// request`), not skipped.
struct ActionCodec {
    inner: AmiCodec,
    /// Inside an oversized message the codec is skipping: its blank lines are not ours.
    skipping: bool,
}

impl ActionCodec {
    fn new(inner: AmiCodec) -> Self {
        ActionCodec {
            inner,
            skipping: false,
        }
    }
}

impl tokio_util::codec::Decoder for ActionCodec {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, std::io::Error> {
        if !self.skipping {
            // The codec consumes whole messages, so here `src` starts where one would.
            let blank = match &src[..] {
                [b'\n', ..] => 1,
                [b'\r', b'\n', ..] => 2,
                _ => 0,
            };
            if blank > 0 {
                let _ = src.split_to(blank);
                return Ok(Some(Frame::Message(crate::ami::Message::parse(b""))));
            }
        }
        let frame = self.inner.decode(src)?;
        match &frame {
            Some(Frame::Error(FrameError::Oversized { .. })) => self.skipping = true,
            Some(Frame::Error(FrameError::Skipped { .. })) | Some(Frame::Message(_)) => {
                self.skipping = false
            }
            _ => {}
        }
        Ok(frame)
    }
}

/// Waits for the outcome of a synchronous Originate, holding back the events that
/// arrive meanwhile (Asterisk writes nothing to a session blocked in an action).
async fn await_originate(
    events: &mut broadcast::Receiver<Arc<[SimEvent]>>,
    session: &Session,
    call: u64,
    flooding: bool,
    limit: Duration,
) -> Result<(bool, BytesMut), End> {
    let mut held = BytesMut::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let Ok(received) = tokio::time::timeout_at(deadline, events.recv()).await else {
            return Ok((false, held));
        };
        match received {
            Ok(batch) => {
                let mut outcome = None;
                for event in batch.iter() {
                    match event.outcome {
                        Some(o) if o.call == call => outcome = Some(o.success),
                        _ if !flooding && session.wants(event.class) => {
                            held.extend_from_slice(&event.wire)
                        }
                        _ => {}
                    }
                }
                if let Some(success) = outcome {
                    return Ok((success, held));
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => return Err(End::Lagged(n)),
            Err(broadcast::error::RecvError::Closed) => return Err(End::Closed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flood_chunks_end_on_event_boundaries() {
        let buffer = FloodBuffer::build(1);
        assert!(buffer.events() >= FLOOD_EVENTS);
        let (bytes, count) = buffer.chunk(0, usize::MAX);
        assert!(count > 1 && bytes.len() <= FLOOD_CHUNK);
        assert!(bytes.starts_with(b"Event: ") && bytes.ends_with(b"\r\n\r\n"));
        assert_eq!(buffer.whole_events(3, 0), 0);
        assert_eq!(
            buffer.whole_events(3, buffer.bounds[5] - buffer.bounds[3]),
            2
        );
        assert_eq!(
            buffer.whole_events(3, buffer.bounds[5] - buffer.bounds[3] - 1),
            1
        );
        let (one, n) = buffer.chunk(5, 1);
        assert_eq!(n, 1);
        assert_eq!(one.windows(4).filter(|w| w == b"\r\n\r\n").count(), 1);
    }

    #[test]
    fn flood_rates_parse() {
        assert_eq!("max".parse::<FloodRate>(), Ok(FloodRate::Max));
        assert_eq!("5000".parse::<FloodRate>(), Ok(FloodRate::PerSecond(5000)));
        assert!("0".parse::<FloodRate>().is_err());
    }
}
