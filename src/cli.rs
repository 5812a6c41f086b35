//! The command line (clap): amicon [TARGET], send, watch, demo, serve.
