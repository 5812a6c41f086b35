//! The filter language shared by `watch`, the TUI filter bar and line mode.
//!
//! It exists so an engineer types the same thing everywhere to narrow a flood of AMI
//! messages down to what they care about, and so a filter can be re-applied to a million
//! buffered messages quickly (patterns are compiled once; matching allocates nothing).
//!
//! # Grammar
//!
//! A filter is terms separated by whitespace; a message must match **every** term (AND).
//! An empty filter matches everything.
//!
//! | term | matches when |
//! |---|---|
//! | `Newchannel`, `Queue*`, `Dial???` | the message's name matches the glob |
//! | `Channel=PJSIP/100-*` | some value of header `Channel` matches the glob |
//! | `*Channel=PJSIP/100-*` | keys may be globs too (`Channel`, `DestChannel`, ...) |
//! | `Uniqueid!=1795*` | no value of the header matches (an absent header passes) |
//! | `Channel~^PJSIP/10[0-9]-` | some value matches the regex (unanchored) |
//! | `Channel!~regex` | no value matches the regex |
//! | `~regex` | the regex matches some header line (`Key: value`) |
//! | `"free text"`, `'free text'` | some header line contains the text |
//! | `!term` | the term does not match |
//! | `a|b|c` | any of the alternatives matches |
//!
//! Details:
//! - The name is the `Event` value for events, else the `Action` value (sent actions),
//!   else a name the caller supplies ([`Filter::matches_named`]; the TUI passes the
//!   name of the action a response answers).
//! - Globs: `*` any run of characters, `?` one character; globs and keys compare ASCII
//!   case-insensitively and match the whole value. Free text is ASCII case-insensitive.
//!   Regexes are Rust `regex` syntax, case-sensitive (write `(?i)` to change that), and
//!   run on raw bytes, so non-UTF-8 values (Latin-1 or GBK caller names) can be matched.
//!   Free text and `~regex` also look inside the legacy `Command` body.
//! - Quotes (`"..."` or `'...'`) hold spaces and make everything inside them literal:
//!   `CallerIDName="John Smith"`, `Exten="*97"`, `CallerIDName="John "*`. Outside
//!   quotes, `\` makes the next character literal (`Exten=\*97`).
//! - Repeated headers (`Variable`, `ChanVariable`, `Output`): any value may match.
//! - Alternatives: `Newchannel|Hangup`. An alternative without an operator after a
//!   header test tests the same header: `Cause=16|17|21` means `Cause=16|Cause=17|Cause=21`.
//!   A regex runs to the end of its term, so `Channel~PJSIP|SIP` is one regex with its
//!   own alternation. To exclude several values write `!Cause=16|17` (not `Cause!=16|17`,
//!   which is refused because it would match almost everything).
//! - `!` negates the whole term, alternatives included: `!VarSet|Newexten`.
//! - A bare word holding a space (a single command-line argument such as
//!   `'John Smith'`) is free text.
//!
//! [`Filter::parse`] reads a typed line (the TUI, line mode); [`Filter::from_terms`]
//! takes one term per command-line argument (`amicon watch pbx Hangup 'Cause-txt=Normal
//! Clearing'`). Errors point at the bad part of the input ([`FilterError::render`]).

use crate::ami::Message;
use regex::bytes::{Regex, RegexBuilder};
use std::cell::Cell;
use std::fmt;
use std::ops::Range;

/// A compiled filter: terms that must all match.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// In the order written (for `Display`).
    terms: Vec<Term>,
    /// Indexes into `terms`, cheapest first: AND is commutative and terms have no side
    /// effects, so a cheap name test can reject most messages before any header scan.
    order: Vec<usize>,
}

/// Why a filter could not be read, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FilterError {
    /// The input the span refers to (for [`Filter::from_terms`], the arguments joined
    /// with spaces, shell-quoted where they hold spaces).
    pub input: String,
    /// Byte range of the bad part of `input`.
    pub span: Range<usize>,
    pub message: String,
}

impl FilterError {
    /// The input with a caret line under the bad part, then the message:
    ///
    /// ```text
    /// Hangup Channel~PJSIP/(
    ///                ^^^^^^^
    /// bad regex: unclosed group
    /// ```
    pub fn render(&self) -> String {
        let shown: String = self.input.chars().map(visible).collect();
        let start = self.span.start.min(self.input.len());
        let end = self.span.end.clamp(start, self.input.len());
        let before = self.input.get(..start).map_or(0, display_width);
        let under = self.input.get(start..end).map_or(1, display_width).max(1);
        format!(
            "{shown}\n{}{}\n{}",
            " ".repeat(before),
            "^".repeat(under),
            self.message
        )
    }
}

fn visible(c: char) -> char {
    if c.is_control() {
        ' '
    } else {
        c
    }
}

fn display_width(s: &str) -> usize {
    use unicode_width::UnicodeWidthChar;
    s.chars().map(|c| visible(c).width().unwrap_or(1)).sum()
}

impl Filter {
    /// Parses a typed filter line: terms separated by whitespace (outside quotes).
    pub fn parse(input: &str) -> Result<Filter, FilterError> {
        let error = |(span, message): (Range<usize>, String)| FilterError {
            input: input.to_string(),
            span,
            message,
        };
        let lexed = lex(input, 0, true).map_err(error)?;
        let terms = lexed
            .iter()
            .map(|chars| parse_term(chars))
            .collect::<Result<Vec<_>, _>>()
            .map_err(error)?;
        Ok(Filter::from_parsed(terms))
    }

    /// Builds a filter from command-line arguments, each one whole term (spaces inside
    /// an argument are part of it). Empty arguments are ignored.
    pub fn from_terms(terms: &[String]) -> Result<Filter, FilterError> {
        let mut shown = String::new();
        let mut parsed = Vec::new();
        let mut first_error = None;
        for term in terms {
            if !shown.is_empty() {
                shown.push(' ');
            }
            let needs_quotes = term.is_empty() || term.chars().any(char::is_whitespace);
            if needs_quotes {
                shown.push('\'');
            }
            let base = shown.len();
            shown.push_str(term);
            if needs_quotes {
                shown.push('\'');
            }
            if first_error.is_some() || term.trim().is_empty() {
                continue;
            }
            let result = lex(term, base, false).and_then(|lexed| match lexed.first() {
                Some(chars) => parse_term(chars).map(Some),
                None => Ok(None),
            });
            match result {
                Ok(Some(t)) => parsed.push(t),
                Ok(None) => {}
                Err(e) => first_error = Some(e),
            }
        }
        match first_error {
            Some((span, message)) => Err(FilterError {
                input: shown,
                span,
                message,
            }),
            None => Ok(Filter::from_parsed(parsed)),
        }
    }

