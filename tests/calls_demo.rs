//! The calls model against the built-in demo PBX (`amicon::demo::sim`): the calls it
//! counts must be the calls the simulator says it is running, since both are meant to
//! describe the same traffic (a drift here means one of them misreads Asterisk).

use amicon::ami::Message;
use amicon::calls::{CallState, Calls, CallsConfig};
use amicon::demo::sim::Pbx;
use std::time::{Duration, UNIX_EPOCH};

#[test]
fn the_demo_pbx_live_calls_are_the_live_calls_the_model_sees() {
    let start = 1_800_000_000_000_000u64;
    let mut pbx = Pbx::new(7, 2.0, start);
    let mut calls = Calls::new(CallsConfig {
        max_ended_calls: 100_000,
        max_ended_age: Duration::from_secs(86_400),
        ..CallsConfig::default()
    });
    let mut events = 0usize;
    let mut now = start;
    let mut checked = 0;
    for step in 0..1_500u64 {
        now += 100_000;
        for e in pbx.advance(now) {
            if e.class == 0 || e.wire.is_empty() {
                continue;
            }
            events += 1;
            calls.apply(
                UNIX_EPOCH + Duration::from_micros(now),
                &Message::parse(&e.wire),
            );
        }
        if step % 50 == 49 {
            assert_eq!(
                calls.live_count(),
                pbx.active_calls(),
                "after {events} events at step {step}"
            );
            checked += 1;
        }
    }
    assert!(checked > 10 && events > 1_000, "{events} events");
    let ended = calls.len() - calls.live_count();
    assert!(ended > 0);
    assert_eq!(ended as u64, pbx.processed_calls());
    // Every ended call has a cause and a channel that carried it.
    for call in calls
        .ordered()
        .iter()
        .filter(|c| c.state() == CallState::Ended)
    {
        let cause = call.cause().expect("an ended call has a cause");
        assert!(call.channels().iter().any(|c| c.name == cause.channel));
    }
}
