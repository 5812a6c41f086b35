//! Selection and scroll of the calls list and of one call's detail: plain data the
//! keys change (`app::calls`) and drawing reads (`ui::calls_list`, `ui::call_detail`).
//! Pure, so it lives with the app state and not with the ratatui code.

use crate::calls::{Call, CallId, Calls, Channel};

/// Selection and scroll of the calls list. The selection follows a call, not a row,
/// since rows move as calls start and end.
#[derive(Clone, Debug, Default)]
pub struct CallListState {
    selected: Option<CallId>,
    /// Row of the selection at the last render: where to land if that call goes away.
    last_index: usize,
    /// First row shown at the last render (the table's scroll).
    pub offset: usize,
}

impl CallListState {
    pub fn selected(&self) -> Option<CallId> {
        self.selected
    }

    pub fn select(&mut self, id: Option<CallId>) {
        self.selected = id;
    }

    /// The selected call, if it is still kept.
    pub fn selected_call<'a>(&self, calls: &'a Calls) -> Option<&'a Call> {
        self.selected.and_then(|id| calls.get(id))
    }

    /// Moves the selection by `delta` rows (negative: up), clamped to the list.
    pub fn move_by(&mut self, calls: &Calls, delta: isize) {
        let list = calls.ordered();
        if list.is_empty() {
            self.selected = None;
            return;
        }
        let current = self.index_in(&list).unwrap_or(0) as isize;
        let next = (current + delta).clamp(0, list.len() as isize - 1) as usize;
        self.selected = Some(list[next].id);
        self.last_index = next;
    }

    pub fn select_first(&mut self, calls: &Calls) {
        self.selected = calls.ordered().first().map(|c| c.id);
        self.last_index = 0;
    }

    pub fn select_last(&mut self, calls: &Calls) {
        let list = calls.ordered();
        self.last_index = list.len().saturating_sub(1);
        self.selected = list.last().map(|c| c.id);
    }

    fn index_in(&self, list: &[&Call]) -> Option<usize> {
        let id = self.selected?;
        list.iter().position(|c| c.id == id)
    }

    /// Resolves the selection against the current order: keeps the selected call, or
    /// lands on the row where it was when it went away.
    pub fn resolve(&mut self, list: &[&Call]) -> Option<usize> {
        if list.is_empty() {
            self.selected = None;
            return None;
        }
        let index = self
            .index_in(list)
            .unwrap_or(self.last_index.min(list.len() - 1));
        self.selected = Some(list[index].id);
        self.last_index = index;
        Some(index)
    }
}

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
