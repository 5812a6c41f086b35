//! Pairs what the server sends with the actions this session sent. Pure state: no I/O,
//! no clock of its own (callers pass `now`), so every rule is unit-tested.
//!
//! Rules from PROTOCOL §5-6: a pending action is resolved only by a *Response* with its
//! ActionID (events carrying foreign ActionIDs are common); a response with
//! `EventList: start` opens a list whose items are events with the same ActionID, ended by
//! the event with `EventList: Complete`; an error response ends a list request too.

use super::event::{ActionError, Link, Reply};
use crate::ami::{Kind, Message};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
// tokio's clock, so timeouts follow a paused test clock like the rest of the session.
use tokio::sync::oneshot;
use tokio::time::Instant;

/// Why the session itself sent an action, so its answer can be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A front end's action.
    User,
    Keepalive,
    Versions,
    /// The state model's snapshot lists (`SessionConfig::seed_state`).
    Seed,
    Logoff,
}

pub(crate) type ReplySender = oneshot::Sender<Result<Reply, ActionError>>;

#[derive(Debug)]
struct Pending {
    name: String,
    purpose: Purpose,
    sent_at: Instant,
    deadline: Instant,
    timeout: Duration,
    reply: Option<ReplySender>,
    response: Option<Message>,
    items: Vec<Message>,
}

/// An action whose answer is now complete (or will never come).
#[derive(Debug)]
pub(crate) struct Finished {
    pub action_id: String,
    pub name: String,
    pub purpose: Purpose,
    pub sent_at: Instant,
    pub outcome: Result<Reply, ActionError>,
    pub reply: Option<ReplySender>,
}

impl Finished {
    /// Hands the outcome to whoever waits for it.
    pub fn deliver(&mut self) {
        if let Some(tx) = self.reply.take() {
            let _ = tx.send(self.outcome.clone());
        }
    }
}

/// What one received message meant.
#[derive(Debug)]
pub(crate) struct Routed {
    pub link: Link,
    pub internal: bool,
    pub finished: Option<Finished>,
}

/// ActionIDs of actions already answered are remembered a while, so later events that
/// carry them (`OriginateResponse`) are linked to their action.
const RECENT_IDS: usize = 256;

#[derive(Debug)]
pub(crate) struct Correlator {
    tag: String,
    pending: HashMap<String, Pending>,
    /// Pending ActionIDs in the order sent, for responses that arrive without one.
    order: VecDeque<String>,
    recent: VecDeque<(String, bool)>,
}

impl Correlator {
    pub fn new(tag: &str) -> Self {
        Correlator {
            tag: tag.to_string(),
            pending: HashMap::new(),
            order: VecDeque::new(),
            recent: VecDeque::new(),
        }
    }

