//! The command line (clap derive): `amicon [TARGET]` (the TUI, or `--line`), `amicon send`
//! and `amicon watch`. Only parsing lives here; what the flags mean is decided in
//! [`crate::config`] (where the connection comes from) and [`crate::cmd`] (what runs).

use crate::ami::AuthMethod;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "amicon",
    version,
    about = "An interactive console for the Asterisk Manager Interface (AMI)",
    long_about = "An interactive console for the Asterisk Manager Interface (AMI).\n\n\
                  With no subcommand it opens the terminal UI on TARGET (or `--line` for a \
                  plain line-mode prompt). `send` and `watch` are for scripts.",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = TOP_AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Line mode: a readline prompt instead of the full-screen UI.
    #[arg(long)]
    pub line: bool,

    /// Record everything the session sees to FILE (open it later with `amicon open`).
    #[arg(long, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,

    /// Append a debug log to FILE for bug reports (connect, login, reconnect, actions
    /// sent by name, errors; no secrets). Never written to the terminal.
    #[arg(long, value_name = "FILE", env = "AMICON_LOG", global = true)]
    pub log: Option<std::path::PathBuf>,
}

const TOP_AFTER_HELP: &str = "\
Targets:
  host, host:port, user@host[:port]    plain TCP, port 5038
  ami://user@host[:port]               plain TCP, port 5038
  amis://user@host[:port]              TLS, port 5039
  [::1]:5038, admin@[fe80::1]          IPv6 in brackets
  NAME                                 a profile from the config file

The secret comes from --secret-file, AMI_SECRET, the profile, or a no-echo prompt
when stdin is a terminal. Profiles live in ~/.config/amicon/config.toml (--config):

  [profiles.pbx]
  host = \"pbx.example.com\"   # port, user, secret, tls, ca_file, auth, events,
  user = \"admin\"             # filter, charset, insecure
  tls = true

Exit codes:
  0  success (watch: --count or --for reached, or stdout closed)
  1  an action answered `Response: Error`
  2  usage error (bad flag, target, filter, config file, missing secret)
  3  cannot connect (refused, unreachable, TLS/certificate problem, not an AMI server,
     or the connection was lost with --no-reconnect)
  4  authentication failed
  5  timeout (no answer to Login or to an action)";

impl Cli {
    /// The clap command: the derived one, with TARGET required by `send` and `watch`
    /// (it is optional for the TUI, which may start from the default profile).
    pub fn command() -> clap::Command {
        use clap::CommandFactory;
        let require_target = |sub: clap::Command| sub.mut_arg("target", |a| a.required(true));
        <Cli as CommandFactory>::command()
            .mut_subcommand("send", require_target)
            .mut_subcommand("watch", require_target)
    }

