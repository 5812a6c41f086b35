//! One AMI session: a single tokio task owns the socket, logs in, correlates responses
//! with their actions, keeps the connection alive and reconnects; front ends talk to it
//! through a cheap [`SessionHandle`] and read everything it sees from one ordered
//! [`EventStream`].

mod correlate;
pub mod event;
pub mod queue;
mod reader;
pub use reader::READ_SIZE;
mod task;
pub mod transport;

pub use event::{
    ActionError, EndReason, Link, Reply, ServerInfo, SessionEvent, SessionState, Stamped,
};
pub use queue::EventStream;

use crate::ami::{Action, AuthMethod};
use crate::secret::Secret;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Where to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Extra trusted certificates (PEM), on top of the system roots.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate. Loudly warned about by the front ends.
    pub insecure: bool,
}

/// Everything the session needs; built by the command line from flags, env and profile.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub endpoint: Endpoint,
    pub tls: TlsOptions,
    pub username: String,
    pub secret: Secret,
    pub auth: AuthMethod,
    /// The `Events:` mask sent with Login: `on`, `off`, or class names (`call,user`).
    pub events: String,
    pub connect_timeout: Duration,
    /// How long to wait for the banner and for each login step.
    pub login_timeout: Duration,
    /// How long an action may wait for its (complete) answer.
    pub action_timeout: Duration,
    /// Keepalive `Ping` period; `None` disables it.
    pub ping_interval: Option<Duration>,
    /// Reconnect after a lost connection (never after a failed login).
    pub reconnect: bool,
    /// Keep retrying the first connection too (the TUI); `send`/`watch` exit instead.
    pub retry_first_connect: bool,
    pub max_reconnect_delay: Duration,
    /// Cap on one message; larger ones are reported and skipped.
    pub max_message: usize,
    /// Memory the queue to the front end may hold before it drops (and counts) messages.
    pub queue_budget: usize,
    /// Ask `CoreSettings` after login, for the Asterisk version.
    pub query_versions: bool,
    /// After every login (first and each reconnect), ask the lists the state model
    /// seeds from (`CoreShowChannels`, `BridgeList`, `QueueStatus`, ...; see
    /// [`crate::state::ListKind`]), as internal actions. Off by default.
    pub seed_state: bool,
}

impl SessionConfig {
    pub fn new(endpoint: Endpoint, username: impl Into<String>, secret: Secret) -> Self {
        SessionConfig {
            endpoint,
            tls: TlsOptions::default(),
            username: username.into(),
            secret,
            auth: AuthMethod::Md5,
            events: "on".into(),
            connect_timeout: Duration::from_secs(10),
            login_timeout: Duration::from_secs(10),
            action_timeout: Duration::from_secs(10),
            ping_interval: Some(Duration::from_secs(20)),
            reconnect: true,
            retry_first_connect: false,
            max_reconnect_delay: Duration::from_secs(30),
            max_message: crate::ami::codec::DEFAULT_MAX_MESSAGE,
            queue_budget: 64 * 1024 * 1024,
            query_versions: true,
            seed_state: false,
        }
    }
}

pub(crate) enum Command {
    Send {
        action: Action,
        action_id: String,
        reply: Option<oneshot::Sender<Result<Reply, ActionError>>>,
    },
    Logoff {
        done: oneshot::Sender<()>,
    },
}

/// A cheap, cloneable handle to the session task.
#[derive(Clone, Debug)]
pub struct SessionHandle {
    commands: mpsc::UnboundedSender<Command>,
    tag: Arc<str>,
    counter: Arc<AtomicU64>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Send {
                action, action_id, ..
            } => write!(f, "Send({action_id}, {action:?})"),
            Command::Logoff { .. } => f.write_str("Logoff"),
        }
    }
}

/// Starts the session task on the current tokio runtime.
pub fn spawn(config: SessionConfig) -> (SessionHandle, EventStream) {
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (publisher, stream) = queue::channel(config.queue_budget);
    // A random tag makes our ActionIDs unique per session and recognisable among the
    // foreign ones that broadcast events (UserEvent, OriginateResponse) carry.
    let tag: Arc<str> = format!("amicon-{:06x}", fastrand::u32(..0x1000000)).into();
    let handle = SessionHandle {
        commands,
        tag: tag.clone(),
        counter: Arc::new(AtomicU64::new(1)),
    };
    tokio::spawn(task::run(config, command_rx, publisher, tag));
    (handle, stream)
}

impl SessionHandle {
    /// The prefix of the ActionIDs this session assigns.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    fn next_action_id(&self) -> String {
        format!(
            "{}-{}",
            self.tag,
            self.counter.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn prepare(&self, mut action: Action) -> Result<(Action, String), ActionError> {
        let id = action.ensure_action_id(|| self.next_action_id());
        action.validate()?;
        Ok((action, String::from_utf8_lossy(&id).into_owned()))
    }

    /// Sends an action without waiting; its answer arrives in the event stream, linked
    /// by the returned ActionID. Limits are checked before anything is sent.
    pub fn submit(&self, action: Action) -> Result<String, ActionError> {
        let (action, action_id) = self.prepare(action)?;
        self.commands
            .send(Command::Send {
                action,
                action_id: action_id.clone(),
                reply: None,
            })
            .map_err(|_| ActionError::SessionEnded)?;
        Ok(action_id)
    }

    /// Sends an action and waits for its whole answer (list items included). The
    /// answer also appears in the event stream.
    pub async fn request(&self, action: Action) -> Result<Reply, ActionError> {
        let (action, action_id) = self.prepare(action)?;
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Send {
                action,
                action_id,
                reply: Some(tx),
            })
            .map_err(|_| ActionError::SessionEnded)?;
        rx.await.unwrap_or(Err(ActionError::SessionEnded))
    }

    /// Logs off (if logged in) and ends the session; returns once it has ended.
    pub async fn logoff(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Logoff { done: tx }).is_ok() {
            let _ = rx.await;
        }
    }
}
