//! What the Asterisk version tells us when nothing better is known: the version a banner's
//! AMI version implies, and which actions exist in which versions.
//!
//! `CoreSettings` names the Asterisk version, but only a user with `system` read may ask
//! (the `readonly` user of a FreePBX box may not), and a recording may lack it. The AMI
//! version of the banner (`Asterisk Call Manager/5.0.4`) is always there and follows the
//! Asterisk release it shipped with, so it narrows the server down to one branch
//! ([`from_ami_version`]). [`has_action`] is the small table of actions that came or went
//! with a version, for whoever decides which list actions to send.

/// An Asterisk version as far as it matters here: its branch (`1.8`, `11`, `16`...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Branch {
    /// `1` for the 1.x series, else the major version (`11`, `16`, `22`).
    pub major: u32,
    /// The minor within the 1.x series (`4`, `6`, `8`); 0 from 10 on.
    pub minor: u32,
}

impl Branch {
    pub const fn new(major: u32, minor: u32) -> Branch {
        Branch { major, minor }
    }

    /// The branch of a full version string (`16.28.0~dfsg-0+deb11u4`, `1.8.32.3`,
    /// `GIT-master-abc`): `None` when it does not start with a number.
    pub fn of_version(version: &str) -> Option<Branch> {
        let mut parts = version
            .trim()
            .split(|c: char| !c.is_ascii_digit())
            .map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = if major == 1 {
            parts.next().flatten().unwrap_or(0)
        } else {
            0
        };
        Some(Branch { major, minor })
    }
}

impl std::fmt::Display for Branch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.major == 1 {
            write!(f, "1.{}", self.minor)
        } else {
            write!(f, "{}", self.major)
        }
    }
}

/// The Asterisk an AMI version (the banner's, `5.0.4`) shipped with: the oldest and the
/// newest branch it can be, and how to say it (`16`, `1.6 or 1.8`, `12 or 13`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Implied {
    pub oldest: Branch,
    pub newest: Branch,
    pub label: &'static str,
}

