//! Screen layout arithmetic: where the log, composer, input bar and status line go for a
//! terminal size. Below both the app state (paging, mouse clicks) and the drawing code,
//! so the state never calls into `ui`.

use ratatui::layout::{Constraint, Layout, Rect};

/// Rows and rectangles of the last drawn layout, for mouse clicks and paging.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Regions {
    pub log: Rect,
    /// The answer pane (zero-sized when it shows nothing).
    pub answer: Rect,
    pub composer: Rect,
    pub bar: Rect,
    pub status: Rect,
}

/// Rows of the composer, its title line included.
const COMPOSER_ROWS: u16 = 7;

/// Splits the screen: log on top (the rest), composer, the input bar when open, status.
pub fn layout(area: Rect, bar_open: bool) -> Regions {
    layout_with_answer(area, bar_open, 0)
}

/// [`layout`] with the answer pane, `answer_rows` high, between the log and the composer.
pub fn layout_with_answer(area: Rect, bar_open: bool, answer_rows: u16) -> Regions {
    let composer = if area.height >= 16 {
        COMPOSER_ROWS
    } else {
        area.height / 3
    };
    let bar = if bar_open { 2 } else { 0 };
    let [log, answer, composer, bar, status] = Layout::vertical([
        Constraint::Min(2),
        Constraint::Length(answer_rows),
        Constraint::Length(composer),
        Constraint::Length(bar),
        Constraint::Length(1),
    ])
    .areas(area);
    Regions {
        log,
        answer,
        composer,
        bar,
        status,
    }
}
