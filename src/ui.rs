//! Rendering: one file per screen region.
