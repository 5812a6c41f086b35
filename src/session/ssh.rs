//! AMI through SSH: production AMI listens on loopback, so amicon runs the system's
//! OpenSSH client as `ssh … -W HOST:PORT DEST` and speaks AMI over its stdin/stdout.
//! The user's `~/.ssh/config`, aliases, agent, `ProxyJump`, keys and known_hosts apply as
//! they are; amicon adds nothing that weakens them (no host key or password options).
//!
//! This module builds the command line, runs the child (killed when the stream is
//! dropped), keeps what ssh says on stderr, and words ssh's failures for the user.

use super::Endpoint;
use bytes::Bytes;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// The environment variable that replaces the `ssh` command (split like a shell would),
/// as `GIT_SSH_COMMAND` does for git.
pub const SSH_COMMAND_VAR: &str = "AMICON_SSH_COMMAND";

/// Most bytes of ssh's stderr kept (the end is what explains a failure).
const STDERR_KEPT: usize = 8 * 1024;
/// How long to wait for ssh to finish its last words once its stdout has closed.
const LAST_WORDS: Duration = Duration::from_secs(2);

/// How to reach AMI through SSH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshTunnel {
    /// The ssh destination: a `~/.ssh/config` alias, `user@host`, `ssh://user@host:port`.
    pub destination: String,
    /// The program and its first arguments (`AMICON_SSH_COMMAND`, default `ssh`).
    pub command: Vec<String>,
}

impl SshTunnel {
    /// A tunnel to `destination` run by `command` (`None`: plain `ssh`). Refuses a
    /// destination ssh would take for an option, and a command that is not one.
    pub fn new(destination: &str, command: Option<&str>) -> Result<SshTunnel, String> {
        let destination = destination.trim();
        if destination.is_empty() {
            return Err("the --ssh destination is empty".into());
        }
        if destination.starts_with('-') {
            return Err(format!(
                "the --ssh destination {destination:?} starts with '-' (ssh would read it as an option)"
            ));
        }
        if destination
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "the --ssh destination {destination:?} contains a space"
            ));
        }
        let command = match command.map(str::trim).filter(|c| !c.is_empty()) {
            None => vec!["ssh".to_string()],
            Some(text) => {
                let words = shell_words::split(text)
                    .map_err(|e| format!("{SSH_COMMAND_VAR}={text:?}: {e}"))?;
                if words.is_empty() {
                    vec!["ssh".to_string()]
                } else {
                    words
                }
            }
        };
        Ok(SshTunnel {
            destination: destination.to_string(),
            command,
        })
    }

    /// The whole command line: the user's command, then ours. `BatchMode=yes`: amicon
    /// owns the terminal (the TUI and line mode hold it raw) or has none (`send` and
    /// `watch` in scripts), so a password, passphrase or host-key question from ssh would
    /// be garbled or hang forever; ssh must fail with its own message instead (use an
    /// agent or a key). It weakens nothing: an unknown host key is refused, not
    /// accepted. ssh keeps the first value it reads for an option, so a user who wants
    /// otherwise puts `-o BatchMode=no` in AMICON_SSH_COMMAND.
    pub fn command_line(&self, endpoint: &Endpoint) -> Vec<String> {
        let mut line = self.command.clone();
        line.extend([
            "-o".to_string(),
            "BatchMode=yes".to_string(),
            "-W".to_string(),
            endpoint.to_string(),
            self.destination.clone(),
        ]);
        line
    }
}

/// Why the tunnel did not give a connection: the message, and whether another attempt
/// might work (a refused host key or login never will).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshFailure {
    pub message: String,
    pub retry: bool,
}

/// ssh's stdin and stdout as one stream. The child is killed when this is dropped.
pub struct SshStream {
    // Held for kill_on_drop: the child lives exactly as long as the stream.
    _child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// Bytes read while checking the tunnel works, handed out first.
    prefix: Bytes,
}

/// What ssh wrote on stderr, shared with the task that reads it.
#[derive(Clone, Default)]
pub struct SshStderr {
    text: Arc<Mutex<Vec<u8>>>,
    closed: Arc<tokio::sync::Notify>,
    done: Arc<std::sync::atomic::AtomicBool>,
}

impl SshStderr {
    fn append(&self, bytes: &[u8]) {
        let mut text = self.text.lock().unwrap_or_else(|e| e.into_inner());
        text.extend_from_slice(bytes);
        if text.len() > STDERR_KEPT {
            let cut = text.len() - STDERR_KEPT;
            text.drain(..cut);
        }
    }

