//! The live tables, k9s style: Channels, Calls, Queues, Endpoints and Bridges take the
//! log's place, each with a sort column, a `/` filter, a detail pane and actions on the
//! selected row. Everything here is plain data: each view turns its model into
//! [`TableData`] (strings and sort keys), [`TableView`] holds what the keys changed
//! (sort, filter, selection), and `ui::table` draws the two together.

pub mod actions;
pub mod calls;
pub mod keys;
pub mod state_tables;

use super::call_selection::DetailState;
use crate::calls::CallId;
use std::cell::{Cell, RefCell};
use std::cmp::Ordering;

/// Which table is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ViewKind {
    Channels,
    Calls,
    Queues,
    Endpoints,
    Bridges,
}

impl ViewKind {
    pub const ALL: [ViewKind; 5] = [
        ViewKind::Channels,
        ViewKind::Calls,
        ViewKind::Queues,
        ViewKind::Endpoints,
        ViewKind::Bridges,
    ];

    /// The table's title, also its `:` command (lower case).
    pub fn title(self) -> &'static str {
        match self {
            ViewKind::Channels => "Channels",
            ViewKind::Calls => "Calls",
            ViewKind::Queues => "Queues",
            ViewKind::Endpoints => "Endpoints",
            ViewKind::Bridges => "Bridges",
        }
    }
}

/// How wide a column is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    Fixed(u16),
    /// A share of what the fixed columns leave.
    Fill(u16),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub title: &'static str,
    pub width: Width,
    /// Its cells are channel names: shortened by their least telling parts first.
    pub channel_names: bool,
    /// Left out of tables narrower than this, so the others stay readable.
    pub hidden_below: u16,
}

impl Column {
    pub const fn fixed(title: &'static str, width: u16) -> Self {
        Column {
            title,
            width: Width::Fixed(width),
            channel_names: false,
            hidden_below: 0,
        }
    }

    pub const fn fill(title: &'static str, share: u16) -> Self {
        Column {
            title,
            width: Width::Fill(share),
            channel_names: false,
            hidden_below: 0,
        }
    }

    pub const fn of_channels(mut self) -> Self {
        self.channel_names = true;
        self
    }

    pub const fn hidden_below(mut self, width: u16) -> Self {
        self.hidden_below = width;
        self
    }
}

/// What a column sorts by: numbers as numbers (durations, counts), the rest as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortKey {
    Number(i64),
    Text(String),
}

impl SortKey {
    pub fn text(text: &str) -> Self {
        SortKey::Text(text.to_lowercase())
    }

    fn compare(&self, other: &SortKey) -> Ordering {
        match (self, other) {
            (SortKey::Number(a), SortKey::Number(b)) => a.cmp(b),
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            (SortKey::Number(_), SortKey::Text(_)) => Ordering::Less,
            (SortKey::Text(_), SortKey::Number(_)) => Ordering::Greater,
        }
    }
}

/// How a row is coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowTone {
    Live,
    Ended,
    Warn,
    Plain,
}

/// One row of a table, as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableRow {
    /// What identifies the row across updates (the selection follows it).
    pub key: String,
    /// Rows of a lower group come first whatever the sort: live calls before ended ones.
    pub group: u8,
    pub cells: Vec<String>,
    /// One per column; a missing one sorts by the cell's text.
    pub sort: Vec<SortKey>,
    pub tone: RowTone,
    /// `(field, value)` lines of the detail pane.
    pub detail: Vec<(String, String)>,
}

impl TableRow {
    fn sort_key(&self, column: usize) -> SortKey {
        match self.sort.get(column) {
            Some(key) => key.clone(),
            None => SortKey::text(self.cells.get(column).map_or("", String::as_str)),
        }
    }

    fn matches(&self, needle: &str) -> bool {
        needle.is_empty()
            || self.cells.iter().any(|c| c.to_lowercase().contains(needle))
            || self
                .detail
                .iter()
                .any(|(_, v)| v.to_lowercase().contains(needle))
    }
}

/// A whole table, built from a model for one frame or one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableData {
    pub kind: ViewKind,
    pub columns: Vec<Column>,
    /// In the model's own order; [`visible`] sorts and filters.
    pub rows: Vec<TableRow>,
    /// Why this table cannot be shown (a permission the login lacks), said instead of
    /// an empty table.
    pub unavailable: Option<String>,
    /// What an empty table means.
    pub empty: String,
    /// Words after the count in the title (`2 live · 1 ended`).
    pub summary: Option<String>,
}

/// What the keys changed in one table: sort, filter, selection, detail pane.
#[derive(Debug)]
pub struct TableView {
    pub kind: ViewKind,
    /// The column sorted by; `None` keeps the model's order.
    pub sort: Option<usize>,
    pub descending: bool,
    /// Case-insensitive text every shown row contains somewhere.
    pub filter: String,
    /// The filter is being typed (`/`): keys go to it.
    pub filtering: bool,
    /// The selected row's key.
    pub selected: Option<String>,
    /// Row of the selection at the last move: where to land if its row goes away.
    last_index: usize,
    /// First row drawn at the last render (the table's scroll).
    pub offset: Cell<usize>,
    /// The detail pane of the selected row is open.
    pub detail: bool,
    /// Calls only: the call whose ladder is open in the table's place.
    pub call_detail: Option<(CallId, RefCell<DetailState>)>,
}

impl TableView {
    pub fn new(kind: ViewKind) -> Self {
        TableView {
            kind,
            sort: None,
            descending: false,
            filter: String::new(),
            filtering: false,
            selected: None,
            last_index: 0,
            offset: Cell::new(0),
            detail: false,
            call_detail: None,
        }
    }

