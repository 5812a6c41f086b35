//! The status bar: connection and login state first, then versions, rates, ping, losses
//! and the pause marker; what does not fit the width is left out, least important first.

use super::theme::Theme;
use crate::app::App;
use crate::session::{EndReason, SessionState};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

/// One piece of the bar with its priority (lower shows first when space is short).
struct Segment {
    priority: u8,
    text: String,
    style: Style,
}

pub fn state_text(app: &App) -> (String, bool) {
    let status = &app.status;
    if let Some(file) = &app.options.replay {
        let end = if status.closed { "" } else { " (replaying)" };
        return (
            format!("recording {file}{end}{}", replay_position(app)),
            false,
        );
    }
    match &status.state {
        SessionState::Connecting { attempt } if *attempt > 1 => (
            format!("connecting to {} (attempt {attempt})", app.options.target),
            false,
        ),
        SessionState::Connecting { .. } => (format!("connecting to {}", app.options.target), false),
        SessionState::LoggingIn { .. } => (format!("logging in to {}", app.options.target), false),
        SessionState::LoggedIn { user, server, tls } => (
            format!("● {user}@{server}{}", if *tls { " TLS" } else { "" }),
            false,
        ),
        SessionState::Reconnecting { delay, reason, .. } => {
            let waited = app.now.duration_since(status.state_at).unwrap_or_default();
            let left = delay.saturating_sub(waited).as_secs_f64().ceil() as u64;
            let what = if status.ever_logged_in {
                "reconnecting"
            } else {
                "cannot connect: trying again"
            };
            (format!("{what} in {left}s ({reason})"), true)
        }
        SessionState::Ended(EndReason::AuthFailed(why)) => {
            (format!("authentication failed: {why}"), true)
        }
        SessionState::Ended(EndReason::LoggedOff) => ("logged off".to_string(), false),
        SessionState::Ended(reason) => (format!("{reason}"), true),
    }
}

/// ` · entry 12 of 40 · 20:21:21.486` (UTC): where an opened file is, once it holds more
/// than is shown at once (stepping, or replaying at a pace).
fn replay_position(app: &App) -> String {
    let Some(total) = app.replay_total else {
        return String::new();
    };
    let time = app
        .last_entry_at
        .map(|at| {
            let iso = crate::record::format_time(at);
            format!(" · {}", iso.get(11..23).unwrap_or(&iso))
        })
        .unwrap_or_default();
    format!(" · entry {} of {total}{time}", app.replay_seen.min(total))
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        let left = digits.len() - i;
        if i > 0 && left / 3 * 3 == left {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn draw(frame: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let status = &app.status;
    let (state, alert) = state_text(app);
    let mut segments = vec![Segment {
        priority: 0,
        text: state,
        style: if alert {
            theme.status_alert()
        } else {
            theme.status()
        },
    }];
    if let Some(path) = &app.recording {
        segments.push(Segment {
            priority: 1,
            text: format!("REC {}", path.display()),
            style: theme.status_alert(),
        });
    }
    if app.options.read_only {
        segments.push(Segment {
            priority: 0,
            text: "READ-ONLY".into(),
            style: theme.status_alert(),
        });
    }
    if app.options.insecure_tls {
        segments.push(Segment {
            priority: 1,
            text: "TLS NOT VERIFIED".into(),
            style: theme.status_alert(),
        });
    }
    if !app.log.is_following() {
        segments.push(Segment {
            priority: 1,
            text: format!("PAUSED (+{} new)", app.log.new_while_paused()),
            style: theme.paused(),
        });
    }
    let lost = status.dropped + app.log.fell_off();
    if status.dropped > 0 {
        segments.push(Segment {
            priority: 2,
            text: format!("dropped {}", thousands(status.dropped)),
            style: theme.status_alert(),
        });
    }
    let mut versions = Vec::new();
    if let Some(ami) = &status.info.ami_version {
        versions.push(format!("AMI {ami}"));
    }
    if let Some(ast) = &status.info.asterisk_version {
        let short = ast.split(['+', '~', '-']).next().unwrap_or(ast);
        versions.push(format!("Asterisk {short}"));
    } else if let Some(implied) = status.info.implied_asterisk() {
        // Not told (no `system` read): what the AMI version implies, marked as such.
        versions.push(format!("Asterisk ~{}", implied.label));
    }
    if !versions.is_empty() {
        segments.push(Segment {
            priority: 4,
            text: versions.join(" "),
            style: theme.status(),
        });
    }
    segments.push(Segment {
        priority: 3,
        text: format!(
            "{} ev/s {} total",
            thousands(status.events_per_second),
            thousands(status.events_total)
        ),
        style: theme.status(),
    });
    if let Some(rtt) = status.rtt {
        segments.push(Segment {
            priority: 5,
            text: format!("ping {}ms", rtt.as_millis()),
            style: theme.status(),
        });
    }
    let hidden = app.log.total() - app.log.shown();
    if hidden > 0 {
        segments.push(Segment {
            priority: 6,
            text: format!("filtered out {}", thousands(hidden as u64)),
            style: theme.status(),
        });
    }
    if app.log.fell_off() > 0 && lost > 0 {
        segments.push(Segment {
            priority: 7,
            text: format!("fell off {}", thousands(app.log.fell_off())),
            style: theme.status(),
        });
    }
    segments.push(Segment {
        priority: 1,
        text: "F1 help".into(),
        style: theme.status(),
    });

    // Keep the most important segments that fit, in their original order.
    let width = usize::from(area.width);
    let mut order: Vec<usize> = (0..segments.len()).collect();
    order.sort_by_key(|&i| segments[i].priority);
    let mut keep = vec![false; segments.len()];
    let mut used = 0;
    for i in order {
        let w = segments[i].text.width() + 3;
        if used + w <= width || i == 0 {
            keep[i] = true;
            used += w;
        }
    }
    let mut spans = Vec::new();
    for (i, segment) in segments.into_iter().enumerate() {
        if !keep[i] {
            continue;
        }
        if !spans.is_empty() {
            spans.push(Span::styled(" │ ", theme.status()));
        } else {
            spans.push(Span::styled(" ", theme.status()));
        }
        spans.push(Span::styled(segment.text, segment.style));
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme.status()),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
