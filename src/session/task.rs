//! The session driver: the one task that owns the socket.
//!
//! It connects, reads the banner, logs in, then loops: read frames (publishing each
//! batch to the front end without ever waiting for it: Asterisk drops a client whose
//! socket stalls 100 ms), send the front ends' actions, keep the connection alive with
//! `Ping`, expire actions nobody answered. Writes go through a separate writer task so a
//! slow write can never stop the reading. After a lost connection it reconnects with a
//! capped, jittered backoff and records the gap; actions are never re-sent.

use super::correlate::{Correlator, Finished, Purpose, ReplySender};
use super::event::{ActionError, EndReason, Link, ServerInfo, SessionEvent, SessionState};
use super::queue::Publisher;
use super::reader::FrameReader;
use super::transport::{self, ConnectError, Transport};
use super::{Command, SessionConfig};
use crate::ami::codec::{Frame, TruncatedMessage};
use crate::ami::{auth, Action, AmiCodec, AuthMethod, Message};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
// tokio's clock (not std's): action and keepalive deadlines then follow a paused test clock.
use tokio::io::{AsyncWriteExt, WriteHalf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::codec::Encoder;

type Commands = mpsc::UnboundedReceiver<Command>;

/// Frames handled per wake-up before the batch is published.
const BATCH: usize = 2048;
/// How long a Logoff may take before we close anyway.
const LOGOFF_GRACE: Duration = Duration::from_secs(3);
/// Most bytes of a broken message kept in a protocol-error entry.
const ERROR_PREVIEW: usize = 64 * 1024;

/// What to do with an action that arrives while the session is not logged in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WhileDown {
    /// Keep it for when the login completes (connecting, logging in).
    Hold,
    /// Refuse it at once (waiting to reconnect).
    Refuse,
}

/// How a connected session ended.
enum DriveEnd {
    LoggedOff,
    Lost(String),
}

/// Why connecting or logging in did not give a session.
enum LoginFailure {
    /// Worth another attempt (network trouble).
    Transient(EndReason),
    /// Another attempt would fail the same way (credentials, not AMI, TLS trust).
    Fatal(EndReason),
    /// The front end asked to stop.
    Stopped,
}

struct Connection {
    reader: FrameReader,
    writer: mpsc::UnboundedSender<Bytes>,
    writer_task: JoinHandle<std::io::Result<()>>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.writer_task.abort();
    }
}

struct Driver {
    config: SessionConfig,
    commands: Commands,
    out: Publisher,
    tag: Arc<str>,
    counter: u64,
    /// Actions received before the session was logged in, sent once it is.
    held: VecDeque<Command>,
    /// Front ends waiting for the session to end after asking to log off.
    logoff_waiters: Vec<tokio::sync::oneshot::Sender<()>>,
    encoder: AmiCodec,
}

pub(super) async fn run(config: SessionConfig, commands: Commands, out: Publisher, tag: Arc<str>) {
    let mut driver = Driver {
        config,
        commands,
        out,
        tag,
        counter: 0,
        held: VecDeque::new(),
        logoff_waiters: Vec::new(),
        encoder: AmiCodec::default(),
    };
    let reason = driver.run().await;
    driver.fail_held(ActionError::SessionEnded);
    driver
        .out
        .publish(SessionEvent::State(SessionState::Ended(reason)));
    driver.out.close();
    for waiter in driver.logoff_waiters.drain(..) {
        let _ = waiter.send(());
    }
}

