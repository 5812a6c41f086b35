//! The one table widget of the live views (channels, calls, queues, endpoints,
//! bridges): a title with the count, column headers with the sort mark, rows coloured
//! by their tone, the `/` filter line, a detail pane of the selected row, and the key
//! hints on the bottom border. It draws `app::views` data and changes nothing but the
//! remembered scroll offset.

use super::text::{cut, short_channel};
use super::theme::Theme;
use crate::app::views::{visible, RowTone, TableData, TableRow, TableView, Width};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

/// Draws `data` as `view` asks: filtered, sorted, the selection highlighted.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    data: &TableData,
    view: &TableView,
    hints: &str,
    theme: &Theme,
) {
    let rows = visible(data, view);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(title(data, view, rows.len(), theme))
        .title_bottom(Line::from(format!(" {hints} ")).right_aligned());
    if let Some(why) = &data.unavailable {
        let text = vec![
            Line::styled(why.clone(), theme.warning()),
            Line::styled(
                "Asterisk refuses these questions to this login (see manager.conf).",
                theme.dim(),
            ),
        ];
        frame.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
            area,
        );
        return;
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut body = inner;
    if view.filtering || !view.filter.is_empty() {
        let [line, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
        let mut spans = vec![
            Span::styled("/", theme.key()),
            Span::raw(view.filter.clone()),
        ];
        if view.filtering {
            spans.push(Span::styled(" ", theme.selected()));
            spans.push(Span::styled("  Enter keeps · Esc clears", theme.dim()));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), line);
        body = rest;
    }
    let selected = view.selected_index(&rows);
    let (table_area, detail_area) = split_for_detail(body, view.detail && selected.is_some());
    if rows.is_empty() {
        let text = if data.rows.is_empty() {
            data.empty.clone()
        } else {
            format!("No row matches /{}.", view.filter)
        };
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), table_area);
        return;
    }
    draw_rows(frame, table_area, data, &rows, view, selected, theme);
    if let (Some(area), Some(index)) = (detail_area, selected) {
        draw_detail(frame, area, rows[index], theme);
    }
}

fn title<'a>(data: &TableData, view: &TableView, shown: usize, theme: &Theme) -> Line<'a> {
    let total = data.rows.len();
    let count = if shown == total {
        format!("{total}")
    } else {
        format!("{shown} of {total}")
    };
    let mut spans = vec![
        Span::styled(format!(" {} ", data.kind.title()), theme.header()),
        Span::raw(format!("({count}) ")),
    ];
    if let Some(summary) = &data.summary {
        spans.push(Span::raw(format!("{summary} ")));
    }
    if let Some(column) = view.sort.and_then(|c| data.columns.get(c)) {
        let arrow = if view.descending { "▼" } else { "▲" };
        spans.push(Span::styled(
            format!("· by {} {arrow} ", column.title),
            theme.dim(),
        ));
    }
    Line::from(spans)
}

/// The table beside (wide screens) or above the detail pane.
fn split_for_detail(area: Rect, detail: bool) -> (Rect, Option<Rect>) {
    if !detail {
        return (area, None);
    }
    if area.width >= 110 {
        let [table, detail] =
            Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)])
                .areas(area);
        (table, Some(detail))
    } else {
        let [table, detail] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
        (table, Some(detail))
    }
}

fn draw_rows(
    frame: &mut Frame,
    area: Rect,
    data: &TableData,
    rows: &[&TableRow],
    view: &TableView,
    selected: Option<usize>,
    theme: &Theme,
) {
    let shown: Vec<usize> = (0..data.columns.len())
        .filter(|&i| area.width >= data.columns[i].hidden_below)
        .collect();
    let constraints: Vec<Constraint> = shown
        .iter()
        .map(|&i| match data.columns[i].width {
            Width::Fixed(n) => Constraint::Length(n),
            Width::Fill(share) => Constraint::Fill(share),
        })
        .collect();
    let widths: Vec<usize> = Layout::horizontal(constraints.clone())
        .spacing(1)
        .split(area)
        .iter()
        .map(|r| usize::from(r.width))
        .collect();
    let header = Row::new(shown.iter().zip(&widths).map(|(&i, &width)| {
        let mut title = data.columns[i].title.to_string();
        if view.sort == Some(i) {
            title.push(if view.descending { '▼' } else { '▲' });
        }
        Cell::from(cut(&title, width))
    }))
    .style(theme.header());
    let body = rows.iter().map(|row| {
        Row::new(shown.iter().zip(&widths).map(|(&i, &width)| {
            let text = row.cells.get(i).map_or("", String::as_str);
            let text = super::clean(text.as_bytes());
            Cell::from(if data.columns[i].channel_names {
                short_channel(&text, width)
            } else {
                cut(&text, width)
            })
        }))
        .style(tone(row.tone, theme))
    });
    let table = Table::new(body, constraints)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(theme.selected());
    let mut state = TableState::default()
        .with_offset(view.offset.get())
        .with_selected(selected);
    frame.render_stateful_widget(table, area, &mut state);
    view.offset.set(state.offset());
}

fn tone(tone: RowTone, theme: &Theme) -> Style {
    match tone {
        RowTone::Live => theme.live(),
        RowTone::Ended => theme.ended(),
        RowTone::Warn => theme.warning(),
        RowTone::Plain => Style::new(),
    }
}

fn draw_detail(frame: &mut Frame, area: Rect, row: &TableRow, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(false))
        .title(Span::styled(" Detail ", theme.header()));
    let label_width = row
        .detail
        .iter()
        .map(|(k, _)| unicode_width::UnicodeWidthStr::width(k.as_str()))
        .max()
        .unwrap_or(0)
        .min(24);
    let lines: Vec<Line> = row
        .detail
        .iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(
                    super::fit(&super::clean(k.as_bytes()), label_width),
                    theme.key(),
                ),
                Span::raw("  "),
                Span::raw(super::clean(v.as_bytes()).into_owned()),
            ])
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

/// The actions menu of a table's selected row.
pub fn actions(
    frame: &mut Frame,
    actions: &[crate::app::views::actions::RowAction],
    selected: usize,
    area: Rect,
    theme: &Theme,
) {
    let rect = super::centered(area, 56, (actions.len() + 2) as u16);
    let lines: Vec<Line> = actions
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let style = if i == selected {
                theme.selected()
            } else {
                Style::new()
            };
            Line::styled(
                super::fit(
                    &format!(" {}", a.label),
                    usize::from(rect.width.saturating_sub(2)),
                ),
                style,
            )
        })
        .collect();
    let block = Block::new()
        .borders(Borders::ALL)
        .title(" Action  Enter fills the composer  Esc closes ")
        .border_style(theme.border(true));
    frame.render_widget(ratatui::widgets::Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