    fn from_parsed(terms: Vec<Term>) -> Filter {
        let mut order: Vec<usize> = (0..terms.len()).collect();
        order.sort_by_key(|&i| terms[i].cost());
        Filter { terms, order }
    }

    /// True when the filter has no terms (it matches everything).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `msg` passes. Responses have no name of their own here; see
    /// [`Filter::matches_named`].
    pub fn matches(&self, msg: &Message) -> bool {
        self.matches_named(msg, None)
    }

    /// Whether `msg` passes, with `name` as the message's name when it has neither an
    /// `Event` nor an `Action` header (a response: the name of the action it answers).
    pub fn matches_named(&self, msg: &Message, name: Option<&[u8]>) -> bool {
        let ctx = Ctx {
            msg,
            fallback_name: name,
            name: Cell::new(None),
        };
        self.order.iter().all(|&i| self.terms[i].matches(&ctx))
    }
}

impl fmt::Display for Filter {
    /// The normalised form: it parses back into a filter that matches the same messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, term) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{term}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Filter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

// ---------------------------------------------------------------------------------------
// Matching

/// Per-message state shared by the terms: the message name is looked up at most once.
struct Ctx<'a> {
    msg: &'a Message,
    fallback_name: Option<&'a [u8]>,
    name: Cell<Option<Option<&'a [u8]>>>,
}

impl<'a> Ctx<'a> {
    fn name(&self) -> Option<&'a [u8]> {
        if let Some(name) = self.name.get() {
            return name;
        }
        let name = message_name(self.msg).or(self.fallback_name);
        self.name.set(Some(name));
        name
    }
}

/// `Event` value, else `Action` value, in one pass over the headers.
fn message_name(msg: &Message) -> Option<&[u8]> {
    let mut action = None;
    for line in msg.lines() {
        if let Some(v) = value_if_key(line, b"event") {
            return Some(v);
        }
        if action.is_none() {
            action = value_if_key(line, b"action");
        }
    }
    action
}

/// The value of `line` when its key is `key` (given in lowercase), compared without
/// searching for the colon first: the key is followed by `:` exactly when it matches.
#[inline]
fn value_if_key<'l>(line: &'l [u8], key: &[u8]) -> Option<&'l [u8]> {
    let n = key.len();
    if line.len() < n || !line[..n].eq_ignore_ascii_case(key) {
        return None;
    }
    match line.get(n) {
        Some(b':') => {
            let value = &line[n + 1..];
            Some(value.strip_prefix(b" ").unwrap_or(value))
        }
        None => Some(&[]),
        Some(_) => None,
    }
}

#[derive(Clone, Debug)]
struct Term {
    negated: bool,
    alternatives: Vec<Atom>,
}

impl Term {
    fn matches(&self, ctx: &Ctx<'_>) -> bool {
        self.alternatives.iter().any(|a| a.matches(ctx)) != self.negated
    }

    fn cost(&self) -> u32 {
        self.alternatives.iter().map(Atom::cost).sum()
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("!")?;
        }
        for (i, atom) in self.alternatives.iter().enumerate() {
            if i > 0 {
                f.write_str("|")?;
            }
            write!(f, "{atom}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    NotEq,
    Re,
    NotRe,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::NotEq => "!=",
            Op::Re => "~",
            Op::NotRe => "!~",
        }
    }

    fn is_negative(self) -> bool {
        matches!(self, Op::NotEq | Op::NotRe)
    }
}

#[derive(Clone, Debug)]
enum ValueTest {
    Glob(Glob),
    Regex(Regex),
}

impl ValueTest {
    #[inline]
    fn matches(&self, value: &[u8]) -> bool {
        match self {
            ValueTest::Glob(g) => g.matches(value),
            ValueTest::Regex(r) => r.is_match(value),
        }
    }
}

#[derive(Clone, Debug)]
enum Atom {
    Name(Glob),
    Header { key: Glob, op: Op, value: ValueTest },
    LineRegex(LineRegex),
    Text(FreeText),
}

impl Atom {
    fn matches(&self, ctx: &Ctx<'_>) -> bool {
        let msg = ctx.msg;
        match self {
            Atom::Name(glob) => ctx.name().is_some_and(|n| glob.matches(n)),
            Atom::Header { key, op, value } => {
                // Cheap rejection first: one search of the header text for the value's
                // literal part spares splitting every line of most messages.
                if let ValueTest::Glob(glob) = value {
                    if glob
                        .required
                        .as_ref()
                        .is_some_and(|text| !text.found_in(msg.header_text()))
                    {
                        return op.is_negative();
                    }
                }
                let any = match key.exact() {
                    Some(k) => msg
                        .lines()
                        .any(|line| value_if_key(line, k).is_some_and(|v| value.matches(v))),
                    None => msg
                        .headers()
                        .any(|(k, v)| key.matches(k) && value.matches(v)),
                };
                any != op.is_negative()
            }
            Atom::LineRegex(re) => {
                re.matches_headers(msg)
                    || msg.legacy_body().is_some_and(|b| re.per_line.is_match(b))
            }
            Atom::Text(text) => {
                let in_headers = if text.within_one_line {
                    text.regex.is_match(msg.header_text())
                } else {
                    msg.lines().any(|line| text.regex.is_match(line))
                };
                in_headers || msg.legacy_body().is_some_and(|b| text.regex.is_match(b))
            }
        }
    }

    /// A rough relative cost, to test cheap atoms first.
    fn cost(&self) -> u32 {
        match self {
            Atom::Name(_) => 1,
            Atom::Header {
                value: ValueTest::Glob(_),
                ..
            } => 4,
            Atom::Header {
                value: ValueTest::Regex(_),
                ..
            } => 8,
            Atom::Text(_) => 16,
            Atom::LineRegex(_) => 32,
        }
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Atom::Name(glob) => write!(f, "{}", glob.render(false)),
            Atom::Header { key, op, value } => {
                write!(f, "{}{}", key.render(true), op.as_str())?;
                match value {
                    ValueTest::Glob(g) => write!(f, "{}", g.render(true)),
                    ValueTest::Regex(r) => write!(f, "{}", render_regex(r.as_str())),
                }
            }
            Atom::LineRegex(r) => write!(f, "~{}", render_regex(r.per_line.as_str())),
            Atom::Text(t) => write!(f, "{}", render_text(&t.source)),
        }
    }
}

/// `~regex`: the regex matches some header line.
#[derive(Clone, Debug)]
struct LineRegex {
    per_line: Regex,
    /// The same regex in multi-line CRLF mode, run once over all header lines to reject
    /// most messages with one search instead of one per line. Only built when that is
    /// exact: whenever some line matches, the block matches too (see [`LineRegex::new`]).
    block: Option<Regex>,
}

