//! The actions the demo server knows, as `ListCommands` and `manager show command` show
//! them: synopsis, privilege and parameters, in the shape Asterisk 22 prints (vectors
//! `listcommands` and `manager-show-command-originate`). Descriptions are short, in our
//! own words.

/// One known action.
pub struct ActionDoc {
    pub name: &'static str,
    /// Ends with a space, as Asterisk's synopses do (hence two spaces before `(Priv:`).
    pub synopsis: &'static str,
    pub provided_by: &'static str,
    pub since: &'static str,
    pub description: &'static [&'static str],
    /// (name, required, description)
    pub params: &'static [(&'static str, bool, &'static str)],
    pub privilege: &'static str,
}

const ACTION_ID: (&str, bool, &str) = (
    "ActionID",
    false,
    "ActionID for this transaction. Will be returned.",
);

/// Sorted case-insensitively, the order `ListCommands` uses.
pub const ACTIONS: &[ActionDoc] = &[
    ActionDoc {
        name: "Atxfer",
        synopsis: "Attended transfer. ",
        provided_by: "builtin",
        since: "1.6.1",
        description: &["Starts an attended transfer with the channel's feature code; none is configured in the demo."],
        params: &[
            ACTION_ID,
            ("Channel", true, "Transferer's channel."),
            ("Exten", true, "Extension to transfer to."),
            ("Context", false, "Context to transfer to.")
        ],
        privilege: "call,all",
    },
    ActionDoc {
        name: "BlindTransfer",
        synopsis: "Blind transfer channel(s) to the given destination ",
        provided_by: "builtin",
        since: "12.0.0",
        description: &["Transfers a bridged channel's peer to an extension."],
        params: &[
            ACTION_ID,
            ("Channel", true, "The channel to transfer."),
            ("Context", false, "Context to transfer to."),
            ("Exten", false, "Extension to transfer to.")
        ],
        privilege: "call,all",
    },
    ActionDoc {
        name: "Challenge",
        synopsis: "Generate Challenge for MD5 Auth. ",
        provided_by: "builtin",
        since: "0.4.0",
        description: &["Returns a challenge to hash with the secret for an MD5 login."],
        params: &[ACTION_ID, ("AuthType", true, "Only MD5 is known.")],
        privilege: "<none>",
    },
    ActionDoc {
        name: "Command",
        synopsis: "Execute Asterisk CLI Command. ",
        provided_by: "builtin",
        since: "0.3.0",
        description: &["Runs a CLI command and returns its output as Output: lines."],
        params: &[ACTION_ID, ("Command", true, "The CLI command to run.")],
        privilege: "command,all",
    },
    ActionDoc {
        name: "CoreSettings",
        synopsis: "Show PBX core settings (version etc). ",
        provided_by: "builtin",
        since: "1.6.0",
        description: &["Returns the versions and the main core settings."],
        params: &[ACTION_ID],
        privilege: "system,reporting,all",
    },
    ActionDoc {
        name: "CoreShowChannels",
        synopsis: "List currently active channels. ",
        provided_by: "builtin",
        since: "1.6.0",
        description: &["Lists every live channel as CoreShowChannel events."],
        params: &[ACTION_ID],
        privilege: "system,reporting,all",
    },
    ActionDoc {
        name: "CoreStatus",
        synopsis: "Show PBX core status variables. ",
        provided_by: "builtin",
        since: "1.6.0",
        description: &["Returns the start and reload times and the call counters."],
        params: &[ACTION_ID],
        privilege: "system,reporting,all",
    },
    ActionDoc {
        name: "DBDel",
        synopsis: "Delete DB entry. ",
        provided_by: "builtin",
        since: "1.6.0",
        description: &["Deletes one key of the AstDB."],
        params: &[
            ACTION_ID,
            ("Family", true, "The family."),
            ("Key", true, "The key.")
        ],
        privilege: "system,all",
    },
    ActionDoc {
        name: "DBDelTree",
        synopsis: "Delete DB Tree. ",
        provided_by: "builtin",
        since: "1.6.0",
        description: &["Deletes a family of the AstDB, or the keys under Key in it."],
        params: &[
            ACTION_ID,
            ("Family", true, "The family."),
            ("Key", false, "Only the keys under this one.")
        ],
        privilege: "system,all",
    },
    ActionDoc {
        name: "DBGet",
        synopsis: "Get DB Entry. ",
        provided_by: "builtin",
        since: "1.6.0",
        description: &["Returns one key of the AstDB as a DBGetResponse event."],
        params: &[
            ACTION_ID,
            ("Family", true, "The family."),
            ("Key", true, "The key.")
        ],
        privilege: "system,reporting,all",
    },
    ActionDoc {
        name: "DBPut",
        synopsis: "Put DB entry. ",
        provided_by: "builtin",
        since: "1.6.0",
        description: &["Stores one key of the AstDB."],
        params: &[
            ACTION_ID,
            ("Family", true, "The family."),
            ("Key", true, "The key."),
            ("Val", false, "The value.")
        ],
        privilege: "system,all",
    },
    ActionDoc {
        name: "DeviceStateList",
        synopsis: "List the current known device states. ",
        provided_by: "builtin",
        since: "13.0.0",
        description: &["Lists every known device with its state, as DeviceStateChange events."],
        params: &[ACTION_ID],
        privilege: "call,reporting,all",
    },
    ActionDoc {
        name: "Events",
        synopsis: "Control Event Flow. ",
        provided_by: "builtin",
        since: "0.9.0",
        description: &["Chooses which classes of events this session receives."],
        params: &[
            ACTION_ID,
            (
                "EventMask",
                true,
                "on, off, a number, or a comma list of classes.",
            ),
        ],
        privilege: "<none>",
    },
    ActionDoc {
        name: "ExtensionState",
        synopsis: "Check Extension Status. ",
        provided_by: "builtin",
        since: "1.2.0",
        description: &["Reports the hint state of an extension."],
        params: &[
            ACTION_ID,
            ("Exten", true, "Extension to check."),
            ("Context", true, "Context of the extension.")
        ],
        privilege: "call,reporting,all",
    },
    ActionDoc {
        name: "ExtensionStateList",
        synopsis: "List the current known extension states. ",
        provided_by: "builtin",
        since: "13.0.0",
        description: &["Lists the extensions that have hints; the demo dialplan has none."],
        params: &[ACTION_ID],
        privilege: "call,reporting,all",
    },
    ActionDoc {
        name: "Getvar",
        synopsis: "Gets a channel variable or function value. ",
        provided_by: "builtin",
        since: "1.2.0",
        description: &["Returns a channel variable, or a global one without Channel."],
        params: &[
            ACTION_ID,
            ("Channel", false, "The channel; none for a global variable."),
            ("Variable", true, "The variable name.")
        ],
        privilege: "call,reporting,all",
    },
    ActionDoc {
        name: "Hangup",
        synopsis: "Hangup channel. ",
        provided_by: "builtin",
        since: "0.2.0",
        description: &["Hangs up a channel, or every channel matching /regex/."],
        params: &[
            ACTION_ID,
            ("Channel", true, "The channel name, or a /regex/ of names."),
            ("Cause", false, "Numeric hangup cause."),
        ],
        privilege: "system,call,all",
    },
    ActionDoc {
        name: "ListCommands",
        synopsis: "List available manager commands. ",
        provided_by: "builtin",
        since: "1.0.0",
        description: &["Returns the actions this user may run, one per header."],
        params: &[ACTION_ID],
        privilege: "<none>",
    },
    ActionDoc {
        name: "Login",
        synopsis: "Login Manager. ",
        provided_by: "builtin",
        since: "0.2.0",
        description: &["Logs in with a secret, or with an MD5 key after a Challenge."],
        params: &[
            ACTION_ID,
            ("Username", true, "The user name."),
            ("AuthType", false, "MD5 to log in with Key."),
            ("Secret", false, "The secret, in clear."),
            (
                "Key",
                false,
                "Lowercase hex MD5 of the challenge followed by the secret.",
            ),
            ("Events", false, "The initial event mask."),
        ],
        privilege: "<none>",
    },
    ActionDoc {
        name: "Logoff",
        synopsis: "Logoff Manager. ",
        provided_by: "builtin",
        since: "0.2.0",
        description: &["Ends the session."],
        params: &[ACTION_ID],
        privilege: "<none>",
    },
    ActionDoc {
        name: "Originate",
        synopsis: "Originate a call. ",
        provided_by: "builtin",
        since: "0.2.0",
        description: &[
            "Places a call to a channel, then connects it to an extension or",
            "an application.",
        ],
        params: &[
            ACTION_ID,
            ("Channel", true, "Channel name to call."),
            ("Exten", false, "Extension to connect to."),
            ("Context", false, "Context of the extension."),
            ("Priority", false, "Priority of the extension."),
            (
                "Application",
                false,
                "Application to run instead of an extension.",
            ),
            ("Data", false, "Arguments of the application."),
            ("Timeout", false, "How long to ring, in milliseconds."),
            ("CallerID", false, "Caller ID of the new channel."),
            (
                "Variable",
                false,
                "NAME=value channel variables; may repeat.",
            ),
            ("Account", false, "Account code."),
            ("EarlyMedia", false, "Connect on early media."),
            (
                "Async",
                false,
                "true to answer at once and report with OriginateResponse.",
            ),
            ("Codecs", false, "Codecs to offer."),
            ("ChannelId", false, "Uniqueid for the channel."),
            (
                "OtherChannelId",
                false,
                "Uniqueid for the second Local half.",
            ),
            ("PreDialGoSub", false, "Subroutine to run before dialling."),
        ],
        privilege: "originate,all",
    },
    ActionDoc {
        name: "Ping",
        synopsis: "Keepalive command. ",
        provided_by: "builtin",
        since: "0.2.0",
        description: &["Answers Pong with the server time; keeps a connection known alive."],
        params: &[ACTION_ID],
        privilege: "<none>",
    },
    ActionDoc {
        name: "QueueStatus",
        synopsis: "Show queue status. ",
        provided_by: "app_queue",
        since: "0.5.0",
        description: &["Lists queues with their members and waiting callers."],
        params: &[
            ACTION_ID,
            ("Queue", false, "Only this queue."),
            ("Member", false, "Only this member."),
        ],
        privilege: "<none>",
    },
    ActionDoc {
        name: "QueueSummary",
        synopsis: "Show queue summary. ",
        provided_by: "app_queue",
        since: "1.6.0",
        description: &["One line of figures per queue."],
        params: &[ACTION_ID, ("Queue", false, "Only this queue.")],
        privilege: "<none>",
    },
    ActionDoc {
        name: "Redirect",
        synopsis: "Redirect (transfer) a call. ",
        provided_by: "builtin",
        since: "0.2.0",
        description: &["Sends a channel to another extension."],
        params: &[
            ACTION_ID,
            ("Channel", true, "The channel to redirect."),
            ("ExtraChannel", false, "A second channel to redirect."),
            ("Exten", true, "Extension to go to."),
            ("Context", true, "Context to go to."),
            ("Priority", true, "Priority to go to.")
        ],
        privilege: "call,all",
    },
    ActionDoc {
        name: "Reload",
        synopsis: "Send a reload event. ",
        provided_by: "builtin",
        since: "1.2.0",
        description: &["Reloads the configuration, or one module."],
        params: &[
            ACTION_ID,
            ("Module", false, "Only this module.")
        ],
        privilege: "system,config,all",
    },
    ActionDoc {
        name: "Setvar",
        synopsis: "Sets a channel variable or function value. ",
        provided_by: "builtin",
        since: "0.2.0",
        description: &["Sets a channel variable, or a global one without Channel."],
        params: &[
            ACTION_ID,
            ("Channel", false, "The channel; none for a global variable."),
            ("Variable", true, "The variable name."),
            ("Value", true, "The value.")
        ],
        privilege: "call,all",
    },
    ActionDoc {
        name: "Status",
        synopsis: "List channel status. ",
        provided_by: "builtin",
        since: "0.2.0",
        description: &["Lists live channels as Status events, with the variables asked for."],
        params: &[
            ACTION_ID,
            ("Channel", false, "Only this channel."),
            ("Variables", false, "Comma-separated variables to include."),
            (
                "AllVariables",
                false,
                "true to include every channel variable.",
            ),
        ],
        privilege: "system,call,reporting,all",
    },
    ActionDoc {
        name: "UserEvent",
        synopsis: "Send an arbitrary event. ",
        provided_by: "builtin",
        since: "1.2.0",
        description: &["Sends an event made of the action's own headers to every session."],
        params: &[
            ACTION_ID,
            ("UserEvent", true, "The event name."),
            ("Header1", false, "Any header; may repeat."),
        ],
        privilege: "user,all",
    },
];

