//! `amicon send`: log in, send one action (from the arguments) or several (`Key: Value`
//! blocks on stdin), print each whole answer, log off, and exit with a code a script can
//! test: 0 all succeeded, 1 an action answered `Error`, 3/4/5 connection, login, timeout.

use super::{
    is_closed_pipe, warn, EXIT_ACTION_ERROR, EXIT_CANNOT_CONNECT, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE,
};
use crate::ami::Action;
use crate::cli::SendArgs;
use crate::format::{self, Charset};
use crate::session::{self, ActionError, Link, Reply, SessionConfig, SessionEvent, Stamped};
use std::io::{BufWriter, Read, Write};
use std::time::{Duration, SystemTime};

/// How long the final `Logoff` may take before we leave anyway.
const LOGOFF_GRACE: Duration = Duration::from_secs(2);

/// Builds the action given on the command line: `ACTION [Key=Value ...]`, each pair split
/// at its first `=`, repeats and order kept.
pub fn action_from_args(name: &str, pairs: &[String]) -> Result<Action, String> {
    if name.trim().is_empty() {
        return Err("the action name is empty".into());
    }
    let mut action = Action::new(name);
    for pair in pairs {
        match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() => action.push(key, value),
            _ => {
                return Err(format!(
                    "{pair:?} is not Key=Value (e.g. Channel=PJSIP/100)"
                ))
            }
        }
    }
    action.validate().map_err(|e| format!("{name}: {e}"))?;
    Ok(action)
}

/// Splits stdin text into `Key: Value` blocks separated by blank lines and parses each.
/// Errors name the block and its first line number.
pub fn actions_from_blocks(text: &str) -> Result<Vec<Action>, String> {
    let mut actions = Vec::new();
    let mut block = String::new();
    let mut block_start = 0;
    let lines = text.lines().chain(std::iter::once(""));
    for (n, line) in lines.enumerate() {
        if line.trim().is_empty() {
            if !block.is_empty() {
                let action = Action::parse_block(&block)
                    .map_err(|e| format!("stdin, action at line {}: {e}", block_start + 1))?;
                action
                    .validate()
                    .map_err(|e| format!("stdin, action at line {}: {e}", block_start + 1))?;
                actions.push(action);
                block.clear();
            }
            continue;
        }
        if block.is_empty() {
            block_start = n;
        }
        block.push_str(line);
        block.push('\n');
    }
    if actions.is_empty() {
        return Err("no ACTION given and no `Key: Value` block on stdin".into());
    }
    Ok(actions)
}

fn read_actions(args: &SendArgs) -> Result<Vec<Action>, String> {
    if let Some(name) = &args.action {
        return Ok(vec![action_from_args(name, &args.headers)?]);
    }
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        warn("reading actions from the terminal: `Key: Value` lines, a blank line between actions, Ctrl-D to send");
    }
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read stdin: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| "stdin is not UTF-8".to_string())?;
    actions_from_blocks(&text)
}

/// The exit code for an action that got no answer.
pub(crate) fn exit_code_of(error: &ActionError) -> i32 {
    match error {
        ActionError::Invalid(_) | ActionError::DuplicateActionId(_) => EXIT_USAGE,
        ActionError::Timeout(_) => EXIT_TIMEOUT,
        // `Recorded` only comes from reading a recording back; a live session never
        // produces it, and treating it as a lost session stops the run safely.
        ActionError::NotConnected
        | ActionError::ConnectionLost
        | ActionError::SessionEnded
        | ActionError::Recorded(_) => EXIT_CANNOT_CONNECT,
    }
}

/// Writes a whole answer: raw wire bytes (each message ends with its blank line), or one
/// line (`--format line`) or JSON line per message.
/// With `server` (several targets at once), each raw message follows a `#@` comment
/// line naming it (the recording format), each line starts with the server's name and
/// each JSON object has `"server"`.
pub(crate) fn write_reply(
    out: &mut impl Write,
    reply: &Reply,
    format: crate::cli::WatchFormat,
    charset: Charset,
    server: Option<&str>,
) -> std::io::Result<()> {
    if format == crate::cli::WatchFormat::Raw && server.is_none() {
        for message in reply.messages() {
            out.write_all(message.wire())?;
        }
        return out.flush();
    }
    // The same lines a `watch --format line|json` or a recording shows for these messages.
    let at = SystemTime::now();
    let id = || reply.action_id.clone();
    let entries = std::iter::once((&reply.response, Link::Response { action_id: id() }))
        .chain(
            reply
                .items
                .iter()
                .map(|m| (m, Link::ListItem { action_id: id() })),
        )
        .chain(
            reply
                .complete
                .iter()
                .map(|m| (m, Link::ListComplete { action_id: id() })),
        );
    for (message, link) in entries {
        let event = SessionEvent::Received {
            message: message.clone(),
            link,
            internal: false,
        };
        let entry = Stamped { at, event };
        match (format, server) {
            (crate::cli::WatchFormat::Raw, server) => {
                crate::record::write_entry(out, &entry, server)?
            }
            (crate::cli::WatchFormat::Line, Some(server)) => {
                writeln!(out, "{server} {}", format::one_line(&entry, charset))?
            }
            (crate::cli::WatchFormat::Line, None) => {
                writeln!(out, "{}", format::one_line(&entry, charset))?
            }
            (crate::cli::WatchFormat::Json, Some(server)) => writeln!(
                out,
                "{}",
                super::fleet::tag_json(&format::json_line(&entry, charset), server)
            )?,
            (crate::cli::WatchFormat::Json, None) => {
                writeln!(out, "{}", format::json_line(&entry, charset))?
            }
        }
    }
    out.flush()
}

