//! Where a connection comes from: the TARGET on the command line, profiles in a TOML
//! file, the environment and flags, merged with the precedence file < env < flags into one
//! [`SessionConfig`] plus the display options that go with it.
//!
//! [`resolve`] is the I/O edge (reads the file, the environment, may prompt);
//! [`resolve_with`] is the pure merge the tests drive.

use crate::ami::AuthMethod;
use crate::cli::ConnectArgs;
use crate::format::{Charset, CharsetError};
use crate::secret::Secret;
use crate::session::{Endpoint, SessionConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const DEFAULT_PORT: u16 = 5038;
pub const DEFAULT_TLS_PORT: u16 = 5039;
/// The AMI host through `--ssh` when none is given: the far side's loopback, where
/// Asterisk's sample config binds AMI.
pub const SSH_DEFAULT_HOST: &str = "127.0.0.1";

/// Why no session could be configured. Every variant is a usage error (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("bad target {target:?}: {why}")]
    Target { target: String, why: String },
    #[error("cannot read {}: {err}", path.display())]
    Read { path: PathBuf, err: std::io::Error },
    #[error("bad config file {}: {message}", path.display())]
    Toml { path: PathBuf, message: String },
    #[error("no profile {name:?} in {}{}{}", path.display(), did_you_mean(near), known_profiles(known))]
    UnknownProfile {
        name: String,
        path: PathBuf,
        known: Vec<String>,
        /// A profile whose name is a slip away from `name`.
        near: Option<String>,
    },
    #[error(
        "no target: give one (host, user@host, amis://user@host, a profile name) or --profile"
    )]
    MissingTarget,
    #[error("no user name for {0}: write user@host, or give --user, or set `user` in the profile")]
    MissingUser(String),
    #[error("no secret for {0}: set AMI_SECRET, give --secret-file, set `secret` in the profile, or run from a terminal to be asked")]
    MissingSecret(String),
    #[error("the secret file {} is empty", .0.display())]
    EmptySecretFile(PathBuf),
    #[error("{0}")]
    UnknownCharset(#[from] CharsetError),
    #[error("{0}")]
    Ssh(String),
}

fn did_you_mean(near: &Option<String>) -> String {
    near.as_ref()
        .map(|name| format!(": did you mean {name:?}?"))
        .unwrap_or_default()
}

fn known_profiles(known: &[String]) -> String {
    if known.is_empty() {
        " (it has no profiles)".into()
    } else {
        format!(" (profiles: {})", known.join(", "))
    }
}

impl ConfigError {
    pub fn exit_code(&self) -> i32 {
        2
    }
}

/// A TARGET as typed: `host`, `host:port`, `user@host[:port]`, `ami://...`, `amis://...`,
/// IPv6 in brackets. `tls` is `Some` only when a scheme said so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub tls: Option<bool>,
}

/// Parses a TARGET. A bare word (`pbx`) is a valid host here; whether it names a
/// profile instead is decided by [`resolve_with`], which knows the profiles.
pub fn parse_target(text: &str) -> Result<Target, ConfigError> {
    let bad = |why: &str| ConfigError::Target {
        target: text.to_string(),
        why: why.to_string(),
    };
    for scheme in ["amis:", "ami:"] {
        if strip_prefix_ignore_case(text, scheme).is_some_and(|rest| !rest.starts_with("//")) {
            return Err(bad(&format!(
                "{scheme} must be followed by // (e.g. {scheme}//admin@pbx)"
            )));
        }
    }
    let (tls, rest) = if let Some(rest) = strip_prefix_ignore_case(text, "amis://") {
        (Some(true), rest)
    } else if let Some(rest) = strip_prefix_ignore_case(text, "ami://") {
        (Some(false), rest)
    } else if let Some((scheme, _)) = text.split_once("://") {
        return Err(bad(&format!(
            "unknown scheme {scheme:?}: use ami:// (TCP) or amis:// (TLS)"
        )));
    } else {
        (None, text)
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (user, address) = match rest.rsplit_once('@') {
        Some(("", _)) => return Err(bad("empty user name before @")),
        Some((user, _)) if user.contains(['/', ':']) => {
            return Err(bad(&format!(
                "the user name {user:?} contains / or : (a scheme is written ami:// or amis://)"
            )))
        }
        Some((user, address)) => (Some(user.to_string()), address),
        None => (None, rest),
    };
    let (host, port) = if let Some(inner) = address.strip_prefix('[') {
        let Some((host, after)) = inner.split_once(']') else {
            return Err(bad("missing ] after the IPv6 address"));
        };
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(parse_port(port).map_err(|why| bad(&why))?),
                None => return Err(bad("after ] expected :port")),
            },
        };
        (host, port)
    } else {
        match address.split_once(':') {
            Some((_, after)) if after.contains(':') => {
                return Err(bad("put an IPv6 address in brackets, e.g. [::1]:5038"));
            }
            Some((host, port)) => (host, Some(parse_port(port).map_err(|why| bad(&why))?)),
            None => (address, None),
        }
    };
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || c == '/' || c == '@' || c.is_control())
    {
        return Err(bad("the host contains a space, / or @"));
    }
    Ok(Target {
        user,
        host: host.to_string(),
        port,
        tls,
    })
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn parse_port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("port {text:?} is not a number from 1 to 65535")),
        Ok(port) => Ok(port),
    }
}

