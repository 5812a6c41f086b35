//! The answer pane's state: the last answer to a block the user sent (or a log entry
//! pinned there), in full, so a telnet user reads `core show channels` where they typed
//! it. Pure: it collects the response and its list events; `crate::ui::answer` draws it.

use crate::ami::Message;
use crate::session::Link;

/// List items kept for one answer; a list of a million channels must not grow the pane
/// without bound (the log keeps them all).
const MAX_ITEMS: usize = 10_000;

/// Columns a list answer shows first, when its items have them.
const KEY_COLUMNS: &[&str] = &[
    "Channel",
    "ObjectName",
    "Endpoint",
    "Device",
    "Queue",
    "Name",
    "Interface",
    "Exten",
    "Context",
    "ChannelStateDesc",
    "State",
    "Status",
    "DeviceState",
    "CallerIDNum",
    "CallerIDName",
    "Application",
    "Duration",
    "Contacts",
    "Uri",
    "Paused",
    "Calls",
    "BridgeUniqueid",
    "Family",
    "Key",
    "Val",
];

/// At most this many columns in a table (the rest is in the log's detail view).
const MAX_COLUMNS: usize = 6;

/// One answer shown in the pane.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The action it answers (`Command`, `CoreShowChannels`), or `pinned` for a log entry.
    pub action: String,
    /// The ActionID whose response and list events are collected; `None` once pinned.
    pub action_id: Option<String>,
    pub response: Option<Message>,
    /// The list's items, in order (`CoreShowChannel` events, ...).
    pub items: Vec<Message>,
    /// Items that did not fit ([`MAX_ITEMS`]).
    pub items_dropped: usize,
    /// The list is complete (`EventList: Complete`), or the answer is not a list.
    pub complete: bool,
    /// A log entry put here by hand (`p`): it stays until the next block is sent.
    pub pinned: bool,
    /// The response started a list (`EventList: start`): shown as a table, even empty.
    pub is_list: bool,
}

/// What the pane shows, decided from the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Sent; nothing back yet.
    Waiting,
    /// An error: the server's message.
    Error(String),
    /// `Command` output (or a legacy `Follows` body), line by line.
    Output(Vec<String>),
    /// A list answer: its items as rows of the key columns.
    Table {
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// Any other answer: its headers.
    Fields(Vec<(String, String)>),
}

impl Answer {
    /// A fresh answer for a block just handed to the session.
    pub fn awaiting(action: &str, action_id: &str) -> Self {
        Answer {
            action: action.to_string(),
            action_id: Some(action_id.to_string()),
            response: None,
            items: Vec::new(),
            items_dropped: 0,
            complete: false,
            pinned: false,
            is_list: false,
        }
    }

    /// A log entry pinned by hand.
    pub fn pinned(message: &Message, action: Option<&str>) -> Self {
        Answer {
            action: action.unwrap_or("pinned").to_string(),
            action_id: None,
            response: Some(message.clone()),
            items: Vec::new(),
            items_dropped: 0,
            complete: true,
            pinned: true,
            is_list: false,
        }
    }

    /// Takes what the session received, if it belongs to this answer.
    pub fn observe(&mut self, message: &Message, link: &Link) {
        let Some(mine) = self.action_id.as_deref() else {
            return;
        };
        match link {
            Link::Response { action_id } if action_id == mine => {
                let is_list = message.is("EventList", "start")
                    || message
                        .get("Message")
                        .is_some_and(|m| m.to_ascii_lowercase().ends_with(b"will follow"));
                self.complete = !is_list || message.is("Response", "Error");
                self.is_list = is_list;
                self.response = Some(message.clone());
            }
            Link::ListItem { action_id } if action_id == mine => {
                if self.items.len() < MAX_ITEMS {
                    self.items.push(message.clone());
                } else {
                    self.items_dropped += 1;
                }
            }
            Link::ListComplete { action_id } if action_id == mine => self.complete = true,
            _ => {}
        }
    }

    /// Whether the composer's title already says all of it (`Originate → Success:
    /// Originate successfully queued`), or nothing came yet: the pane then stays shut and
    /// the log keeps its rows. Cheap: it does not build the table.
    pub fn fits_in_a_title(&self) -> bool {
        if self.pinned {
            return false;
        }
        let Some(response) = &self.response else {
            return true;
        };
        !response.is("Response", "Error")
            && !self.is_list
            && self.items.is_empty()
            && response.legacy_body().is_none()
            && response.get("Output").is_none()
            && response.len() <= 4
    }

