//! Words for the numbers AMI sends: `ChannelState: 6` is `Up`, a QueueMember's
//! `Status: 1` is `Not in use`, `Cause: 21` is `Call rejected`. The log and the detail
//! view show these beside the raw value, so nobody has to look codes up mid-incident.
//! Pure functions of a header name and value (the event name where it matters).

/// What a header's value means, when it is a code this knows: `None` otherwise (or
/// when the value already says it, like `ChannelStateDesc`).
pub fn explain(event: Option<&str>, key: &str, value: &str) -> Option<String> {
    let value = value.trim();
    let key_lower = key.to_ascii_lowercase();
    let event_lower = event.map(str::to_ascii_lowercase).unwrap_or_default();
    let text = match key_lower.as_str() {
        "channelstate" | "peerstate" | "deststate" if is_number(value) => {
            channel_state(value.parse().ok()?)?.to_string()
        }
        k if k.ends_with("channelstate") && is_number(value) => {
            channel_state(value.parse().ok()?)?.to_string()
        }
        "cause" | "hangupcause" | "dialcause" if is_number(value) => {
            q850(value.parse().ok()?)?.to_string()
        }
        "status" if is_queue_member(&event_lower) && is_number(value) => {
            queue_member_status(value.parse().ok()?)?.to_string()
        }
        "paused" if is_queue_member(&event_lower) => match value {
            "0" => "not paused".to_string(),
            "1" => "paused".to_string(),
            _ => return None,
        },
        "dialstatus" => dial_status(value)?.to_string(),
        "contactstatus" if event_lower == "contactstatus" => contact_status(value)?.to_string(),
        "reason" if event_lower == "originateresponse" && is_number(value) => {
            originate_reason(value.parse().ok()?)?.to_string()
        }
        _ => return None,
    };
    Some(text)
}

fn is_number(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

fn is_queue_member(event: &str) -> bool {
    matches!(
        event,
        "queuemember"
            | "queuememberstatus"
            | "queuememberadded"
            | "queuememberremoved"
            | "queuememberpause"
            | "queuememberpenalty"
            | "queuememberringinuse"
            | "agentcalled"
            | "agentconnect"
            | "agentcomplete"
            | "agentringnoanswer"
            | "agentdump"
    )
}

/// `ChannelState` (ast_channel_state).
pub fn channel_state(code: u32) -> Option<&'static str> {
    Some(match code {
        0 => "Down",
        1 => "Rsrvd",
        2 => "OffHook",
        3 => "Dialing",
        4 => "Ring",
        5 => "Ringing",
        6 => "Up",
        7 => "Busy",
        8 => "Dialing Offhook",
        9 => "Pre-ring",
        10 => "Unknown",
        _ => return None,
    })
}

/// A QueueMember's `Status` (ast_device_state).
pub fn queue_member_status(code: u32) -> Option<&'static str> {
    Some(match code {
        0 => "Unknown",
        1 => "Not in use",
        2 => "In use",
        3 => "Busy",
        4 => "Invalid",
        5 => "Unavailable",
        6 => "Ringing",
        7 => "Ring+Inuse",
        8 => "On Hold",
        _ => return None,
    })
}

/// Q.850 cause names, as Asterisk's `Cause-txt` spells them.
pub fn q850(code: u32) -> Option<&'static str> {
    Some(match code {
        0 => "Unknown",
        1 => "Unallocated (unassigned) number",
        2 => "No route to specified transit network",
        3 => "No route to destination",
        6 => "Channel unacceptable",
        7 => "Call awarded and being delivered in an established channel",
        16 => "Normal Clearing",
        17 => "User busy",
        18 => "No user responding",
        19 => "User alerting, no answer",
        21 => "Call Rejected",
        22 => "Number changed",
        23 => "Redirected to new destination",
        26 => "Non-selected user clearing",
        27 => "Destination out of order",
        28 => "Invalid number format",
        29 => "Facility rejected",
        30 => "Response to STATus ENQuiry",
        31 => "Normal, unspecified",
        34 => "Circuit/channel congestion",
        38 => "Network out of order",
        41 => "Temporary failure",
        42 => "Switching equipment congestion",
        43 => "Access information discarded",
        44 => "Requested channel not available",
        50 => "Requested facility not subscribed",
        52 => "Outgoing call barred",
        54 => "Incoming call barred",
        57 => "Bearer capability not authorized",
        58 => "Bearer capability not available",
        65 => "Bearer capability not implemented",
        66 => "Channel type not implemented",
        69 => "Requested facility not implemented",
        81 => "Invalid call reference value",
        88 => "Incompatible destination",
        95 => "Invalid message unspecified",
        96 => "Mandatory information element is missing",
        97 => "Message type nonexist.",
        98 => "Wrong message",
        99 => "Info. element nonexist or not implemented",
        100 => "Invalid information element contents",
        101 => "Message not compatible with call state",
        102 => "Recover on timer expiry",
        103 => "Mandatory IE length error",
        111 => "Protocol error, unspecified",
        127 => "Interworking, unspecified",
        _ => return None,
    })
}