/// The classes an action needs (`authority`): its privilege list without `all`; 0 for
/// `<none>` (anyone logged in).
pub fn authority(doc: &ActionDoc) -> u32 {
    doc.privilege
        .split(',')
        .filter(|p| *p != "all")
        .map(super::users::parse_perm)
        .fold(0, |mask, bit| mask | bit)
}

pub fn find(name: &str) -> Option<&'static ActionDoc> {
    ACTIONS.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The lines `manager show command <name>` prints.
pub fn help_lines(doc: &ActionDoc) -> Vec<String> {
    let mut out = vec![
        String::new(),
        format!("  -= Info about Manager Command '{}' =- ", doc.name),
        String::new(),
        "[Synopsis]".into(),
        doc.synopsis.into(),
        String::new(),
        "[Provided By]".into(),
        doc.provided_by.into(),
        String::new(),
        "[Since]".into(),
        doc.since.into(),
        String::new(),
        "[Description]".into(),
    ];
    out.extend(doc.description.iter().map(|l| l.to_string()));
    out.push(String::new());
    out.push("[Syntax]".into());
    out.push(format!("Action: {}", doc.name));
    for (name, required, _) in doc.params {
        out.push(if *required {
            format!("{name}: <value>")
        } else {
            format!("[{name}:] <value>")
        });
    }
    out.push(String::new());
    out.push("[Arguments]".into());
    out.push(String::new());
    for (name, _, text) in doc.params {
        out.push(name.to_string());
        out.push(format!("    {text}"));
        out.push(String::new());
    }
    for line in [
        "[Privilege]",
        doc.privilege,
        "",
        "[See Also]",
        "Not available",
        "",
        "[List Responses]",
        "None",
        "",
        "[End List Responses]",
        "",
        "[Final Response]",
        "None",
        "",
        "[End Final Response]",
    ] {
        out.push(line.into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_sorted_the_way_list_commands_prints_them() {
        let names: Vec<String> = ACTIONS
            .iter()
            .map(|a| a.name.to_ascii_lowercase())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }
}
