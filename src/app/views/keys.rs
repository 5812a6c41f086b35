//! Keys of the live tables: the ones every table shares (select, sort, filter, detail,
//! actions, back), then each view's own. Opening a view and building its data for a
//! key live here too, so `update` and drawing see the same rows.

use super::{TableData, TableView, ViewKind};
use crate::app::{App, Cmd, Focus, Overlay, Tone};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Opens `kind` in the log's place (or keeps it, when it is already shown) and gives
/// it the focus.
pub fn open(app: &mut App, kind: ViewKind) {
    if app.table.as_ref().is_none_or(|v| v.kind != kind) {
        app.table = Some(TableView::new(kind));
    }
    app.focus = Focus::Log;
}

/// The table of `kind` as the models hold it now.
pub fn data(app: &App, kind: ViewKind) -> TableData {
    match kind {
        ViewKind::Calls => super::calls::table(app.state.calls(), app.calls_now()),
        ViewKind::Channels | ViewKind::Queues | ViewKind::Endpoints | ViewKind::Bridges => {
            super::state_tables::table(app, kind)
        }
    }
}

/// Keys of the shown table while it has the focus. `None`: not a table key, the
/// usual handling goes on (Tab, Ctrl-F, F-keys...).
pub fn key(app: &mut App, key: KeyEvent) -> Option<Vec<Cmd>> {
    let kind = app.table.as_ref()?.kind;
    if app
        .table
        .as_ref()
        .is_some_and(|view| view.call_detail.is_some())
    {
        return crate::app::calls::detail_key(app, key);
    }
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return None;
    }
    if app.table.as_ref().is_some_and(|v| v.filtering) {
        filter_key(app, key);
        return Some(Vec::new());
    }
    let data = data(app, kind);
    let page = app.regions.log.height.saturating_sub(4).max(1) as isize;
    let view = app.table.as_mut()?;
    let rows = super::visible(&data, view);
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => view.move_by(&rows, -1),
        KeyCode::Down | KeyCode::Char('j') => view.move_by(&rows, 1),
        KeyCode::PageUp => view.move_by(&rows, -page),
        KeyCode::PageDown | KeyCode::Char(' ') => view.move_by(&rows, page),
        KeyCode::Home | KeyCode::Char('g') => view.select_index(&rows, 0),
        KeyCode::End | KeyCode::Char('G') => view.select_index(&rows, rows.len().saturating_sub(1)),
        KeyCode::Char('s') => view.cycle_sort(data.columns.len()),
        KeyCode::Char('S') => view.reverse_sort(),
        KeyCode::Char('/') => view.filtering = true,
        KeyCode::Esc | KeyCode::Char('q') => {
            if view.detail {
                view.detail = false;
            } else if !view.filter.is_empty() {
                view.filter.clear();
            } else {
                app.table = None;
            }
        }
        _ => {
            // Pin the selection to a row before a view's own key acts on it.
            if let Some(index) = view.selected_index(&rows) {
                view.select_index(&rows, index);
            }
            return view_key(app, kind, &data, key);
        }
    }
    Some(Vec::new())
}

/// Keys that differ by view: Enter, actions, and the calls' own.
fn view_key(app: &mut App, kind: ViewKind, data: &TableData, key: KeyEvent) -> Option<Vec<Cmd>> {
    if kind == ViewKind::Calls {
        return crate::app::calls::list_key(app, key);
    }
    let view = app.table.as_mut()?;
    match key.code {
        KeyCode::Enter => view.detail = !view.detail,
        KeyCode::Char('a') => {
            let rows = super::visible(data, view);
            let Some(row) = view.selected_row(&rows) else {
                app.notify(Tone::Info, "no row selected");
                return Some(Vec::new());
            };
            let actions = super::actions::for_row(app, kind, &row.key);
            if actions.is_empty() {
                app.notify(Tone::Info, "no action for this row");
            } else {
                app.overlay = Some(Overlay::RowActions {
                    actions,
                    selected: 0,
                });
            }
        }
        _ => return None,
    }
    Some(Vec::new())
}

/// Typing the `/` filter: the table narrows with each key.
fn filter_key(app: &mut App, key: KeyEvent) {
    let Some(view) = app.table.as_mut() else {
        return;
    };
    match key.code {
        KeyCode::Enter => view.filtering = false,
        KeyCode::Esc => {
            view.filtering = false;
            view.filter.clear();
        }
        KeyCode::Backspace => {
            view.filter.pop();
        }
        KeyCode::Char(c) => view.filter.push(c),
        _ => {}
    }
}

/// F6..F9 open the state tables (F5, the calls, is in the keymap).
pub fn view_of_key(key: &KeyEvent) -> Option<ViewKind> {
    if !key.modifiers.is_empty() {
        return None;
    }
    Some(match key.code {
        KeyCode::F(6) => ViewKind::Channels,
        KeyCode::F(7) => ViewKind::Queues,
        KeyCode::F(8) => ViewKind::Endpoints,
        KeyCode::F(9) => ViewKind::Bridges,
        _ => return None,
    })
}

/// The wheel over a table moves its selection; a click gives it the focus.
pub fn mouse(app: &mut App, mouse: crossterm::event::MouseEvent) {
    use crossterm::event::{MouseButton, MouseEventKind};
    let delta = match mouse.kind {
        MouseEventKind::ScrollUp => -1,
        MouseEventKind::ScrollDown => 1,
        MouseEventKind::Down(MouseButton::Left) => {
            app.focus = Focus::Log;
            return;
        }
        _ => return,
    };
    let Some(kind) = app.table.as_ref().map(|v| v.kind) else {
        return;
    };
    let data = data(app, kind);
    let Some(view) = app.table.as_mut() else {
        return;
    };
    if view.call_detail.is_some() {
        return;
    }
    let rows = super::visible(&data, view);
    view.move_by(&rows, delta);
}