impl LineRegex {
    fn new(per_line: Regex) -> LineRegex {
        let source = per_line.as_str();
        // What could match a line but not the same bytes inside the block: `\A`/`\z`
        // (block edges only), inline flags (could turn multi-line off), and `.`, which in
        // CRLF mode refuses a lone `\r` that a line may hold. `^`, `$` and `\b` match at
        // every line edge in the block, as on a line alone.
        let exact = !source.contains('.')
            && !source.contains("\\A")
            && !source.contains("\\z")
            && !source.contains("(?");
        let block = exact
            .then(|| {
                RegexBuilder::new(source)
                    .multi_line(true)
                    .crlf(true)
                    .size_limit(4 << 20)
                    .build()
                    .ok()
            })
            .flatten();
        LineRegex { per_line, block }
    }

    fn matches_headers(&self, msg: &Message) -> bool {
        if let Some(block) = &self.block {
            if !block.is_match(msg.header_text()) {
                return false;
            }
        }
        msg.lines().any(|line| self.per_line.is_match(line))
    }
}

/// Free text: an ASCII case-insensitive substring of some header line.
#[derive(Clone, Debug)]
struct FreeText {
    source: String,
    /// The text as an escaped literal regex: the regex crate's prefilters find a
    /// case-insensitive literal in a whole message far faster than a per-line search.
    regex: Regex,
    /// Text without CR or LF cannot match across a line end, so the header lines can be
    /// searched as one block.
    within_one_line: bool,
}

impl FreeText {
    fn new(source: String) -> Result<FreeText, String> {
        let regex = RegexBuilder::new(&regex::escape(&source))
            .case_insensitive(true)
            .unicode(false)
            .build()
            .map_err(|e| format!("cannot search for this text: {}", regex_error_text(&e)))?;
        let within_one_line = !source.contains(['\r', '\n']);
        Ok(FreeText {
            source,
            regex,
            within_one_line,
        })
    }
}

/// A case-insensitive substring, found without allocating.
#[derive(Clone, Debug)]
struct Text {
    /// The needle in ASCII lowercase.
    lower: Box<[u8]>,
    /// Whether the needle holds ASCII letters (otherwise a plain byte search does).
    has_letters: bool,
    /// The needle's rarest byte in AMI text: the case-insensitive search looks for it.
    pivot: usize,
}

impl Text {
    /// `lower` must be in ASCII lowercase.
    fn new(lower: Box<[u8]>) -> Text {
        let has_letters = lower.iter().any(u8::is_ascii_alphabetic);
        let pivot = (0..lower.len())
            .min_by_key(|&i| commonness(lower[i]))
            .unwrap_or(0);
        Text {
            lower,
            has_letters,
            pivot,
        }
    }

    #[inline]
    fn found_in(&self, haystack: &[u8]) -> bool {
        if self.has_letters {
            contains_ignore_case(haystack, &self.lower, self.pivot)
        } else {
            memchr::memmem::find(haystack, &self.lower).is_some()
        }
    }
}

/// Roughly how common a byte is in AMI text (lower is rarer).
fn commonness(b: u8) -> u8 {
    match b.to_ascii_lowercase() {
        b'\r' | b'\n' | b' ' | b':' => 6,
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' | b'h' | b'l' | b'c' | b'd'
        | b'u' => 5,
        b'a'..=b'z' => 4,
        b'0'..=b'9' => 3,
        b'-' | b'/' | b'.' | b'_' | b',' => 2,
        _ => 1,
    }
}

/// Whether `haystack` contains `needle` (ASCII lowercase), ignoring ASCII case. The
/// search runs on `needle[pivot]`, best its rarest byte, and checks each place it occurs.
fn contains_ignore_case(haystack: &[u8], needle: &[u8], pivot: usize) -> bool {
    let n = needle.len();
    if n == 0 {
        return true;
    }
    if haystack.len() < n {
        return false;
    }
    // Where the pivot byte can be for a whole needle to fit around it; an index `i`
    // into this window is where the needle would start.
    let window = &haystack[pivot..=haystack.len() - n + pivot];
    let found_at = |i: usize| haystack[i..i + n].eq_ignore_ascii_case(needle);
    let lower = needle[pivot];
    let upper = lower.to_ascii_uppercase();
    if lower == upper {
        memchr::memchr_iter(lower, window).any(found_at)
    } else {
        memchr::memchr2_iter(lower, upper, window).any(found_at)
    }
}

// ---------------------------------------------------------------------------------------
// Globs

/// One element of a glob as written.
#[derive(Clone, Debug, PartialEq, Eq)]
enum GlobPart {
    Literal(char),
    /// `*`: any run of characters.
    Star,
    /// `?`: one character.
    One,
}

/// A compiled glob: the common shapes get fast paths; all compare ASCII
/// case-insensitively against the whole value.
#[derive(Clone, Debug)]
struct Glob {
    parts: Vec<GlobPart>,
    matcher: GlobMatcher,
    /// The glob's longest run of literal bytes (two or more): whatever it matches
    /// contains it, so a message without it anywhere cannot match.
    required: Option<Text>,
}

#[derive(Clone, Debug)]
enum GlobMatcher {
    Any,
    Exact(Box<[u8]>),
    Prefix(Box<[u8]>),
    Suffix(Box<[u8]>),
    Contains(Text),
    General(Box<[Tok]>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Byte(u8),
    One,
    Star,
}

impl Glob {
    fn new(parts: Vec<GlobPart>) -> Glob {
        let mut toks = Vec::new();
        for part in &parts {
            match part {
                GlobPart::Literal(c) => {
                    let mut buf = [0u8; 4];
                    for &b in c.encode_utf8(&mut buf).as_bytes() {
                        toks.push(Tok::Byte(b.to_ascii_lowercase()));
                    }
                }
                GlobPart::One => toks.push(Tok::One),
                GlobPart::Star => {
                    if toks.last() != Some(&Tok::Star) {
                        toks.push(Tok::Star);
                    }
                }
            }
        }
        let required = toks
            .split(|t| !matches!(t, Tok::Byte(_)))
            .max_by_key(|run| run.len())
            .filter(|run| run.len() >= 2)
            .map(|run| {
                let bytes: Vec<u8> = run
                    .iter()
                    .filter_map(|t| match t {
                        Tok::Byte(b) => Some(*b),
                        _ => None,
                    })
                    .collect();
                Text::new(bytes.into())
            });
        let literal = |t: &[Tok]| -> Option<Box<[u8]>> {
            t.iter()
                .map(|t| match t {
                    Tok::Byte(b) => Some(*b),
                    _ => None,
                })
                .collect::<Option<Vec<u8>>>()
                .map(Into::into)
        };
        let matcher = match toks.as_slice() {
            [Tok::Star] => GlobMatcher::Any,
            [Tok::Star, middle @ .., Tok::Star] if literal(middle).is_some() => {
                GlobMatcher::Contains(Text::new(literal(middle).unwrap_or_default()))
            }
            [Tok::Star, rest @ ..] if literal(rest).is_some() => {
                GlobMatcher::Suffix(literal(rest).unwrap_or_default())
            }
            [rest @ .., Tok::Star] if literal(rest).is_some() => {
                GlobMatcher::Prefix(literal(rest).unwrap_or_default())
            }
            all => match literal(all) {
                Some(exact) => GlobMatcher::Exact(exact),
                None => GlobMatcher::General(toks.into()),
            },
        };
        Glob {
            parts,
            matcher,
            required,
        }
    }