/// The Asterisk branch a banner's AMI version implies, or `None` for a version this
/// table does not know (newer than it, or not a version at all).
///
/// From Asterisk's `AMI_VERSION` of each branch: 1.0 up to 1.4, 1.1 in 1.6 and 1.8, 1.2
/// in 10, 1.3 in 11, 2.x in 12 and 13 (13 being the long-term one), 3.x in 14, then one major per
/// branch (4 in 15, 5 in 16, ... 11 in 22).
pub fn from_ami_version(ami: &str) -> Option<Implied> {
    let mut parts = ami.trim().split('.').map(|p| p.trim().parse::<u32>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten();
    let one = |oldest: Branch, newest: Branch, label| Implied {
        oldest,
        newest,
        label,
    };
    let same = |b: Branch, label| one(b, b, label);
    Some(match (major, minor) {
        (1, Some(0) | None) => one(Branch::new(1, 0), Branch::new(1, 4), "1.4 or older"),
        (1, Some(1)) => one(Branch::new(1, 6), Branch::new(1, 8), "1.6 or 1.8"),
        (1, Some(2)) => same(Branch::new(10, 0), "10"),
        (1, Some(3)) => same(Branch::new(11, 0), "11"),
        (2, _) => one(Branch::new(12, 0), Branch::new(13, 0), "12 or 13"),
        (3, _) => same(Branch::new(14, 0), "14"),
        (4..=11, _) => {
            const LABELS: [&str; 8] = ["15", "16", "17", "18", "19", "20", "21", "22"];
            same(Branch::new(major + 11, 0), LABELS[(major - 4) as usize])
        }
        _ => return None,
    })
}

/// Whether an action exists in `branch`: `Some(true)` or `Some(false)` for the actions
/// this table knows to have come or gone with a version, `None` for every other (ask
/// the server with `ListCommands`).
///
/// Checked against a real Asterisk 16.28 and 22 (`ListCommands` of both); the older
/// boundaries are those of Asterisk's release notes (`UPGRADE.txt`): the PJSIP, bridge
/// and state-list actions arrived with 12 and 13, `Command` answers `Response: Follows`
/// before 14, chan_sip (`SIP*`) and app_monitor (`Monitor`...) were removed in 21.
pub fn has_action(branch: Branch, action: &str) -> Option<bool> {
    let at_least = |major: u32, minor: u32| branch >= Branch::new(major, minor);
    let before = |major: u32| branch < Branch::new(major, 0);
    let a = action.to_ascii_lowercase();
    Some(match a.as_str() {
        "coresettings" | "corestatus" => at_least(1, 6),
        "coreshowchannels" => at_least(1, 6),
        "sippeers" | "sipshowpeer" | "sipqualifypeer" | "sipshowregistry" | "sipnotify" => {
            before(21)
        }
        "sippeerstatus" => at_least(1, 8) && before(21),
        "monitor" | "stopmonitor" | "changemonitor" | "pausemonitor" | "unpausemonitor" => {
            before(21)
        }
        "bridgelist" | "bridgeinfo" | "bridgedestroy" | "bridgekick" | "bridgetechnologylist" => {
            at_least(12, 0)
        }
        a if a.starts_with("pjsipshow") => at_least(12, 0),
        "devicestatelist" | "extensionstatelist" | "presencestatelist" => at_least(13, 0),
        "confbridgelist" | "confbridgelistrooms" => at_least(10, 0),
        // Not in 16, in 22: where in between it came is not known here.
        "coreshowchannelmap" if branch.major <= 16 => false,
        "coreshowchannelmap" if branch.major >= 22 => true,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_ami_version_names_its_branch() {
        for (ami, label) in [
            ("1.0", "1.4 or older"),
            ("1.1", "1.6 or 1.8"),
            ("1.2", "10"),
            ("1.3", "11"),
            ("2.0.0", "12 or 13"),
            ("2.10.6", "12 or 13"),
            ("3.2.0", "14"),
            ("4.0.0", "15"),
            ("5.0.4", "16"),
            ("7.0.3", "18"),
            ("9.0.0", "20"),
            ("11.0.0", "22"),
        ] {
            assert_eq!(from_ami_version(ami).map(|i| i.label), Some(label), "{ami}");
        }
        let sixteen = from_ami_version("5.0.4").unwrap();
        assert_eq!(sixteen.oldest, Branch::new(16, 0));
        assert_eq!(sixteen.newest, sixteen.oldest);
        let old = from_ami_version("1.1").unwrap();
        assert_eq!(
            (old.oldest, old.newest),
            (Branch::new(1, 6), Branch::new(1, 8))
        );
    }

    #[test]
    fn unknown_or_odd_ami_versions_imply_nothing() {
        for ami in ["", "x", "12.0.0", "0.9", "abc.1", "99", " . "] {
            assert_eq!(from_ami_version(ami), None, "{ami:?}");
        }
    }

    #[test]
    fn branches_read_from_full_versions_and_print_short() {
        let of = |v| Branch::of_version(v).map(|b| b.to_string());
        assert_eq!(of("16.28.0~dfsg-0+deb11u4").as_deref(), Some("16"));
        assert_eq!(of("22.10.1+dfsg+~cs6.17.60671434-1").as_deref(), Some("22"));
        assert_eq!(of("1.8.32.3").as_deref(), Some("1.8"));
        assert_eq!(of("1").as_deref(), Some("1.0"));
        assert_eq!(of("GIT-master-abc"), None);
        assert_eq!(of(""), None);
    }

    #[test]
    fn the_list_actions_follow_what_16_and_22_really_have() {
        let (v16, v22) = (Branch::new(16, 0), Branch::new(22, 0));
        // Seen in ListCommands of both real servers.
        assert_eq!(has_action(v16, "SIPpeers"), Some(true));
        assert_eq!(has_action(v22, "SIPpeers"), Some(false));
        assert_eq!(has_action(v16, "Monitor"), Some(true));
        assert_eq!(has_action(v22, "Monitor"), Some(false));
        assert_eq!(has_action(v16, "CoreShowChannelMap"), Some(false));
        assert_eq!(has_action(v22, "CoreShowChannelMap"), Some(true));
        for v in [v16, v22] {
            assert_eq!(has_action(v, "PJSIPShowEndpoints"), Some(true));
            assert_eq!(has_action(v, "DeviceStateList"), Some(true));
            assert_eq!(has_action(v, "coreshowchannels"), Some(true));
        }
        let eleven = Branch::new(11, 0);
        assert_eq!(has_action(eleven, "PJSIPShowEndpoints"), Some(false));
        assert_eq!(has_action(eleven, "BridgeList"), Some(false));
        assert_eq!(has_action(eleven, "SIPpeers"), Some(true));
        assert_eq!(
            has_action(Branch::new(1, 4), "CoreShowChannels"),
            Some(false)
        );
        assert_eq!(has_action(v22, "Originate"), None, "not in the table");
        assert_eq!(has_action(Branch::new(20, 0), "CoreShowChannelMap"), None);
    }
}