/// Whether a TARGET is a single word that may name a profile.
/// A profile whose name is a slip away from `word` (same letters in another case, or one
/// or two letters typed wrong, left out, added or swapped): a mistyped profile name.
fn similar_profile<'a>(word: &str, names: impl Iterator<Item = &'a String>) -> Option<&'a str> {
    let word = word.to_lowercase();
    names
        .map(|name| {
            (
                name,
                strsim::damerau_levenshtein(&word, &name.to_lowercase()),
            )
        })
        .filter(|(name, distance)| *distance <= (name.chars().count() / 3).clamp(1, 2))
        .min_by_key(|(_, distance)| *distance)
        .map(|(name, _)| name.as_str())
}

/// When a lone word was taken as the TARGET although a `default` profile exists
/// (`amicon send --config cfg.toml Ping`): what was assumed and how to say the other
/// thing. Reads the config file quietly: a file that cannot be read gives nothing.
pub fn assumed_target_note(args: &ConnectArgs) -> Option<String> {
    let word = args.target.as_deref().filter(|t| is_bare_word(t))?;
    let loaded = load_config(args.config.as_deref()).ok()??;
    let default = loaded.file.default.as_ref()?;
    if loaded.file.profiles.contains_key(word) || args.profile.is_some() {
        return None;
    }
    Some(format!(
        "{word:?} was taken as the TARGET; the default profile {default:?} is used only without one: amicon send {default} {word}"
    ))
}

/// What a bare word that is no profile is taken for, said when profiles exist (so a
/// `default` profile does not silently lose to a word meant as an action name).
fn bare_host_warning(word: &str, file: &ConfigFile, config_path: &Path) -> String {
    let known = file.profiles.keys().cloned().collect::<Vec<_>>().join(", ");
    let default = match &file.default {
        Some(name) => format!(
            "; the default profile {name:?} is used only when no TARGET is given (amicon send {name} ACTION)"
        ),
        None => String::new(),
    };
    format!(
        "{word:?} is not a profile in {} (profiles: {known}): taking it as a host name{default}",
        config_path.display()
    )
}

fn is_bare_word(text: &str) -> bool {
    !text.contains(['@', ':', '[', '/'])
}

/// The config file: `default = "name"` and `[profiles.NAME]` tables.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The profile used when no TARGET and no --profile are given.
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One `[profiles.NAME]` table. Every field is optional; flags override them.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    #[serde(default, deserialize_with = "deserialize_secret")]
    pub secret: Option<Secret>,
    pub tls: Option<bool>,
    pub ca_file: Option<PathBuf>,
    pub auth: Option<AuthMethod>,
    pub events: Option<EventsSetting>,
    pub filter: Option<FilterSetting>,
    pub charset: Option<String>,
    pub insecure: Option<bool>,
    /// Reach AMI through `ssh -W` to this destination (`host` is then as seen from it).
    pub ssh: Option<String>,
    /// Refuse every action outside the read list (`crate::safety`).
    pub read_only: Option<bool>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("secret", &self.secret)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

fn deserialize_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Secret::new))
}

/// `events = true|false` or a mask (`events = "call,user"`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum EventsSetting {
    Switch(bool),
    Mask(String),
}

impl EventsSetting {
    fn mask(&self) -> String {
        match self {
            EventsSetting::Switch(true) => "on".into(),
            EventsSetting::Switch(false) => "off".into(),
            EventsSetting::Mask(mask) => mask.clone(),
        }
    }
}

/// `filter = "Queue* !VarSet"` (a typed filter line, quotes allowed) or
/// `filter = ["Queue*", "text with spaces"]` (one term per item, like arguments).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum FilterSetting {
    Line(String),
    Terms(Vec<String>),
}

/// A loaded config file and where it came from.
pub struct LoadedConfig {
    pub path: PathBuf,
    pub file: ConfigFile,
    /// Whether group or others may read the file (checked only when it holds a secret).
    pub readable_by_others: bool,
}

/// What the environment contributes.
#[derive(Clone, Default)]
pub struct Env {
    /// `AMI_SECRET`.
    pub secret: Option<Secret>,
    /// `AMICON_SSH_COMMAND`: the command that replaces `ssh`.
    pub ssh_command: Option<String>,
}