/// The session `send` wants: events off unless asked for (a script wants answers, not
/// the event firehose), no reconnect, no version query.
pub(crate) fn session_config(mut config: SessionConfig, args: &SendArgs) -> SessionConfig {
    if args.connect.events.is_none() {
        config.events = "off".into();
    }
    config.reconnect = false;
    config.retry_first_connect = false;
    config.query_versions = false;
    config
}

/// A script never asks, but `--read-only` refuses it before anything is sent.
pub(crate) fn refused_by_read_only(actions: &[crate::ami::Action], read_only: bool) -> Option<i32> {
    for action in actions {
        if let crate::safety::Verdict::Refuse(why) = crate::safety::assess(action, read_only) {
            warn(&why);
            return Some(EXIT_USAGE);
        }
    }
    None
}

/// Runs `amicon send`; returns the exit code.
pub async fn run(args: SendArgs) -> i32 {
    let actions = match read_actions(&args) {
        Ok(actions) => actions,
        Err(e) => {
            warn(e);
            if let Some(note) = crate::config::assumed_target_note(&args.connect) {
                warn(note);
            }
            return EXIT_USAGE;
        }
    };
    match super::fleet::split_targets(args.connect.target.as_deref()) {
        Err(e) => {
            warn(e);
            return EXIT_USAGE;
        }
        Ok(Some(targets)) => {
            // `--read-only` refuses before any of the servers is reached (a profile's
            // `read_only` is checked in `fleet::send` once the targets are resolved).
            if let Some(code) = refused_by_read_only(&actions, args.connect.read_only) {
                return code;
            }
            return super::fleet::send(&args, actions, targets).await;
        }
        Ok(None) => {}
    }
    let resolved = match super::resolve(&args.connect) {
        Ok(resolved) => resolved,
        Err(code) => return code,
    };
    if let Some(code) = refused_by_read_only(&actions, resolved.read_only) {
        return code;
    }
    let config = session_config(resolved.session, &args);

    let (handle, mut stream) = session::spawn(config);
    if let Err(reason) = super::wait_for_login(&mut stream).await {
        warn(&reason);
        return reason.exit_code();
    }
    // Keep draining the stream so it holds no memory while we wait for answers.
    let drain = tokio::spawn(async move {
        let mut batch = Vec::new();
        while stream.recv_batch(&mut batch).await {
            batch.clear();
        }
    });

    let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut code = EXIT_OK;
    for action in actions {
        let name = action.name().unwrap_or_default();
        match handle.request(action).await {
            Ok(reply) => {
                if !reply.is_success() {
                    code = code.max(EXIT_ACTION_ERROR);
                }
                match write_reply(
                    &mut out,
                    &reply,
                    args.output_format(),
                    resolved.charset,
                    None,
                ) {
                    Err(e) if is_closed_pipe(&e) => break,
                    Err(e) => {
                        warn(format!("cannot write the answer: {e}"));
                        code = code.max(EXIT_ACTION_ERROR);
                        break;
                    }
                    Ok(()) => {}
                }
            }
            Err(error) => {
                warn(format!("{name}: {error}"));
                code = code.max(exit_code_of(&error));
                if exit_code_of(&error) == EXIT_CANNOT_CONNECT {
                    break;
                }
            }
        }
    }
    drop(out);
    let _ = tokio::time::timeout(LOGOFF_GRACE, handle.logoff()).await;
    drain.abort();
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(action: &Action) -> Vec<(String, String)> {
        action
            .headers()
            .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v).into_owned()))
            .collect()
    }

    #[test]
    fn key_value_arguments_split_at_the_first_equals_and_keep_order() {
        let args: Vec<String> = [
            "Channel=Local/100@ctx",
            "Variable=A=1",
            "Variable=B=2",
            "Data=",
        ]
        .map(String::from)
        .to_vec();
        let action = action_from_args("Originate", &args).unwrap();
        let pairs = headers(&action);
        let expect = [
            ("Action", "Originate"),
            ("Channel", "Local/100@ctx"),
            ("Variable", "A=1"),
            ("Variable", "B=2"),
            ("Data", ""),
        ];
        assert_eq!(pairs, expect.map(|(k, v)| (k.to_string(), v.to_string())));
    }

    #[test]
    fn a_pair_without_equals_or_key_is_refused_by_name() {
        let err = action_from_args("Ping", &["Channel".into()]).unwrap_err();
        assert!(err.contains("\"Channel\""), "{err}");
        assert!(action_from_args("Ping", &["=x".into()]).is_err());
        let err = action_from_args("Ping", &["Bad Key=x".into()]).unwrap_err();
        assert!(err.contains("Bad Key"), "{err}");
    }

    #[test]
    fn stdin_blocks_are_split_at_blank_lines() {
        let text = "Action: Ping\r\nActionID: one\r\n\r\n\n  \nAction: Command\nCommand: core show version\n";
        let actions = actions_from_blocks(text).unwrap();
        assert_eq!(actions.len(), 2);
        assert_eq!(actions[0].action_id(), Some(&b"one"[..]));
        assert_eq!(actions[1].get("Command"), Some(&b"core show version"[..]));
    }

    #[test]
    fn a_bad_stdin_block_is_named_by_its_line() {
        let err = actions_from_blocks("Action: Ping\n\nAction: Status\nnonsense\n").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        let err = actions_from_blocks("Channel: x\n").unwrap_err();
        assert!(err.contains("Action"), "{err}");
        assert!(actions_from_blocks("\n\n").is_err());
    }
}
