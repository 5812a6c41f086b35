//! Colours by kind of message and event class, in one place, and none at all when the
//! user asked for none (`NO_COLOR`, <https://no-color.org>): then only bold, reverse and
//! underline remain, which carry selection and emphasis on any terminal.

use crate::app::log::Tone;
use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug)]
pub struct Theme {
    color: bool,
}

impl Theme {
    pub fn new(no_color: bool) -> Self {
        Theme { color: !no_color }
    }

    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub fn time(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn sent(&self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn response(&self, success: bool) -> Style {
        if success {
            self.fg(Color::Green)
        } else {
            self.fg(Color::Red).add_modifier(Modifier::BOLD)
        }
    }

    pub fn list_item(&self) -> Style {
        self.fg(Color::LightBlue)
    }

    /// Events coloured by their class (the first word of `Privilege:`).
    pub fn event(&self, class: &[u8]) -> Style {
        let color = match class {
            b"call" => Color::Reset,
            b"dialplan" => Color::DarkGray,
            b"system" => Color::Magenta,
            b"security" => Color::Yellow,
            b"reporting" | b"cdr" | b"cel" => Color::Blue,
            b"agent" => Color::LightCyan,
            b"user" => Color::LightMagenta,
            _ => Color::Reset,
        };
        self.fg(color)
    }

    pub fn tone(&self, tone: Tone) -> Style {
        match tone {
            Tone::Info => self.fg(Color::Gray),
            Tone::Good => self.fg(Color::Green),
            Tone::Warn => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Tone::Bad => self.fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn dim(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn search_hit(&self) -> Style {
        if self.color {
            Style::new().bg(Color::Yellow).fg(Color::Black)
        } else {
            Style::new().add_modifier(Modifier::UNDERLINED | Modifier::BOLD)
        }
    }

    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::DarkGray)
        }
    }

    pub fn status(&self) -> Style {
        if self.color {
            Style::new().bg(Color::Blue).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub fn status_alert(&self) -> Style {
        if self.color {
            Style::new()
                .bg(Color::Red)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    pub fn paused(&self) -> Style {
        if self.color {
            Style::new()
                .bg(Color::Yellow)
                .fg(Color::Black)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    /// Column headers and the titles of the calls and state views.
    pub fn header(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// A row that is live now (a channel up, a call in progress).
    pub fn live(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Green)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    /// A row that is over (an ended call, a channel gone).
    pub fn ended(&self) -> Style {
        self.fg(Color::Gray)
    }

    pub fn dial(&self) -> Style {
        self.emphasis(Color::Yellow)
    }

    pub fn bridge(&self) -> Style {
        self.emphasis(Color::Green)
    }

    pub fn hangup(&self) -> Style {
        self.emphasis(Color::Red)
    }

    /// Channel names in the ladder.
    pub fn channel(&self) -> Style {
        self.fg(Color::Cyan)
    }

    /// The ladder's vertical lines.
    pub fn lane(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn warning(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// A colour, or bold where colours are off.
    fn emphasis(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }
}
