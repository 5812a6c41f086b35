//! Ready-made action blocks, so nobody has to remember how `Originate` is spelled.
//!
//! Built-in templates live in `assets/templates/*.ami` and are compiled in. Users add
//! their own (or override a built-in of the same name) as `*.ami` files in
//! `$XDG_CONFIG_HOME/amicon/templates/` (`~/.config/amicon/templates/` on Linux,
//! `~/Library/Application Support/amicon/templates/` on macOS): plain `Key: Value`
//! lines, one header per line, lines starting with `#` are comments. The template's
//! name is the file name without `.ami`.

use crate::ami::Action;
use std::path::{Path, PathBuf};

/// Where a template came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    User(PathBuf),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pub name: String,
    /// The file as written, comments included.
    pub text: String,
    pub origin: Origin,
}

impl Template {
    /// The comment lines joined: what the template is for.
    pub fn description(&self) -> String {
        self.text
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix('#'))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The header lines (comments and blank lines removed), ready for the composer.
    pub fn lines(&self) -> Vec<&str> {
        self.text
            .lines()
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .collect()
    }

    /// The block the composer starts from: header lines joined with `\n`.
    pub fn block(&self) -> String {
        self.lines().join("\n")
    }

    /// The block as an action (fails for a user file that is not `Key: Value` lines).
    pub fn action(&self) -> Result<Action, String> {
        Action::parse_block(&self.block())
    }
}

const BUILT_IN: &[(&str, &str)] = &[
    ("command", include_str!("../assets/templates/command.ami")),
    (
        "coresettings",
        include_str!("../assets/templates/coresettings.ami"),
    ),
    (
        "coreshowchannels",
        include_str!("../assets/templates/coreshowchannels.ami"),
    ),
    ("dbget", include_str!("../assets/templates/dbget.ami")),
    ("dbput", include_str!("../assets/templates/dbput.ami")),
    ("events", include_str!("../assets/templates/events.ami")),
    ("getvar", include_str!("../assets/templates/getvar.ami")),
    ("hangup", include_str!("../assets/templates/hangup.ami")),
    (
        "mixmonitor",
        include_str!("../assets/templates/mixmonitor.ami"),
    ),
    (
        "originate",
        include_str!("../assets/templates/originate.ami"),
    ),
    (
        "originate-application",
        include_str!("../assets/templates/originate-application.ami"),
    ),
    ("ping", include_str!("../assets/templates/ping.ami")),
    (
        "pjsipshowendpoint",
        include_str!("../assets/templates/pjsipshowendpoint.ami"),
    ),
    (
        "pjsipshowendpoints",
        include_str!("../assets/templates/pjsipshowendpoints.ami"),
    ),
    (
        "queuestatus",
        include_str!("../assets/templates/queuestatus.ami"),
    ),
    (
        "queuesummary",
        include_str!("../assets/templates/queuesummary.ami"),
    ),
    ("redirect", include_str!("../assets/templates/redirect.ami")),
    ("setvar", include_str!("../assets/templates/setvar.ami")),
    ("status", include_str!("../assets/templates/status.ami")),
    (
        "stopmixmonitor",
        include_str!("../assets/templates/stopmixmonitor.ami"),
    ),
];

/// A user template file larger than this is skipped (it is not a hand-written block).
const MAX_USER_TEMPLATE: u64 = 64 * 1024;

/// The templates compiled into amicon.
pub fn built_in() -> Vec<Template> {
    BUILT_IN
        .iter()
        .map(|(name, text)| Template {
            name: (*name).to_string(),
            text: (*text).to_string(),
            origin: Origin::BuiltIn,
        })
        .collect()
}

/// The user's template directory, `<config dir>/amicon/templates`.
pub fn user_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("amicon").join("templates"))
}

/// The `*.ami` files of `dir`, by name. A missing directory is no templates; unreadable
/// or oversized files are skipped.
pub fn load_dir(dir: &Path) -> Vec<Template> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<Template> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ami"))
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() <= MAX_USER_TEMPLATE))
        .filter_map(|p| {
            let name = p.file_stem()?.to_string_lossy().to_ascii_lowercase();
            let text = std::fs::read_to_string(&p).ok()?;
            Some(Template {
                name,
                text,
                origin: Origin::User(p),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Built-in templates merged with those of `user_dir` (a user file overrides the
/// built-in of the same name), sorted by name.
pub fn list_with(user_dir: Option<&Path>) -> Vec<Template> {
    let mut all = built_in();
    if let Some(dir) = user_dir {
        for t in load_dir(dir) {
            all.retain(|b| b.name != t.name);
            all.push(t);
        }
    }
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

/// Every template: built-in plus the user's own from [`user_dir`].
pub fn list() -> Vec<Template> {
    list_with(user_dir().as_deref())
}

/// The template called `name` (case-insensitive, `.ami` optional).
pub fn get(name: &str) -> Option<Template> {
    find(list(), name)
}

/// The template called `name` among `templates`.
pub fn find(templates: Vec<Template>, name: &str) -> Option<Template> {
    let name = name.trim();
    let name = name
        .strip_suffix(".ami")
        .unwrap_or(name)
        .to_ascii_lowercase();
    templates.into_iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_template_is_a_valid_action() {
        let all = built_in();
        assert!(all.len() >= 18);
        for t in &all {
            let action = t.action().unwrap_or_else(|e| panic!("{}: {e}", t.name));
            action
                .validate()
                .unwrap_or_else(|e| panic!("{}: {e}", t.name));
            assert!(
                !t.description().is_empty(),
                "{} has no comment saying what it does",
                t.name
            );
            assert!(!t.block().contains('#'), "{}", t.name);
        }
    }

    #[test]
    fn originate_template_calls_the_test_echo_extension() {
        let t = find(built_in(), "Originate").unwrap();
        let a = t.action().unwrap();
        assert_eq!(a.name().as_deref(), Some("Originate"));
        assert_eq!(a.get("Channel"), Some(&b"Local/echo@test"[..]));
        assert_eq!(a.get("Async"), Some(&b"true"[..]));
    }

    #[test]
    fn user_templates_add_to_and_override_the_built_in_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Ping.ami"),
            "# my ping\nAction: Ping\nActionID: mine\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("park.ami"),
            "Action: Park\nChannel: PJSIP/1-1\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a template").unwrap();
        let all = list_with(Some(dir.path()));
        let ping = find(all.clone(), "ping.ami").unwrap();
        assert_eq!(ping.description(), "my ping");
        assert!(matches!(ping.origin, Origin::User(_)));
        assert!(find(all.clone(), "park").is_some());
        assert!(find(all.clone(), "notes").is_none());
        assert_eq!(all.iter().filter(|t| t.name == "ping").count(), 1);
    }

    #[test]
    fn a_missing_user_directory_means_built_in_only() {
        let all = list_with(Some(Path::new("/nonexistent/amicon/templates")));
        assert_eq!(all.len(), built_in().len());
    }
}