    pub fn is_pending(&self, action_id: &str) -> bool {
        self.pending.contains_key(action_id)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Registers an action just sent.
    #[allow(clippy::too_many_arguments)]
    pub fn sent(
        &mut self,
        action_id: String,
        name: String,
        purpose: Purpose,
        reply: Option<ReplySender>,
        now: Instant,
        timeout: Duration,
    ) {
        self.order.push_back(action_id.clone());
        self.pending.insert(
            action_id,
            Pending {
                name,
                purpose,
                sent_at: now,
                deadline: now + timeout,
                timeout,
                reply,
                response: None,
                items: Vec::new(),
            },
        );
    }

    fn finish(
        &mut self,
        action_id: &str,
        outcome: impl FnOnce(Pending) -> Result<Reply, ActionError>,
    ) -> Option<Finished> {
        let mut p = self.pending.remove(action_id)?;
        self.order.retain(|id| id != action_id);
        let internal = p.purpose != Purpose::User;
        self.recent.push_back((action_id.to_string(), internal));
        if self.recent.len() > RECENT_IDS {
            self.recent.pop_front();
        }
        let reply = p.reply.take();
        let (name, purpose, sent_at) = (p.name.clone(), p.purpose, p.sent_at);
        Some(Finished {
            action_id: action_id.to_string(),
            name,
            purpose,
            sent_at,
            outcome: outcome(p),
            reply,
        })
    }

    /// Routes one received message.
    pub fn received(&mut self, msg: &Message, now: Instant) -> Routed {
        let kind = msg.kind();
        // Most of a flood is events without an ActionID; a byte search rules that out
        // faster than walking the headers (Asterisk writes the key as `ActionID`, and our
        // own IDs only ever come back under that spelling).
        static ACTION_ID: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"ActionID"));
        if kind == Kind::Event && ACTION_ID.find(msg.wire()).is_none() {
            return Routed {
                link: Link::Unsolicited,
                internal: false,
                finished: None,
            };
        }
        let id = msg
            .action_id()
            .map(|v| String::from_utf8_lossy(v).into_owned());
        match kind {
            Kind::Response => {
                let id = match id {
                    Some(id) if self.pending.contains_key(&id) => id,
                    Some(_) => {
                        return Routed {
                            link: Link::UnknownResponse,
                            internal: false,
                            finished: None,
                        }
                    }
                    // No ActionID: Asterisk answers in request order, so the oldest
                    // action still waiting for its response is the one answered.
                    None => match self
                        .order
                        .iter()
                        .find(|id| self.pending.get(*id).is_some_and(|p| p.response.is_none()))
                    {
                        Some(id) => id.clone(),
                        None => {
                            return Routed {
                                link: Link::UnknownResponse,
                                internal: false,
                                finished: None,
                            }
                        }
                    },
                };
                let internal = self.pending[&id].purpose != Purpose::User;
                let link = Link::Response {
                    action_id: id.clone(),
                };
                if msg.is("EventList", "start") {
                    let p = self.pending.get_mut(&id).expect("checked above");
                    p.response = Some(msg.clone());
                    p.deadline = now + p.timeout;
                    return Routed {
                        link,
                        internal,
                        finished: None,
                    };
                }
                let finished = self.finish(&id, |p| {
                    Ok(Reply {
                        action_id: id.clone(),
                        response: msg.clone(),
                        items: p.items,
                        complete: None,
                    })
                });
                Routed {
                    link,
                    internal,
                    finished,
                }
            }
            Kind::Event => {
                let Some(id) = id else {
                    return Routed {
                        link: Link::Unsolicited,
                        internal: false,
                        finished: None,
                    };
                };
                if let Some(p) = self.pending.get_mut(&id) {
                    if p.response.is_some() {
                        let internal = p.purpose != Purpose::User;
                        if msg.is("EventList", "Complete") {
                            let link = Link::ListComplete {
                                action_id: id.clone(),
                            };
                            let finished = self.finish(&id, |p| {
                                Ok(Reply {
                                    action_id: id.clone(),
                                    response: p.response.expect("a list has its start response"),
                                    items: p.items,
                                    complete: Some(msg.clone()),
                                })
                            });
                            return Routed {
                                link,
                                internal,
                                finished,
                            };
                        }
                        p.deadline = now + p.timeout;
                        // Items are kept only for a caller awaiting the whole reply; the
                        // stream carries them to front ends either way.
                        if p.reply.is_some() {
                            p.items.push(msg.clone());
                        }
                        return Routed {
                            link: Link::ListItem { action_id: id },
                            internal,
                            finished: None,
                        };
                    }
                }
                if let Some((_, internal)) = self.recent.iter().rev().find(|(r, _)| *r == id) {
                    return Routed {
                        link: Link::Related { action_id: id },
                        internal: *internal,
                        finished: None,
                    };
                }
                if id.starts_with(&self.tag) {
                    return Routed {
                        link: Link::Related { action_id: id },
                        internal: false,
                        finished: None,
                    };
                }
                Routed {
                    link: Link::Unsolicited,
                    internal: false,
                    finished: None,
                }
            }
            Kind::Other => Routed {
                link: Link::Unsolicited,
                internal: false,
                finished: None,
            },
        }
    }

    /// Fails every action whose deadline has passed.
    pub fn expire(&mut self, now: Instant) -> Vec<Finished> {
        let expired: Vec<(String, Duration)> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, p)| (id.clone(), p.timeout))
            .collect();
        expired
            .into_iter()
            .filter_map(|(id, timeout)| self.finish(&id, |_| Err(ActionError::Timeout(timeout))))
            .collect()
    }

    /// Fails every pending action (the connection is gone).
    pub fn fail_all(&mut self, error: ActionError) -> Vec<Finished> {
        let ids: Vec<String> = self.order.iter().cloned().collect();
        ids.into_iter()
            .filter_map(|id| self.finish(&id, |_| Err(error.clone())))
            .collect()
    }

    /// The outstanding keepalive, if any, and when it was sent.
    pub fn keepalive_sent_at(&self) -> Option<Instant> {
        self.pending
            .values()
            .find(|p| p.purpose == Purpose::Keepalive)
            .map(|p| p.sent_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> Message {
        Message::parse(text.replace('\n', "\r\n").as_bytes())
    }

    fn setup() -> (
        Correlator,
        Instant,
        oneshot::Receiver<Result<Reply, ActionError>>,
    ) {
        let mut c = Correlator::new("t-1");
        let now = Instant::now();
        let (tx, rx) = oneshot::channel();
        c.sent(
            "t-1-1".into(),
            "CoreShowChannels".into(),
            Purpose::User,
            Some(tx),
            now,
            Duration::from_secs(5),
        );
        (c, now, rx)
    }

    #[test]
    fn list_items_are_collected_until_complete() {
        let (mut c, now, mut rx) = setup();
        let r = c.received(
            &msg("Response: Success\nActionID: t-1-1\nEventList: start\n"),
            now,
        );
        assert!(r.finished.is_none());
        let r = c.received(
            &msg("Event: CoreShowChannel\nActionID: t-1-1\nChannel: Local/a\n"),
            now,
        );
        assert_eq!(
            r.link,
            Link::ListItem {
                action_id: "t-1-1".into()
            }
        );
        let r = c.received(&msg("Event: Newchannel\nChannel: x\n"), now);
        assert_eq!(
            r.link,
            Link::Unsolicited,
            "an event in between stays an event"
        );
        let mut r = c
            .received(&msg("Event: CoreShowChannelsComplete\nActionID: t-1-1\nEventList: Complete\nListItems: 1\n"), now);
        assert_eq!(
            r.link,
            Link::ListComplete {
                action_id: "t-1-1".into()
            }
        );
        r.finished.as_mut().unwrap().deliver();
        let reply = rx.try_recv().unwrap().unwrap();
        assert_eq!(reply.items.len(), 1);
        assert!(reply.complete.is_some());
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn an_error_response_ends_a_list_request() {
        let (mut c, now, _rx) = setup();
        let r = c.received(
            &msg("Response: Error\nActionID: t-1-1\nMessage: No endpoints found\n"),
            now,
        );
        assert!(r
            .finished
            .unwrap()
            .outcome
            .unwrap()
            .response
            .is("Response", "Error"));
    }

    #[test]
    fn originate_response_event_is_not_taken_for_the_response() {
        let mut c = Correlator::new("t-1");
        let now = Instant::now();
        c.sent(
            "t-1-2".into(),
            "Originate".into(),
            Purpose::User,
            None,
            now,
            Duration::from_secs(5),
        );
        let r = c.received(
            &msg("Event: OriginateResponse\nActionID: t-1-2\nResponse: Success\n"),
            now,
        );
        assert!(r.finished.is_none());
        assert_eq!(
            r.link,
            Link::Related {
                action_id: "t-1-2".into()
            }
        );
        let r = c.received(
            &msg("Response: Success\nActionID: t-1-2\nMessage: Originate successfully queued\n"),
            now,
        );
        assert!(r.finished.is_some());
    }

    #[test]
    fn responses_to_unknown_action_ids_are_marked() {
        let (mut c, now, _rx) = setup();
        let r = c.received(&msg("Response: Success\nActionID: someone-else\n"), now);
        assert_eq!(r.link, Link::UnknownResponse);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn foreign_action_ids_in_broadcast_events_stay_unsolicited() {
        let (mut c, now, _rx) = setup();
        let r = c.received(&msg("Event: UserEvent\nActionID: ue-raw-1\n"), now);
        assert_eq!(r.link, Link::Unsolicited);
    }

    #[test]
    fn actions_time_out_and_list_items_extend_the_deadline() {
        let (mut c, now, _rx) = setup();
        c.received(
            &msg("Response: Success\nActionID: t-1-1\nEventList: start\n"),
            now,
        );
        let later = now + Duration::from_secs(4);
        c.received(&msg("Event: CoreShowChannel\nActionID: t-1-1\n"), later);
        assert!(c.expire(now + Duration::from_secs(6)).is_empty());
        let gone = c.expire(later + Duration::from_secs(5));
        assert!(matches!(gone[0].outcome, Err(ActionError::Timeout(_))));
    }

    #[test]
    fn a_response_without_action_id_answers_the_oldest_action() {
        let (mut c, now, _rx) = setup();
        let r = c.received(&msg("Response: Success\nMessage: ok\n"), now);
        assert_eq!(
            r.link,
            Link::Response {
                action_id: "t-1-1".into()
            }
        );
    }
}
