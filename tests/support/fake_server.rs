//! A scripted fake AMI server on `127.0.0.1:0`: each accepted connection plays one
//! script of [`Step`]s (send bytes, send them slowly, expect an action and answer it with
//! its ActionID, wait, close, reset, never answer). Everything the client sends is
//! recorded, so tests can check what went over the wire (the MD5 key, actions not
//! re-sent after a reconnect, secrets).

use amicon::ami::Message;
use amicon::session::Endpoint;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub const BANNER: &[u8] = b"Asterisk Call Manager/11.0.0\r\n";

/// One thing the server does on a connection.
#[derive(Clone, Debug)]
pub enum Step {
    /// Writes these bytes at once.
    Send(Vec<u8>),
    /// Writes these bytes one at a time, `gap` apart.
    SendSlowly {
        bytes: Vec<u8>,
        gap: Duration,
    },
    /// Writes `bytes` `times` times, without holding all of it in memory.
    Repeat {
        bytes: Vec<u8>,
        times: usize,
    },
    /// Waits for an action named `action` (others are recorded and skipped), then writes
    /// `reply` with every `{id}` replaced by that action's ActionID. An empty reply
    /// swallows the action.
    Expect {
        action: String,
        reply: String,
    },
    /// Like `Expect`, writing the reply one byte at a time, `gap` apart.
    ExpectSlowly {
        action: String,
        reply: String,
        gap: Duration,
    },
    /// Answers every action with `Response: Success` and its ActionID until the client
    /// closes.
    AnswerEverything,
    Wait(Duration),
    /// Closes the connection cleanly (FIN).
    Close,
    /// Closes with a TCP reset (SO_LINGER 0).
    Reset,
    /// Reads and records what comes, never answering, until the client closes.
    Hang,
}

/// The steps of a plain `Login` that succeeds.
pub fn plain_login() -> Vec<Step> {
    vec![
        Step::Send(BANNER.to_vec()),
        expect("Login", &response("Success", "Authentication accepted")),
    ]
}

/// The steps of an MD5 login (`Challenge` answered with `challenge`) that succeeds.
pub fn md5_login(challenge: &str) -> Vec<Step> {
    vec![
        Step::Send(BANNER.to_vec()),
        expect(
            "Challenge",
            &format!("Response: Success\r\nActionID: {{id}}\r\nChallenge: {challenge}\r\n\r\n"),
        ),
        expect("Login", &response("Success", "Authentication accepted")),
    ]
}

pub fn expect(action: &str, reply: &str) -> Step {
    Step::Expect {
        action: action.to_string(),
        reply: reply.to_string(),
    }
}

/// A response carrying the action's ActionID (`{id}`).
pub fn response(kind: &str, message: &str) -> String {
    format!("Response: {kind}\r\nActionID: {{id}}\r\nMessage: {message}\r\n\r\n")
}

/// An event as Asterisk writes it.
pub fn event(name: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("Event: {name}\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// What one connection received.
#[derive(Clone, Debug, Default)]
pub struct Received {
    /// Every byte the client sent.
    pub bytes: Vec<u8>,
    /// The actions among them, with the (tokio) time each arrived.
    pub actions: Vec<(tokio::time::Instant, Message)>,
}

impl Received {
    pub fn action_names(&self) -> Vec<String> {
        self.actions
            .iter()
            .map(|(_, m)| m.get_str("Action").unwrap_or_default().into_owned())
            .collect()
    }

    pub fn find(&self, action: &str) -> Option<&Message> {
        self.actions
            .iter()
            .map(|(_, m)| m)
            .find(|m| m.is("Action", action))
    }
}

type Log = Arc<Mutex<Vec<Received>>>;

/// The running server. Dropping it stops accepting.
pub struct FakeServer {
    pub addr: SocketAddr,
    log: Log,
    task: JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    /// Starts a plain TCP server; the n-th connection plays `scripts[n]`, later ones are
    /// closed at once.
    pub async fn start(scripts: Vec<Vec<Step>>) -> FakeServer {
        Self::start_with(scripts, None).await
    }

    /// The same, with TLS from `acceptor` on every connection.
    pub async fn start_tls(
        scripts: Vec<Vec<Step>>,
        acceptor: tokio_rustls::TlsAcceptor,
    ) -> FakeServer {
        Self::start_with(scripts, Some(acceptor)).await
    }

    async fn start_with(
        scripts: Vec<Vec<Step>>,
        acceptor: Option<tokio_rustls::TlsAcceptor>,
    ) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let log: Log = Arc::default();
        let task_log = log.clone();
        let task = tokio::spawn(async move {
            let mut scripts = scripts.into_iter();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                // Without it, Nagle holds back the bytes of `SendSlowly` for real
                // milliseconds, during which a paused test clock races ahead.
                let _ = tcp.set_nodelay(true);
                let Some(script) = scripts.next() else {
                    drop(tcp);
                    continue;
                };
                let index = {
                    let mut log = task_log.lock().unwrap();
                    log.push(Received::default());
                    log.len() - 1
                };
                let log = task_log.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let conn = Conn {
                        log,
                        index,
                        pending: Vec::new(),
                    };
                    match acceptor {
                        None => conn.play_plain(tcp, script).await,
                        Some(acceptor) => {
                            // A client that refuses our certificate ends here.
                            if let Ok(tls) = acceptor.accept(tcp).await {
                                conn.play(tls, script).await;
                            }
                        }
                    }
                });
            }
        });
        FakeServer { addr, log, task }
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            host: "127.0.0.1".into(),
            port: self.addr.port(),
            tls: false,
        }
    }

    /// What connection `n` (0-based) received so far.
    pub fn received(&self, n: usize) -> Received {
        self.log.lock().unwrap().get(n).cloned().unwrap_or_default()
    }

    pub fn connections(&self) -> usize {
        self.log.lock().unwrap().len()
    }
}

