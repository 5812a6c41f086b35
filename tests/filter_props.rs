//! Property tests of the filter language: no input makes it panic, errors point inside
//! the input, and the normalised form parses back into a filter that matches the same.

use amicon::ami::{AmiCodec, Frame, Message};
use amicon::filter::{Filter, FilterError};
use bytes::BytesMut;
use proptest::prelude::*;
use tokio_util::codec::Decoder;

/// Pieces that make up plausible (and implausible) filters, so generated inputs reach
/// every branch of the parser rather than failing at the first character.
const PIECES: &[&str] = &[
    "Newchannel",
    "Hangup",
    "VarSet",
    "Channel",
    "Cause",
    "Variable",
    "Exten",
    "Output",
    "PJSIP/100-",
    "Local/",
    "16",
    "a",
    "b",
    "x",
    "=",
    "!=",
    "~",
    "!~",
    "|",
    "!",
    "*",
    "?",
    "\"",
    "'",
    "\\",
    " ",
    "  ",
    "\t",
    "(",
    ")",
    "[0-9]",
    ".",
    "^",
    "$",
    "\u{e9}",
    "\u{4e2d}",
    ":",
    "-",
    ";",
    "@",
    "\\d",
    "(?i)",
    "{2}",
];

fn filter_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..14).prop_map(|p| p.concat())
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(
            &[
                "",
                "16",
                "a",
                "b",
                "PJSIP/100-0001",
                "Local/x;1",
                "Hangup",
                "x y",
                "*97",
                "\u{e9}"
            ][..]
        )
        .prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(
            any::<u8>().prop_filter("no line ends", |b| *b != b'\r' && *b != b'\n'),
            0..8
        ),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    let key = prop::sample::select(
        &[
            "Event", "Action", "Channel", "Cause", "Variable", "Exten", "Output", "X y", "a",
        ][..],
    );
    prop::collection::vec((key, header_value()), 0..6).prop_map(|h| Message::from_headers(&h))
}

/// Every message of the real captures.
fn captured_messages() -> Vec<Message> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("tests/fixtures/vectors").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            let mut buf = BytesMut::from(&std::fs::read(&path).unwrap()[..]);
            let mut codec = AmiCodec::default();
            while let Ok(Some(frame)) = codec.decode_eof(&mut buf) {
                if let Frame::Message(m) = frame {
                    out.push(m);
                }
            }
        }
    }
    assert!(out.len() > 100);
    out
}

fn check_error(e: &FilterError) {
    assert!(
        e.span.start <= e.span.end && e.span.end <= e.input.len(),
        "{e:?}"
    );
    assert!(
        e.input.is_char_boundary(e.span.start) && e.input.is_char_boundary(e.span.end),
        "{e:?}"
    );
    assert!(!e.message.is_empty());
    let shown = e.render();
    assert!(shown.contains('^'), "{shown}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings_never_panic_and_errors_point_inside_the_input(input in any::<String>()) {
        match Filter::parse(&input) {
            Ok(f) => { let _ = f.to_string(); }
            Err(e) => check_error(&e),
        }
    }

    #[test]
    fn arbitrary_arguments_never_panic(terms in prop::collection::vec(any::<String>(), 0..4)) {
        match Filter::from_terms(&terms) {
            Ok(f) => { let _ = f.to_string(); }
            Err(e) => check_error(&e),
        }
    }

    #[test]
    fn errors_of_filter_shaped_input_point_inside_it(input in filter_text()) {
        if let Err(e) = Filter::parse(&input) {
            check_error(&e);
        }
    }

    #[test]
    fn normalised_form_parses_back_and_matches_the_same(input in filter_text(), messages in prop::collection::vec(message(), 1..8)) {
        let Ok(original) = Filter::parse(&input) else { return Ok(()) };
        let shown = original.to_string();
        let reparsed = Filter::parse(&shown).map_err(|e| TestCaseError::fail(format!("{input:?} -> {shown:?}: {}", e.render())))?;
        prop_assert_eq!(reparsed.to_string(), shown.clone());
        for m in &messages {
            prop_assert_eq!(original.matches(m), reparsed.matches(m), "{:?} vs {:?} on {:?}", input, shown, m);
            prop_assert_eq!(original.matches_named(m, Some(b"Hangup")), reparsed.matches_named(m, Some(b"Hangup")));
        }
    }

    #[test]
    fn arguments_displayed_and_parsed_back_match_the_same(terms in prop::collection::vec(filter_text(), 0..3), messages in prop::collection::vec(message(), 1..6)) {
        let Ok(original) = Filter::from_terms(&terms) else { return Ok(()) };
        let shown = original.to_string();
        let reparsed = Filter::parse(&shown).map_err(|e| TestCaseError::fail(format!("{terms:?} -> {shown:?}: {}", e.render())))?;
        for m in &messages {
            prop_assert_eq!(original.matches(m), reparsed.matches(m), "{:?} vs {:?} on {:?}", terms, shown, m);
        }
    }
}

#[test]
fn normalised_forms_match_the_same_captured_messages() {
    let messages = captured_messages();
    let filters = [
        "Newchannel|Hangup Channel=Local/*",
        "!VarSet|Newexten|DeviceStateChange",
        "*Channel~;1$",
        "Cause-txt=\"Normal Clearing\"",
        "'echo@test' !Hangup",
        "Event=Dial* DestChannel!=\"\"",
        "ListItems=?",
        "~'^Output: .*Asterisk'",
    ];
    for text in filters {
        let f = Filter::parse(text).unwrap();
        let again = Filter::parse(&f.to_string()).unwrap();
        let hits = messages.iter().filter(|m| f.matches(m)).count();
        assert!(hits > 0, "{text} matches some captured message");
        assert!(hits < messages.len(), "{text} does not match everything");
        for m in &messages {
            assert_eq!(f.matches(m), again.matches(m), "{text}");
        }
    }
}