impl Driver {
    async fn run(&mut self) -> EndReason {
        let mut attempt: u32 = 0;
        let mut ever_logged_in = false;
        let mut gap: Option<(SystemTime, String)> = None;
        loop {
            attempt += 1;
            self.out
                .publish(SessionEvent::State(SessionState::Connecting { attempt }));
            let failure = match self.connect_and_login().await {
                Ok(conn) => {
                    ever_logged_in = true;
                    attempt = 0;
                    if let Some((from, reason)) = gap.take() {
                        self.out.publish(SessionEvent::Gap {
                            from,
                            to: SystemTime::now(),
                            reason,
                        });
                    }
                    match self.drive(conn).await {
                        DriveEnd::LoggedOff => return EndReason::LoggedOff,
                        DriveEnd::Lost(reason) => {
                            gap = Some((SystemTime::now(), reason.clone()));
                            if !self.config.reconnect {
                                return EndReason::ConnectionLost(reason);
                            }
                            EndReason::ConnectionLost(reason)
                        }
                    }
                }
                Err(LoginFailure::Stopped) => return EndReason::LoggedOff,
                Err(LoginFailure::Fatal(reason)) => return reason,
                Err(LoginFailure::Transient(reason)) => {
                    let may_retry = if ever_logged_in {
                        self.config.reconnect
                    } else {
                        self.config.retry_first_connect
                    };
                    if !may_retry {
                        return reason;
                    }
                    if gap.is_none() && ever_logged_in {
                        gap = Some((SystemTime::now(), reason.to_string()));
                    }
                    reason
                }
            };
            // Actions typed while we were down are refused, not kept for later.
            self.fail_held(ActionError::NotConnected);
            let delay = backoff(attempt.max(1), self.config.max_reconnect_delay);
            self.out
                .publish(SessionEvent::State(SessionState::Reconnecting {
                    delay,
                    attempt: attempt.max(1),
                    reason: failure.to_string(),
                }));
            if self
                .wait_refusing(tokio::time::sleep(delay))
                .await
                .is_none()
            {
                return EndReason::LoggedOff;
            }
        }
    }

    fn next_internal_id(&mut self) -> String {
        self.counter += 1;
        format!("{}-i{}", self.tag, self.counter)
    }

    fn fail_held(&mut self, error: ActionError) {
        while let Some(cmd) = self.held.pop_front() {
            match cmd {
                Command::Send {
                    action,
                    action_id,
                    reply,
                } => {
                    self.refuse(&action, action_id, reply, error.clone());
                }
                Command::Logoff { done } => self.logoff_waiters.push(done),
            }
        }
    }

    fn refuse(
        &self,
        action: &Action,
        action_id: String,
        reply: Option<ReplySender>,
        error: ActionError,
    ) {
        let name = action.name().unwrap_or_default();
        if let Some(tx) = reply {
            let _ = tx.send(Err(error.clone()));
        }
        self.out.publish(SessionEvent::ActionFailed {
            action_id,
            name,
            error,
        });
    }

    /// Runs `fut` while keeping the command channel served: actions are held for after
    /// login, a Logoff request stops everything (`None`).
    async fn while_holding<T>(&mut self, fut: impl Future<Output = T>) -> Option<T> {
        self.serving_commands(fut, WhileDown::Hold).await
    }

    /// Like [`Self::while_holding`], but actions are refused at once (we are down).
    async fn wait_refusing<T>(&mut self, fut: impl Future<Output = T>) -> Option<T> {
        self.serving_commands(fut, WhileDown::Refuse).await
    }

