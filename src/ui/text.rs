//! Fitting names, times and durations into table columns: cut with `…`, channel names
//! shortened by their least telling parts, clocks and durations as people read them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// `text` cut to `width` columns, with `…` when cut; wide characters count double.
pub fn cut(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// A channel name shortened to `width` columns, losing the least telling parts first:
/// the zeros of its sequence number (`PJSIP/alice-00000001` → `PJSIP/alice-1`), then
/// its technology (`alice-1`), then its middle.
pub fn short_channel(name: &str, width: usize) -> String {
    if name.width() <= width {
        return name.to_string();
    }
    let compact = compact_sequence(name);
    if compact.width() <= width {
        return compact;
    }
    let bare = compact
        .split_once('/')
        .map_or(compact.as_str(), |(_, rest)| rest);
    fit_middle(bare, width)
}

/// `Local/x@ctx-0000001a;1` → `Local/x@ctx-1a;1`: Asterisk's 8-hex-digit channel
/// sequence without its leading zeros.
fn compact_sequence(name: &str) -> String {
    let (body, half) = match name.rsplit_once(';') {
        Some((b, h)) if h.len() == 1 => (b, Some(h)),
        _ => (name, None),
    };
    let Some((head, seq)) = body.rsplit_once('-') else {
        return name.to_string();
    };
    if seq.len() != 8 || !seq.bytes().all(|b| b.is_ascii_hexdigit()) {
        return name.to_string();
    }
    let trimmed = seq.trim_start_matches('0');
    let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
    match half {
        Some(h) => format!("{head}-{trimmed};{h}"),
        None => format!("{head}-{trimmed}"),
    }
}

/// `text` cut in the middle to `width` columns: `Local/dial…10;1`.
pub fn fit_middle(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    if width < 3 {
        return cut(text, width);
    }
    let tail_room = (width - 1) / 2;
    let head_room = width - 1 - tail_room;
    let head = fit_prefix(text.chars(), head_room);
    let mut tail: Vec<char> = fit_prefix(text.chars().rev(), tail_room).chars().collect();
    tail.reverse();
    format!("{head}…{}", tail.into_iter().collect::<String>())
}

fn fit_prefix(chars: impl Iterator<Item = char>, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in chars {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out
}

/// `HH:MM:SS` (UTC) of a time.
pub fn clock(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

/// `m:ss`, or `h:mm:ss` past an hour.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// `+S.mmm ` since the call started, padded for a column.
pub fn relative(d: Duration) -> String {
    let text = if d.as_secs() >= 1000 {
        format!("+{}s", d.as_secs())
    } else {
        format!("+{}.{:03}", d.as_secs(), d.subsec_millis())
    };
    format!("{text:<9}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitting_counts_wide_characters_twice() {
        assert_eq!(cut("张三丰先生", 6), "张三…");
        assert_eq!(cut("张三", 4), "张三");
        assert_eq!(cut("abc", 0), "");
        assert_eq!(
            fit_middle("Local/dial@test-00000010;1", 15),
            "Local/d…00010;1"
        );
        assert!(fit_middle("张三丰先生张三丰先生", 9).width() <= 9);
    }

    #[test]
    fn channel_names_shorten_by_their_least_telling_parts_first() {
        let name = "Local/dial@test-00000010;1";
        assert_eq!(short_channel(name, 30), name);
        assert_eq!(short_channel(name, 20), "Local/dial@test-10;1");
        assert_eq!(short_channel(name, 15), "dial@test-10;1");
        assert_eq!(short_channel("PJSIP/alice-00000001", 13), "PJSIP/alice-1");
        assert_eq!(
            short_channel("PJSIP/trunk-provider-0000abcd", 12),
            "trunk-…-abcd"
        );
        assert_eq!(short_channel("SIP/张三丰-00000001", 9), "张三丰-1");
    }

    #[test]
    fn durations_and_clocks_read_naturally() {
        assert_eq!(duration(Duration::from_secs(62)), "1:02");
        assert_eq!(duration(Duration::from_secs(3723)), "1:02:03");
        assert_eq!(clock(UNIX_EPOCH + Duration::from_secs(3723)), "01:02:03");
        assert_eq!(relative(Duration::from_millis(2345)), "+2.345   ");
    }
}
