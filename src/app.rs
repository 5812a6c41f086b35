//! The TUI's state: App, Msg, update(&mut App, Msg) -> Vec<Cmd>; no I/O.
