//! The calls view inside the TUI: the list of calls and one call's detail take the log's
//! place while open, fed by the same stream entries as the log. The model and its
//! drawing live in `crate::calls`; this file only maps keys onto them.

use super::call_selection::{CallListState, DetailState};
use super::{App, Cmd, Focus, Overlay, Tone};
use crate::calls::{first_placeholder, prefill, CallId, ChannelAction};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::cell::RefCell;

/// What the calls view shows. The states sit in `RefCell`s because drawing resolves the
/// selection against the current order and records page sizes, while `draw` gets `&App`.
#[derive(Debug, Default)]
pub struct CallsView {
    pub list: RefCell<CallListState>,
    /// The call whose detail is open, and that detail's scroll and channel.
    pub detail: Option<(CallId, RefCell<DetailState>)>,
}

/// F5 (anywhere) or `c` (log): opens the calls view, or closes it when open.
pub fn toggle(app: &mut App) {
    if app.calls_view.take().is_none() {
        let view = CallsView::default();
        view.list.borrow_mut().select_first(&app.calls);
        app.calls_view = Some(view);
        app.focus = Focus::Log;
    }
}

/// Keys of the calls view while it has the focus. `None`: not a calls key, the usual
/// global handling goes on (Tab in the list, Ctrl-F, ...).
pub fn key(app: &mut App, key: KeyEvent) -> Option<Vec<Cmd>> {
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return None;
    }
    let view = app.calls_view.as_mut()?;
    let page = app.regions.log.height.saturating_sub(3).max(1) as isize;
    if let Some((id, detail)) = &view.detail {
        let id = *id;
        let Some(call) = app.calls.get(id) else {
            // The call was evicted: the detail has nothing left to show.
            view.detail = None;
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
                view.detail = None;
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
        return Some(Vec::new());
    }
    let mut list = view.list.borrow_mut();
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => list.move_by(&app.calls, -1),
        KeyCode::Down | KeyCode::Char('j') => list.move_by(&app.calls, 1),
        KeyCode::PageUp => list.move_by(&app.calls, -page),
        KeyCode::PageDown | KeyCode::Char(' ') => list.move_by(&app.calls, page),
        KeyCode::Home | KeyCode::Char('g') => list.select_first(&app.calls),
        KeyCode::End | KeyCode::Char('G') => list.select_last(&app.calls),
        KeyCode::Enter => {
            if let Some(call) = list.selected_call(&app.calls) {
                let id = call.id;
                drop(list);
                view.detail = Some((id, RefCell::new(DetailState::default())));
            }
        }
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('c') => {
            drop(list);
            app.calls_view = None;
        }
        KeyCode::Char('f') => {
            if let Some(id) = list.selected_call(&app.calls).map(|c| c.id) {
                drop(list);
                follow(app, id);
            }
        }
        KeyCode::Char('a') => {
            if let Some(id) = list.selected_call(&app.calls).map(|c| c.id) {
                drop(list);
                open_actions(app, id);
            }
        }
        _ => return None,
    }
    Some(Vec::new())
}

/// `f`: back to the log, filtered to this call's channels.
fn follow(app: &mut App, id: CallId) {
    let Some(filter) = app.calls.get(id).map(|c| c.follow_filter()) else {
        return;
    };
    match app.apply_filter(&filter) {
        Ok(()) => {
            app.calls_view = None;
            app.focus = Focus::Log;
            app.log.resume_follow();
            app.notify(Tone::Info, "log filtered to this call (Ctrl-F changes it)");
        }
        Err(e) => app.notify(Tone::Bad, format!("cannot follow this call: {e}")),
    }
}

fn open_actions(app: &mut App, id: CallId) {
    let has_channel = app.calls.get(id).is_some_and(|c| !c.channels().is_empty());
    if has_channel {
        app.overlay = Some(Overlay::ChannelActions { selected: 0 });
    } else {
        app.notify(Tone::Info, "this call has no channel to act on");
    }
}

/// The chosen channel action: its block goes into the composer, cursor on the first
/// `<placeholder>`. Nothing is sent until the user presses Enter there.
pub fn pick_action(app: &mut App, action: ChannelAction) {
    let Some(view) = &app.calls_view else {
        return;
    };
    let (call, detail) = match &view.detail {
        Some((id, detail)) => (app.calls.get(*id), detail.borrow().clone()),
        None => (
            view.list.borrow().selected_call(&app.calls),
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
