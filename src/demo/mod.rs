//! A simulated Asterisk 22 PBX speaking AMI, for `amicon demo` and `amicon serve`.
//!
//! `amicon demo` starts it inside the process on a loopback port ([`start`]) and points
//! the normal console at it, so a newcomer sees live calls with no Asterisk at hand;
//! `amicon serve` runs it as a standalone AMI server for testing other clients
//! ([`serve`]). The parts: [`sim`] is the PBX (calls, channels, a queue) as pure state
//! driven by a seeded RNG and a given clock; [`session`] is one client's protocol, also
//! pure; [`server`] puts them on sockets (and runs the benchmark flood); [`users`] says
//! who may log in; [`actions`] is what `ListCommands` and `manager show command` print;
//! [`wire`] writes messages byte for byte as Asterisk does.
//!
//! The demo office: phones `PJSIP/alice` (2001) to `PJSIP/paula` (2014), a `support`
//! queue (extension 600, agents carol, dave, erin, mei) fed by outside callers on
//! `PJSIP/trunk`, and test extensions for `Local/<exten>@<any context>` originates:
//! `echo` (answers, 2 s), `long` (30 s), `short`, `busy`, `noanswer`, a phone's name or
//! number, `600`/`support`. Other extensions fail like a missing one.

pub mod actions;
pub mod dialect;
pub mod manager_conf;
pub mod server;
pub mod session;
pub mod sim;
pub mod users;
pub mod wire;

pub use dialect::Dialect;
pub use server::FloodRate;
pub use users::{Users, UsersError};

use crate::secret::Secret;
use server::Shared;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How to run the simulated PBX.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Background calls started per second, on average (0 for none).
    pub calls_per_second: f64,
    /// The seed of every random choice; the same seed replays the same traffic.
    pub seed: u64,
    /// Who may log in; empty means the default `demo`/`demo`.
    pub users: Users,
    /// Stream pre-encoded call events to each client after login, for benchmarks.
    pub flood: Option<FloodRate>,
    /// Log connections on stderr (never in the TUI, where it would garble the screen).
    pub log: bool,
    /// Which Asterisk to play (banner, CoreSettings, Command format).
    pub asterisk: Dialect,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            calls_per_second: 0.5,
            seed: clock_seed(),
            users: Users::default(),
            flood: None,
            log: false,
            asterisk: Dialect::default(),
        }
    }
}

fn clock_seed() -> u64 {
    server::now() ^ u64::from(std::process::id()).rotate_left(32)
}

/// A running demo PBX. Dropping it stops the server.
pub struct DemoServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl DemoServer {
    /// Where clients connect.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A user to log in with (the first configured one).
    pub fn login(&self) -> (String, Secret) {
        let users = self.shared.users();
        let name = users
            .names()
            .next()
            .unwrap_or(users::DEFAULT_USER)
            .to_string();
        let secret = users
            .secret(&name)
            .cloned()
            .unwrap_or_else(|| Secret::new(users::DEFAULT_SECRET.into()));
        (name, secret)
    }

    /// How the console connects to this server: its address and first user, MD5 login.
    pub fn session_config(&self) -> crate::session::SessionConfig {
        let (user, secret) = self.login();
        let endpoint = crate::session::Endpoint {
            host: self.addr.ip().to_string(),
            port: self.addr.port(),
            tls: false,
        };
        crate::session::SessionConfig::new(endpoint, user, secret)
    }

    /// Every user name that may log in.
    pub fn user_names(&self) -> Vec<String> {
        self.shared.users().names().map(str::to_string).collect()
    }

    /// Events the flood has written to clients so far (counted when a client goes).
    pub fn flood_events_sent(&self) -> u64 {
        self.shared.flood_sent()
    }