    /// The lowercase bytes when the glob has no wildcard.
    fn exact(&self) -> Option<&[u8]> {
        match &self.matcher {
            GlobMatcher::Exact(e) => Some(e),
            _ => None,
        }
    }

    #[inline]
    fn matches(&self, value: &[u8]) -> bool {
        match &self.matcher {
            GlobMatcher::Any => true,
            GlobMatcher::Exact(e) => value.len() == e.len() && value.eq_ignore_ascii_case(e),
            GlobMatcher::Prefix(p) => {
                value.len() >= p.len() && value[..p.len()].eq_ignore_ascii_case(p)
            }
            GlobMatcher::Suffix(s) => {
                value.len() >= s.len() && value[value.len() - s.len()..].eq_ignore_ascii_case(s)
            }
            GlobMatcher::Contains(t) => t.found_in(value),
            GlobMatcher::General(toks) => glob_match(toks, value),
        }
    }

    /// The glob written back in filter syntax. `quote_spaces` allows `"..."` around a
    /// run holding whitespace (not at the start of a bare word, where a quote would
    /// make it free text).
    fn render(&self, quote_spaces: bool) -> String {
        let mut out = String::new();
        let mut run = String::new();
        for part in &self.parts {
            match part {
                GlobPart::Literal(c) => run.push(*c),
                GlobPart::Star | GlobPart::One => {
                    render_literal(&run, quote_spaces, &mut out);
                    run.clear();
                    out.push(if *part == GlobPart::Star { '*' } else { '?' });
                }
            }
        }
        render_literal(&run, quote_spaces, &mut out);
        if self.parts.is_empty() {
            out.push_str("\"\"");
        }
        out
    }
}

/// Wildcard matching with single-star backtracking (linear in practice, never
/// exponential). `?` consumes one UTF-8 character (or one byte that does not start one).
fn glob_match(toks: &[Tok], value: &[u8]) -> bool {
    let (mut t, mut v) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while v < value.len() {
        match toks.get(t) {
            Some(Tok::Star) => {
                backtrack = Some((t, v));
                t += 1;
                continue;
            }
            Some(Tok::One) => {
                t += 1;
                v += utf8_len_at(value, v);
                continue;
            }
            Some(Tok::Byte(b)) if value[v].to_ascii_lowercase() == *b => {
                t += 1;
                v += 1;
                continue;
            }
            _ => {}
        }
        match backtrack {
            Some((star_t, star_v)) => {
                backtrack = Some((star_t, star_v + 1));
                t = star_t + 1;
                v = star_v + 1;
            }
            None => return false,
        }
    }
    toks[t.min(toks.len())..].iter().all(|t| *t == Tok::Star)
}

fn utf8_len_at(value: &[u8], at: usize) -> usize {
    let lead = value[at];
    let want = match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    };
    let mut n = 1;
    while n < want && value.get(at + n).is_some_and(|b| b & 0xC0 == 0x80) {
        n += 1;
    }
    n
}

// ---------------------------------------------------------------------------------------
// Rendering back to filter syntax

const SPECIAL: &[char] = &['"', '\'', '\\', '*', '?', '|', '=', '~', '!'];

fn render_literal(run: &str, quote_spaces: bool, out: &mut String) {
    if run.is_empty() {
        return;
    }
    let has_space = run.chars().any(char::is_whitespace);
    if quote_spaces && has_space && !run.contains('"') {
        out.push('"');
        out.push_str(run);
        out.push('"');
        return;
    }
    for c in run.chars() {
        if c.is_whitespace() || SPECIAL.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Writes `text` so that reading it back yields the same characters: as it is when it
/// needs no quoting, else in quotes (a `"` itself goes inside `'...'`).
fn render_quoted(text: &str, force_quotes: bool, out: &mut String) {
    let needs = force_quotes
        || text
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\'');
    if !needs {
        out.push_str(text);
        return;
    }
    if !text.contains('"') {
        out.push('"');
        out.push_str(text);
        out.push('"');
        return;
    }
    if !text.contains('\'') {
        out.push('\'');
        out.push_str(text);
        out.push('\'');
        return;
    }
    // Both kinds of quote: alternate runs, each quoted with the other kind.
    let mut rest = text;
    while !rest.is_empty() {
        let (quote, stop) = if rest.starts_with('"') {
            ('\'', '\'')
        } else {
            ('"', '"')
        };
        let end = rest.find(stop).unwrap_or(rest.len());
        out.push(quote);
        out.push_str(&rest[..end]);
        out.push(quote);
        rest = &rest[end..];
    }
}

fn render_regex(source: &str) -> String {
    let mut out = String::new();
    render_quoted(source, false, &mut out);
    out
}

fn render_text(text: &str) -> String {
    let mut out = String::new();
    render_quoted(text, true, &mut out);
    out
}

// ---------------------------------------------------------------------------------------
// Lexing and parsing

/// How a character reached the term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum How {
    /// Unquoted, unescaped: may be an operator or a wildcard.
    Plain,
    /// After `\` outside quotes.
    Escaped,
    /// Inside quotes.
    Quoted,
    /// An opening or closing quote mark itself (kept to tell `""` from nothing).
    QuoteMark,
}

#[derive(Clone, Copy, Debug)]
struct Ch {
    c: char,
    /// Byte offset in the error input.
    at: usize,
    how: How,
}

impl Ch {
    fn is(&self, c: char) -> bool {
        self.how == How::Plain && self.c == c
    }

    fn end(&self) -> usize {
        self.at + self.c.len_utf8()
    }
}

type ParseError = (Range<usize>, String);