    /// What ssh said, once it has finished saying it (or after a short wait), noise
    /// such as "Permanently added … to the list of known hosts" left out.
    pub async fn last_words(&self) -> String {
        use std::sync::atomic::Ordering;
        let closed = self.closed.notified();
        if !self.done.load(Ordering::Acquire) {
            let _ = tokio::time::timeout(LAST_WORDS, closed).await;
        }
        let text = self.text.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&text)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("Warning: Permanently added"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Starts ssh towards `endpoint` (as seen from the far side). With `expect_banner`
/// (plain AMI, whose server speaks first) it also waits, within `timeout`, for the
/// first bytes, so a failed tunnel is reported with ssh's own words before any AMI
/// step; over TLS the client speaks first, and the handshake shows the failure.
pub async fn connect(
    tunnel: &SshTunnel,
    endpoint: &Endpoint,
    timeout: Duration,
    expect_banner: bool,
) -> Result<(SshStream, SshStderr), SshFailure> {
    let line = tunnel.command_line(endpoint);
    let mut command = tokio::process::Command::new(&line[0]);
    command
        .args(&line[1..])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| SshFailure {
        message: spawn_error(&line[0], &e),
        retry: false,
    })?;
    let (Some(stdin), Some(stdout), Some(mut stderr_pipe)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(SshFailure {
            message: "ssh started without its pipes".into(),
            retry: true,
        });
    };
    let stderr = SshStderr::default();
    let keeper = stderr.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        loop {
            match stderr_pipe.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => keeper.append(&buf[..n]),
            }
        }
        keeper
            .done
            .store(true, std::sync::atomic::Ordering::Release);
        keeper.closed.notify_waiters();
    });
    let mut stream = SshStream {
        _child: child,
        stdin,
        stdout,
        prefix: Bytes::new(),
    };
    if !expect_banner {
        return Ok((stream, stderr));
    }
    let mut first = vec![0u8; 4096];
    match tokio::time::timeout(timeout, stream.stdout.read(&mut first)).await {
        Err(_) => {
            let said = stderr_now(&stderr);
            Err(SshFailure {
                message: format!(
                    "ssh {}: no AMI banner through the tunnel within {}s{}",
                    tunnel.destination,
                    timeout.as_secs_f32(),
                    if said.is_empty() {
                        String::new()
                    } else {
                        format!(" (ssh said: {said})")
                    }
                ),
                retry: true,
            })
        }
        Ok(Ok(n)) if n > 0 => {
            first.truncate(n);
            stream.prefix = Bytes::from(first);
            Ok((stream, stderr))
        }
        Ok(_) => {
            drop(stream);
            Err(describe_failure(
                &tunnel.destination,
                endpoint,
                &stderr.last_words().await,
            ))
        }
    }
}

fn stderr_now(stderr: &SshStderr) -> String {
    let text = stderr.text.lock().unwrap_or_else(|e| e.into_inner());
    String::from_utf8_lossy(&text).trim().replace('\n', "; ")
}

fn spawn_error(program: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => format!(
            "cannot run {program:?}: not found (install the OpenSSH client, or set {SSH_COMMAND_VAR})"
        ),
        io::ErrorKind::PermissionDenied => {
            format!("cannot run {program:?}: permission denied (set {SSH_COMMAND_VAR}?)")
        }
        _ => format!("cannot run {program:?}: {e}"),
    }
}

/// Words a tunnel that ended before AMI spoke, from what ssh said on stderr.
pub fn describe_failure(destination: &str, endpoint: &Endpoint, said: &str) -> SshFailure {
    let lower = said.to_ascii_lowercase();
    let quoted = if said.is_empty() {
        "ssh exited without a word".to_string()
    } else {
        format!("ssh said: {said}")
    };
    let (why, retry) = if lower.contains("host key verification failed")
        || lower.contains("remote host identification has changed")
    {
        (
            format!(
                "the host key of {destination} is not trusted (unknown or changed); check it and \
                 add it to known_hosts (e.g. connect once with plain ssh)"
            ),
            false,
        )
    } else if lower.contains("permission denied") || lower.contains("too many authentication") {
        (
            format!(
                "{destination} refused the ssh login (load the key into ssh-agent or name it in \
                 ~/.ssh/config; amicon cannot ask for a password or passphrase)"
            ),
            false,
        )
    } else if lower.contains("open failed")
        || lower.contains("connect failed")
        // What `ssh -W` alone says of it when the client's LogLevel hides the channel
        // error (LogLevel ERROR or QUIET in ~/.ssh/config).
        || lower.contains("stdio forwarding failed")
    {
        (
            format!(
                "ssh reached {destination}, but {destination} could not connect to {endpoint} \
                 (is AMI listening there? the address is as seen from {destination})"
            ),
            true,
        )
    } else if lower.contains("could not resolve hostname") {
        (format!("ssh cannot resolve {destination}"), true)
    } else if lower.contains("connection refused") {
        (
            format!("the ssh server of {destination} refused the connection"),
            true,
        )
    } else {
        (format!("the ssh tunnel to {destination} ended"), true)
    };
    SshFailure {
        message: format!("{why} ({quoted})"),
        retry,
    }
}

impl AsyncRead for SshStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix.split_to(n));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stdout).poll_read(cx, buf)
    }
}

