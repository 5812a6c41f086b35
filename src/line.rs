//! Line mode: a rustyline console over the same session.