    async fn serving_commands<T>(
        &mut self,
        fut: impl Future<Output = T>,
        policy: WhileDown,
    ) -> Option<T> {
        tokio::pin!(fut);
        loop {
            tokio::select! {
                value = &mut fut => return Some(value),
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Logoff { done }) => {
                        self.logoff_waiters.push(done);
                        return None;
                    }
                    Some(Command::Send { action, action_id, reply }) if policy == WhileDown::Refuse => {
                        self.refuse(&action, action_id, reply, ActionError::NotConnected);
                    }
                    Some(cmd) => self.held.push_back(cmd),
                    None => return None,
                },
            }
        }
    }

    async fn connect_and_login(&mut self) -> Result<Connection, LoginFailure> {
        let endpoint = self.config.endpoint.clone();
        let tls = self.config.tls.clone();
        let connected = self
            .while_holding(transport::connect(
                &endpoint,
                &tls,
                self.config.connect_timeout,
            ))
            .await
            .ok_or(LoginFailure::Stopped)?;
        let transport = match connected {
            Ok(t) => t,
            Err(ConnectError::Connect(why)) => {
                return Err(LoginFailure::Transient(EndReason::CannotConnect(why)))
            }
            Err(ConnectError::Tls(why)) => return Err(LoginFailure::Fatal(EndReason::Tls(why))),
        };
        let (read, write) = tokio::io::split(transport);
        let reader = FrameReader::new(read, self.config.max_message);
        let (writer, writes) = mpsc::unbounded_channel();
        let writer_task = tokio::spawn(write_loop(write, writes));
        let mut conn = Connection {
            reader,
            writer,
            writer_task,
        };

        let banner = self.read_banner(&mut conn).await?;
        let ami_version = banner.rsplit_once('/').map(|(_, v)| v.trim().to_string());
        self.out.publish(SessionEvent::ServerInfo(ServerInfo {
            banner: banner.clone(),
            ami_version,
            ..ServerInfo::default()
        }));
        self.out
            .publish(SessionEvent::State(SessionState::LoggingIn { banner }));

        let challenge = if self.config.auth == AuthMethod::Md5 {
            let answer = self.login_step(&mut conn, auth::challenge_action()).await?;
            match answer.get("Challenge") {
                Some(c) if answer.is("Response", "Success") => Some(c.to_vec()),
                _ => {
                    let why = answer.get_str("Message").unwrap_or_default().into_owned();
                    return Err(LoginFailure::Fatal(EndReason::AuthFailed(format!(
                        "the server refused the MD5 challenge ({why}); try --auth plain"
                    ))));
                }
            }
        } else {
            None
        };
        let login = auth::login_action(
            &self.config.username,
            &self.config.secret,
            self.config.auth,
            challenge.as_deref(),
            &self.config.events,
        );
        let answer = self.login_step(&mut conn, login).await?;
        if !answer.is("Response", "Success") {
            let message = answer.get_str("Message").unwrap_or_default().into_owned();
            let why = if message.eq_ignore_ascii_case("Authentication failed") {
                format!(
                    "user {:?} was refused: wrong secret, unknown user, or this address is not \
                     permitted (Asterisk answers all three the same way)",
                    self.config.username
                )
            } else {
                message
            };
            return Err(LoginFailure::Fatal(EndReason::AuthFailed(why)));
        }
        self.out
            .publish(SessionEvent::State(SessionState::LoggedIn {
                user: self.config.username.clone(),
                server: self.config.endpoint.to_string(),
                tls: self.config.endpoint.tls,
            }));
        Ok(conn)
    }

    async fn read_banner(&mut self, conn: &mut Connection) -> Result<String, LoginFailure> {
        let timeout = self.config.login_timeout;
        let first = self
            .while_holding(tokio::time::timeout(timeout, conn.reader.next()))
            .await
            .ok_or(LoginFailure::Stopped)?;
        match first {
            Err(_) => Err(LoginFailure::Fatal(EndReason::NotAmi(format!(
                "the server accepted the connection but sent no banner within {}s \
                 (a TLS port: use amis://; an HTTP server; or something else that waits for \
                 the client?)",
                timeout.as_secs_f32()
            )))),
            Ok(None) => Err(LoginFailure::Transient(EndReason::CannotConnect(
                "the server closed the connection before its banner (too many unauthenticated \
                 connections, or not an AMI port)"
                    .into(),
            ))),
            Ok(Some(Err(e))) => Err(LoginFailure::Transient(EndReason::CannotConnect(format!(
                "reading the banner: {e}"
            )))),
            Ok(Some(Ok(Frame::Banner(line)))) => check_banner(&line).map_err(LoginFailure::Fatal),
            Ok(Some(Ok(Frame::Error(e)))) => {
                Err(LoginFailure::Fatal(EndReason::NotAmi(e.to_string())))
            }
            Ok(Some(Ok(Frame::Message(_)))) => unreachable!("the codec yields the banner first"),
        }
    }

    /// Sends one login action and waits for its response, publishing what passes.
    async fn login_step(
        &mut self,
        conn: &mut Connection,
        mut action: Action,
    ) -> Result<Message, LoginFailure> {
        let id = self.next_internal_id();
        action.ensure_action_id(|| id.clone());
        self.write_action(conn, &action, &id, true)
            .map_err(|e| LoginFailure::Transient(EndReason::ConnectionLost(e)))?;
        let timeout = self.config.login_timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let next = self
                .while_holding(tokio::time::timeout_at(deadline, conn.reader.next()))
                .await
                .ok_or(LoginFailure::Stopped)?;
            match next {
                Err(_) => return Err(LoginFailure::Fatal(EndReason::LoginTimeout(timeout))),
                Ok(None) | Ok(Some(Err(_))) => {
                    return Err(LoginFailure::Transient(EndReason::ConnectionLost(
                        "the server closed the connection during login".into(),
                    )))
                }
                Ok(Some(Ok(Frame::Message(msg)))) => {
                    let ours = msg.kind() == crate::ami::Kind::Response
                        && msg.action_id().is_some_and(|a| a == id.as_bytes());
                    let link = if ours {
                        Link::Response {
                            action_id: id.clone(),
                        }
                    } else {
                        Link::Unsolicited
                    };
                    self.out.publish(SessionEvent::Received {
                        message: msg.clone(),
                        link,
                        internal: ours,
                    });
                    if ours {
                        return Ok(msg);
                    }
                }
                Ok(Some(Ok(Frame::Error(e)))) => self.publish_frame_error(&e),
                Ok(Some(Ok(Frame::Banner(_)))) => {}
            }
        }
    }

    fn publish_frame_error(&self, e: &crate::ami::FrameError) {
        use crate::ami::FrameError;
        let preview = match e {
            FrameError::Oversized { preview, .. } | FrameError::BannerTooLong { preview } => {
                preview.to_vec()
            }
            FrameError::Skipped { .. } => Vec::new(),
        };
        self.out.publish(SessionEvent::ProtocolError {
            what: e.to_string(),
            preview,
        });
    }

    /// Encodes and queues an action for the writer, publishing it (masked).
    fn write_action(
        &mut self,
        conn: &Connection,
        action: &Action,
        action_id: &str,
        internal: bool,
    ) -> Result<(), String> {
        let mut buf = BytesMut::new();
        self.encoder
            .encode(action, &mut buf)
            .map_err(|e| e.to_string())?;
        conn.writer
            .send(buf.freeze())
            .map_err(|_| "the connection's writer has stopped".to_string())?;
        self.out.publish(SessionEvent::Sent {
            action_id: action_id.to_string(),
            name: action.name().unwrap_or_default(),
            message: action.to_masked_message(),
            internal,
        });
        Ok(())
    }

    /// The logged-in loop. Returns when the connection ends.
    async fn drive(&mut self, mut conn: Connection) -> DriveEnd {
        let mut correlator = Correlator::new(&self.tag);
        let mut ticker = tokio::time::interval(Duration::from_millis(250));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_ping = Instant::now();
        let mut logoff_deadline: Option<Instant> = None;
        // Set when the server says why it is about to close (Shutdown, Goodbye).
        let mut closing_reason: Option<String> = None;

        if self.config.query_versions {
            let id = self.next_internal_id();
            let action = Action::new("CoreSettings").with("ActionID", &id);
            if self.write_action(&conn, &action, &id, true).is_ok() {
                correlator.sent(
                    id,
                    "CoreSettings".into(),
                    Purpose::Versions,
                    None,
                    Instant::now(),
                    self.config.action_timeout,
                );
            }
        }
        if self.config.seed_state {
            // After every login, first and each reconnect: the PBX's state as it is now,
            // for the state model (`crate::state`) to seed or reconcile from. Internal,
            // so the log hides them like the keepalive; a list the login may not run
            // comes back `Permission denied`, which the model records.
            for kind in crate::state::ListKind::ALL {
                let id = self.next_internal_id();
                let action = Action::new(kind.action()).with("ActionID", &id);
                if self.write_action(&conn, &action, &id, true).is_ok() {
                    correlator.sent(
                        id,
                        kind.action().into(),
                        Purpose::Seed,
                        None,
                        Instant::now(),
                        self.config.action_timeout,
                    );
                }
            }
        }
        while let Some(cmd) = self.held.pop_front() {
            if let Err(end) = self.handle_command(cmd, &conn, &mut correlator, &mut logoff_deadline)
            {
                return end;
            }
        }

        let mut batch: Vec<SessionEvent> = Vec::with_capacity(BATCH);
        let mut finished: Vec<Finished> = Vec::new();
        let mut read_result: std::io::Result<usize> = Ok(1);
        loop {
            // Decode everything the last read brought (at the start: what arrived with
            // the login answer) and publish it as one batch.
            let end = match std::mem::replace(&mut read_result, Ok(1)) {
                Err(e) => Some(self.read_error(
                    e,
                    conn.reader.unread(),
                    closing_reason.take(),
                    logoff_deadline.is_some(),
                    &mut batch,
                )),
                Ok(_) => self.decode_batch(
                    &mut conn,
                    &mut correlator,
                    &mut batch,
                    &mut finished,
                    &mut closing_reason,
                    logoff_deadline.is_some(),
                ),
            };
            self.out.publish_batch(batch.drain(..), SystemTime::now());
            for f in finished.iter_mut() {
                self.on_finished(f);
            }
            let answered = !finished.is_empty();
            // Goodbye received: the server closes next; no need to wait for it.
            let logged_off = finished.drain(..).any(|f| f.purpose == Purpose::Logoff);
            let end = if logged_off {
                Some(DriveEnd::LoggedOff)
            } else {
                end
            };
            // A task we wake waits in this worker's LIFO slot, which no other worker
            // steals, until this task yields; under a flood reading never blocks, so
            // without a yield the woken task (whoever awaits the answer, or the writer)
            // would wait out our whole coop budget (~20 ms measured). Yield once an
            // answer is delivered, and once an action is handed to the writer.
            if answered {
                tokio::task::yield_now().await;
            }
            let end = match end {
                Some(end) => Some(end),
                None => tokio::select! {
                    result = conn.reader.fill() => {
                        read_result = result;
                        None
                    }
                cmd = self.commands.recv() => match cmd {
                    Some(cmd) => {
                        let end = self.handle_command(cmd, &conn, &mut correlator, &mut logoff_deadline).err();
                        tokio::task::yield_now().await;
                        end
                    }
                    None => {
                        // Every handle is gone: log off politely and end.
                        let (tx, _rx) = tokio::sync::oneshot::channel();
                        self.handle_command(Command::Logoff { done: tx }, &conn, &mut correlator, &mut logoff_deadline).err()
                    }
                },
                _ = ticker.tick() => self.tick(&conn, &mut correlator, &mut last_ping, logoff_deadline),
                    result = &mut conn.writer_task => Some(DriveEnd::Lost(match result {
                        Ok(Err(e)) => format!("writing to the server failed: {e}"),
                        _ => "the connection's writer stopped".into(),
                    })),
                },
            };
            if let Some(end) = end {
                let error = match end {
                    DriveEnd::LoggedOff => ActionError::SessionEnded,
                    DriveEnd::Lost(_) => ActionError::ConnectionLost,
                };
                for mut f in correlator.fail_all(error) {
                    self.on_finished(&mut f);
                }
                return end;
            }
        }
    }

    /// Decodes every frame in the read buffer into `batch`, routing each message.
    /// Returns how the connection ended, if the stream is over.
    fn decode_batch(
        &self,
        conn: &mut Connection,
        correlator: &mut Correlator,
        batch: &mut Vec<SessionEvent>,
        finished: &mut Vec<Finished>,
        closing_reason: &mut Option<String>,
        logging_off: bool,
    ) -> Option<DriveEnd> {
        // One clock read per batch: every message of one socket read arrived together.
        let now = Instant::now();
        while let Some(frame) = conn.reader.decode() {
            match frame {
                Ok(Frame::Message(msg)) => {
                    let routed = correlator.received(&msg, now);
                    if routed.link == Link::Unsolicited && msg.is("Event", "Shutdown") {
                        *closing_reason = Some("Asterisk is shutting down".into());
                    }
                    if routed.link == Link::UnknownResponse && msg.is("Response", "Goodbye") {
                        *closing_reason = Some("the server ended the session (Goodbye)".into());
                    }
                    if let Some(f) = routed.finished {
                        finished.push(f);
                    }
                    batch.push(SessionEvent::Received {
                        message: msg,
                        link: routed.link,
                        internal: routed.internal,
                    });
                }
                Ok(Frame::Error(e)) => {
                    self.out.publish_batch(batch.drain(..), SystemTime::now());
                    self.publish_frame_error(&e);
                }
                Ok(Frame::Banner(_)) => {}
                Err(e) => {
                    return Some(self.read_error(
                        e,
                        conn.reader.unread(),
                        closing_reason.take(),
                        logging_off,
                        batch,
                    ))
                }
            }
        }
        if conn.reader.is_done() {
            return Some(if logging_off {
                DriveEnd::LoggedOff
            } else {
                DriveEnd::Lost(
                    closing_reason
                        .take()
                        .unwrap_or_else(|| "the server closed the connection".into()),
                )
            });
        }
        None
    }

    fn read_error(
        &self,
        e: std::io::Error,
        unread: &[u8],
        closing_reason: Option<String>,
        logging_off: bool,
        batch: &mut Vec<SessionEvent>,
    ) -> DriveEnd {
        // Whatever part of a message arrived before the end (cut by EOF, handed back by
        // the codec; or still in the read buffer after a reset) is kept, not dropped.
        let truncated = e
            .get_ref()
            .and_then(|i| i.downcast_ref::<TruncatedMessage>());
        let (kept, what, fallback) = match truncated {
            Some(TruncatedMessage(bytes)) => (
                &bytes[..],
                format!(
                    "the connection closed in the middle of a message ({} bytes of it kept here)",
                    bytes.len()
                ),
                "the server closed the connection mid-message".to_string(),
            ),
            None => (
                unread,
                format!(
                    "the connection failed in the middle of a message ({e}; {} bytes of it kept here)",
                    unread.len()
                ),
                format!("reading from the server failed: {e}"),
            ),
        };
        if !kept.is_empty() {
            batch.push(SessionEvent::ProtocolError {
                what,
                preview: kept[..kept.len().min(ERROR_PREVIEW)].to_vec(),
            });
        }
        if logging_off {
            return DriveEnd::LoggedOff;
        }
        DriveEnd::Lost(closing_reason.unwrap_or(fallback))
    }

    fn handle_command(
        &mut self,
        cmd: Command,
        conn: &Connection,
        correlator: &mut Correlator,
        logoff_deadline: &mut Option<Instant>,
    ) -> Result<(), DriveEnd> {
        match cmd {
            Command::Send {
                action,
                action_id,
                reply,
            } => {
                if logoff_deadline.is_some() {
                    self.refuse(&action, action_id, reply, ActionError::SessionEnded);
                    return Ok(());
                }
                if correlator.is_pending(&action_id) {
                    let error = ActionError::DuplicateActionId(action_id.clone());
                    self.refuse(&action, action_id, reply, error);
                    return Ok(());
                }
                let name = action.name().unwrap_or_default();
                let timeout = action_timeout(&action, self.config.action_timeout);
                let is_logoff = name.eq_ignore_ascii_case("Logoff");
                match self.write_action(conn, &action, &action_id, false) {
                    Ok(()) => {
                        let purpose = if is_logoff {
                            Purpose::Logoff
                        } else {
                            Purpose::User
                        };
                        correlator.sent(action_id, name, purpose, reply, Instant::now(), timeout);
                        if is_logoff {
                            *logoff_deadline = Some(Instant::now() + LOGOFF_GRACE);
                        }
                        Ok(())
                    }
                    Err(why) => {
                        self.refuse(&action, action_id, reply, ActionError::ConnectionLost);
                        Err(DriveEnd::Lost(why))
                    }
                }
            }
            Command::Logoff { done } => {
                self.logoff_waiters.push(done);
                if logoff_deadline.is_some() {
                    return Ok(());
                }
                let id = self.next_internal_id();
                let action = Action::new("Logoff").with("ActionID", &id);
                if self.write_action(conn, &action, &id, true).is_err() {
                    return Err(DriveEnd::LoggedOff);
                }
                correlator.sent(
                    id,
                    "Logoff".into(),
                    Purpose::Logoff,
                    None,
                    Instant::now(),
                    LOGOFF_GRACE,
                );
                *logoff_deadline = Some(Instant::now() + LOGOFF_GRACE);
                Ok(())
            }
        }
    }

    fn tick(
        &mut self,
        conn: &Connection,
        correlator: &mut Correlator,
        last_ping: &mut Instant,
        logoff_deadline: Option<Instant>,
    ) -> Option<DriveEnd> {
        let now = Instant::now();
        if logoff_deadline.is_some_and(|d| now >= d) {
            return Some(DriveEnd::LoggedOff);
        }
        for mut f in correlator.expire(now) {
            let keepalive = f.purpose == Purpose::Keepalive;
            self.on_finished(&mut f);
            if keepalive {
                return Some(DriveEnd::Lost(format!(
                    "no answer to the keepalive Ping within {}s (half-open connection?)",
                    self.config.action_timeout.as_secs_f32()
                )));
            }
        }
        if let Some(interval) = self.config.ping_interval {
            if now.duration_since(*last_ping) >= interval
                && correlator.keepalive_sent_at().is_none()
            {
                *last_ping = now;
                let id = self.next_internal_id();
                let action = Action::new("Ping").with("ActionID", &id);
                if let Err(why) = self.write_action(conn, &action, &id, true) {
                    return Some(DriveEnd::Lost(why));
                }
                correlator.sent(
                    id,
                    "Ping".into(),
                    Purpose::Keepalive,
                    None,
                    now,
                    self.config.action_timeout,
                );
            }
        }
        None
    }

    /// Delivers a finished action's outcome and publishes what it means.
    fn on_finished(&mut self, f: &mut Finished) {
        f.deliver();
        match (&f.outcome, f.purpose) {
            (Ok(_), Purpose::Keepalive) => {
                self.out.publish(SessionEvent::Pong {
                    rtt: f.sent_at.elapsed(),
                });
            }
            (Ok(reply), Purpose::Versions) => {
                let text = |k: &str| reply.response.get_str(k).map(|v| v.into_owned());
                if reply.is_success() {
                    self.out.publish(SessionEvent::ServerInfo(ServerInfo {
                        banner: String::new(),
                        ami_version: text("AMIversion"),
                        asterisk_version: text("AsteriskVersion"),
                        system_name: text("SystemName").filter(|s| !s.is_empty()),
                    }));
                }
            }
            (Err(error), _) => {
                self.out.publish(SessionEvent::ActionFailed {
                    action_id: f.action_id.clone(),
                    name: f.name.clone(),
                    error: error.clone(),
                });
            }
            _ => {}
        }
    }
}

