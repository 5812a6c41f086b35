//! The calls view inside the TUI: the calls table and one call's detail take the log's
//! place while open, fed by the same stream entries as the log. The model lives in
//! `crate::calls`, the drawing in `crate::ui`; this file maps the calls' own keys.

use super::call_selection::DetailState;
use super::views::ViewKind;
use super::{App, Cmd, Focus, Overlay, Tone};
use crate::calls::{first_placeholder, prefill, CallId, ChannelAction};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::cell::RefCell;

/// F5 (anywhere) or `c` (log): opens the calls table, or closes it when open.
pub fn toggle(app: &mut App) {
    if app
        .table
        .as_ref()
        .is_some_and(|view| view.kind == ViewKind::Calls)
    {
        app.table = None;
    } else {
        super::views::keys::open(app, ViewKind::Calls);
    }
}

/// Keys of the calls table that are its own (the shared table keys are in
/// `views::keys`); `None`: not one of them.
pub fn list_key(app: &mut App, key: KeyEvent) -> Option<Vec<Cmd>> {
    let id = selected_call(app);
    match key.code {
        KeyCode::Enter => {
            let id = id?;
            if let Some(view) = app.table.as_mut() {
                view.call_detail = Some((id, RefCell::new(DetailState::default())));
            }
        }
        KeyCode::Char('c') => app.table = None,
        KeyCode::Char('f') => follow(app, id?),
        KeyCode::Char('a') => open_actions(app, id?),
        _ => return None,
    }
    Some(Vec::new())
}

/// The call of the calls table's selected row.
pub fn selected_call(app: &App) -> Option<CallId> {
    let view = app.table.as_ref().filter(|v| v.kind == ViewKind::Calls)?;
    let data = super::views::calls::table(app.state.calls(), app.calls_now());
    let rows = super::views::visible(&data, view);
    let row = view.selected_row(&rows)?;
    row.key.parse().ok()
}

/// Keys of one call's detail (its ladder and timeline) while open. `None`: not a
/// detail key, the usual global handling goes on.
pub fn detail_key(app: &mut App, key: KeyEvent) -> Option<Vec<Cmd>> {
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return None;
    }
    let view = app.table.as_mut()?;
    let (id, detail) = view.call_detail.as_ref()?;
    let id = *id;
    let Some(call) = app.state.calls().get(id) else {
        // The call was evicted: the detail has nothing left to show.
        view.call_detail = None;
        return Some(Vec::new());
    };
    let mut detail = detail.borrow_mut();
    match key.code {
        KeyCode::Tab => detail.toggle_pane(),
        KeyCode::Up | KeyCode::Char('k') => detail.scroll_by(call, -1),
        KeyCode::Down | KeyCode::Char('j') => detail.scroll_by(call, 1),
        KeyCode::PageUp => {
            let step = detail.page().max(1) as isize;
            detail.scroll_by(call, -step)
        }
        KeyCode::PageDown | KeyCode::Char(' ') => {
            let step = detail.page().max(1) as isize;
            detail.scroll_by(call, step)
        }
        KeyCode::Left | KeyCode::Char('h') => detail.prev_channel(),
        KeyCode::Right | KeyCode::Char('l') => detail.next_channel(call),
        KeyCode::Esc | KeyCode::Char('q') => {
            drop(detail);
            view.call_detail = None;
        }
        KeyCode::Char('f') => {
            drop(detail);
            follow(app, id);
        }
        KeyCode::Char('a') => {
            drop(detail);
            open_actions(app, id);
        }
        _ => return None,
    }
    Some(Vec::new())
}

/// `f`: back to the log, filtered to this call's channels.
fn follow(app: &mut App, id: CallId) {
    let Some(filter) = app.state.calls().get(id).map(|c| c.follow_filter()) else {
        return;
    };
    match app.apply_filter(&filter) {
        Ok(()) => {
            app.table = None;
            app.focus = Focus::Log;
            app.log.resume_follow();
            app.notify(Tone::Info, "log filtered to this call (Ctrl-F changes it)");
        }
        Err(e) => app.notify(Tone::Bad, format!("cannot follow this call: {e}")),
    }
}

fn open_actions(app: &mut App, id: CallId) {
    let has_channel = app
        .state
        .calls()
        .get(id)
        .is_some_and(|c| !c.channels().is_empty());
    if has_channel {
        app.overlay = Some(Overlay::ChannelActions { selected: 0 });
    } else {
        app.notify(Tone::Info, "this call has no channel to act on");
    }
}

/// The chosen channel action: its block goes into the composer, cursor on the first
/// `<placeholder>`. Nothing is sent until the user presses Enter there.
pub fn pick_action(app: &mut App, action: ChannelAction) {
    let (call, detail) = match app.table.as_ref().and_then(|v| v.call_detail.as_ref()) {
        Some((id, detail)) => (app.state.calls().get(*id), detail.borrow().clone()),
        None => (
            selected_call(app).and_then(|id| app.state.calls().get(id)),
            DetailState::default(),
        ),
    };
    let Some(channel) = call.and_then(|call| detail.selected_channel(call)) else {
        app.notify(Tone::Warn, "the call is gone: nothing to act on");
        return;
    };
    let text = prefill(action, channel);
    app.composer.set_text(&text);
    if let Some(range) = first_placeholder(&text) {
        app.composer.place_cursor_at(range.start);
    }
    app.focus = Focus::Composer;
    app.notify(
        Tone::Info,
        format!("{}: fill in, then Enter on an empty line", action.label()),
    );
}