    /// Parses the process arguments; on a usage error prints it and exits 2 (0 for --help).
    pub fn parse_args() -> Cli {
        Cli::parse_from_iter(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    pub fn parse_from_iter<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::FromArgMatches;
        let mut matches = Cli::command().try_get_matches_from(args)?;
        Cli::from_arg_matches_mut(&mut matches)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send actions and print their answers (raw AMI text, or --json).
    #[command(after_help = SEND_AFTER_HELP)]
    Send(SendArgs),
    /// Stream events that match a filter (raw AMI text, --format line, or --json).
    #[command(after_help = WATCH_AFTER_HELP)]
    Watch(WatchArgs),
    /// Open the console on a simulated Asterisk 22 PBX inside amicon (no server needed).
    Demo(DemoArgs),
    /// Run a simulated Asterisk 22 AMI server (for testing clients and scripts).
    Serve(crate::demo::ServeArgs),
    /// Open a recording (--record, watch --record) or a plain AMI transcript in the
    /// console, without a connection: log, filters, search, detail and calls all work.
    Open(OpenArgs),
    /// Print a shell completion script to stdout, e.g.
    /// `amicon completions bash > ~/.local/share/bash-completion/completions/amicon`.
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout, e.g. `amicon man | man -l -`.
    Man,
}

/// `amicon completions SHELL`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `amicon open FILE`: a recording or a saved AMI transcript in the TUI.
#[derive(Debug, Clone, Args)]
pub struct OpenArgs {
    /// A recording made with --record, or a plain AMI transcript (a saved telnet session).
    #[arg(value_name = "FILE")]
    pub file: std::path::PathBuf,
    /// Replay at N times the recorded pace (1 = real time); recordings only.
    #[arg(long, value_name = "N")]
    pub speed: Option<f64>,
    /// Show one entry per press of `.` in the log.
    #[arg(long, conflicts_with = "speed")]
    pub step: bool,
}

/// `amicon demo`: the TUI (or line mode) against the built-in simulated PBX.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Line mode instead of the full-screen UI.
    #[arg(long)]
    pub line: bool,
    /// Background calls started per second, on average.
    #[arg(long, value_name = "CALLS", default_value_t = 0.5)]
    pub rate: f64,
    /// Seed of the simulated traffic (the same seed replays the same calls).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Record everything the session sees to FILE (open it later with `amicon open`).
    #[arg(long, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,
}

const SEND_AFTER_HELP: &str = "\
Examples:
  amicon send admin@pbx Ping
  amicon send admin@pbx Originate Channel=Local/100@ctx Exten=200 Context=ctx Priority=1
  amicon send admin@pbx Command Command='core show channels'
  printf 'Action: Ping\\n\\nAction: CoreStatus\\n' | amicon send admin@pbx

Key=Value splits at the first `=`; keys may repeat (Variable=A=1 Variable=B=2) and keep
their order. With no ACTION, `Key: Value` blocks are read from stdin, separated by blank
lines. Logs in with `Events: off` unless --events is given.

Exit codes:
  0  every action succeeded
  1  an action answered `Response: Error`
  2  usage error (bad flag, target, Key=Value, config file, missing secret)
  3  cannot connect (refused, unreachable, TLS/certificate problem, not an AMI server,
     or the connection was lost)
  4  authentication failed
  5  timeout (no answer to Login or to an action)";

const WATCH_AFTER_HELP: &str = "\
Filter: each argument is one term; an event is printed when every term matches.
  Newchannel  'Queue*'         event name, a glob (* any run, ? one character)
  Channel=PJSIP/100-*          some value of the header matches the glob
  '*Channel=PJSIP/100-*'       the key may be a glob too (Channel, DestChannel, ...)
  'Uniqueid!=1795*'            no value matches (an absent header passes)
  'Channel~^PJSIP/10[0-9]-'    some value matches the regex (unanchored)
  'Channel!~regex'             no value matches the regex
  '~regex'                     the regex matches some `Key: value` line
  'John Smith'  '\"word\"'       free text: some header line contains it
  '!VarSet'                    not: negates the whole term
  'Newchannel|Hangup'          any alternative; Cause=16|17|21 tests one header
Globs, keys and free text ignore ASCII case; regexes do not (write (?i)). Inside a
term, quotes or \\ make text literal: CallerIDName=\"John Smith\", Exten=\\*97.
A bad term is shown with a caret under the bad part (exit 2).

Examples:
  amicon watch admin@pbx 'Queue*' Queue=support
  amicon watch admin@pbx --json Hangup --count 10
  amicon watch admin@pbx --format line '!VarSet' '!RTCP*' --for 5m

Reconnects after a lost connection (the gap is reported on stderr); with --no-reconnect
a lost connection exits 3 after printing everything received before it.

Exit codes:
  0  --count or --for reached, or stdout closed
  2  usage error (bad flag, target, filter, config file, missing secret)
  3  cannot connect (refused, unreachable, TLS/certificate problem, not an AMI server,
     or the connection was lost with --no-reconnect)
  4  authentication failed
  5  timeout (no answer to Login)";

/// How to reach and log in to one Asterisk; shared by every mode.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectArgs {
    /// host, host:port, user@host[:port], ami://..., amis://... (TLS), [v6]:port, or a profile name.
    #[arg(value_name = "TARGET", id = "target", index = 1)]
    pub target: Option<String>,

    /// AMI user name (overrides user@ in TARGET and the profile).
    #[arg(short, long, value_name = "NAME")]
    pub user: Option<String>,

    /// Read the secret from this file (first line; keep it chmod 600).
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,

    /// The secret itself. Shows in the process list: prefer --secret-file or AMI_SECRET.
    #[arg(long, value_name = "SECRET", conflicts_with = "secret_file")]
    pub secret: Option<String>,

    /// Login method: md5 challenge (the secret never crosses the wire) or plain.
    #[arg(long, value_enum, value_name = "METHOD")]
    pub auth: Option<AuthMethod>,

    /// Login `Events:` mask: `--events` (on), `--events=off`, `--events=call,user`.
    /// Default on; `send` logs in with off unless this is given.
    #[arg(long, value_name = "MASK", num_args = 0..=1, require_equals = true, default_missing_value = "on")]
    pub events: Option<String>,

    /// Use TLS (default port 5039).
    #[arg(long)]
    pub tls: bool,

    /// Trust this CA (PEM) on top of the system roots.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Accept any TLS certificate. Anyone on the path can read and change the session.
    #[arg(long)]
    pub insecure: bool,

    /// Character set of the PBX's text (utf-8, gbk, latin1, ...), for display only.
    #[arg(long, value_name = "NAME")]
    pub charset: Option<String>,

    /// How long to wait for the TCP (and TLS) connection.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub connect_timeout: Option<Duration>,

    /// How long an action may wait for its answer (and each login step).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// Config file (default: ~/.config/amicon/config.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Profile to start from (TARGET may then be omitted, or override its host).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Do not reconnect after a lost connection.
    #[arg(long)]
    pub no_reconnect: bool,