    pub fn is_error(&self) -> bool {
        self.response
            .as_ref()
            .is_some_and(|r| r.is("Response", "Error"))
    }

    /// What to draw.
    pub fn shape(&self) -> Shape {
        let Some(response) = &self.response else {
            return Shape::Waiting;
        };
        if response.is("Response", "Error") {
            let message = response
                .get_str("Message")
                .map(|m| m.into_owned())
                .unwrap_or_else(|| "(no message)".to_string());
            return Shape::Error(message);
        }
        if let Some(body) = response.legacy_body() {
            let text = String::from_utf8_lossy(body);
            return Shape::Output(
                text.lines()
                    .filter(|l| l.trim() != "--END COMMAND--")
                    .map(str::to_string)
                    .collect(),
            );
        }
        let output: Vec<String> = response
            .get_all("Output")
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        if !output.is_empty() {
            return Shape::Output(output);
        }
        if self.is_list || !self.items.is_empty() {
            return table(&self.items);
        }
        Shape::Fields(
            response
                .headers()
                .map(|(k, v)| {
                    (
                        String::from_utf8_lossy(k).into_owned(),
                        String::from_utf8_lossy(v).into_owned(),
                    )
                })
                .collect(),
        )
    }
}

/// The items as a table: the key columns they have, in [`KEY_COLUMNS`] order, or else
/// their first headers (Event and ActionID left out).
fn table(items: &[Message]) -> Shape {
    let has = |key: &str| items.iter().any(|m| m.get(key).is_some());
    let mut columns: Vec<String> = KEY_COLUMNS
        .iter()
        .filter(|k| has(k))
        .take(MAX_COLUMNS)
        .map(|k| k.to_string())
        .collect();
    if columns.is_empty() {
        if let Some(first) = items.first() {
            columns = first
                .headers()
                .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
                .filter(|k| !k.eq_ignore_ascii_case("Event") && !k.eq_ignore_ascii_case("ActionID"))
                .take(MAX_COLUMNS)
                .collect();
        }
    }
    let rows = items
        .iter()
        .map(|m| {
            columns
                .iter()
                .map(|c| m.get_str(c).map(|v| v.into_owned()).unwrap_or_default())
                .collect()
        })
        .collect();
    Shape::Table { columns, rows }
}

/// The pane: what it shows and how.
#[derive(Clone, Debug, Default)]
pub struct AnswerPane {
    pub answer: Option<Answer>,
    /// The user hid it (Alt-A).
    pub hidden: bool,
    /// Rows scrolled down from the top of the answer.
    pub scroll: u16,
    /// Extra rows the user gave it (Alt-Up / Alt-Down), on top of the default.
    pub grow: i16,
}

impl AnswerPane {
    /// Rows of the pane (its title included) on a screen `height` rows high; 0 when
    /// there is nothing to show, it is hidden, or the screen is too small.
    pub fn rows(&self, height: u16) -> u16 {
        let shut = self.answer.as_ref().is_none_or(Answer::fits_in_a_title);
        if self.hidden || shut || height < 18 {
            return 0;
        }
        let base: i32 = if height >= 34 { 12 } else { 6 };
        let max = i32::from(height) - 12;
        (base + i32::from(self.grow)).clamp(3, max.max(3)) as u16
    }

    /// Starts collecting the answer to a block just sent (a pinned entry gives way).
    pub fn expect(&mut self, action: &str, action_id: &str) {
        self.answer = Some(Answer::awaiting(action, action_id));
        self.scroll = 0;
    }

    pub fn pin(&mut self, message: &Message, action: Option<&str>) {
        self.answer = Some(Answer::pinned(message, action));
        self.scroll = 0;
        self.hidden = false;
    }

    pub fn observe(&mut self, message: &Message, link: &Link) {
        if let Some(answer) = &mut self.answer {
            answer.observe(message, link);
        }
    }

