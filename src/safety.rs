//! The one confirmation policy of every interactive front end (the TUI's composer, its
//! calls view, line mode at a terminal), and the read-only belt (`--read-only`).
//!
//! A pure table: given an action, say whether it may go as is, must be confirmed first
//! (it changes calls, configuration or the database), or must be refused (read-only
//! mode, outside the read list). Scripts (`send`, `watch`, piped blocks) never ask, but
//! read-only refuses in them too. The front ends add the target's live state to the
//! question ([`describe_channel`]); nothing here looks at a session.

use crate::ami::Action;

/// What the front end must do before sending an action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it.
    Send,
    /// Ask first: `why` says what it changes; `channel` is the call it acts on, if any.
    Confirm {
        why: String,
        channel: Option<String>,
    },
    /// Do not send: read-only mode and the action is not on the read list.
    Refuse(String),
}

/// What changes, and how much harm a slip does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Calls,
    Configuration,
    Database,
    Session,
}

impl Change {
    fn words(self) -> &'static str {
        match self {
            Change::Calls => "changes live calls",
            Change::Configuration => "changes configuration or reloads",
            Change::Database => "changes the AstDB",
            Change::Session => "ends this session",
        }
    }
}

/// Actions that ask first, lower-case, with what they change.
pub const CONFIRM_ACTIONS: &[(&str, Change)] = &[
    ("hangup", Change::Calls),
    ("pjsiphangup", Change::Calls),
    ("softhangup", Change::Calls),
    ("redirect", Change::Calls),
    ("blindtransfer", Change::Calls),
    ("atxfer", Change::Calls),
    ("cancelatxfer", Change::Calls),
    ("park", Change::Calls),
    ("bridge", Change::Calls),
    ("bridgekick", Change::Calls),
    ("bridgedestroy", Change::Calls),
    ("confbridgekick", Change::Calls),
    ("confbridgelock", Change::Calls),
    ("meetmekick", Change::Calls),
    ("queueremove", Change::Calls),
    ("queuepause", Change::Calls),
    ("queuereset", Change::Calls),
    ("queuereload", Change::Configuration),
    ("updateconfig", Change::Configuration),
    ("createconfig", Change::Configuration),
    ("reload", Change::Configuration),
    ("moduleload", Change::Configuration),
    ("coreshutdown", Change::Configuration),
    ("pjsipunregister", Change::Configuration),
    ("dbput", Change::Database),
    ("dbdel", Change::Database),
    ("dbdeltree", Change::Database),
    ("logoff", Change::Session),
];

/// CLI commands (`Action: Command`) that ask first, as word prefixes.
pub const CONFIRM_COMMANDS: &[(&str, Change)] = &[
    ("core stop", Change::Configuration),
    ("core restart", Change::Configuration),
    ("restart", Change::Configuration),
    ("stop", Change::Configuration),
    ("reload", Change::Configuration),
    ("module reload", Change::Configuration),
    ("module unload", Change::Configuration),
    ("module load", Change::Configuration),
    ("module refresh", Change::Configuration),
    ("dialplan reload", Change::Configuration),
    ("dialplan remove", Change::Configuration),
    ("dialplan add", Change::Configuration),
    ("pjsip reload", Change::Configuration),
    ("sip reload", Change::Configuration),
    ("queue reload", Change::Configuration),
    ("config reload", Change::Configuration),
    ("logger reload", Change::Configuration),
    ("channel request hangup", Change::Calls),
    ("hangup request", Change::Calls),
    ("confbridge kick", Change::Calls),
    ("meetme kick", Change::Calls),
    ("queue remove", Change::Calls),
    ("queue pause", Change::Calls),
    ("channel redirect", Change::Calls),
    ("database put", Change::Database),
    ("database del", Change::Database),
    ("database deltree", Change::Database),
];