/// Splits `input` into terms of lexed characters. With `split_on_space`, plain
/// whitespace separates terms; otherwise the whole input is one term.
fn lex(input: &str, base: usize, split_on_space: bool) -> Result<Vec<Vec<Ch>>, ParseError> {
    let mut terms = Vec::new();
    let mut current: Vec<Ch> = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let at = base + i;
        match c {
            c if c.is_whitespace() && split_on_space => {
                if !current.is_empty() {
                    terms.push(std::mem::take(&mut current));
                }
            }
            '\\' => match chars.next() {
                Some((j, next)) => current.push(Ch {
                    c: next,
                    at: base + j,
                    how: How::Escaped,
                }),
                None => {
                    return Err((at..at + 1, "a `\\` at the end escapes nothing".into()));
                }
            },
            '"' | '\'' => {
                current.push(Ch {
                    c,
                    at,
                    how: How::QuoteMark,
                });
                let mut closed = false;
                for (j, inner) in chars.by_ref() {
                    if inner == c {
                        current.push(Ch {
                            c,
                            at: base + j,
                            how: How::QuoteMark,
                        });
                        closed = true;
                        break;
                    }
                    current.push(Ch {
                        c: inner,
                        at: base + j,
                        how: How::Quoted,
                    });
                }
                if !closed {
                    let end = base + input.len();
                    return Err((
                        at..end,
                        format!("unbalanced {c}: this quote is never closed"),
                    ));
                }
            }
            c => current.push(Ch {
                c,
                at,
                how: How::Plain,
            }),
        }
    }
    if !current.is_empty() {
        terms.push(current);
    }
    Ok(terms)
}

fn span_of(chars: &[Ch]) -> Range<usize> {
    match (chars.first(), chars.last()) {
        (Some(a), Some(b)) => a.at..b.end(),
        _ => 0..0,
    }
}

fn parse_term(chars: &[Ch]) -> Result<Term, ParseError> {
    let (negated, body) = match chars.split_first() {
        Some((first, rest)) if first.is('!') => {
            if rest.is_empty() {
                return Err((
                    first.at..first.end(),
                    "`!` alone: put what to exclude right after it, e.g. `!VarSet`".into(),
                ));
            }
            (true, rest)
        }
        _ => (false, chars),
    };

    let mut alternatives: Vec<Atom> = Vec::new();
    let mut start = 0;
    let mut op_char: Option<char> = None;
    let mut i = 0;
    while i <= body.len() {
        let at_end = i == body.len();
        let ch = body.get(i);
        if !at_end && op_char.is_none() && (body[i].is('=') || body[i].is('~')) {
            op_char = Some(body[i].c);
        }
        let splits = at_end || (op_char != Some('~') && ch.is_some_and(|c| c.is('|')));
        if splits {
            let alt = &body[start..i];
            if alt.is_empty() {
                let at = ch.map_or_else(|| body[i - 1].at, |c| c.at);
                let at_len = ch.map_or(1, |c| c.c.len_utf8());
                return Err((
                    at..at + at_len,
                    "`|` needs an alternative on both sides (no spaces around it)".into(),
                ));
            }
            let previous = alternatives.last().and_then(|a| match a {
                Atom::Header { key, op, .. } => Some((key.clone(), *op, span_of(alt))),
                _ => None,
            });
            alternatives.push(parse_atom(alt, previous)?);
            start = i + 1;
            op_char = None;
        }
        i += 1;
    }
    Ok(Term {
        negated,
        alternatives,
    })
}

fn parse_atom(alt: &[Ch], previous: Option<(Glob, Op, Range<usize>)>) -> Result<Atom, ParseError> {
    let op_at = alt.iter().position(|c| c.is('=') || c.is('~'));
    if let Some(j) = op_at {
        let negative = j > 0 && alt[j - 1].is('!');
        let key_chars = if negative { &alt[..j - 1] } else { &alt[..j] };
        let op = match (alt[j].c, negative) {
            ('=', false) => Op::Eq,
            ('=', true) => Op::NotEq,
            (_, false) => Op::Re,
            (_, true) => Op::NotRe,
        };
        let op_span = if negative {
            alt[j - 1].at..alt[j].end()
        } else {
            alt[j].at..alt[j].end()
        };
        let value_chars = &alt[j + 1..];
        let key_is_empty = key_chars.iter().all(|c| c.how == How::QuoteMark);
        if key_is_empty {
            return match op {
                Op::Re => Ok(Atom::LineRegex(LineRegex::new(compile_regex(
                    value_chars,
                    op_span,
                )?))),
                Op::NotRe if j == 1 => Err((
                    alt[0].at..alt[0].end(),
                    "`!` negates a whole term: put it before the first alternative".into(),
                )),
                _ => Err((
                    op_span,
                    format!("empty header name before `{}`", op.as_str()),
                )),
            };
        }
        if let Some(bang) = key_chars.first().filter(|c| c.is('!')) {
            return Err((
                bang.at..bang.end(),
                "`!` negates a whole term: put it before the first alternative".into(),
            ));
        }
        let key = Glob::new(glob_parts(key_chars));
        let value = match op {
            Op::Eq | Op::NotEq => ValueTest::Glob(Glob::new(glob_parts(value_chars))),
            Op::Re | Op::NotRe => ValueTest::Regex(compile_regex(value_chars, op_span)?),
        };
        return Ok(Atom::Header { key, op, value });
    }

    if let Some(bang) = alt.first().filter(|c| c.is('!')) {
        return Err((
            bang.at..bang.end(),
            "`!` negates a whole term: put it before the first alternative".into(),
        ));
    }
    if let Some((key, op, span)) = previous {
        if op.is_negative() {
            return Err((
                span,
                format!(
                    "`{}` with alternatives would match almost everything; to exclude several values write `!Key=a|b`",
                    op.as_str()
                ),
            ));
        }
        let value = ValueTest::Glob(Glob::new(glob_parts(alt)));
        return Ok(Atom::Header { key, op, value });
    }
    let starts_quoted = alt.first().is_some_and(|c| c.how == How::QuoteMark);
    let has_space = alt
        .iter()
        .any(|c| c.how != How::QuoteMark && c.c.is_whitespace());
    if starts_quoted || has_space {
        let text: String = alt
            .iter()
            .filter(|c| c.how != How::QuoteMark)
            .map(|c| c.c)
            .collect();
        if text.is_empty() {
            return Err((span_of(alt), "empty text: it would match everything".into()));
        }
        return FreeText::new(text)
            .map(Atom::Text)
            .map_err(|m| (span_of(alt), m));
    }
    Ok(Atom::Name(Glob::new(glob_parts(alt))))
}