    /// Stops accepting, closes every connection and waits for the listener to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Starts the simulated PBX on `options.listen` inside the current tokio runtime.
pub async fn start(options: DemoOptions) -> std::io::Result<DemoServer> {
    let listen = options.listen;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?;
    let addr = listener.local_addr()?;
    let users = if options.users.is_empty() {
        Users::default_demo()
    } else {
        options.users
    };
    let shared = Arc::new(Shared::new(
        options.seed,
        options.calls_per_second,
        users,
        options.flood,
        options.log,
        options.asterisk,
    ));
    let (shutdown, watcher) = watch::channel(false);
    let task = tokio::spawn(server::run(listener, shared.clone(), watcher));
    Ok(DemoServer {
        addr,
        shared,
        shutdown,
        task: Some(task),
    })
}

/// `amicon serve`: a standalone AMI server for testing other clients.
#[derive(clap::Args, Clone)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:5038")]
    pub listen: SocketAddr,
    /// Background calls started per second, on average (0 for none).
    #[arg(long, value_name = "CALLS_PER_SEC", default_value_t = 0.5)]
    pub rate: f64,
    /// Seed of the simulated traffic (the same seed replays the same calls).
    #[arg(long)]
    pub seed: Option<u64>,
    /// File of users, one `name = secret` per line (`#` comments; TOML strings work).
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
    /// Users, rights and address rules from an Asterisk `manager.conf` (sections with
    /// `secret`, `read`, `write`, `permit`, `deny`), enforced on actions and events.
    #[arg(long, value_name = "FILE")]
    pub manager_conf: Option<PathBuf>,
    /// A user that may log in; repeat for more. Visible in the process list: prefer --users.
    #[arg(long = "user", value_name = "NAME:SECRET")]
    pub user: Vec<String>,
    /// The Asterisk version to play: 22, 20, 18, 16 or 13 (banner, CoreSettings and
    /// CoreStatus fields, 13's `Response: Follows` Command replies).
    #[arg(long, value_name = "VERSION", default_value = "22")]
    pub asterisk: Dialect,
    /// After login, stream call events to each client at this rate, or `max`, for benchmarks.
    #[arg(long, value_name = "EVENTS_PER_SEC|max")]
    pub flood: Option<FloodRate>,
}

/// `--user` values hold secrets: `Debug` shows only the names.
impl std::fmt::Debug for ServeArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let users: Vec<String> = self
            .user
            .iter()
            .map(|u| format!("{}:***", u.split(':').next().unwrap_or_default()))
            .collect();
        f.debug_struct("ServeArgs")
            .field("listen", &self.listen)
            .field("rate", &self.rate)
            .field("seed", &self.seed)
            .field("users", &self.users)
            .field("manager_conf", &self.manager_conf)
            .field("user", &users)
            .field("flood", &self.flood)
            .field("asterisk", &self.asterisk)
            .finish()
    }
}

/// Runs `amicon serve` until Ctrl-C, saying on stderr where it listens and who may log in.
pub async fn serve(args: ServeArgs) -> std::io::Result<()> {
    let invalid =
        |e: UsersError| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string());
    let mut users = Users::default();
    if let Some(path) = &args.users {
        users.add_file(path).map_err(invalid)?;
        if users.is_empty() {
            let message = format!(
                "{}: no users in this file (expected `name = secret` lines)",
                path.display()
            );
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                message,
            ));
        }
    }
    if let Some(path) = &args.manager_conf {
        users.add_manager_conf(path).map_err(invalid)?;
        if users.is_empty() {
            let message = format!(
                "{}: no users in this file (expected [name] sections with a secret)",
                path.display()
            );
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                message,
            ));
        }
    }
    for flag in &args.user {
        users.add_flag(flag).map_err(invalid)?;
    }
    if !args.rate.is_finite() || args.rate < 0.0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "--rate must be 0 or more",
        ));
    }
    let defaulted = users.is_empty();
    let options = DemoOptions {
        listen: args.listen,
        calls_per_second: args.rate,
        seed: args.seed.unwrap_or_else(clock_seed),
        users,
        flood: args.flood,
        log: true,
        asterisk: args.asterisk,
    };
    let seed = options.seed;
    let server = start(options).await?;
    eprintln!(
        "amicon serve: simulated Asterisk {} AMI listening on {} (seed {seed})",
        args.asterisk.asterisk_version(),
        server.local_addr()
    );
    if defaulted && !server.local_addr().ip().is_loopback() {
        eprintln!(
            "amicon serve: warning: listening beyond this machine with the well-known demo/demo login; pass --users or --user"
        );
    }
    if defaulted {
        eprintln!(
            "amicon serve: no users given; accepting user `{}` with secret `{}`",
            users::DEFAULT_USER,
            users::DEFAULT_SECRET
        );
    } else {
        eprintln!("amicon serve: users: {}", server.user_names().join(", "));
    }
    if let Some(flood) = args.flood {
        eprintln!(
            "amicon serve: flood mode ({flood:?}): call events streamed to each client after login"
        );
    }
    tokio::signal::ctrl_c().await?;
    let flooded = args.flood.is_some();
    let shared = server.shared.clone();
    server.shutdown().await;
    // Connections count their flood on the way out; give them a moment to finish.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    if flooded {
        eprintln!(
            "amicon serve: flood total: {} events sent",
            shared.flood_sent()
        );
    }
    eprintln!("amicon serve: stopped");
    Ok(())
}