/// Actions that only read: the ones read-only mode lets through (lower-case).
pub const READ_ACTIONS: &[&str] = &[
    "ping",
    "login",
    "logoff",
    "challenge",
    "events",
    "filter",
    "waitevent",
    "listcommands",
    "listcategories",
    "getconfig",
    "getconfigjson",
    "getvar",
    "corestatus",
    "coresettings",
    "coreshowchannels",
    "coreshowchannelmap",
    "status",
    "extensionstate",
    "extensionstatelist",
    "devicestatelist",
    "presencestate",
    "presencestatelist",
    "mailboxcount",
    "mailboxstatus",
    "queuestatus",
    "queuesummary",
    "queues",
    "queuerule",
    "sippeers",
    "sipshowpeer",
    "sipshowregistry",
    "sippeerstatus",
    "iaxpeers",
    "iaxpeerlist",
    "iaxregistry",
    "iaxnetstats",
    "pjsipshowendpoints",
    "pjsipshowendpoint",
    "pjsipshowaors",
    "pjsipshowauths",
    "pjsipshowcontacts",
    "pjsipshowregistrationsinbound",
    "pjsipshowregistrationsoutbound",
    "pjsipshowregistrationinboundcontactstatuses",
    "pjsipshowresourcelists",
    "pjsipshowsubscriptionsinbound",
    "pjsipshowsubscriptionsoutbound",
    "pjsipqualify",
    "bridgelist",
    "bridgeinfo",
    "bridgetechnologylist",
    "confbridgelist",
    "confbridgelistrooms",
    "meetmelist",
    "meetmelistrooms",
    "parkedcalls",
    "parkinglots",
    "agents",
    "dbget",
    "dbgettree",
    "modulecheck",
    "showdialplan",
    "voicemailuserslist",
    "voicemailuserstatus",
    "faxsessions",
    "faxsession",
    "faxstats",
    "dahdishowchannels",
];

/// CLI commands read-only mode lets through: their first or second word is `show` or
/// `list` (`core show channels`, `pjsip list endpoints`), or they are one of these.
const READ_COMMANDS: &[&str] = &["core ping", "core show", "database get", "database query"];

/// What `action` asks of the front end. `read_only` is the `--read-only` belt.
pub fn assess(action: &Action, read_only: bool) -> Verdict {
    let Some(name) = action.name() else {
        return Verdict::Send;
    };
    let lower = name.to_ascii_lowercase();
    let command = (lower == "command").then(|| normalized_command(action));
    if read_only {
        let allowed = match &command {
            Some(command) => is_read_command(command),
            None => READ_ACTIONS.contains(&lower.as_str()),
        };
        if !allowed {
            let what = match &command {
                Some(command) => format!("`{command}`"),
                None => name.clone(),
            };
            return Verdict::Refuse(format!(
                "read-only mode: {what} is not on the read list; not sent"
            ));
        }
    }
    if let Some(command) = &command {
        return match risky_command(command) {
            Some(change) => Verdict::Confirm {
                why: format!("`{command}` {}", change.words()),
                channel: command_channel(action),
            },
            None => Verdict::Send,
        };
    }
    match CONFIRM_ACTIONS.iter().find(|(n, _)| *n == lower) {
        Some((_, change)) => Verdict::Confirm {
            why: format!("{name} {}", change.words()),
            channel: (*change == Change::Calls)
                .then(|| action.get("Channel"))
                .flatten()
                .map(|c| String::from_utf8_lossy(c).trim().to_string())
                .filter(|c| !c.is_empty()),
        },
        None => Verdict::Send,
    }
}

/// The CLI command of an `Action: Command`, lower-case, single spaces.
fn normalized_command(action: &Action) -> String {
    let command = action
        .get("Command")
        .map(|c| String::from_utf8_lossy(c).to_ascii_lowercase())
        .unwrap_or_default();
    command.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn starts_with_words(command: &str, prefix: &str) -> bool {
    command == prefix
        || command
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with(' '))
}

