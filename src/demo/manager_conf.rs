//! Reads users from Asterisk's own `manager.conf`, so `amicon serve --manager-conf FILE`
//! grants exactly the rights a real PBX with that file would.
//!
//! Every section but `[general]` is a user: `secret`, `read`, `write`, `permit`, `deny`
//! are used; other keys (`displayconnects`, `writetimeout`...) are accepted and ignored.
//! The file syntax is Asterisk's config syntax: `key = value` or `key => value`, `;`
//! comments (`\;` for a literal semicolon), templates `[name](!)` and sections that
//! inherit them `[user](name)`. A user without `read`/`write` gets no classes, as in
//! Asterisk (its rights start empty). `#include` is refused with a clear message.

use super::users::{parse_perm, Acl, User, Users, UsersError};
use crate::secret::Secret;

/// One section: its name, whether it is a template, and its lines in order.
struct Section {
    name: String,
    template: bool,
    lines: Vec<(usize, String, String)>,
}

/// Parses `text` (from `path`, for messages) into users.
pub fn parse(text: &str, path: &str) -> Result<Users, UsersError> {
    let error = |line: usize, message: String| UsersError::ManagerConf {
        path: path.to_string(),
        line,
        message,
    };
    let mut sections: Vec<Section> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = strip_comment(raw);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with("#include") || line.starts_with("#exec") {
            return Err(error(
                line_no,
                "#include and #exec are not supported: put the users in this file".into(),
            ));
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some((name, after)) = rest.split_once(']') else {
                return Err(error(line_no, "expected `[section]`".into()));
            };
            let after = after.trim();
            let mut template = false;
            let mut lines = Vec::new();
            if let Some(options) = after.strip_prefix('(').and_then(|a| a.strip_suffix(')')) {
                for option in options.split(',').map(str::trim) {
                    if option == "!" {
                        template = true;
                    } else if option == "+" || option.is_empty() {
                        continue;
                    } else if let Some(base) = sections.iter().find(|s| s.name == option) {
                        lines.extend(base.lines.iter().cloned());
                    } else {
                        return Err(error(line_no, format!("no template named `{option}`")));
                    }
                }
            } else if !after.is_empty() {
                return Err(error(
                    line_no,
                    format!("unexpected `{after}` after the section"),
                ));
            }
            sections.push(Section {
                name: name.trim().to_string(),
                template,
                lines,
            });
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), v.strip_prefix('>').unwrap_or(v).trim()),
            None => return Err(error(line_no, "expected `key = value`".into())),
        };
        let Some(section) = sections.last_mut() else {
            return Err(error(line_no, "a setting before any [section]".into()));
        };
        section
            .lines
            .push((line_no, key.to_ascii_lowercase(), value.replace("\\;", ";")));
    }
    let mut users = Users::default();
    for section in sections {
        if section.template || section.name.eq_ignore_ascii_case("general") {
            continue;
        }
        let mut user = User {
            name: section.name.clone(),
            secret: Secret::new(String::new()),
            read: 0,
            write: 0,
            acl: Acl::default(),
        };
        let mut has_secret = false;
        for (line_no, key, value) in &section.lines {
            match key.as_str() {
                "secret" => {
                    user.secret = Secret::new(value.clone());
                    has_secret = true;
                }
                "read" => user.read = parse_perm(value),
                "write" => user.write = parse_perm(value),
                "permit" | "deny" => user
                    .acl
                    .push(key == "permit", value)
                    .map_err(|v| error(*line_no, format!("{key} = {v}: not an address")))?,
                _ => {}
            }
        }
        // Asterisk skips a user with no secret (it could never log in).
        if has_secret {
            users.add_user(user);
        }
    }
    Ok(users)
}

/// The line without its `;` comment (a `\;` is kept).
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b';' && (i == 0 || bytes[i - 1] != b'\\') {
            return &line[..i];
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::wire::class;

    const CONF: &str = "; AMI for tests\n[general]\nenabled = yes\nport = 5038\n\n\
        [admin]\nsecret = amp111\ndeny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.0/255.0.0.0\nread = all\nwrite = all\n\n\
        [readonly] ; comment\nsecret => ro111\nread = call,reporting\nwrite = reporting\n\n\
        [ops](!)\nread = system,call\nwrite = originate\n\n\
        [night](ops)\nsecret = semi\\;colon\n\n[nosecret]\nread = all\n";

    #[test]
    fn the_test_servers_file_gives_its_users_and_rights() {
        let users = parse(CONF, "manager.conf").unwrap();
        let names: Vec<&str> = users.names().collect();
        assert_eq!(names, ["admin", "readonly", "night"]);
        let admin = users.get("ADMIN").unwrap();
        assert_eq!((admin.read, admin.write), (class::ALL, class::ALL));
        assert!(admin.acl.allows("127.0.0.1".parse().unwrap()));
        assert!(!admin.acl.allows("192.0.2.7".parse().unwrap()));
        let ro = users.get("readonly").unwrap();
        assert_eq!(ro.secret.expose(), "ro111");
        assert_eq!(ro.read, class::CALL | class::REPORTING);
        assert_eq!(ro.write, class::REPORTING);
        let night = users.get("night").unwrap();
        assert_eq!(night.secret.expose(), "semi;colon");
        assert_eq!(night.read, class::SYSTEM | class::CALL);
        assert_eq!(night.write, class::ORIGINATE);
    }

    #[test]
    fn bad_lines_name_their_number() {
        let err = parse("[a]\nsecret = x\npermit = 300.1.1.1\n", "m.conf").unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.conf, line 3: permit = 300.1.1.1: not an address"
        );
        let err = parse("secret = x\n", "m.conf").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        let err = parse("[a]\n#include other.conf\n", "m.conf").unwrap_err();
        assert!(err.to_string().contains("#include"), "{err}");
        let err = parse("[a](nosuch)\n", "m.conf").unwrap_err();
        assert!(err.to_string().contains("nosuch"), "{err}");
    }

    #[test]
    fn secrets_never_show_in_errors() {
        let err = parse("[a]\nsecret = hunter2\njunk\n", "m.conf").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }
}
