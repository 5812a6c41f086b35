//! The tables of the PBX's state: channels, queues, endpoints, bridges.

use super::actions::RowAction;
use super::{TableData, ViewKind};
use crate::app::App;

pub fn table(_app: &App, kind: ViewKind) -> TableData {
    TableData {
        kind,
        columns: Vec::new(),
        rows: Vec::new(),
        unavailable: Some("the PBX state model is not in this build yet".into()),
        empty: String::new(),
        summary: None,
    }
}

pub fn actions(_app: &App, _kind: ViewKind, _key: &str) -> Vec<RowAction> {
    Vec::new()
}