fn risky_command(command: &str) -> Option<Change> {
    CONFIRM_COMMANDS
        .iter()
        .find(|(prefix, _)| starts_with_words(command, prefix))
        .map(|(_, change)| *change)
}

fn is_read_command(command: &str) -> bool {
    if risky_command(command).is_some() {
        return false;
    }
    let mut words = command.split(' ');
    let first_two = [words.next(), words.next()];
    first_two
        .iter()
        .flatten()
        .any(|w| *w == "show" || *w == "list")
        || READ_COMMANDS
            .iter()
            .any(|prefix| starts_with_words(command, prefix))
}

/// The channel a `channel request hangup NAME` acts on (in its own spelling: channel
/// names are case-sensitive).
fn command_channel(action: &Action) -> Option<String> {
    let command = String::from_utf8_lossy(action.get("Command")?).into_owned();
    let words: Vec<&str> = command.split_whitespace().collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
    let at = match lower
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["channel", "request", "hangup", ..] => 3,
        ["hangup", "request", ..] => 2,
        _ => return None,
    };
    let name = words.get(at)?;
    (!name.eq_ignore_ascii_case("all")).then(|| name.to_string())
}

/// What the front end knows of a channel right now, for the question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelNow {
    /// `ChannelStateDesc` (`Up`, `Ringing`).
    pub state: String,
    pub duration: std::time::Duration,
}

/// The target line of the question: `PJSIP/alice-00000001: up now (Up, 1:05)`, or that
/// it is no longer seen (the call may have ended while the block was typed).
pub fn describe_channel(name: &str, now: Option<&ChannelNow>) -> String {
    match now {
        Some(now) => {
            let secs = now.duration.as_secs();
            format!(
                "{name}: still up ({}, {}:{:02})",
                if now.state.is_empty() {
                    "state unknown"
                } else {
                    &now.state
                },
                secs / 60,
                secs % 60
            )
        }
        None => format!("{name}: not among the live channels (gone, or never seen)"),
    }
}

