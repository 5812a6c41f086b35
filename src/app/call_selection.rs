//! Scroll, focus and selected channel of one call's detail: plain data the keys
//! change (`app::calls`) and drawing reads (`ui::call_detail`).
//! Pure, so it lives with the app state and not with the ratatui code.

use crate::calls::{Call, Channel};

/// Which half of the detail view keys scroll.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DetailPane {
    #[default]
    Ladder,
    Timeline,
}

/// Scroll, focus and selected channel of one call's detail view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetailState {
    pub pane: DetailPane,
    /// Selected channel (a ladder column), the target of channel actions.
    pub channel: usize,
    /// First visible ladder row and timeline line; `None` follows the newest.
    pub ladder_scroll: Option<usize>,
    pub timeline_scroll: Option<usize>,
    /// Lines each pane showed at the last render, so scrolling moves what is seen.
    pub(crate) ladder_page: usize,
    pub(crate) timeline_page: usize,
}

impl Default for DetailState {
    fn default() -> Self {
        DetailState {
            pane: DetailPane::Ladder,
            channel: 0,
            ladder_scroll: None,
            timeline_scroll: None,
            ladder_page: 1,
            timeline_page: 1,
        }
    }
}

impl DetailState {
    pub fn toggle_pane(&mut self) {
        self.pane = match self.pane {
            DetailPane::Ladder => DetailPane::Timeline,
            DetailPane::Timeline => DetailPane::Ladder,
        };
    }

    /// Scrolls the focused pane by `delta` lines (negative: up). Scrolling to the end
    /// makes it follow new events again.
    pub fn scroll_by(&mut self, call: &Call, delta: isize) {
        let (scroll, len, page) = match self.pane {
            DetailPane::Ladder => (
                &mut self.ladder_scroll,
                call.ladder().rows.len(),
                self.ladder_page,
            ),
            DetailPane::Timeline => (
                &mut self.timeline_scroll,
                call.events().len() + usize::from(call.evicted_events() > 0),
                self.timeline_page,
            ),
        };
        let last_start = len.saturating_sub(page);
        let current = scroll.unwrap_or(last_start) as isize;
        let next = (current + delta).max(0) as usize;
        *scroll = (next < last_start).then_some(next);
    }

    /// Lines the focused pane showed at the last render: the step of Page Up/Down.
    pub fn page(&self) -> usize {
        match self.pane {
            DetailPane::Ladder => self.ladder_page,
            DetailPane::Timeline => self.timeline_page,
        }
    }

    pub fn next_channel(&mut self, call: &Call) {
        if self.channel + 1 < call.channels().len() {
            self.channel += 1;
        }
    }

    pub fn prev_channel(&mut self) {
        self.channel = self.channel.saturating_sub(1);
    }

    /// The selected channel, for [`crate::calls::prefill`].
    pub fn selected_channel<'a>(&self, call: &'a Call) -> Option<&'a Channel> {
        let channels = call.channels();
        channels.get(self.channel).or(channels.last())
    }
}
