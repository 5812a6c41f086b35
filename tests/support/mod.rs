//! Helpers shared by the session, fault and secret tests: the scripted fake server and
//! small readers over a session's event stream.
#![allow(dead_code)]

pub mod fake_server;

use amicon::ami::AuthMethod;
use amicon::secret::Secret;
use amicon::session::{
    self, EndReason, Endpoint, EventStream, Link, SessionConfig, SessionEvent, SessionState,
    Stamped,
};
use std::time::Duration;

pub const USER: &str = "admin";
pub const SECRET: &str = "s3cr3t-Amp111";

/// A config for a fake server: plain login, no reconnect, no keepalive, no version query,
/// so a script only has to answer what a test is about.
pub fn config(endpoint: Endpoint) -> SessionConfig {
    let mut c = SessionConfig::new(endpoint, USER, Secret::new(SECRET.into()));
    c.auth = AuthMethod::Plain;
    c.reconnect = false;
    c.ping_interval = None;
    c.query_versions = false;
    c.connect_timeout = Duration::from_secs(5);
    c.login_timeout = Duration::from_secs(5);
    c.action_timeout = Duration::from_secs(5);
    c.max_reconnect_delay = Duration::from_millis(200);
    c
}

/// Collects stream entries until `until` matches one, the stream ends, or `within` of
/// *real* time runs out. The bound is real time on purpose: with tokio's paused clock and
/// real sockets, a tokio timer here would fire before the session got to read bytes the
/// fake server already wrote (the clock jumps whenever the runtime looks idle).
pub async fn collect_until(
    stream: &mut EventStream,
    within: Duration,
    until: impl Fn(&Stamped) -> bool,
) -> Vec<Stamped> {
    let (alarm, mut rang) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(within);
        let _ = alarm.send(());
    });
    let mut seen = Vec::new();
    loop {
        let mut batch = Vec::new();
        let open = tokio::select! {
            open = stream.recv_batch(&mut batch) => open,
            _ = &mut rang => return seen,
        };
        let done = batch.iter().any(&until);
        seen.extend(batch);
        if done || !open {
            return seen;
        }
    }
}

/// Whatever is queued right now, without waiting.
pub fn drain(stream: &mut EventStream) -> Vec<Stamped> {
    let mut seen = Vec::new();
    while let Some(true) = stream.try_recv_batch(&mut seen) {}
    seen
}

/// Everything until the session ends (bounded by `within`).
pub async fn until_ended(stream: &mut EventStream, within: Duration) -> Vec<Stamped> {
    collect_until(stream, within, |s| ended(s).is_some()).await
}

pub fn ended(s: &Stamped) -> Option<&EndReason> {
    match &s.event {
        SessionEvent::State(SessionState::Ended(r)) => Some(r),
        _ => None,
    }
}

/// The reason the session ended; panics (failing the test) with the stream if it did not.
pub fn end_reason(seen: &[Stamped]) -> EndReason {
    seen.iter()
        .find_map(ended)
        .cloned()
        .unwrap_or_else(|| panic!("the session did not end; it published: {seen:#?}"))
}

pub fn logged_in(s: &Stamped) -> bool {
    matches!(s.event, SessionEvent::State(SessionState::LoggedIn { .. }))
}

/// Received messages that are events, in order, as (event name, link).
pub fn events(seen: &[Stamped]) -> Vec<(String, Link)> {
    seen.iter()
        .filter_map(|s| match &s.event {
            SessionEvent::Received { message, link, .. } if message.event_name().is_some() => {
                Some((
                    String::from_utf8_lossy(message.event_name().unwrap()).into_owned(),
                    link.clone(),
                ))
            }
            _ => None,
        })
        .collect()
}

/// Just the event names, in order.
pub fn event_names(seen: &[Stamped]) -> Vec<String> {
    events(seen).into_iter().map(|(name, _)| name).collect()
}

/// The protocol errors published, as (what, preview).
pub fn protocol_errors(seen: &[Stamped]) -> Vec<(String, Vec<u8>)> {
    seen.iter()
        .filter_map(|s| match &s.event {
            SessionEvent::ProtocolError { what, preview } => Some((what.clone(), preview.clone())),
            _ => None,
        })
        .collect()
}

/// Runs a session against `config` until it ends; returns everything it published.
pub async fn run_to_end(config: SessionConfig, within: Duration) -> Vec<Stamped> {
    // The handle must live: a session whose handles are all gone logs off.
    let (handle, mut stream) = session::spawn(config);
    let seen = until_ended(&mut stream, within).await;
    drop(handle);
    seen
}

/// A TLS acceptor presenting `tests/fixtures/tls/{name}.pem` with its key.
pub fn tls_acceptor(name: &str) -> tokio_rustls::TlsAcceptor {
    use std::sync::Arc;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let pem = std::fs::read(dir.join(format!("{name}.pem"))).expect("certificate fixture");
    let key = std::fs::read(dir.join(format!("{name}.key"))).expect("key fixture");
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .expect("PEM certificate");
    let key = rustls_pemfile::private_key(&mut key.as_slice())
        .expect("PEM key")
        .expect("a key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("certificate and key match");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// The path of a TLS fixture.
pub fn tls_fixture(file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(file)
}