/// `DialStatus` of DialEnd (and `${DIALSTATUS}`).
pub fn dial_status(value: &str) -> Option<&'static str> {
    Some(match value.to_ascii_uppercase().as_str() {
        "ANSWER" => "answered",
        "BUSY" => "the callee was busy",
        "NOANSWER" => "no answer before the timeout",
        "CANCEL" => "the caller hung up first",
        "CONGESTION" => "congestion or no route (often a failed call)",
        "CHANUNAVAIL" => "the channel could not be reached (unregistered or down)",
        "DONTCALL" => "privacy: do not call",
        "TORTURE" => "privacy: send to torture",
        "INVALIDARGS" => "Dial had invalid arguments",
        "RINGING" => "ringing",
        "PROGRESS" => "call progress",
        _ => return None,
    })
}

/// PJSIP `ContactStatus` event values.
pub fn contact_status(value: &str) -> Option<&'static str> {
    Some(match value {
        "Created" => "contact added (registered)",
        "Removed" => "contact removed (unregistered or expired)",
        "Reachable" => "answers qualify OPTIONS",
        "Unreachable" => "does not answer qualify OPTIONS",
        "Unknown" => "not qualified (qualify_frequency is 0)",
        "Updated" => "contact refreshed",
        "NonQualified" => "not qualified",
        _ => return None,
    })
}

/// `Reason` of OriginateResponse (the outbound channel's last control frame).
pub fn originate_reason(code: u32) -> Option<&'static str> {
    Some(match code {
        0 => "no such channel, or it failed before ringing",
        1 => "hung up",
        3 => "ringing, no answer before the timeout",
        4 => "answered",
        5 => "busy",
        8 => "congestion",
        _ => return None,
    })
}

/// Why `Permission denied` came back: the class the action needs (from `ListCommands`
/// as another user, or as known), or that this user's `ListCommands` lacks the action.
pub fn permission_denied(action: &str, privilege: Option<&str>) -> String {
    match privilege {
        Some(classes) => format!(
            "{action} needs the `{}` class in this user's `write =` (manager.conf)",
            classes
                .split(',')
                .map(str::trim)
                .filter(|c| *c != "all")
                .collect::<Vec<_>>()
                .join("` or `")
        ),
        None => format!(
            "this user's ListCommands does not list {action}: its class is missing from `write =` in manager.conf (or the action does not exist)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_explained_where_they_mean_something() {
        let cases: &[(Option<&str>, &str, &str, Option<&str>)] = &[
            (Some("Newstate"), "ChannelState", "6", Some("Up")),
            (Some("DialBegin"), "DestChannelState", "5", Some("Ringing")),
            (Some("Hangup"), "Cause", "21", Some("Call Rejected")),
            (Some("Hangup"), "Cause", "16", Some("Normal Clearing")),
            (Some("QueueMember"), "Status", "1", Some("Not in use")),
            (Some("QueueMemberStatus"), "Status", "8", Some("On Hold")),
            (Some("QueueMember"), "Paused", "1", Some("paused")),
            (
                Some("DialEnd"),
                "DialStatus",
                "CHANUNAVAIL",
                Some("the channel could not be reached (unregistered or down)"),
            ),
            (
                Some("ContactStatus"),
                "ContactStatus",
                "Unreachable",
                Some("does not answer qualify OPTIONS"),
            ),
            (Some("OriginateResponse"), "Reason", "5", Some("busy")),
            (Some("OriginateResponse"), "Reason", "4", Some("answered")),
            // Not codes, or not where they are codes.
            (Some("PeerStatus"), "Status", "1", None),
            (Some("Newstate"), "ChannelStateDesc", "Up", None),
            (Some("Hangup"), "Cause", "abc", None),
            (Some("Hangup"), "Cause", "999", None),
            (Some("Foo"), "Reason", "5", None),
            (None, "ChannelState", "", None),
        ];
        for (event, key, value, want) in cases {
            assert_eq!(
                explain(*event, key, value).as_deref(),
                *want,
                "{event:?} {key}={value}"
            );
        }
    }

    #[test]
    fn queue_member_status_covers_0_to_8() {
        for code in 0..=8 {
            assert!(queue_member_status(code).is_some(), "{code}");
        }
        assert!(queue_member_status(9).is_none());
    }

    #[test]
    fn permission_denied_names_the_class() {
        assert_eq!(
            permission_denied("Originate", Some("originate,all")),
            "Originate needs the `originate` class in this user's `write =` (manager.conf)"
        );
        assert!(permission_denied("Originate", None).contains("does not list Originate"));
    }
}
