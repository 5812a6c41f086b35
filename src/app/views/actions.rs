//! Actions on a table's selected row: each is a block put in the composer (cursor on
//! its first `<placeholder>`), sent only when the user presses Enter there, through
//! the composer's normal send path and so under the same confirmation policy as a
//! typed action.

use super::ViewKind;
use crate::app::{App, Focus, Tone};
use crate::calls::{first_placeholder, prefill, Channel, ChannelAction};

/// One action of the actions menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowAction {
    pub label: String,
    /// The composer block it fills in.
    pub block: String,
}

/// The channel actions a channel row offers (those of the calls view).
pub const CHANNEL_ACTIONS: [ChannelAction; 7] = [
    ChannelAction::Hangup,
    ChannelAction::Redirect,
    ChannelAction::BlindTransfer,
    ChannelAction::Spy,
    ChannelAction::MixMonitor,
    ChannelAction::StopMixMonitor,
    ChannelAction::Status,
];

/// What the row `key` of the `kind` table offers.
pub fn for_row(app: &App, kind: ViewKind, key: &str) -> Vec<RowAction> {
    match kind {
        ViewKind::Calls => Vec::new(),
        _ => super::state_tables::actions(app, kind, key),
    }
}

/// Channel actions on `channel`, the calls view's blocks.
pub fn channel(channel: &Channel) -> Vec<RowAction> {
    CHANNEL_ACTIONS
        .iter()
        .map(|action| RowAction {
            label: action.label().to_string(),
            block: prefill(*action, channel),
        })
        .collect()
}

/// Pause, unpause or remove a queue member.
pub fn queue_member(queue: &str, interface: &str, paused: bool) -> Vec<RowAction> {
    let mut actions = Vec::new();
    if paused {
        actions.push(RowAction {
            label: "QueueUnpause".into(),
            block: format!(
                "Action: QueuePause\nQueue: {queue}\nInterface: {interface}\nPaused: false\n"
            ),
        });
    } else {
        actions.push(RowAction {
            label: "QueuePause".into(),
            block: format!(
                "Action: QueuePause\nQueue: {queue}\nInterface: {interface}\nPaused: true\nReason: <reason>\n"
            ),
        });
    }
    actions.push(RowAction {
        label: "QueueRemove".into(),
        block: format!("Action: QueueRemove\nQueue: {queue}\nInterface: {interface}\n"),
    });
    actions
}

/// Qualify a PJSIP endpoint (its contacts are pinged now).
pub fn endpoint(name: &str) -> Vec<RowAction> {
    vec![RowAction {
        label: "PJSIPQualify".into(),
        block: format!("Action: PJSIPQualify\nEndpoint: {name}\n"),
    }]
}

/// Puts the action's block in the composer, cursor on its first placeholder.
pub fn fill_composer(app: &mut App, action: &RowAction) {
    app.composer.set_text(&action.block);
    if let Some(range) = first_placeholder(&action.block) {
        app.composer.place_cursor_at(range.start);
    }
    app.focus = Focus::Composer;
    let what = if first_placeholder(&action.block).is_some() {
        "fill in, then Enter on an empty line"
    } else {
        "Enter on an empty line sends it"
    };
    app.notify(Tone::Info, format!("{}: {what}", action.label));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_member_actions_pause_or_unpause_as_the_member_stands() {
        let paused = queue_member("support", "PJSIP/alice", true);
        assert_eq!(paused[0].label, "QueueUnpause");
        assert!(paused[0].block.contains("Paused: false\n"));
        let working = queue_member("support", "PJSIP/alice", false);
        assert!(working[0]
            .block
            .contains("Paused: true\nReason: <reason>\n"));
        assert_eq!(
            working[1].block,
            "Action: QueueRemove\nQueue: support\nInterface: PJSIP/alice\n"
        );
        for action in paused.iter().chain(&working) {
            crate::ami::Action::parse_block(&action.block).expect("a valid block");
        }
    }
}
