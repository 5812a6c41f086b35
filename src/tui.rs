//! The terminal: guard, event loop, render throttle.