struct Conn {
    log: Log,
    index: usize,
    /// Bytes read but not yet a whole action.
    pending: Vec<u8>,
}

/// A step that needs the raw TCP socket rather than a stream over it.
enum Ending {
    Reset,
    Done,
}

impl Conn {
    async fn play_plain(self, tcp: TcpStream, script: Vec<Step>) {
        let (tcp, ending) = self.play_on(tcp, script).await;
        if let (Some(tcp), Ending::Reset) = (tcp, ending) {
            // Linger 0 makes the close a reset; it is a blocking close only for a
            // non-zero linger, hence the deprecation that does not apply here.
            #[allow(deprecated)]
            let _ = tcp.set_linger(Some(Duration::ZERO));
            drop(tcp);
        }
    }

    async fn play<S: AsyncRead + AsyncWrite + Unpin>(self, stream: S, script: Vec<Step>) {
        let _ = self.play_on(stream, script).await;
    }

    /// Plays the script; hands the stream back when the script asks for a reset.
    async fn play_on<S: AsyncRead + AsyncWrite + Unpin>(
        mut self,
        mut stream: S,
        script: Vec<Step>,
    ) -> (Option<S>, Ending) {
        for step in script {
            let alive = match step {
                Step::Send(bytes) => stream.write_all(&bytes).await.is_ok(),
                Step::SendSlowly { bytes, gap } => send_slowly(&mut stream, &bytes, gap).await,
                Step::Repeat { bytes, times } => {
                    let mut ok = true;
                    for _ in 0..times {
                        if stream.write_all(&bytes).await.is_err() {
                            ok = false;
                            break;
                        }
                    }
                    ok
                }
                Step::Expect { action, reply } => match self.expect(&mut stream, &action).await {
                    Some(id) => stream
                        .write_all(reply.replace("{id}", &id).as_bytes())
                        .await
                        .is_ok(),
                    None => false,
                },
                Step::ExpectSlowly { action, reply, gap } => {
                    match self.expect(&mut stream, &action).await {
                        Some(id) => {
                            send_slowly(&mut stream, reply.replace("{id}", &id).as_bytes(), gap)
                                .await
                        }
                        None => false,
                    }
                }
                Step::AnswerEverything => {
                    while let Some(msg) = self.next_action(&mut stream).await {
                        let id = msg.get_str("ActionID").unwrap_or_default().into_owned();
                        let reply = format!("Response: Success\r\nActionID: {id}\r\n\r\n");
                        if stream.write_all(reply.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                    false
                }
                Step::Wait(d) => {
                    tokio::time::sleep(d).await;
                    true
                }
                Step::Close => {
                    let _ = stream.shutdown().await;
                    return (None, Ending::Done);
                }
                Step::Reset => return (Some(stream), Ending::Reset),
                Step::Hang => {
                    while self.next_action(&mut stream).await.is_some() {}
                    false
                }
            };
            if !alive {
                return (None, Ending::Done);
            }
        }
        // Script over: keep the connection open (and recorded) until the client leaves,
        // answering a Logoff the way Asterisk does so logging off takes no grace period.
        while let Some(msg) = self.next_action(&mut stream).await {
            if msg.is("Action", "Logoff") {
                let id = msg.get_str("ActionID").unwrap_or_default().into_owned();
                let goodbye = format!(
                    "Response: Goodbye\r\nActionID: {id}\r\nMessage: Thanks for all the fish.\r\n\r\n"
                );
                let _ = stream.write_all(goodbye.as_bytes()).await;
                let _ = stream.shutdown().await;
                break;
            }
        }
        (None, Ending::Done)
    }

    /// Waits for an action named `action`, skipping (and recording) others; returns its
    /// ActionID, or `None` at EOF.
    async fn expect<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        action: &str,
    ) -> Option<String> {
        loop {
            let msg = self.next_action(stream).await?;
            if msg.is("Action", action) {
                return Some(msg.get_str("ActionID").unwrap_or_default().into_owned());
            }
        }
    }

    /// Reads until one whole action (ended by a blank line) arrived; `None` at EOF.
    async fn next_action<S: AsyncRead + Unpin>(&mut self, stream: &mut S) -> Option<Message> {
        loop {
            if let Some(end) = find_message_end(&self.pending) {
                let bytes: Vec<u8> = self.pending.drain(..end).collect();
                let msg = Message::parse(&bytes);
                self.log.lock().unwrap()[self.index]
                    .actions
                    .push((tokio::time::Instant::now(), msg.clone()));
                return Some(msg);
            }
            let mut buf = [0u8; 4096];
            let n = match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => n,
            };
            self.log.lock().unwrap()[self.index]
                .bytes
                .extend_from_slice(&buf[..n]);
            self.pending.extend_from_slice(&buf[..n]);
        }
    }
}

async fn send_slowly<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8], gap: Duration) -> bool {
    for b in bytes {
        if stream.write_all(&[*b]).await.is_err() {
            return false;
        }
        tokio::time::sleep(gap).await;
    }
    true
}

fn find_message_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}
