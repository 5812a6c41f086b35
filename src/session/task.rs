//! The session driver (being written).
use super::{queue::Publisher, Command, SessionConfig};
use std::sync::Arc;
use tokio::sync::mpsc;

pub(super) async fn run(_config: SessionConfig, _commands: mpsc::UnboundedReceiver<Command>, _out: Publisher, _tag: Arc<str>) {
    todo!("session driver")
}