/// The writer: the only place that writes to the socket, so a slow write never holds up
/// reading.
async fn write_loop(
    mut write: WriteHalf<Transport>,
    mut writes: mpsc::UnboundedReceiver<Bytes>,
) -> std::io::Result<()> {
    while let Some(bytes) = writes.recv().await {
        write.write_all(&bytes).await?;
        // Pipelined actions queued meanwhile go out in the same flush.
        while let Ok(more) = writes.try_recv() {
            write.write_all(&more).await?;
        }
        write.flush().await?;
    }
    let _ = write.shutdown().await;
    Ok(())
}

/// Whatever the banner says, it must at least look like a line of text. Known other
/// protocols are named; any other text line is accepted (AMI proxies exist).
fn check_banner(line: &[u8]) -> Result<String, EndReason> {
    let text = String::from_utf8_lossy(line).into_owned();
    if line.starts_with(b"Asterisk Call Manager") {
        return Ok(text);
    }
    if line.starts_with(b"SSH-") {
        return Err(EndReason::NotAmi(format!("this is an SSH server ({text})")));
    }
    if line.starts_with(b"HTTP/") || line.starts_with(b"<") {
        return Err(EndReason::NotAmi(format!(
            "this looks like an HTTP server ({text})"
        )));
    }
    let printable = line
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80);
    if line.starts_with(&[0x16, 0x03]) || !printable {
        let shown: String = line.iter().take(32).map(|b| format!("{b:02x} ")).collect();
        return Err(EndReason::NotAmi(format!(
            "the first bytes are binary ({}): a TLS port or another protocol? (use amis:// for AMI over TLS)",
            shown.trim_end()
        )));
    }
    if line.starts_with(b"220") || line.starts_with(b"+OK") || line.starts_with(b"* OK") {
        return Err(EndReason::NotAmi(format!("this is a mail server ({text})")));
    }
    Ok(text)
}