impl AsyncWrite for SshStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stdin).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> Endpoint {
        Endpoint {
            host: "127.0.0.1".into(),
            port: 5038,
            tls: false,
        }
    }

    #[test]
    fn the_command_line_is_the_users_command_then_batch_mode_and_the_forward() {
        let tunnel = SshTunnel::new("pbx", None).unwrap();
        assert_eq!(
            tunnel.command_line(&local()),
            ["ssh", "-o", "BatchMode=yes", "-W", "127.0.0.1:5038", "pbx"]
        );
        let tunnel = SshTunnel::new("admin@pbx", Some("ssh -F '/tmp/my config' -p 2222")).unwrap();
        let v6 = Endpoint {
            host: "::1".into(),
            port: 5039,
            tls: true,
        };
        assert_eq!(
            tunnel.command_line(&v6),
            [
                "ssh",
                "-F",
                "/tmp/my config",
                "-p",
                "2222",
                "-o",
                "BatchMode=yes",
                "-W",
                "[::1]:5039",
                "admin@pbx"
            ]
        );
    }

    #[test]
    fn nothing_that_weakens_ssh_is_ever_added() {
        let line = SshTunnel::new("pbx", None)
            .unwrap()
            .command_line(&local())
            .join(" ");
        assert!(!line.contains("StrictHostKeyChecking"), "{line}");
        assert!(!line.contains("UserKnownHostsFile"), "{line}");
        assert!(!line.contains("Password"), "{line}");
    }

    #[test]
    fn bad_destinations_and_commands_are_refused_with_a_reason() {
        assert!(SshTunnel::new("-oProxyCommand=x", None)
            .unwrap_err()
            .contains("option"));
        assert!(SshTunnel::new("", None).unwrap_err().contains("empty"));
        assert!(SshTunnel::new("a b", None).unwrap_err().contains("space"));
        assert!(SshTunnel::new("pbx", Some("ssh -F 'unclosed"))
            .unwrap_err()
            .contains(SSH_COMMAND_VAR));
        assert_eq!(SshTunnel::new("pbx", Some("  ")).unwrap().command, ["ssh"]);
    }

    #[test]
    fn sshs_failures_are_worded_and_only_the_lasting_ones_are_final() {
        let cases = [
            ("Host key verification failed.", "not trusted", false),
            (
                "admin@127.0.0.1: Permission denied (publickey).",
                "refused the ssh login",
                false,
            ),
            (
                "channel 0: open failed: connect failed: Connection refused",
                "could not connect to 127.0.0.1:5038",
                true,
            ),
            (
                "stdio forwarding failed",
                "could not connect to 127.0.0.1:5038",
                true,
            ),
            (
                "ssh: Could not resolve hostname nowhere: Name or service not known",
                "cannot resolve",
                true,
            ),
            (
                "ssh: connect to host 127.0.0.1 port 2: Connection refused",
                "refused the connection",
                true,
            ),
            ("", "without a word", true),
        ];
        for (said, expect, retry) in cases {
            let failure = describe_failure("pbx", &local(), said);
            assert!(
                failure.message.contains(expect),
                "{said}: {}",
                failure.message
            );
            assert!(failure.message.contains(said), "ssh's own words are shown");
            assert_eq!(failure.retry, retry, "{said}");
        }
    }

    #[tokio::test]
    async fn a_missing_ssh_binary_is_named() {
        let tunnel = SshTunnel::new("pbx", Some("/nonexistent/ssh-binary")).unwrap();
        let err = connect(&tunnel, &local(), Duration::from_secs(5), true)
            .await
            .err()
            .unwrap();
        assert!(err.message.contains("not found"), "{}", err.message);
        assert!(err.message.contains(SSH_COMMAND_VAR), "{}", err.message);
        assert!(!err.retry);
    }

    #[tokio::test]
    async fn what_ssh_says_before_dying_is_reported() {
        // A stand-in for ssh that fails the way OpenSSH does on an unknown host key.
        let tunnel = SshTunnel::new(
            "pbx",
            Some("sh -c 'echo \"Host key verification failed.\" >&2; exit 255' fake-ssh"),
        )
        .unwrap();
        let err = connect(&tunnel, &local(), Duration::from_secs(5), true)
            .await
            .err()
            .unwrap();
        assert!(err.message.contains("not trusted"), "{}", err.message);
        assert!(
            err.message.contains("Host key verification failed."),
            "{}",
            err.message
        );
        assert!(!err.retry);
    }

    #[tokio::test]
    async fn the_tunnel_carries_bytes_both_ways_and_the_peeked_banner_comes_first() {
        use tokio::io::AsyncWriteExt;
        // `cat` after a banner: what we write comes back, like a tunnel to an echo server.
        let tunnel = SshTunnel::new(
            "pbx",
            Some("sh -c 'printf \"Asterisk Call Manager/9.9.9\\r\\n\"; exec cat' fake-ssh"),
        )
        .unwrap();
        let (mut stream, _stderr) = connect(&tunnel, &local(), Duration::from_secs(5), true)
            .await
            .unwrap();
        let mut banner = [0u8; 29];
        stream.read_exact(&mut banner).await.unwrap();
        assert_eq!(&banner, b"Asterisk Call Manager/9.9.9\r\n");
        stream.write_all(b"Action: Ping\r\n\r\n").await.unwrap();
        stream.flush().await.unwrap();
        let mut echo = [0u8; 16];
        stream.read_exact(&mut echo).await.unwrap();
        assert_eq!(&echo, b"Action: Ping\r\n\r\n");
    }
}
