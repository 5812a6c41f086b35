//! amicon: an interactive console for the Asterisk Manager Interface.

pub mod ami;
pub mod app;
pub mod calls;
pub mod cli;
pub mod cmd;
pub mod complete;
pub mod config;
pub mod debug_log;
pub mod demo;
pub mod explain;
pub mod filter;
pub mod format;
pub mod history;
pub mod layout;
pub mod line;
pub mod record;
pub mod safety;
pub mod secret;
pub mod session;
pub mod templates;
pub mod text;
mod time;
pub mod tui;
pub mod ui;
