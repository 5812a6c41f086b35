//! The calls list: the calls table (`app::views::calls`: live calls first, a channel
//! column, true durations) drawn with the shared table widget.

use super::theme::Theme;
use crate::app::views::{calls, TableView};
use crate::calls::Calls;
use ratatui::layout::Rect;
use ratatui::Frame;
use std::time::SystemTime;

/// The hints under the calls list.
pub const HINTS: &str = "Enter ladder · a act · f follow · s sort · / filter · Esc back";

/// The list of calls: start, duration, caller, callee, first channel and count, state,
/// last event, cause; live calls first and highlighted.
pub fn render_call_list(
    frame: &mut Frame,
    area: Rect,
    calls: &Calls,
    view: &TableView,
    now: SystemTime,
    theme: &Theme,
) {
    super::table::draw(frame, area, &calls::table(calls, now), view, HINTS, theme);
}