impl Env {
    pub fn from_process() -> Self {
        Env {
            secret: std::env::var("AMI_SECRET")
                .ok()
                .filter(|s| !s.is_empty())
                .map(Secret::new),
            ssh_command: std::env::var(crate::session::ssh::SSH_COMMAND_VAR)
                .ok()
                .filter(|s| !s.trim().is_empty()),
        }
    }
}

/// Everything a front end needs to start: the session and how to show what it sees.
#[derive(Debug)]
pub struct Resolved {
    pub session: SessionConfig,
    /// The profile used, if any.
    pub profile: Option<String>,
    /// How to decode the PBX's bytes for display (raw output stays bytes).
    pub charset: Charset,
    /// The profile's default filter (a command line filter replaces it).
    pub filter: Option<FilterSetting>,
    /// `--read-only` or the profile's `read_only = true`: actions outside the read list
    /// are refused (`crate::safety::assess`).
    pub read_only: bool,
    /// Things the user should know (insecure TLS, secret on the command line, a
    /// world-readable secret file), printed on stderr by the caller.
    pub warnings: Vec<String>,
}

/// The default config file: `$XDG_CONFIG_HOME/amicon/config.toml` (or the platform's).
pub fn default_config_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("amicon").join("config.toml"))
}

/// Loads the config file. A missing default file is an empty config; a missing file
/// named with `--config` or a bad one is an error.
pub fn load_config(explicit: Option<&Path>) -> Result<Option<LoadedConfig>, ConfigError> {
    let (path, must_exist) = match explicit {
        Some(path) => (path.to_path_buf(), true),
        None => match default_config_path() {
            Some(path) => (path, false),
            None => return Ok(None),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && !must_exist => return Ok(None),
        Err(err) => return Err(ConfigError::Read { path, err }),
    };
    let file = parse_config(&text).map_err(|message| ConfigError::Toml {
        path: path.clone(),
        message,
    })?;
    let readable_by_others = readable_by_others(&path);
    Ok(Some(LoadedConfig {
        path,
        file,
        readable_by_others,
    }))
}

/// Parses config text; the error carries the TOML parser's line and column.
pub fn parse_config(text: &str) -> Result<ConfigFile, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> bool {
    false
}

/// Reads the first line of a secret file (a trailing newline is not part of the secret).
fn read_secret_file(path: &Path) -> Result<Secret, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Read {
        path: path.to_path_buf(),
        err,
    })?;
    let secret = text.lines().next().unwrap_or("");
    if secret.is_empty() {
        return Err(ConfigError::EmptySecretFile(path.to_path_buf()));
    }
    Ok(Secret::new(secret.to_string()))
}

/// Resolves the command line against the config file and the process environment,
/// asking for the secret on the terminal when nothing else gives one.
pub fn resolve(args: &ConnectArgs) -> Result<Resolved, ConfigError> {
    let loaded = load_config(args.config.as_deref())?;
    let env = Env::from_process();
    resolve_with(args, loaded.as_ref(), &env, &mut prompt_secret)
}

/// Asks for the secret on the terminal (no echo); `None` without a terminal or when
/// nothing was typed.
pub(crate) fn prompt_secret(who: &str) -> Option<Secret> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return None;
    }
    rpassword::prompt_password(format!("AMI secret for {who}: "))
        .ok()
        .filter(|s| !s.is_empty())
        .map(Secret::new)
}