fn glob_parts(chars: &[Ch]) -> Vec<GlobPart> {
    chars
        .iter()
        .filter_map(|c| match c.how {
            How::QuoteMark => None,
            How::Plain if c.c == '*' => Some(GlobPart::Star),
            How::Plain if c.c == '?' => Some(GlobPart::One),
            _ => Some(GlobPart::Literal(c.c)),
        })
        .collect()
}

/// Rebuilds the regex as written: escapes outside quotes are the regex's own (`\d`).
fn compile_regex(chars: &[Ch], op_span: Range<usize>) -> Result<Regex, ParseError> {
    let mut source = String::new();
    for c in chars {
        match c.how {
            How::QuoteMark => {}
            How::Escaped => {
                source.push('\\');
                source.push(c.c);
            }
            How::Plain | How::Quoted => source.push(c.c),
        }
    }
    let span = if chars.is_empty() {
        op_span
    } else {
        span_of(chars)
    };
    RegexBuilder::new(&source)
        .size_limit(4 << 20)
        .build()
        .map_err(|e| (span, format!("bad regex: {}", regex_error_text(&e))))
}

/// The regex crate's message without its own multi-line caret drawing.
fn regex_error_text(e: &regex::Error) -> String {
    let full = e.to_string();
    full.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: ").map(str::to_string))
        .unwrap_or_else(|| full.lines().last().unwrap_or("").trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(headers: &[(&str, &str)]) -> Message {
        Message::from_headers(headers)
    }

    #[test]
    fn the_literal_prefilter_never_changes_an_answer() {
        let local = msg(&[
            ("Event", "Newstate"),
            ("Channel", "Local/Echo@Test-00000007;2"),
            ("Uniqueid", "1.2"),
        ]);
        let pjsip = msg(&[("Event", "Newstate"), ("Channel", "PJSIP/100-0000002a")]);
        for (filter, on_local, on_pjsip) in [
            ("Channel=*;2", true, false),
            ("Channel!=*;2", false, true),
            ("*Channel=*;2", true, false),
            ("channel=LOCAL/ECHO@*", true, false),
            ("Channel=*echo@test-*", true, false),
            ("Channel=?ocal/echo@test-00000007;?", true, false),
            ("Channel=*-0000002a", false, true),
            ("Uniqueid=1.2", true, false),
            ("Channel=PJSIP/100-0000002ab", false, false),
        ] {
            let f = Filter::from_terms(&[filter.to_string()]).unwrap();
            assert_eq!(f.matches(&local), on_local, "{filter} on the Local channel");
            assert_eq!(f.matches(&pjsip), on_pjsip, "{filter} on the PJSIP channel");
        }
    }

    #[test]
    fn case_insensitive_search_pivots_on_any_byte() {
        let hay = b"xxAbC@dEfyy";
        for needle in ["abc@def", "xxabc", "efyy", "c@d", "@", "xxabc@defyy"] {
            let text = Text::new(needle.as_bytes().into());
            assert!(text.found_in(hay), "{needle}");
            for pivot in 0..needle.len() {
                assert!(
                    contains_ignore_case(hay, needle.as_bytes(), pivot),
                    "{needle} at {pivot}"
                );
            }
        }
        for needle in ["abd", "yyy", "xxabc@defyyz", "c@e"] {
            for pivot in 0..needle.len() {
                assert!(
                    !contains_ignore_case(hay, needle.as_bytes(), pivot),
                    "{needle} at {pivot}"
                );
            }
        }
    }

    fn newchannel() -> Message {
        msg(&[
            ("Event", "Newchannel"),
            ("Privilege", "call,all"),
            ("Channel", "PJSIP/100-0000002a"),
            ("ChannelStateDesc", "Ring"),
            ("CallerIDNum", "100"),
            ("CallerIDName", "John Smith"),
            ("Exten", "*97"),
            ("AccountCode", ""),
        ])
    }

    fn hangup() -> Message {
        msg(&[
            ("Event", "Hangup"),
            ("Channel", "Local/echo@test-00000007;1"),
            ("Cause", "16"),
            ("Cause-txt", "Normal Clearing"),
        ])
    }

    fn varset(var: &str) -> Message {
        msg(&[
            ("Event", "VarSet"),
            ("Channel", "PJSIP/100-0000002a"),
            ("Variable", var),
            ("Value", "1"),
        ])
    }

    fn decode_capture(bytes: &[u8]) -> Vec<Message> {
        use tokio_util::codec::Decoder;
        let mut codec = crate::ami::AmiCodec::default();
        let mut buf = bytes::BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Ok(Some(frame)) = codec.decode_eof(&mut buf) {
            if let crate::ami::Frame::Message(m) = frame {
                out.push(m);
            }
        }
        out
    }

    fn parse(s: &str) -> Filter {
        Filter::parse(s).unwrap_or_else(|e| panic!("{}", e.render()))
    }

    fn err(s: &str) -> FilterError {
        Filter::parse(s).expect_err(s)
    }

    #[test]
    fn empty_filter_matches_everything() {
        let f = parse("   ");
        assert!(f.is_empty());
        assert!(f.matches(&newchannel()));
        assert!(f.matches(&msg(&[])));
    }

    #[test]
    fn bare_word_matches_the_event_name_case_insensitively_with_globs() {
        assert!(parse("newchannel").matches(&newchannel()));
        assert!(!parse("Newchan").matches(&newchannel()));
        assert!(parse("New*").matches(&newchannel()));
        assert!(parse("*chan*").matches(&newchannel()));
        assert!(parse("Hang?p").matches(&hangup()));
        assert!(parse("H*n*p").matches(&hangup()));
        assert!(!parse("H*x*p").matches(&hangup()));
    }

    #[test]
    fn name_falls_back_to_action_then_to_the_callers_name() {
        let action = msg(&[("Action", "Originate"), ("ActionID", "1")]);
        assert!(parse("Originate").matches(&action));
        let response = msg(&[("Response", "Success"), ("ActionID", "1")]);
        assert!(!parse("CoreShowChannels").matches(&response));
        assert!(parse("CoreShow*").matches_named(&response, Some(b"CoreShowChannels")));
        // An event's own name wins over the supplied one.
        assert!(!parse("Ping").matches_named(&hangup(), Some(b"Ping")));
    }

    #[test]
    fn header_glob_tests_any_value_of_a_case_insensitive_key() {
        assert!(parse("channel=pjsip/100-*").matches(&newchannel()));
        assert!(!parse("Channel=PJSIP/101-*").matches(&newchannel()));
        let two = msg(&[("Event", "UserEvent"), ("Output", "one"), ("Output", "two")]);
        assert!(parse("Output=two").matches(&two));
        assert!(parse("AccountCode=").matches(&newchannel()));
        assert!(parse("AccountCode=\"\"").matches(&newchannel()));
        assert!(!parse("Missing=*").matches(&newchannel()));
    }

    #[test]
    fn header_keys_may_be_globs() {
        let dial = msg(&[
            ("Event", "DialBegin"),
            ("Channel", "PJSIP/1-1"),
            ("DestChannel", "PJSIP/100-2"),
        ]);
        assert!(parse("*Channel=PJSIP/100-*").matches(&dial));
        assert!(!parse("Dest*=PJSIP/1-*").matches(&dial));
    }

    #[test]
    fn not_equal_passes_when_no_value_matches_or_the_header_is_absent() {
        assert!(parse("Cause!=17").matches(&hangup()));
        assert!(!parse("Cause!=16").matches(&hangup()));
        assert!(parse("Cause!=16").matches(&newchannel()));
        let two = msg(&[("Event", "UserEvent"), ("Output", "one"), ("Output", "two")]);
        assert!(!parse("Output!=two").matches(&two));
    }

    #[test]
    fn regex_tests_values_and_whole_lines_unanchored() {
        assert!(parse("Channel~^PJSIP/1\\d\\d-").matches(&newchannel()));
        assert!(parse("Channel~0002a").matches(&newchannel()));
        assert!(!parse("Channel~^Local").matches(&newchannel()));
        assert!(parse("Channel!~^Local").matches(&newchannel()));
        assert!(parse("~'^Cause-txt: Normal'").matches(&hangup()));
        assert!(!parse("~\"^Cause-txt: Busy\"").matches(&hangup()));
        // Case-sensitive unless the regex says otherwise.
        assert!(!parse("Channel~pjsip").matches(&newchannel()));
        assert!(parse("Channel~(?i)pjsip").matches(&newchannel()));
    }

    #[test]
    fn line_regex_block_search_agrees_with_a_search_per_line() {
        let mut messages = vec![
            Message::parse(b"Event: X\r\nA: one\rtwo\r\nB: end\r\r\n\r\n"),
            Message::parse(b"Event: Y\nA: lf only\nB: x\n\n"),
            Message::parse(b"Response: Error\r\nMessage: No endpoints found\n\r\n"),
            newchannel(),
            hangup(),
        ];
        for name in [
            "originate-local-call-events.txt",
            "status-eventlist.txt",
            "escaped-values.txt",
        ] {
            let bytes = std::fs::read(format!("tests/fixtures/vectors/{name}")).unwrap();
            messages.extend(decode_capture(&bytes));
        }
        let regexes = [
            "^A: one",
            "two$",
            "one\\rtwo",
            "^B: end$",
            "end\\r$",
            "\\bfound$",
            "^Message",
            "^$",
            "x$",
            "lf only$",
            "^Cause-txt: Normal",
            "[^a]+Hangup",
            "\\sClearing$",
            "Local/echo@test-0+7;1$",
            "^Channel: PJSIP/100-[0-9a-f]+$",
            "\\Bannel",
            "Up$|^Event: Hangup$",
        ];
        for source in regexes {
            let re = LineRegex::new(Regex::new(source).unwrap());
            assert!(re.block.is_some(), "{source} takes the block path");
            for m in &messages {
                let per_line = m.lines().any(|line| re.per_line.is_match(line));
                assert_eq!(re.matches_headers(m), per_line, "{source} on {m:?}");
            }
        }
        assert!(LineRegex::new(Regex::new("a.b").unwrap()).block.is_none());
        assert!(LineRegex::new(Regex::new("\\Aa").unwrap()).block.is_none());
        assert!(LineRegex::new(Regex::new("(?s)a").unwrap()).block.is_none());
    }

    #[test]
    fn regex_runs_to_the_end_of_its_term_so_its_own_alternation_works() {
        let f = parse("Channel~^(Local|SIP)/|Hangup");
        assert_eq!(f.to_string(), "Channel~^(Local|SIP)/|Hangup");
        let pjsip_hangup = msg(&[("Event", "Hangup"), ("Channel", "PJSIP/100-1")]);
        assert!(
            !f.matches(&pjsip_hangup),
            "`|Hangup` is part of the regex, not a name test"
        );
        assert!(f.matches(&hangup()));
        assert!(parse("Channel~^Local|^SIP").matches(&hangup()));
    }

    #[test]
    fn regex_works_on_bytes_that_are_not_utf8() {
        let latin1 = Message::parse(b"Event: Newchannel\r\nCallerIDName: Jos\xe9\r\n\r\n");
        assert!(parse("CallerIDName~(?-u)Jos\\xe9").matches(&latin1));
        assert!(parse("CallerIDName=Jos?").matches(&latin1));
        assert!(parse("\"jos\"").matches(&latin1));
    }

    #[test]
    fn free_text_is_a_case_insensitive_substring_of_any_line() {
        assert!(parse("\"john smith\"").matches(&newchannel()));
        assert!(parse("'Name: John'").matches(&newchannel()));
        assert!(!parse("\"Name: Jane\"").matches(&newchannel()));
        assert!(parse("\"97\"").matches(&newchannel()));
    }

    #[test]
    fn free_text_may_hold_non_ascii_and_regex_characters() {
        let m = msg(&[("Event", "UserEvent"), ("Name", "Caf\u{e9} (1+1)")]);
        assert!(parse("'caf\u{e9} (1+1)'").matches(&m));
        assert!(
            !parse("'caf\u{c9}'").matches(&m),
            "non-ASCII letters compare exactly"
        );
        assert!(
            !parse("'Event: UserEvent Name'").matches(&m),
            "text never spans two lines"
        );
    }

    #[test]
    fn free_text_looks_inside_a_legacy_command_body() {
        let bytes =
            std::fs::read("tests/fixtures/vectors/synthetic/legacy-command-follows.txt").unwrap();
        let mut codec = crate::ami::AmiCodec::default();
        let mut buf = bytes::BytesMut::from(&bytes[..]);
        let mut bodies = Vec::new();
        use tokio_util::codec::Decoder;
        while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
            if let crate::ami::Frame::Message(m) = frame {
                if m.legacy_body().is_some() {
                    bodies.push(m);
                }
            }
        }
        let m = bodies
            .first()
            .expect("the synthetic capture holds a legacy reply");
        let body = String::from_utf8_lossy(m.legacy_body().unwrap()).into_owned();
        let word = body
            .split_whitespace()
            .find(|w| w.len() > 3 && w.chars().all(char::is_alphanumeric))
            .unwrap();
        assert!(parse(&format!("\"{word}\"")).matches(m), "{word}");
    }

    #[test]
    fn quoted_values_hold_spaces_and_are_literal() {
        assert!(parse("CallerIDName=\"John Smith\"").matches(&newchannel()));
        assert!(parse("CallerIDName='john smith'").matches(&newchannel()));
        assert!(parse("CallerIDName=\"John \"*").matches(&newchannel()));
        assert!(parse("Exten=\"*97\"").matches(&newchannel()));
        assert!(!parse("Exten=\"*7\"").matches(&newchannel()));
        assert!(parse("Exten=\\*97").matches(&newchannel()));
        assert!(parse("Exten=*7").matches(&newchannel()));
    }

    #[test]
    fn terms_combine_with_and() {
        assert!(parse("Newchannel Channel=PJSIP/*").matches(&newchannel()));
        assert!(!parse("Newchannel Channel=Local/*").matches(&newchannel()));
    }

    #[test]
    fn negation_applies_to_the_whole_term() {
        assert!(!parse("!VarSet").matches(&varset("X")));
        assert!(parse("!VarSet").matches(&hangup()));
        assert!(!parse("!VarSet|Hangup").matches(&hangup()));
        assert!(parse("!VarSet|Hangup").matches(&newchannel()));
        assert!(parse("!Cause=16").matches(&newchannel()));
        assert!(!parse("!~Normal").matches(&hangup()));
    }

    #[test]
    fn alternatives_match_any_and_bare_ones_continue_a_header_test() {
        let f = parse("Newchannel|Hangup");
        assert!(f.matches(&newchannel()) && f.matches(&hangup()) && !f.matches(&varset("A")));
        let f = parse("Cause=17|16|21");
        assert_eq!(f.to_string(), "Cause=17|Cause=16|Cause=21");
        assert!(f.matches(&hangup()));
        assert!(parse("Variable=A|B").matches(&varset("B")));
        assert!(parse("Channel=Local/*|Cause=16").matches(&hangup()));
        assert!(!parse("!Variable=A|B").matches(&varset("B")));
        assert!(parse("!Variable=A|B").matches(&varset("C")));
    }

    #[test]
    fn from_terms_takes_each_argument_whole() {
        let terms = vec![
            "Hangup".to_string(),
            "Cause-txt=Normal Clearing".to_string(),
        ];
        let f = Filter::from_terms(&terms).unwrap();
        assert!(f.matches(&hangup()));
        assert_eq!(f.to_string(), "Hangup Cause-txt=\"Normal Clearing\"");
        let text = Filter::from_terms(&["John Smith".to_string()]).unwrap();
        assert!(text.matches(&newchannel()));
        assert!(Filter::from_terms(&[String::new(), " ".into()])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn from_terms_errors_point_into_the_shell_quoted_arguments() {
        let terms = vec!["Hangup".to_string(), "Cause txt~(".to_string()];
        let e = Filter::from_terms(&terms).unwrap_err();
        assert_eq!(e.input, "Hangup 'Cause txt~('");
        assert_eq!(&e.input[e.span.clone()], "(");
    }

    #[test]
    fn errors_point_at_the_bad_part() {
        let cases: &[(&str, &str, &str)] = &[
            ("Hangup \"open", "\"open", "unbalanced"),
            ("Hangup =x", "=", "empty header name"),
            ("Channel~PJSIP/(", "PJSIP/(", "bad regex"),
            ("a||b", "|", "`|` needs an alternative"),
            ("a|", "|", "`|` needs an alternative"),
            ("|a", "|", "`|` needs an alternative"),
            ("Hangup !", "!", "`!` alone"),
            ("a|!b", "!", "negates a whole term"),
            ("Cause!=16|17", "17", "`!=` with alternatives"),
            ("''", "''", "empty text"),
            ("x\\", "\\", "escapes nothing"),
        ];
        for (input, bad, message) in cases {
            let e = err(input);
            assert_eq!(&input[e.span.clone()], *bad, "{input}: {e:?}");
            assert!(e.message.contains(message), "{input}: {}", e.message);
        }
    }

    #[test]
    fn bad_regex_error_carries_the_regex_crates_reason() {
        let e = err("Channel~(");
        assert!(e.message.contains("unclosed group"), "{}", e.message);
    }

    #[test]
    fn rendered_error_has_a_caret_line_under_the_bad_term() {
        let e = err("Hangup Channel~PJSIP/(");
        assert_eq!(
            e.render(),
            "Hangup Channel~PJSIP/(\n               ^^^^^^^\nbad regex: unclosed group"
        );
    }

    #[test]
    fn display_normalises_and_parses_back() {
        let cases = [
            (
                "  Newchannel   Channel=PJSIP/* ",
                "Newchannel Channel=PJSIP/*",
            ),
            ("CallerIDName='John Smith'", "CallerIDName=\"John Smith\""),
            ("'free text'", "\"free text\""),
            ("Exten=\\*97", "Exten=\\*97"),
            ("Exten=\"*97\"", "Exten=\\*97"),
            ("!a|b", "!a|b"),
            ("x~\"a b\"", "x~\"a b\""),
            ("x~a\\d", "x~a\\d"),
            ("'say \"hi\"'", "'say \"hi\"'"),
            ("Key=\"\"", "Key=\"\""),
        ];
        for (input, shown) in cases {
            let f = parse(input);
            assert_eq!(f.to_string(), shown, "{input}");
            assert_eq!(parse(shown).to_string(), shown);
        }
    }

    #[test]
    fn glob_fast_paths_agree_with_the_general_matcher() {
        let values: &[&[u8]] = &[
            b"",
            b"a",
            b"abc",
            b"ABC",
            b"xabcx",
            b"ab",
            b"bc",
            b"aXc",
            b"\xe9t\xc3\xa9",
        ];
        let patterns = [
            "*", "abc", "ab*", "*bc", "*b*", "a?c", "a*c", "*", "?", "??", "*?*", "\\*",
        ];
        for p in patterns {
            let glob = Glob::new(glob_parts(&lex(p, 0, false).unwrap()[0]));
            let toks: Vec<Tok> = match &glob.matcher {
                GlobMatcher::General(t) => t.to_vec(),
                _ => Glob::new(glob.parts.clone())
                    .parts
                    .iter()
                    .map(|p| match p {
                        GlobPart::Literal(c) => Tok::Byte(c.to_ascii_lowercase() as u8),
                        GlobPart::Star => Tok::Star,
                        GlobPart::One => Tok::One,
                    })
                    .collect(),
            };
            for v in values {
                assert_eq!(glob.matches(v), glob_match(&toks, v), "{p} on {v:?}");
            }
        }
    }

    #[test]
    fn question_mark_takes_one_utf8_character() {
        let m = msg(&[("Event", "X"), ("Name", "Jos\u{e9}")]);
        assert!(parse("Name=Jos?").matches(&m));
        assert!(!parse("Name=Jos??").matches(&m));
    }
}
