//! The event log's memory: a bounded ring of everything the session published, and the
//! index of what the current view (filter, quick toggles) shows.
//!
//! Entries keep the session's `Message`s as they came (one byte buffer plus offsets) and
//! nothing derived from them, so the ring costs little more than the wire bytes. The view
//! is a sorted list of sequence numbers; re-filtering rebuilds it in one pass. Scroll
//! position and selection are sequence numbers too, so they survive messages falling off
//! the front of the ring and the view changing under them.

use super::query::{contains_ignore_case, Filter};
use crate::ami::Message;
use crate::session::Link;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

/// From this many buffered entries on, re-filtering uses every core.
const PARALLEL_FROM: usize = 50_000;
/// How many of our own ActionIDs are remembered to name the answers that come back.
const REMEMBERED_ACTIONS: usize = 4096;

/// One line of the log.
#[derive(Clone, Debug)]
pub struct Entry {
    pub at: SystemTime,
    pub item: Item,
}

#[derive(Clone, Debug)]
pub enum Item {
    /// An action that went out, secrets already masked by the session.
    Sent { message: Message, internal: bool },
    /// A message from the server and what it answers; `action` names our action it
    /// answers, when it answers one.
    Received {
        message: Message,
        link: Link,
        internal: bool,
        action: Option<Arc<str>>,
    },
    /// Something about the session rather than a message: state changes, gaps, errors.
    /// `source` is the session event it tells of, so a save writes that event and
    /// `amicon open` of the file shows the same note again.
    Note {
        tone: Tone,
        text: Box<str>,
        source: Option<Box<crate::session::SessionEvent>>,
    },
}

/// How a note should look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Info,
    Good,
    Warn,
    Bad,
}

impl Entry {
    pub fn message(&self) -> Option<&Message> {
        match &self.item {
            Item::Sent { message, .. } | Item::Received { message, .. } => Some(message),
            Item::Note { .. } => None,
        }
    }
}

/// What the view shows besides the filter.
#[derive(Clone, Debug, Default)]
pub struct ViewOptions {
    pub filter: Option<Filter>,
    /// Hide VarSet, Newexten, RTCP* and the session's own keepalive traffic.
    pub hide_noise: bool,
    /// Show only this session's actions and what answers them.
    pub own_only: bool,
    /// Show amicon's own housekeeping (keepalive, help lookups, state seeding), hidden
    /// by default: it is not what the user typed.
    pub show_internal: bool,
}

impl ViewOptions {
    pub fn shows(&self, entry: &Entry) -> bool {
        match &entry.item {
            Item::Note { .. } => true,
            Item::Sent { message, internal } => {
                if *internal && (self.hide_noise || !self.show_internal) {
                    return false;
                }
                self.filter
                    .as_ref()
                    .is_none_or(|f| f.matches_named(message, None))
            }
            Item::Received {
                message,
                link,
                internal,
                action,
            } => {
                if self.hide_noise && is_noise(message) {
                    return false;
                }
                if *internal && (self.hide_noise || !self.show_internal) {
                    return false;
                }
                if self.own_only && (link.action_id().is_none() || *internal) {
                    return false;
                }
                self.filter
                    .as_ref()
                    .is_none_or(|f| f.matches_named(message, action.as_deref().map(str::as_bytes)))
            }
        }
    }

    pub fn is_active(&self) -> bool {
        self.hide_noise || self.own_only || self.filter.as_ref().is_some_and(|f| !f.is_empty())
    }
}

/// The events that flood a busy box and rarely matter when reading the log.
pub fn is_noise(message: &Message) -> bool {
    let Some(name) = message.event_name() else {
        return false;
    };
    name.eq_ignore_ascii_case(b"VarSet")
        || name.eq_ignore_ascii_case(b"Newexten")
        || (name.len() >= 4 && name[..4].eq_ignore_ascii_case(b"RTCP"))
}

#[derive(Debug)]
pub struct Log {
    entries: VecDeque<Entry>,
    /// Sequence number of `entries[0]`.
    first_seq: u64,
    capacity: usize,
    fell_off: u64,
    /// Sequence numbers of the shown entries, ascending.
    view: VecDeque<u64>,
    options: ViewOptions,
    action_names: HashMap<String, Arc<str>>,
    action_order: VecDeque<String>,
    /// Sticks to the newest line; false once the user scrolls.
    follow: bool,
    /// The selected line while paused.
    selected: u64,
    /// The first line on screen while paused.
    top: u64,
    /// Shown lines that arrived while paused.
    new_while_paused: u64,
    /// Lower-case search text.
    search: Option<String>,
}