/// A synchronous Originate blocks until the call is answered (its `Timeout`, default
/// 30 s), so it gets that long on top of the usual wait.
fn action_timeout(action: &Action, base: Duration) -> Duration {
    let is_originate = action
        .name()
        .is_some_and(|n| n.eq_ignore_ascii_case("Originate"));
    let is_async = action.get("Async").is_some_and(|v| {
        matches!(
            v.trim_ascii().to_ascii_lowercase().as_slice(),
            b"true" | b"yes" | b"1" | b"on"
        )
    });
    if is_originate && !is_async {
        let ms = action
            .get("Timeout")
            .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok())
            .unwrap_or(30_000);
        return base + Duration::from_millis(ms);
    }
    base
}

/// Capped exponential backoff with jitter: 0.5 s, 1 s, 2 s ... up to `max`, each scaled
/// by a random factor in [0.5, 1) so many clients do not reconnect in lockstep.
fn backoff(attempt: u32, max: Duration) -> Duration {
    let base = Duration::from_millis(500).saturating_mul(1u32 << attempt.saturating_sub(1).min(10));
    base.min(max).mul_f64(0.5 + fastrand::f64() * 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banners_of_other_protocols_are_named() {
        assert!(check_banner(b"Asterisk Call Manager/11.0.0").is_ok());
        assert!(
            matches!(check_banner(b"SSH-2.0-OpenSSH_9.2"), Err(EndReason::NotAmi(m)) if m.contains("SSH"))
        );
        assert!(
            matches!(check_banner(b"HTTP/1.1 400 Bad Request"), Err(EndReason::NotAmi(m)) if m.contains("HTTP"))
        );
        assert!(
            matches!(check_banner(b"\x00\x01\x02garbage"), Err(EndReason::NotAmi(m)) if m.contains("binary"))
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let max = Duration::from_secs(30);
        assert!(backoff(1, max) <= Duration::from_millis(500));
        assert!(backoff(3, max) >= Duration::from_secs(1));
        for attempt in 1..40 {
            assert!(backoff(attempt, max) <= max);
        }
    }

    #[test]
    fn synchronous_originate_waits_for_its_call_timeout() {
        let base = Duration::from_secs(10);
        let sync = Action::new("Originate").with("Timeout", "20000");
        assert_eq!(action_timeout(&sync, base), Duration::from_secs(30));
        let asynchronous = Action::new("Originate").with("Async", "true");
        assert_eq!(action_timeout(&asynchronous, base), base);
    }
}