    /// Refuse every action outside a read list (Ping, *Show*, *List*, Status, `core show`
    /// ...) in every mode; also `read_only = true` in a profile.
    #[arg(long)]
    pub read_only: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// The action name (Ping, Originate, Command, ...). Without it, blocks are read from stdin.
    #[arg(value_name = "ACTION", index = 2)]
    pub action: Option<String>,

    /// Headers of the action as Key=Value (repeat a key to send it twice).
    #[arg(value_name = "KEY=VALUE", index = 3)]
    pub headers: Vec<String>,

    /// Print each answer as JSON Lines (one object per message) instead of raw AMI text.
    #[arg(long)]
    pub json: bool,
}

/// How `watch` prints events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum WatchFormat {
    /// The exact bytes Asterisk sent (lossless).
    #[default]
    Raw,
    /// One line per event: time, name and the telling headers.
    Line,
    /// JSON Lines: one object per event, every header in order, repeats kept.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Filter terms; an event is printed when all of them match.
    #[arg(value_name = "FILTER", index = 2)]
    pub filter: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = WatchFormat::Raw, conflicts_with = "json")]
    pub format: WatchFormat,

    /// Same as --format json.
    #[arg(long)]
    pub json: bool,

    /// Stop (exit 0) after this many matching events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// Stop (exit 0) after this long, e.g. 30s, 5m, 1h.
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Also write everything the session sees (unfiltered, timestamped, secrets masked)
    /// to FILE, readable as AMI text and by `amicon open`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,
}

impl WatchArgs {
    pub fn output_format(&self) -> WatchFormat {
        if self.json {
            WatchFormat::Json
        } else {
            self.format
        }
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 500ms, 10s, 5m, 1h)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::parse_from_iter(std::iter::once("amicon").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
        // mut_arg re-inserts the argument; the explicit indexes keep TARGET first.
        for sub in ["send", "watch"] {
            let cmd = Cli::command();
            let sub = cmd.find_subcommand(sub).unwrap();
            let first = sub
                .get_positionals()
                .find(|a| a.get_index() == Some(1))
                .unwrap();
            assert_eq!(first.get_id(), "target");
            assert!(first.is_required_set());
        }
    }

    #[test]
    fn send_takes_target_action_and_repeated_headers_in_order() {
        let cli = parse(&[
            "send",
            "admin@pbx",
            "Originate",
            "Variable=A=1",
            "Variable=B=2",
            "Exten=200",
        ])
        .unwrap();
        let Some(Command::Send(send)) = cli.command else {
            panic!("not send")
        };
        assert_eq!(send.connect.target.as_deref(), Some("admin@pbx"));
        assert_eq!(send.action.as_deref(), Some("Originate"));
        assert_eq!(send.headers, ["Variable=A=1", "Variable=B=2", "Exten=200"]);
    }

    #[test]
    fn send_without_a_target_is_a_usage_error() {
        let err = parse(&["send"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn events_flag_alone_means_on_and_never_swallows_the_target() {
        let cli = parse(&["send", "--events", "admin@pbx", "Ping"]).unwrap();
        let Some(Command::Send(send)) = cli.command else {
            panic!("not send")
        };
        assert_eq!(send.connect.events.as_deref(), Some("on"));
        assert_eq!(send.connect.target.as_deref(), Some("admin@pbx"));
        assert_eq!(send.action.as_deref(), Some("Ping"));
        let cli = parse(&["watch", "pbx", "--events=call,user"]).unwrap();
        let Some(Command::Watch(watch)) = cli.command else {
            panic!("not watch")
        };
        assert_eq!(watch.connect.events.as_deref(), Some("call,user"));
    }

    #[test]
    fn watch_reads_filters_count_and_duration() {
        let cli = parse(&[
            "watch", "pbx", "Queue*", "!VarSet", "--count", "3", "--for", "1m30s", "--json",
        ])
        .unwrap();
        let Some(Command::Watch(watch)) = cli.command else {
            panic!("not watch")
        };
        assert_eq!(watch.filter, ["Queue*", "!VarSet"]);
        assert_eq!(watch.count, Some(3));
        assert_eq!(watch.duration, Some(Duration::from_secs(90)));
        assert_eq!(watch.output_format(), WatchFormat::Json);
    }

    #[test]
    fn json_and_format_together_are_refused() {
        assert!(parse(&["watch", "pbx", "--json", "--format", "line"]).is_err());
    }

    #[test]
    fn the_tui_target_is_optional_and_auth_is_an_enum() {
        let cli = parse(&["--line", "--auth", "plain", "amis://admin@pbx"]).unwrap();
        assert!(cli.command.is_none() && cli.line);
        assert_eq!(cli.connect.auth, Some(AuthMethod::Plain));
        assert!(parse(&["--auth", "sha1", "pbx"]).is_err());
        assert!(parse(&[]).unwrap().connect.target.is_none());
    }

    #[test]
    fn a_bad_duration_names_examples() {
        let err = parse(&["watch", "pbx", "--for", "soon"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("examples"), "{err}");
    }
}