impl Log {
    pub fn new(capacity: usize) -> Self {
        Log {
            entries: VecDeque::new(),
            first_seq: 0,
            capacity: capacity.max(1),
            fell_off: 0,
            view: VecDeque::new(),
            options: ViewOptions::default(),
            action_names: HashMap::new(),
            action_order: VecDeque::new(),
            follow: true,
            selected: 0,
            top: 0,
            new_while_paused: 0,
            search: None,
        }
    }

    /// Remembers the name of an action we sent, to name its answers.
    pub fn remember_action(&mut self, action_id: &str, name: &str) {
        if self.action_order.len() >= REMEMBERED_ACTIONS {
            if let Some(old) = self.action_order.pop_front() {
                self.action_names.remove(&old);
            }
        }
        self.action_order.push_back(action_id.to_string());
        self.action_names
            .insert(action_id.to_string(), Arc::from(name));
    }

    pub fn action_name(&self, action_id: &str) -> Option<Arc<str>> {
        self.action_names.get(action_id).cloned()
    }

    pub fn push(&mut self, entry: Entry) {
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
            if self.view.front() == Some(&self.first_seq) {
                self.view.pop_front();
            }
            self.first_seq += 1;
            self.fell_off += 1;
        }
        let seq = self.first_seq + self.entries.len() as u64;
        if self.options.shows(&entry) {
            self.view.push_back(seq);
            if !self.follow {
                self.new_while_paused += 1;
            }
        }
        self.entries.push_back(entry);
    }

    pub fn options(&self) -> &ViewOptions {
        &self.options
    }

    /// Changes what is shown and re-applies it to everything buffered.
    pub fn set_options(&mut self, options: ViewOptions) {
        self.options = options;
        self.view = self.matching();
    }

    /// The sequence numbers of every buffered entry the options show. A big ring is
    /// split across the cores: the work is one pass over messages that mostly live
    /// outside the cache, and the user waits for it.
    fn matching(&self) -> VecDeque<u64> {
        let total = self.entries.len();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        let scan = |start: usize, end: usize| -> Vec<u64> {
            self.entries
                .range(start..end)
                .enumerate()
                .filter(|(_, entry)| self.options.shows(entry))
                .map(|(i, _)| self.first_seq + (start + i) as u64)
                .collect()
        };
        if total < PARALLEL_FROM || threads < 2 {
            return scan(0, total).into();
        }
        let chunk = total.div_ceil(threads);
        let parts: Vec<Vec<u64>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let (start, end) = ((t * chunk).min(total), ((t + 1) * chunk).min(total));
                    scope.spawn(move || scan(start, end))
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        let mut view = VecDeque::with_capacity(parts.iter().map(Vec::len).sum());
        for part in parts {
            view.extend(part);
        }
        view
    }

    pub fn total(&self) -> usize {
        self.entries.len()
    }

    pub fn shown(&self) -> usize {
        self.view.len()
    }

    pub fn fell_off(&self) -> u64 {
        self.fell_off
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn get(&self, seq: u64) -> Option<&Entry> {
        let index = seq.checked_sub(self.first_seq)?;
        self.entries.get(usize::try_from(index).ok()?)
    }

    /// The entry shown at `index` of the view.
    pub fn shown_at(&self, index: usize) -> Option<(u64, &Entry)> {
        let seq = *self.view.get(index)?;
        Some((seq, self.get(seq)?))
    }

    /// Every buffered entry, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// The shown entries, oldest first.
    pub fn shown_entries(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.view.iter().filter_map(|&seq| self.get(seq))
    }

    pub fn is_following(&self) -> bool {
        self.follow
    }

    pub fn new_while_paused(&self) -> u64 {
        self.new_while_paused
    }

    /// The view index of the first shown entry at or after `seq`.
    fn index_of(&self, seq: u64) -> usize {
        self.view.partition_point(|&s| s < seq)
    }

    /// The selected line's view index, if paused and anything is shown.
    pub fn selected_index(&self) -> Option<usize> {
        if self.follow || self.view.is_empty() {
            return None;
        }
        Some(self.index_of(self.selected).min(self.view.len() - 1))
    }

    /// The selected entry; while following, the newest shown one.
    pub fn selected(&self) -> Option<(u64, &Entry)> {
        match self.selected_index() {
            Some(i) => self.shown_at(i),
            None => self
                .view
                .len()
                .checked_sub(1)
                .and_then(|i| self.shown_at(i)),
        }
    }

    /// The view index of the first line on a screen of `rows` lines.
    pub fn first_visible(&self, rows: usize) -> usize {
        let rows = rows.max(1);
        match self.selected_index() {
            None => self.view.len().saturating_sub(rows),
            Some(sel) => {
                let top = self.index_of(self.top).min(sel);
                if sel >= top + rows {
                    sel + 1 - rows
                } else {
                    top
                }
            }
        }
    }

    fn pause_at(&mut self, index: usize, rows: usize) {
        if self.follow {
            self.follow = false;
            self.new_while_paused = 0;
            let first = self.first_visible(rows);
            self.top = self.view.get(first).copied().unwrap_or(0);
        }
        let Some(&seq) = self.view.get(index) else {
            return;
        };
        self.selected = seq;
        let first = self.first_visible(rows);
        self.top = self.view.get(first).copied().unwrap_or(seq);
    }

    /// Moves the selection by `delta` lines (negative is up), pausing follow mode.
    /// Moving down past the newest line resumes following.
    pub fn move_selection(&mut self, delta: isize, rows: usize) {
        if self.view.is_empty() {
            return;
        }
        let last = self.view.len() - 1;
        let current = self.selected_index().unwrap_or(last);
        if self.follow && delta >= 0 {
            return;
        }
        let target = current.saturating_add_signed(delta);
        if delta > 0 && target > last {
            self.resume_follow();
            return;
        }
        self.pause_at(target.min(last), rows);
    }

    /// Scrolls the screen by `delta` lines without resuming at the bottom (the mouse wheel).
    pub fn scroll(&mut self, delta: isize, rows: usize) {
        if self.view.is_empty() || (self.follow && delta >= 0) {
            return;
        }
        let last = self.view.len() - 1;
        let current = self.selected_index().unwrap_or(last);
        self.pause_at(current.saturating_add_signed(delta).min(last), rows);
    }

    pub fn select_first(&mut self, rows: usize) {
        if !self.view.is_empty() {
            self.pause_at(0, rows);
        }
    }

    /// Selects the shown line at `index` (a click).
    pub fn select_index(&mut self, index: usize, rows: usize) {
        if index < self.view.len() {
            self.pause_at(index, rows);
        }
    }

    pub fn resume_follow(&mut self) {
        self.follow = true;
        self.new_while_paused = 0;
    }

    pub fn set_search(&mut self, text: Option<String>) {
        self.search = text.filter(|t| !t.is_empty()).map(|t| t.to_lowercase());
    }

    pub fn search(&self) -> Option<&str> {
        self.search.as_deref()
    }

    /// Whether an entry contains the search text.
    pub fn entry_matches_search(&self, entry: &Entry) -> bool {
        let Some(needle) = &self.search else {
            return false;
        };
        match &entry.item {
            Item::Sent { message, .. } | Item::Received { message, .. } => {
                contains_ignore_case(message.wire(), needle.as_bytes())
            }
            Item::Note { text, .. } => text.to_lowercase().contains(needle.as_str()),
        }
    }

    /// Selects the nearest match before the selection, or failing that after it (a
    /// new search). Returns false when nothing shown matches.
    pub fn search_nearest(&mut self, rows: usize) -> bool {
        self.search_step(false, rows) || self.search_step(true, rows)
    }

    /// Selects the next (or previous) shown entry containing the search text.
    /// Returns false when there is none.
    pub fn search_step(&mut self, forward: bool, rows: usize) -> bool {
        if self.search.is_none() || self.view.is_empty() {
            return false;
        }
        let last = self.view.len() - 1;
        let start = self
            .selected_index()
            .unwrap_or(if forward { last } else { last + 1 });
        let found = if forward {
            (start + 1..=last).find(|&i| {
                self.shown_at(i)
                    .is_some_and(|(_, e)| self.entry_matches_search(e))
            })
        } else {
            (0..start).rev().find(|&i| {
                self.shown_at(i)
                    .is_some_and(|(_, e)| self.entry_matches_search(e))
            })
        };
        match found {
            Some(i) => {
                self.pause_at(i, rows);
                true
            }
            None => false,
        }
    }

    /// The items and completion of the list our action `action_id` started, in order.
    pub fn list_items(&self, action_id: &str) -> Vec<&Message> {
        self.entries
            .iter()
            .filter_map(|e| match &e.item {
                Item::Received {
                    message,
                    link: Link::ListItem { action_id: id },
                    ..
                } if id == action_id => Some(message),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str) -> Entry {
        Entry {
            at: SystemTime::UNIX_EPOCH,
            item: Item::Received {
                message: Message::from_headers(&[("Event", name)]),
                link: Link::Unsolicited,
                internal: false,
                action: None,
            },
        }
    }

    #[test]
    fn the_ring_keeps_its_bound_and_counts_what_fell_off() {
        let mut log = Log::new(3);
        for n in 0..5 {
            log.push(event(&format!("E{n}")));
        }
        assert_eq!(log.total(), 3);
        assert_eq!(log.shown(), 3);
        assert_eq!(log.fell_off(), 2);
        let first = log
            .shown_at(0)
            .unwrap()
            .1
            .message()
            .unwrap()
            .get_str("Event")
            .unwrap()
            .into_owned();
        assert_eq!(first, "E2");
    }

    #[test]
    fn refiltering_a_big_ring_in_parallel_keeps_order_and_count() {
        let mut log = Log::new(200_000);
        for n in 0..150_000 {
            log.push(event(if n % 3 == 0 { "VarSet" } else { "Hangup" }));
        }
        log.set_options(ViewOptions {
            hide_noise: true,
            ..Default::default()
        });
        assert_eq!(log.shown(), 100_000);
        let seqs: Vec<u64> = log.view.iter().copied().collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        assert!(seqs.iter().all(|s| s % 3 != 0));
    }

    #[test]
    fn noise_toggle_hides_varset_newexten_and_rtcp() {
        let mut log = Log::new(10);
        for name in ["VarSet", "Newexten", "RTCPSent", "Hangup"] {
            log.push(event(name));
        }
        log.set_options(ViewOptions {
            hide_noise: true,
            ..Default::default()
        });
        assert_eq!(log.shown(), 1);
        log.push(event("RTCPReceived"));
        log.push(event("Newchannel"));
        assert_eq!(log.shown(), 2);
    }

    #[test]
    fn scrolling_up_pauses_and_counts_new_lines_until_resumed() {
        let mut log = Log::new(100);
        for n in 0..20 {
            log.push(event(&format!("E{n}")));
        }
        log.move_selection(-1, 5);
        assert!(!log.is_following());
        assert_eq!(log.selected_index(), Some(18));
        log.push(event("Late"));
        log.push(event("Later"));
        assert_eq!(log.new_while_paused(), 2);
        assert_eq!(log.selected_index(), Some(18));
        log.resume_follow();
        assert!(log.is_following());
        assert_eq!(log.new_while_paused(), 0);
    }

    #[test]
    fn selection_stays_visible_while_moving() {
        let mut log = Log::new(100);
        for n in 0..50 {
            log.push(event(&format!("E{n}")));
        }
        log.select_first(10);
        assert_eq!(log.first_visible(10), 0);
        log.move_selection(15, 10);
        assert_eq!(log.selected_index(), Some(15));
        assert_eq!(log.first_visible(10), 6);
        log.move_selection(-12, 10);
        assert_eq!(log.first_visible(10), 3);
    }

    #[test]
    fn search_steps_to_matching_lines_both_ways() {
        let mut log = Log::new(100);
        for name in ["Hangup", "Newchannel", "Hangup", "Newstate"] {
            log.push(event(name));
        }
        log.set_search(Some("HANGUP".into()));
        assert!(log.search_step(false, 10));
        assert_eq!(log.selected_index(), Some(2));
        assert!(log.search_step(false, 10));
        assert_eq!(log.selected_index(), Some(0));
        assert!(!log.search_step(false, 10));
        assert!(log.search_step(true, 10));
        assert_eq!(log.selected_index(), Some(2));
    }
}
