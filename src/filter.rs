//! The filter language shared by watch, the TUI and line mode.