    /// The next sort column (after the last one: the model's order again).
    pub fn cycle_sort(&mut self, columns: usize) {
        self.sort = match self.sort {
            None if columns > 0 => Some(0),
            Some(c) if c + 1 < columns => Some(c + 1),
            _ => None,
        };
        self.descending = false;
    }

    pub fn reverse_sort(&mut self) {
        if self.sort.is_none() {
            self.sort = Some(0);
        }
        self.descending = !self.descending;
    }

    /// The index of the selection in `rows`, resolving a selection whose row went
    /// away to the row now at its place.
    pub fn selected_index(&self, rows: &[&TableRow]) -> Option<usize> {
        if rows.is_empty() {
            return None;
        }
        let found = self
            .selected
            .as_ref()
            .and_then(|key| rows.iter().position(|r| &r.key == key));
        Some(found.unwrap_or(self.last_index.min(rows.len() - 1)))
    }

    /// The selected row, resolved as [`Self::selected_index`] does.
    pub fn selected_row<'a>(&self, rows: &[&'a TableRow]) -> Option<&'a TableRow> {
        self.selected_index(rows).map(|i| rows[i])
    }

    /// Moves the selection by `delta` rows (negative: up), clamped.
    pub fn move_by(&mut self, rows: &[&TableRow], delta: isize) {
        let Some(current) = self.selected_index(rows) else {
            self.selected = None;
            return;
        };
        let next = (current as isize + delta).clamp(0, rows.len() as isize - 1) as usize;
        self.select_index(rows, next);
    }

    pub fn select_index(&mut self, rows: &[&TableRow], index: usize) {
        if let Some(row) = rows.get(index) {
            self.selected = Some(row.key.clone());
            self.last_index = index;
        }
    }
}

/// The rows shown: those matching the filter, in group order, then by the sort column
/// (stable, so equal rows keep the model's order).
pub fn visible<'a>(data: &'a TableData, view: &TableView) -> Vec<&'a TableRow> {
    let needle = view.filter.trim().to_lowercase();
    let mut rows: Vec<&TableRow> = data.rows.iter().filter(|r| r.matches(&needle)).collect();
    match view.sort {
        Some(column) => rows.sort_by(|a, b| {
            a.group.cmp(&b.group).then_with(|| {
                let order = a.sort_key(column).compare(&b.sort_key(column));
                if view.descending {
                    order.reverse()
                } else {
                    order
                }
            })
        }),
        None => rows.sort_by_key(|r| r.group),
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, group: u8, name: &str, secs: i64) -> TableRow {
        TableRow {
            key: key.into(),
            group,
            cells: vec![name.into(), format!("{secs}s")],
            sort: vec![SortKey::text(name), SortKey::Number(secs)],
            tone: RowTone::Plain,
            detail: vec![("Uniqueid".into(), format!("id-{key}"))],
        }
    }

    fn data() -> TableData {
        TableData {
            kind: ViewKind::Channels,
            columns: vec![Column::fill("Name", 1), Column::fixed("Dur", 5)],
            rows: vec![
                row("a", 1, "zed", 5),
                row("b", 0, "alpha", 100),
                row("c", 0, "Mike", 9),
            ],
            unavailable: None,
            empty: String::new(),
            summary: None,
        }
    }

    fn keys(rows: &[&TableRow]) -> Vec<String> {
        rows.iter().map(|r| r.key.clone()).collect()
    }

    #[test]
    fn groups_come_first_whatever_the_sort() {
        let data = data();
        let mut view = TableView::new(ViewKind::Channels);
        assert_eq!(keys(&visible(&data, &view)), ["b", "c", "a"]);
        view.cycle_sort(2);
        assert_eq!(keys(&visible(&data, &view)), ["b", "c", "a"], "by name");
        view.reverse_sort();
        assert_eq!(keys(&visible(&data, &view)), ["c", "b", "a"]);
        view.cycle_sort(2);
        assert_eq!(view.sort, Some(1));
        assert_eq!(
            keys(&visible(&data, &view)),
            ["c", "b", "a"],
            "9 s before 100 s"
        );
        view.cycle_sort(2);
        assert_eq!(view.sort, None, "past the last column: the model's order");
    }

    #[test]
    fn the_filter_matches_cells_and_detail_without_case() {
        let data = data();
        let mut view = TableView::new(ViewKind::Channels);
        view.filter = "MIKE".into();
        assert_eq!(keys(&visible(&data, &view)), ["c"]);
        view.filter = "id-a".into();
        assert_eq!(keys(&visible(&data, &view)), ["a"]);
        view.filter = "nothing".into();
        assert!(visible(&data, &view).is_empty());
    }

    #[test]
    fn the_selection_follows_its_row_and_lands_in_place_when_it_goes() {
        let mut data = data();
        let mut view = TableView::new(ViewKind::Channels);
        let rows = visible(&data, &view);
        assert_eq!(view.selected_row(&rows).unwrap().key, "b");
        view.move_by(&rows, 1);
        assert_eq!(view.selected.as_deref(), Some("c"));
        view.move_by(&rows, 10);
        assert_eq!(view.selected.as_deref(), Some("a"));
        view.move_by(&rows, -1);
        data.rows.retain(|r| r.key != "c");
        let rows = visible(&data, &view);
        assert_eq!(view.selected_row(&rows).unwrap().key, "a", "row 1 now");
    }
}