/// The whole question: what it changes, then the target.
pub fn question(why: &str, target: Option<String>) -> String {
    match target {
        Some(target) => format!("{why}; {target}"),
        None => why.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(block: &str) -> Action {
        Action::parse_block(block).unwrap()
    }

    fn verdict_kind(block: &str, read_only: bool) -> &'static str {
        match assess(&action(block), read_only) {
            Verdict::Send => "send",
            Verdict::Confirm { .. } => "confirm",
            Verdict::Refuse(_) => "refuse",
        }
    }

    /// The policy as a table: block, normal mode, read-only mode.
    const TABLE: &[(&str, &str, &str)] = &[
        ("Action: Ping", "send", "send"),
        ("Action: CoreShowChannels", "send", "send"),
        ("Action: PJSIPShowEndpoints", "send", "send"),
        ("Action: Status", "send", "send"),
        ("Action: Logoff", "confirm", "confirm"),
        ("Action: Hangup\nChannel: PJSIP/a-1", "confirm", "refuse"),
        (
            "Action: Redirect\nChannel: PJSIP/a-1\nExten: 1",
            "confirm",
            "refuse",
        ),
        ("Action: BlindTransfer\nChannel: x", "confirm", "refuse"),
        ("Action: Atxfer\nChannel: x", "confirm", "refuse"),
        ("Action: QueueRemove\nQueue: q", "confirm", "refuse"),
        ("Action: QueuePause\nQueue: q", "confirm", "refuse"),
        ("Action: UpdateConfig", "confirm", "refuse"),
        ("Action: DBPut\nFamily: f", "confirm", "refuse"),
        ("Action: DBDel\nFamily: f", "confirm", "refuse"),
        ("Action: DBDelTree\nFamily: f", "confirm", "refuse"),
        ("Action: Reload", "confirm", "refuse"),
        ("Action: ModuleLoad", "confirm", "refuse"),
        (
            "Action: Originate\nChannel: Local/echo@test",
            "send",
            "refuse",
        ),
        ("Action: Setvar\nVariable: x", "send", "refuse"),
        ("Action: DBGet\nFamily: f", "send", "send"),
        (
            "Action: Command\nCommand: core show channels",
            "send",
            "send",
        ),
        (
            "Action: Command\nCommand: pjsip show endpoints",
            "send",
            "send",
        ),
        ("Action: Command\nCommand: sip show peers", "send", "send"),
        ("Action: Command\nCommand: database show", "send", "send"),
        (
            "Action: Command\nCommand: core restart now",
            "confirm",
            "refuse",
        ),
        (
            "Action: Command\nCommand: core stop gracefully",
            "confirm",
            "refuse",
        ),
        (
            "Action: Command\nCommand: channel request hangup all",
            "confirm",
            "refuse",
        ),
        (
            "Action: Command\nCommand: module unload chan_pjsip.so",
            "confirm",
            "refuse",
        ),
        (
            "Action: Command\nCommand: module reload",
            "confirm",
            "refuse",
        ),
        (
            "Action: Command\nCommand: database put a b c",
            "confirm",
            "refuse",
        ),
        (
            "Action: Command\nCommand: database del a b",
            "confirm",
            "refuse",
        ),
        (
            "Action: Command\nCommand: database deltree a",
            "confirm",
            "refuse",
        ),
        (
            "Action: Command\nCommand: dialplan reload",
            "confirm",
            "refuse",
        ),
        (
            "Action: Command\nCommand:   Core   RESTART  when convenient",
            "confirm",
            "refuse",
        ),
        ("Action: Command\nCommand: reload", "confirm", "refuse"),
        (
            "Action: Command\nCommand: core set verbose 3",
            "send",
            "refuse",
        ),
        (
            "Action: Command\nCommand: module show like pjsip",
            "send",
            "send",
        ),
    ];

    #[test]
    fn the_policy_table() {
        for (block, normal, read_only) in TABLE {
            assert_eq!(verdict_kind(block, false), *normal, "{block:?}");
            assert_eq!(verdict_kind(block, true), *read_only, "read-only {block:?}");
        }
    }

    #[test]
    fn words_are_matched_whole() {
        // `reloaded` is not `reload`; `stop` alone is, `stopwatch` is not.
        assert_eq!(
            verdict_kind("Action: Command\nCommand: reloaded", false),
            "send"
        );
        assert_eq!(
            verdict_kind("Action: Command\nCommand: stopwatch", false),
            "send"
        );
        assert_eq!(
            verdict_kind("Action: Command\nCommand: stop now", false),
            "confirm"
        );
    }

    #[test]
    fn the_question_names_the_channel() {
        let Verdict::Confirm { why, channel } = assess(
            &action("Action: Hangup\nChannel: PJSIP/alice-00000001"),
            false,
        ) else {
            panic!("not confirmed")
        };
        assert_eq!(why, "Hangup changes live calls");
        assert_eq!(channel.as_deref(), Some("PJSIP/alice-00000001"));
        let Verdict::Confirm { channel, .. } = assess(
            &action("Action: Command\nCommand: channel request hangup PJSIP/bob-2"),
            false,
        ) else {
            panic!("not confirmed")
        };
        assert_eq!(channel.as_deref(), Some("PJSIP/bob-2"));
        let up = ChannelNow {
            state: "Up".into(),
            duration: std::time::Duration::from_secs(65),
        };
        assert_eq!(
            describe_channel("PJSIP/alice-00000001", Some(&up)),
            "PJSIP/alice-00000001: still up (Up, 1:05)"
        );
        assert!(describe_channel("x", None).contains("not among the live channels"));
    }

    #[test]
    fn refusals_say_what_and_why() {
        let Verdict::Refuse(why) = assess(&action("Action: Originate\nChannel: x"), true) else {
            panic!("not refused")
        };
        assert!(
            why.contains("read-only") && why.contains("Originate"),
            "{why}"
        );
    }
}
