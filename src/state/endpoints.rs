//! Endpoints: PJSIP endpoints with their contacts (`PJSIPShowEndpoints`,
//! `PJSIPShowContacts`, `ContactStatus`) and, on servers with `chan_sip`, SIP peers
//! (`SIPpeers`, `PeerStatus`), in one table because an engineer asks one question of
//! both: is this phone there, and how far away.

use super::fields::{first_of, number, opt, text};
use crate::ami::Message;
use std::time::Duration;

/// Which channel driver the endpoint belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Technology {
    Pjsip,
    Sip,
}

impl Technology {
    pub fn label(self) -> &'static str {
        match self {
            Technology::Pjsip => "PJSIP",
            Technology::Sip => "SIP",
        }
    }
}

/// One endpoint (PJSIP) or peer (chan_sip).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub technology: Technology,
    /// `alice` (the table key is `PJSIP/alice`, see [`Endpoint::key`]).
    pub name: String,
    /// `DeviceState` (`Not in use`, `Unavailable`...), or the chan_sip peer status
    /// (`OK (1 ms)`, `UNREACHABLE`, `Registered`).
    pub state: String,
    pub aors: String,
    pub auths: String,
    /// Channels up on it, as last reported.
    pub active_channels: Option<u32>,
    /// Address of a chan_sip peer (`IPaddress:IPport`), or the last `PeerStatus` one.
    pub address: String,
    pub contacts: Vec<Contact>,
}

/// One registered or static contact of an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    pub uri: String,
    pub aor: String,
    /// `Reachable`, `Unreachable`, `NonQualified`, `Unknown`, `Created`...
    pub status: String,
    /// Round trip of the last qualify.
    pub rtt: Option<Duration>,
    pub user_agent: String,
}

impl Endpoint {
    pub fn new(technology: Technology, name: &str) -> Self {
        Endpoint {
            technology,
            name: name.to_string(),
            state: String::new(),
            aors: String::new(),
            auths: String::new(),
            active_channels: None,
            address: String::new(),
            contacts: Vec::new(),
        }
    }

    /// `PJSIP/alice`, `SIP/carol`: the key of the endpoints table, and what a
    /// `PeerStatus` names in `Peer`.
    pub fn key(&self) -> String {
        key(self.technology, &self.name)
    }

    /// From an `EndpointList` item.
    pub(crate) fn update_from_list(&mut self, msg: &Message) {
        if let Some(v) = opt(msg, "DeviceState") {
            self.state = v;
        }
        if let Some(v) = opt(msg, "Aor") {
            self.aors = v;
        }
        if let Some(v) = opt(msg, "Auths") {
            self.auths = v;
        }
        if let Some(v) = number(msg, "ActiveChannels") {
            self.active_channels = Some(v);
        }
    }

    /// From a `PeerEntry` item (chan_sip's `SIPpeers`).
    pub(crate) fn update_from_peer_entry(&mut self, msg: &Message) {
        if let Some(v) = opt(msg, "Status") {
            self.state = v;
        }
        let ip = text(msg, "IPaddress");
        let port = text(msg, "IPport");
        if !ip.is_empty() && ip != "-none-" {
            self.address = if port.is_empty() || port == "0" {
                ip
            } else {
                format!("{ip}:{port}")
            };
        }
    }

    /// Adds or replaces a contact (by URI).
    pub(crate) fn upsert_contact(&mut self, contact: Contact) {
        match self.contacts.iter_mut().find(|c| c.uri == contact.uri) {
            Some(c) => {
                c.status = contact.status;
                if contact.rtt.is_some() {
                    c.rtt = contact.rtt;
                }
                if !contact.aor.is_empty() {
                    c.aor = contact.aor;
                }
                if !contact.user_agent.is_empty() {
                    c.user_agent = contact.user_agent;
                }
            }
            None => self.contacts.push(contact),
        }
    }
}

pub(crate) fn key(technology: Technology, name: &str) -> String {
    format!("{}/{}", technology.label(), name)
}

/// A contact from a `ContactList` item or a `ContactStatus` event, with the endpoint
/// it belongs to.
pub(crate) fn contact_from(msg: &Message) -> Option<(String, Contact)> {
    let uri = first_of(msg, &["URI", "Uri"]).filter(|u| !u.is_empty())?;
    let endpoint = first_of(msg, &["EndpointName", "Endpoint"]).unwrap_or_default();
    let status = first_of(msg, &["ContactStatus", "Status"]).unwrap_or_default();
    let rtt = first_of(msg, &["RoundtripUsec", "RoundTripUsec"])
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|us| *us > 0)
        .map(Duration::from_micros);
    Some((
        endpoint,
        Contact {
            uri,
            aor: first_of(msg, &["AOR", "Aor"]).unwrap_or_default(),
            status,
            rtt,
            user_agent: opt(msg, "UserAgent").unwrap_or_default(),
        },
    ))
}

/// `PJSIP/alice` → (Pjsip, `alice`); `SIP/carol` → (Sip, `carol`).
pub(crate) fn split_peer(peer: &str) -> Option<(Technology, &str)> {
    let (tech, name) = peer.split_once('/')?;
    let tech = if tech.eq_ignore_ascii_case("PJSIP") {
        Technology::Pjsip
    } else if tech.eq_ignore_ascii_case("SIP") {
        Technology::Sip
    } else {
        return None;
    };
    (!name.is_empty()).then_some((tech, name))
}