    pub fn scroll_by(&mut self, rows: i32) {
        self.scroll = (i32::from(self.scroll) + rows).clamp(0, i32::from(u16::MAX)) as u16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(headers: &[(&str, &str)]) -> Message {
        Message::from_headers(headers)
    }

    fn link_response(id: &str) -> Link {
        Link::Response {
            action_id: id.into(),
        }
    }

    #[test]
    fn command_output_is_plain_text() {
        let mut a = Answer::awaiting("Command", "7");
        assert_eq!(a.shape(), Shape::Waiting);
        a.observe(
            &response(&[
                ("Response", "Success"),
                ("ActionID", "7"),
                ("Message", "Command output follows"),
                ("Output", "Channel   Location   State"),
                ("Output", "0 active channels"),
            ]),
            &link_response("7"),
        );
        assert_eq!(
            a.shape(),
            Shape::Output(vec![
                "Channel   Location   State".into(),
                "0 active channels".into()
            ])
        );
    }

    #[test]
    fn a_list_answer_is_a_table_of_its_items() {
        let mut a = Answer::awaiting("CoreShowChannels", "9");
        a.observe(
            &response(&[
                ("Response", "Success"),
                ("ActionID", "9"),
                ("EventList", "start"),
                ("Message", "Channels will follow"),
            ]),
            &link_response("9"),
        );
        assert!(!a.complete);
        for channel in ["Local/echo@test-1;1", "Local/echo@test-1;2"] {
            a.observe(
                &response(&[
                    ("Event", "CoreShowChannel"),
                    ("ActionID", "9"),
                    ("Channel", channel),
                    ("ChannelStateDesc", "Up"),
                    ("Duration", "00:00:05"),
                ]),
                &Link::ListItem {
                    action_id: "9".into(),
                },
            );
        }
        // Someone else's list does not leak in.
        a.observe(
            &response(&[("Event", "CoreShowChannel"), ("Channel", "other")]),
            &Link::ListItem {
                action_id: "10".into(),
            },
        );
        a.observe(
            &response(&[
                ("Event", "CoreShowChannelsComplete"),
                ("EventList", "Complete"),
            ]),
            &Link::ListComplete {
                action_id: "9".into(),
            },
        );
        assert!(a.complete);
        let Shape::Table { columns, rows } = a.shape() else {
            panic!("{:?}", a.shape())
        };
        assert_eq!(columns, ["Channel", "ChannelStateDesc", "Duration"]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1][0], "Local/echo@test-1;2");
    }

    #[test]
    fn an_empty_list_is_an_empty_table() {
        let mut a = Answer::awaiting("CoreShowChannels", "4");
        a.observe(
            &response(&[
                ("Response", "Success"),
                ("ActionID", "4"),
                ("EventList", "start"),
                ("Message", "Channels will follow"),
            ]),
            &link_response("4"),
        );
        assert_eq!(
            a.shape(),
            Shape::Table {
                columns: vec![],
                rows: vec![]
            }
        );
    }

    #[test]
    fn errors_are_marked() {
        let mut a = Answer::awaiting("Originate", "3");
        a.observe(
            &response(&[
                ("Response", "Error"),
                ("ActionID", "3"),
                ("Message", "Permission denied"),
            ]),
            &link_response("3"),
        );
        assert!(a.is_error());
        assert_eq!(a.shape(), Shape::Error("Permission denied".into()));
    }

    #[test]
    fn the_pane_takes_rows_only_with_an_answer_and_room() {
        let mut pane = AnswerPane::default();
        assert_eq!(pane.rows(40), 0);
        pane.expect("Ping", "1");
        assert_eq!(pane.rows(40), 0, "nothing to show yet");
        let pong = response(&[("Response", "Success"), ("ActionID", "1"), ("Ping", "Pong")]);
        pane.observe(&pong, &link_response("1"));
        assert_eq!(pane.rows(40), 0, "the composer's title says it all");
        pane.expect("Command", "2");
        let output = response(&[("Response", "Success"), ("ActionID", "2"), ("Output", "x")]);
        pane.observe(&output, &link_response("2"));
        assert_eq!(pane.rows(40), 12);
        assert_eq!(pane.rows(24), 6);
        assert_eq!(pane.rows(10), 0);
        pane.grow = 100;
        assert_eq!(pane.rows(40), 28);
        pane.grow = -100;
        assert_eq!(pane.rows(40), 3);
        pane.hidden = true;
        assert_eq!(pane.rows(40), 0);
    }
}
