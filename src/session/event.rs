//! What the session publishes to front ends: one ordered stream of everything that
//! passes (actions sent with secrets masked, responses, events, state changes, errors).

use crate::ami::Message;
use std::time::{Duration, SystemTime};

/// One entry of the session's stream, stamped with the time it was published.
#[derive(Clone, Debug)]
pub struct Stamped {
    pub at: SystemTime,
    pub event: SessionEvent,
}

#[derive(Clone, Debug)]
pub enum SessionEvent {
    /// The connection or login state changed.
    State(SessionState),
    /// Versions learned from the banner and, after login, from `CoreSettings`.
    ServerInfo(ServerInfo),
    /// An action went out (secrets already masked in `message`).
    Sent {
        action_id: String,
        name: String,
        message: Message,
        internal: bool,
    },
    /// A message from the server, with what it answers, if anything.
    Received {
        message: Message,
        link: Link,
        internal: bool,
    },
    /// An action that will get no answer: it timed out, or the connection went first.
    ActionFailed {
        action_id: String,
        name: String,
        error: ActionError,
    },
    /// Bytes the server sent that are not a well-formed message; the session went on.
    ProtocolError { what: String, preview: Vec<u8> },
    /// The connection was down between these times; events of that time are missing.
    Gap {
        from: SystemTime,
        to: SystemTime,
        reason: String,
    },
    /// A keepalive `Ping` came back.
    Pong { rtt: Duration },
    /// The consumer fell this many messages behind and they were not kept.
    Dropped { count: u64 },
}

/// How a received message relates to the actions this session sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// An event nobody asked for.
    Unsolicited,
    /// The response to our action.
    Response { action_id: String },
    /// An item of a list our action started (`EventList: start`).
    ListItem { action_id: String },
    /// The event that ends that list (`EventList: Complete`).
    ListComplete { action_id: String },
    /// A later event carrying one of our ActionIDs (`OriginateResponse`).
    Related { action_id: String },
    /// A response whose ActionID matches nothing we are waiting for.
    UnknownResponse,
}

impl Link {
    pub fn action_id(&self) -> Option<&str> {
        match self {
            Link::Response { action_id }
            | Link::ListItem { action_id }
            | Link::ListComplete { action_id }
            | Link::Related { action_id } => Some(action_id),
            Link::Unsolicited | Link::UnknownResponse => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionState {
    Connecting {
        attempt: u32,
    },
    /// The banner arrived; logging in.
    LoggingIn {
        banner: String,
    },
    LoggedIn {
        user: String,
        server: String,
        tls: bool,
    },
    /// The connection was lost; the next attempt starts in `delay`.
    Reconnecting {
        delay: Duration,
        attempt: u32,
        reason: String,
    },
    /// The session ended for good.
    Ended(EndReason),
}

/// Why a session ended. Each maps to one exit code of `send`/`watch`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EndReason {
    #[error("logged off")]
    LoggedOff,
    #[error("cannot connect: {0}")]
    CannotConnect(String),
    #[error("not an AMI server: {0}")]
    NotAmi(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("authentication failed: {0}")]
    AuthFailed(String),
    #[error(
        "no answer to Login within {0:?}: the server accepted the connection but never answered"
    )]
    LoginTimeout(Duration),
    #[error("connection lost: {0}")]
    ConnectionLost(String),
}

impl EndReason {
    /// The documented exit code: 3 cannot connect, 4 authentication failed, 5 timeout.
    pub fn exit_code(&self) -> i32 {
        match self {
            EndReason::LoggedOff => 0,
            EndReason::CannotConnect(_)
            | EndReason::NotAmi(_)
            | EndReason::Tls(_)
            | EndReason::ConnectionLost(_) => 3,
            EndReason::AuthFailed(_) => 4,
            EndReason::LoginTimeout(_) => 5,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerInfo {
    /// The whole banner line (`Asterisk Call Manager/11.0.0`).
    pub banner: String,
    /// The AMI version from the banner (`11.0.0`).
    pub ami_version: Option<String>,
    /// `AsteriskVersion` from `CoreSettings` (`22.10.1+dfsg+...`).
    pub asterisk_version: Option<String>,
    pub system_name: Option<String>,
}

impl ServerInfo {
    /// The Asterisk the banner's AMI version implies (`5.0.4` → 16), for when
    /// `CoreSettings` did not say (a user without `system` read, an old recording).
    pub fn implied_asterisk(&self) -> Option<crate::versions::Implied> {
        crate::versions::from_ami_version(self.ami_version.as_deref()?)
    }

    /// The server's Asterisk branch: `CoreSettings`' version when known, else the oldest
    /// branch the AMI version implies.
    pub fn asterisk_branch(&self) -> Option<crate::versions::Branch> {
        self.asterisk_version
            .as_deref()
            .and_then(crate::versions::Branch::of_version)
            .or_else(|| self.implied_asterisk().map(|i| i.oldest))
    }
}

/// Why an action got no (complete) answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("{0}")]
    Invalid(#[from] crate::ami::EncodeError),
    #[error("not connected: the action was not sent")]
    NotConnected,
    #[error("the connection was lost before the answer; the action is not re-sent")]
    ConnectionLost,
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("ActionID {0:?} is already waiting for an answer")]
    DuplicateActionId(String),
    #[error("the session has ended")]
    SessionEnded,
    /// An error read back from a recording, kept as the words that were shown.
    #[error("{0}")]
    Recorded(String),
}

/// The whole answer to one action: its response and, for a list action, the items and
/// the event that completed the list.
#[derive(Clone, Debug)]
pub struct Reply {
    pub action_id: String,
    pub response: Message,
    pub items: Vec<Message>,
    pub complete: Option<Message>,
}

impl Reply {
    /// Success is only ever the `Response:` value, never the wording of `Message:`.
    pub fn is_success(&self) -> bool {
        !self.response.is("Response", "Error")
    }

    /// Every message of the answer in wire order.
    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        std::iter::once(&self.response)
            .chain(self.items.iter())
            .chain(self.complete.iter())
    }
}