/// The merge: profile (file) < environment < flags. `prompt` is asked for the secret
/// when no other source has one; it returns `None` when it cannot ask.
pub fn resolve_with(
    args: &ConnectArgs,
    loaded: Option<&LoadedConfig>,
    env: &Env,
    prompt: &mut dyn FnMut(&str) -> Option<Secret>,
) -> Result<Resolved, ConfigError> {
    let mut warnings = Vec::new();
    let empty = ConfigFile::default();
    let file = loaded.map_or(&empty, |l| &l.file);
    let config_path = loaded.map_or_else(
        || default_config_path().unwrap_or_default(),
        |l| l.path.clone(),
    );
    let unknown_profile = |name: &str| ConfigError::UnknownProfile {
        name: name.to_string(),
        path: config_path.clone(),
        known: file.profiles.keys().cloned().collect(),
        near: similar_profile(name, file.profiles.keys()).map(str::to_string),
    };

    // Which profile, and which part of TARGET is an address.
    let mut profile_name = args.profile.clone();
    let mut target = None;
    // A bare word taken as a host although profiles exist: what was assumed.
    let mut bare_host: Option<String> = None;
    match args.target.as_deref() {
        Some(text)
            if is_bare_word(text) && file.profiles.contains_key(text) && profile_name.is_none() =>
        {
            profile_name = Some(text.to_string());
        }
        Some(text) => {
            if is_bare_word(text) && profile_name.is_none() && !file.profiles.is_empty() {
                if let Some(near) = similar_profile(text, file.profiles.keys()) {
                    return Err(ConfigError::UnknownProfile {
                        name: text.to_string(),
                        path: config_path.clone(),
                        known: file.profiles.keys().cloned().collect(),
                        near: Some(near.to_string()),
                    });
                }
                bare_host = Some(bare_host_warning(text, file, &config_path));
                warnings.extend(bare_host.as_ref().map(|note| format!("note: {note}")));
            }
            target = Some(parse_target(text)?)
        }
        None if profile_name.is_none() => match &file.default {
            Some(name) => profile_name = Some(name.clone()),
            // Through ssh the address has a default: the far side's loopback.
            None if args.ssh.is_some() => {}
            None => return Err(ConfigError::MissingTarget),
        },
        None => {}
    }
    let profile = match &profile_name {
        Some(name) => file
            .profiles
            .get(name)
            .cloned()
            .ok_or_else(|| unknown_profile(name))?,
        None => Profile::default(),
    };

    let ssh_destination = args.ssh.clone().or(profile.ssh.clone());
    let target_tls = target.as_ref().and_then(|t| t.tls);
    let tls = args.tls || target_tls.unwrap_or(profile.tls.unwrap_or(false));
    // A TARGET host replaces the profile's host, and its port (or the default) too.
    let (host, port) = match &target {
        Some(t) => (t.host.clone(), t.port),
        None => match profile.host.clone() {
            Some(host) => (host, profile.port),
            None if ssh_destination.is_some() => (SSH_DEFAULT_HOST.to_string(), profile.port),
            None => return Err(ConfigError::MissingTarget),
        },
    };
    let port = port.unwrap_or(if tls { DEFAULT_TLS_PORT } else { DEFAULT_PORT });
    let endpoint = Endpoint { host, port, tls };

    let user = args
        .user
        .clone()
        .or_else(|| target.as_ref().and_then(|t| t.user.clone()))
        .or(profile.user.clone())
        .ok_or_else(|| match &bare_host {
            // The word was most likely meant as something else: say what was assumed.
            Some(note) => ConfigError::Target {
                target: args.target.clone().unwrap_or_default(),
                why: format!("{note}, and that host has no user name"),
            },
            None => ConfigError::MissingUser(endpoint.to_string()),
        })?;
    let who = match &ssh_destination {
        Some(destination) => format!("{user}@{endpoint} via ssh {destination}"),
        None => format!("{user}@{endpoint}"),
    };

    if args.secret.is_some() {
        warnings.push(
            "warning: --secret shows in the process list (ps) and shell history; prefer --secret-file or AMI_SECRET".into(),
        );
    }
    if profile.secret.is_some() {
        if let Some(l) = loaded.filter(|l| l.readable_by_others) {
            warnings.push(format!(
                "warning: {} holds a secret and is readable by other users; run: chmod 600 {}",
                l.path.display(),
                l.path.display()
            ));
        }
    }
    let secret = if let Some(secret) = &args.secret {
        Secret::new(secret.clone())
    } else if let Some(path) = &args.secret_file {
        let secret = read_secret_file(path)?;
        if readable_by_others(path) {
            warnings.push(format!(
                "warning: the secret file {} is readable by other users; run: chmod 600 {}",
                path.display(),
                path.display()
            ));
        }
        secret
    } else if let Some(secret) = env.secret.clone().or(profile.secret.clone()) {
        secret
    } else {
        prompt(&who).ok_or(ConfigError::MissingSecret(who.clone()))?
    };

    let insecure = args.insecure || profile.insecure.unwrap_or(false);
    let ca_file = args.ca_file.clone().or(profile.ca_file.clone());
    if insecure && tls {
        warnings.push(format!(
            "WARNING: --insecure: the TLS certificate of {endpoint} is NOT checked; anyone on the path can read and change this session"
        ));
    } else if insecure {
        warnings
            .push("warning: --insecure has no effect without TLS (use amis:// or --tls)".into());
    }
    if ca_file.is_some() && !tls {
        warnings.push("warning: --ca-file has no effect without TLS (use amis:// or --tls)".into());
    }

    let charset_name = args.charset.clone().or(profile.charset.clone());
    let charset = match &charset_name {
        Some(name) => Charset::parse(name)?,
        None => Charset::UTF8,
    };

    let mut session = SessionConfig::new(endpoint, user, secret);
    session.tls.ca_file = ca_file;
    session.tls.insecure = insecure;
    session.auth = args.auth.or(profile.auth).unwrap_or_default();
    session.events = args
        .events
        .clone()
        .or_else(|| profile.events.as_ref().map(EventsSetting::mask))
        .unwrap_or_else(|| "on".into());
    if let Some(timeout) = args.connect_timeout {
        session.connect_timeout = timeout;
    }
    if let Some(timeout) = args.timeout {
        session.action_timeout = timeout;
        session.login_timeout = timeout;
    }
    session.reconnect = !args.no_reconnect;
    if let Some(destination) = &ssh_destination {
        session.ssh = Some(
            crate::session::SshTunnel::new(destination, env.ssh_command.as_deref())
                .map_err(ConfigError::Ssh)?,
        );
    }

    Ok(Resolved {
        session,
        profile: profile_name,
        charset,
        filter: profile.filter.clone(),
        read_only: args.read_only || profile.read_only.unwrap_or(false),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn target(user: Option<&str>, host: &str, port: Option<u16>, tls: Option<bool>) -> Target {
        Target {
            user: user.map(str::to_string),
            host: host.to_string(),
            port,
            tls,
        }
    }

    #[test]
    fn targets_of_every_documented_shape_parse() {
        assert_eq!(
            parse_target("pbx").unwrap(),
            target(None, "pbx", None, None)
        );
        assert_eq!(
            parse_target("pbx:5040").unwrap(),
            target(None, "pbx", Some(5040), None)
        );
        assert_eq!(
            parse_target("admin@pbx").unwrap(),
            target(Some("admin"), "pbx", None, None)
        );
        assert_eq!(
            parse_target("admin@10.0.0.1:5038").unwrap(),
            target(Some("admin"), "10.0.0.1", Some(5038), None)
        );
        assert_eq!(
            parse_target("ami://admin@pbx").unwrap(),
            target(Some("admin"), "pbx", None, Some(false))
        );
        assert_eq!(
            parse_target("AMIS://admin@pbx:6000/").unwrap(),
            target(Some("admin"), "pbx", Some(6000), Some(true))
        );
        assert_eq!(
            parse_target("[::1]:5038").unwrap(),
            target(None, "::1", Some(5038), None)
        );
        assert_eq!(
            parse_target("admin@[fe80::1]").unwrap(),
            target(Some("admin"), "fe80::1", None, None)
        );
    }

    #[test]
    fn malformed_targets_say_what_is_wrong() {
        for (text, hint) in [
            ("::1", "brackets"),
            ("pbx:0", "1 to 65535"),
            ("pbx:70000", "1 to 65535"),
            ("pbx:", "1 to 65535"),
            ("@pbx", "empty user"),
            ("admin@", "empty host"),
            ("http://pbx", "unknown scheme"),
            ("[::1", "missing ]"),
            ("[::1]5038", "expected :port"),
            ("pb x", "space"),
        ] {
            let err = parse_target(text).unwrap_err().to_string();
            assert!(err.contains(hint), "{text}: {err}");
        }
    }

    fn args(target: &str) -> ConnectArgs {
        ConnectArgs {
            target: Some(target.to_string()),
            ..ConnectArgs::default()
        }
    }

    fn env_secret(s: &str) -> Env {
        Env {
            secret: Some(Secret::new(s.into())),
            ..Env::default()
        }
    }

    fn loaded(text: &str) -> LoadedConfig {
        LoadedConfig {
            path: "/cfg/config.toml".into(),
            file: parse_config(text).unwrap(),
            readable_by_others: false,
        }
    }

    fn no_prompt(_: &str) -> Option<Secret> {
        None
    }

    #[test]
    fn a_plain_target_uses_port_5038_and_amis_uses_tls_on_5039() {
        let r = resolve_with(&args("admin@pbx"), None, &env_secret("s"), &mut no_prompt).unwrap();
        assert_eq!(
            r.session.endpoint,
            Endpoint {
                host: "pbx".into(),
                port: 5038,
                tls: false
            }
        );
        assert_eq!(r.session.username, "admin");
        let r = resolve_with(
            &args("amis://admin@pbx"),
            None,
            &env_secret("s"),
            &mut no_prompt,
        )
        .unwrap();
        assert_eq!(
            r.session.endpoint,
            Endpoint {
                host: "pbx".into(),
                port: 5039,
                tls: true
            }
        );
        let mut a = args("admin@pbx");
        a.tls = true;
        assert_eq!(
            resolve_with(&a, None, &env_secret("s"), &mut no_prompt)
                .unwrap()
                .session
                .endpoint
                .port,
            5039
        );
    }

    const PROFILES: &str = r#"
        default = "lab"
        [profiles.lab]
        host = "10.1.1.1"
        port = 6038
        user = "ops"
        secret = "from-file"
        auth = "plain"
        events = "call,user"
        filter = "Hangup !VarSet"
        charset = "gbk"
        [profiles.edge]
        host = "edge.example"
        tls = true
        user = "edge"
        filter = ["Queue*", "free text"]
        events = false
    "#;

    #[test]
    fn a_scheme_without_its_two_slashes_is_a_bad_target() {
        for text in [
            "ami:/admin@127.0.0.1",
            "amis:admin@pbx",
            "AMI:/admin@pbx:5038",
        ] {
            let err = parse_target(text).unwrap_err().to_string();
            assert!(err.starts_with("bad target"), "{text}: {err}");
            assert!(err.contains("//"), "{text}: {err}");
        }
        let err = parse_target("x/y@pbx").unwrap_err().to_string();
        assert!(err.contains("contains / or :"), "{err}");
        assert!(parse_target("ami://admin@pbx").is_ok());
    }

    #[test]
    fn a_mistyped_profile_name_says_which_profiles_exist() {
        let cfg = loaded(PROFILES);
        for typo in ["lba", "Lab", "egde", "edg"] {
            let err = resolve_with(&args(typo), Some(&cfg), &env_secret("s"), &mut no_prompt)
                .unwrap_err()
                .to_string();
            assert!(err.contains("did you mean"), "{typo}: {err}");
            assert!(err.contains("profiles: edge, lab"), "{typo}: {err}");
        }
    }

    #[test]
    fn a_bare_word_that_is_no_profile_says_it_was_taken_as_a_host() {
        let cfg = loaded(PROFILES);
        // `amicon send --config cfg.toml Ping`: Ping is no profile, and no host either.
        let err = resolve_with(&args("Ping"), Some(&cfg), &env_secret("s"), &mut no_prompt)
            .unwrap_err()
            .to_string();
        assert!(err.contains("taking it as a host name"), "{err}");
        assert!(err.contains("amicon send lab ACTION"), "{err}");
        let a = ConnectArgs {
            user: Some("admin".into()),
            ..args("Ping")
        };
        let r = resolve_with(&a, Some(&cfg), &env_secret("s"), &mut no_prompt).unwrap();
        assert_eq!(r.session.endpoint.host, "Ping");
        let said = r.warnings.join("\n");
        assert!(said.starts_with("note: "), "{said}");
        assert!(
            said.contains("\"Ping\" is not a profile in /cfg/config.toml"),
            "{said}"
        );
        assert!(said.contains("the default profile \"lab\""), "{said}");
        // Without profiles a bare word is a host, and nothing needs saying.
        let r = resolve_with(&a, None, &env_secret("s"), &mut no_prompt).unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn a_lone_word_taken_as_the_target_says_so_when_a_default_profile_exists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cfg.toml");
        std::fs::write(&path, PROFILES).unwrap();
        let a = |target: &str| ConnectArgs {
            config: Some(path.clone()),
            ..args(target)
        };
        let note = assumed_target_note(&a("Ping")).unwrap();
        assert!(note.contains("\"Ping\" was taken as the TARGET"), "{note}");
        assert!(note.contains("amicon send lab Ping"), "{note}");
        assert_eq!(assumed_target_note(&a("lab")), None, "a profile");
        assert_eq!(assumed_target_note(&a("admin@pbx")), None, "an address");
    }

    #[test]
    fn a_bare_word_naming_a_profile_uses_it() {
        let cfg = loaded(PROFILES);
        let r = resolve_with(&args("lab"), Some(&cfg), &Env::default(), &mut no_prompt).unwrap();
        assert_eq!(
            r.session.endpoint,
            Endpoint {
                host: "10.1.1.1".into(),
                port: 6038,
                tls: false
            }
        );
        assert_eq!(r.session.username, "ops");
        assert_eq!(r.session.secret.expose(), "from-file");
        assert_eq!(r.session.auth, AuthMethod::Plain);
        assert_eq!(r.session.events, "call,user");
        assert_eq!(r.filter, Some(FilterSetting::Line("Hangup !VarSet".into())));
        assert_eq!(r.charset.name(), "GBK");
        assert_eq!(r.profile.as_deref(), Some("lab"));
    }

    #[test]
    fn a_bare_word_that_is_no_profile_is_a_host() {
        let cfg = loaded(PROFILES);
        let r = resolve_with(
            &args("otherpbx"),
            Some(&cfg),
            &env_secret("s"),
            &mut no_prompt,
        );
        // No user for it: and the error says the word was taken as a host, not a profile.
        let err = r.unwrap_err().to_string();
        assert!(
            err.contains("taking it as a host name") && err.contains("no user name"),
            "{err}"
        );
        let mut a = args("otherpbx");
        a.user = Some("me".into());
        let r = resolve_with(&a, Some(&cfg), &env_secret("s"), &mut no_prompt).unwrap();
        assert_eq!(r.session.endpoint.host, "otherpbx");
        assert!(r.profile.is_none());
    }

    #[test]
    fn env_beats_the_file_and_flags_beat_both() {
        let cfg = loaded(PROFILES);
        let r = resolve_with(
            &args("lab"),
            Some(&cfg),
            &env_secret("from-env"),
            &mut no_prompt,
        )
        .unwrap();
        assert_eq!(r.session.secret.expose(), "from-env");
        let mut a = args("lab");
        a.secret = Some("from-flag".into());
        a.user = Some("root".into());
        a.auth = Some(AuthMethod::Md5);
        a.events = Some("off".into());
        a.charset = Some("latin1".into());
        let r = resolve_with(&a, Some(&cfg), &env_secret("from-env"), &mut no_prompt).unwrap();
        assert_eq!(r.session.secret.expose(), "from-flag");
        assert_eq!(r.session.username, "root");
        assert_eq!(r.session.auth, AuthMethod::Md5);
        assert_eq!(r.session.events, "off");
        assert_eq!(r.charset.name(), "windows-1252");
        assert!(r.warnings.iter().any(|w| w.contains("process list")));
    }

    #[test]
    fn a_profile_with_a_target_address_takes_the_address_from_the_target() {
        let cfg = loaded(PROFILES);
        let mut a = args("admin@127.0.0.1");
        a.profile = Some("edge".into());
        let r = resolve_with(&a, Some(&cfg), &env_secret("s"), &mut no_prompt).unwrap();
        assert_eq!(
            r.session.endpoint,
            Endpoint {
                host: "127.0.0.1".into(),
                port: 5039,
                tls: true
            }
        );
        assert_eq!(r.session.username, "admin");
        assert_eq!(r.session.events, "off");
        assert_eq!(
            r.filter,
            Some(FilterSetting::Terms(vec![
                "Queue*".into(),
                "free text".into()
            ]))
        );
        // An explicit ami:// scheme turns the profile's TLS off.
        let mut a = args("ami://admin@127.0.0.1");
        a.profile = Some("edge".into());
        let r = resolve_with(&a, Some(&cfg), &env_secret("s"), &mut no_prompt).unwrap();
        assert_eq!(
            r.session.endpoint,
            Endpoint {
                host: "127.0.0.1".into(),
                port: 5038,
                tls: false
            }
        );
    }

    #[test]
    fn no_target_falls_back_to_the_default_profile() {
        let cfg = loaded(PROFILES);
        let r = resolve_with(
            &ConnectArgs::default(),
            Some(&cfg),
            &Env::default(),
            &mut no_prompt,
        )
        .unwrap();
        assert_eq!(r.profile.as_deref(), Some("lab"));
        let r = resolve_with(
            &ConnectArgs::default(),
            None,
            &Env::default(),
            &mut no_prompt,
        );
        assert!(matches!(r, Err(ConfigError::MissingTarget)));
    }

    #[test]
    fn an_unknown_profile_lists_the_known_ones() {
        let cfg = loaded(PROFILES);
        let a = ConnectArgs {
            profile: Some("nope".into()),
            ..ConnectArgs::default()
        };
        let err = resolve_with(&a, Some(&cfg), &Env::default(), &mut no_prompt)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"nope\"") && err.contains("edge, lab"),
            "{err}"
        );
    }

    #[test]
    fn the_prompt_is_asked_only_when_nothing_else_gives_a_secret() {
        let mut asked = Vec::new();
        let mut prompt = |who: &str| {
            asked.push(who.to_string());
            Some(Secret::new("typed".into()))
        };
        let r = resolve_with(&args("admin@pbx"), None, &Env::default(), &mut prompt).unwrap();
        assert_eq!(r.session.secret.expose(), "typed");
        assert_eq!(asked, ["admin@pbx:5038"]);
        let r = resolve_with(&args("admin@pbx"), None, &Env::default(), &mut no_prompt);
        assert!(matches!(r, Err(ConfigError::MissingSecret(_))));
    }

    #[test]
    fn a_secret_file_gives_its_first_line_and_is_checked_for_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "amp111\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let mut a = args("admin@pbx");
        a.secret_file = Some(path.clone());
        let r = resolve_with(&a, None, &env_secret("env"), &mut no_prompt).unwrap();
        assert_eq!(r.session.secret.expose(), "amp111");
        #[cfg(unix)]
        assert!(
            r.warnings.iter().any(|w| w.contains("chmod 600")),
            "{:?}",
            r.warnings
        );
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(
            resolve_with(&a, None, &Env::default(), &mut no_prompt),
            Err(ConfigError::EmptySecretFile(_))
        ));
    }

    #[test]
    fn a_config_holding_a_secret_readable_by_others_is_warned_about() {
        let mut cfg = loaded(PROFILES);
        cfg.readable_by_others = true;
        let r = resolve_with(&args("lab"), Some(&cfg), &Env::default(), &mut no_prompt).unwrap();
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains("/cfg/config.toml") && w.contains("chmod 600")),
            "{:?}",
            r.warnings
        );
        // Without a secret in the profile, nobody cares who reads it.
        let r = resolve_with(&args("edge"), Some(&cfg), &env_secret("s"), &mut no_prompt).unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn insecure_tls_is_warned_about_loudly() {
        let mut a = args("amis://admin@pbx");
        a.insecure = true;
        let r = resolve_with(&a, None, &env_secret("s"), &mut no_prompt).unwrap();
        assert!(r.session.tls.insecure);
        assert!(r
            .warnings
            .iter()
            .any(|w| w.starts_with("WARNING") && w.contains("NOT checked")));
    }

    #[test]
    fn timeouts_and_reconnect_come_from_flags() {
        let mut a = args("admin@pbx");
        a.timeout = Some(Duration::from_secs(3));
        a.connect_timeout = Some(Duration::from_millis(500));
        a.no_reconnect = true;
        let r = resolve_with(&a, None, &env_secret("s"), &mut no_prompt).unwrap();
        assert_eq!(r.session.action_timeout, Duration::from_secs(3));
        assert_eq!(r.session.login_timeout, Duration::from_secs(3));
        assert_eq!(r.session.connect_timeout, Duration::from_millis(500));
        assert!(!r.session.reconnect);
    }

    #[test]
    fn an_unknown_charset_is_a_usage_error() {
        let mut a = args("admin@pbx");
        a.charset = Some("klingon".into());
        let r = resolve_with(&a, None, &env_secret("s"), &mut no_prompt);
        assert!(matches!(r, Err(ConfigError::UnknownCharset(_))));
    }

    #[test]
    fn a_bad_config_file_error_names_the_line() {
        let err = parse_config("[profiles.lab]\nhost = \"x\"\nprot = 5038\n")
            .err()
            .unwrap();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("prot"), "{err}");
        let err = parse_config("[profiles.lab\n").err().unwrap();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let cfg = loaded(PROFILES);
        let r = resolve_with(&args("lab"), Some(&cfg), &Env::default(), &mut no_prompt).unwrap();
        assert!(!format!("{r:?}").contains("from-file"));
        assert!(!format!("{:?}", cfg.file.profiles["lab"]).contains("from-file"));
    }

    #[test]
    fn ssh_defaults_the_address_to_the_far_sides_loopback() {
        let a = ConnectArgs {
            ssh: Some("pbx".into()),
            user: Some("admin".into()),
            ..ConnectArgs::default()
        };
        let r = resolve_with(&a, None, &env_secret("s"), &mut no_prompt).unwrap();
        assert_eq!(r.session.endpoint.to_string(), "127.0.0.1:5038");
        let tunnel = r.session.ssh.clone().unwrap();
        assert_eq!(tunnel.destination, "pbx");
        assert_eq!(tunnel.command, ["ssh"]);
        assert_eq!(r.session.server_text(), "127.0.0.1:5038 via ssh pbx");
        // A TARGET names the address as seen from the far side, TLS included.
        let a = ConnectArgs {
            ssh: Some("jump@pbx".into()),
            ..args("amis://admin@10.0.0.5")
        };
        let env = Env {
            ssh_command: Some("ssh -F /tmp/cfg".into()),
            ..env_secret("s")
        };
        let r = resolve_with(&a, None, &env, &mut no_prompt).unwrap();
        assert_eq!(r.session.endpoint.to_string(), "10.0.0.5:5039");
        assert!(r.session.endpoint.tls);
        assert_eq!(
            r.session.ssh.unwrap().command_line(&r.session.endpoint),
            [
                "ssh",
                "-F",
                "/tmp/cfg",
                "-o",
                "BatchMode=yes",
                "-W",
                "10.0.0.5:5039",
                "jump@pbx"
            ]
        );
    }

    #[test]
    fn a_profile_can_name_its_ssh_destination_and_a_flag_overrides_it() {
        let cfg = loaded(
            r#"
            [profiles.far]
            ssh = "bastion"
            user = "admin"
            secret = "x"
        "#,
        );
        let r = resolve_with(&args("far"), Some(&cfg), &Env::default(), &mut no_prompt).unwrap();
        assert_eq!(r.session.ssh.unwrap().destination, "bastion");
        assert_eq!(r.session.endpoint.host, SSH_DEFAULT_HOST);
        let a = ConnectArgs {
            ssh: Some("other".into()),
            ..args("far")
        };
        let r = resolve_with(&a, Some(&cfg), &Env::default(), &mut no_prompt).unwrap();
        assert_eq!(r.session.ssh.unwrap().destination, "other");
    }

    #[test]
    fn a_bad_ssh_destination_or_command_is_a_usage_error() {
        let a = ConnectArgs {
            ssh: Some("-oProxyCommand=evil".into()),
            ..args("admin@127.0.0.1")
        };
        let err = resolve_with(&a, None, &env_secret("s"), &mut no_prompt).unwrap_err();
        assert!(matches!(err, ConfigError::Ssh(_)), "{err}");
        assert_eq!(err.exit_code(), 2);
        let env = Env {
            ssh_command: Some("ssh 'unclosed".into()),
            ..env_secret("s")
        };
        let a = ConnectArgs {
            ssh: Some("pbx".into()),
            ..args("admin@127.0.0.1")
        };
        let err = resolve_with(&a, None, &env, &mut no_prompt).unwrap_err();
        assert!(err.to_string().contains("AMICON_SSH_COMMAND"), "{err}");
    }
}
