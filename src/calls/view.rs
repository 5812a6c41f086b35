//! Drawing the calls list and one call's detail (timeline and ladder) with ratatui.
