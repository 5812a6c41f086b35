//! The bounded queue between the session task and its one consumer (a front end).
//!
//! The socket reader must never wait for the consumer: Asterisk drops a client whose
//! socket stalls for 100 ms (`writetimeout`). So pushing never blocks. Memory stays
//! bounded: once the queue holds its byte budget, further *messages* are not kept but
//! counted, and a [`SessionEvent::Dropped`] marker with the exact count takes their place
//! as soon as there is room. State changes and errors are small and always kept, so the
//! consumer always learns what happened to the connection.

use super::event::{SessionEvent, Stamped};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::sync::Notify;

#[derive(Debug)]
struct Inner {
    items: VecDeque<Stamped>,
    bytes: usize,
    dropped: u64,
    closed: bool,
}

#[derive(Debug)]
struct Shared {
    inner: Mutex<Inner>,
    notify: Notify,
    budget: usize,
}

/// The producing side, owned by the session task.
#[derive(Debug, Clone)]
pub struct Publisher {
    shared: Arc<Shared>,
}

/// The consuming side: the ordered stream of everything the session saw.
#[derive(Debug)]
pub struct EventStream {
    shared: Arc<Shared>,
}

/// The most message bytes one `recv_batch` hands over. What the consumer holds is no
/// longer counted against the budget, so a batch of everything queued would let memory
/// reach twice the budget while a slow consumer works through it.
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// A queue holding at most about `budget` bytes of messages.
pub fn channel(budget: usize) -> (Publisher, EventStream) {
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner {
            items: VecDeque::new(),
            bytes: 0,
            dropped: 0,
            closed: false,
        }),
        notify: Notify::new(),
        budget,
    });
    (
        Publisher {
            shared: shared.clone(),
        },
        EventStream { shared },
    )
}

/// What a queued message costs: its bytes and its slot in the queue (120 bytes, a
/// quarter of a typical event's own size).
fn cost(event: &SessionEvent) -> Option<usize> {
    match event {
        SessionEvent::Received { message, .. } | SessionEvent::Sent { message, .. } => {
            Some(message.wire().len() + std::mem::size_of::<Stamped>())
        }
        _ => None,
    }
}

impl Inner {
    fn push(&mut self, item: Stamped, budget: usize) {
        match cost(&item.event) {
            Some(c) if self.bytes + c > budget && !self.items.is_empty() => {
                self.dropped += 1;
            }
            c => {
                if self.dropped > 0 {
                    let count = std::mem::take(&mut self.dropped);
                    self.items.push_back(Stamped {
                        at: item.at,
                        event: SessionEvent::Dropped { count },
                    });
                }
                self.bytes += c.unwrap_or(0);
                self.items.push_back(item);
            }
        }
    }
}

impl Publisher {
    pub fn publish(&self, event: SessionEvent) {
        crate::debug_log::session_event(&event);
        self.publish_batch(std::iter::once(event), SystemTime::now());
    }

    /// Publishes several events under one lock and one wake-up (one socket read's worth).
    pub fn publish_batch(&self, events: impl IntoIterator<Item = SessionEvent>, at: SystemTime) {
        let mut inner = self.shared.inner.lock().unwrap_or_else(|e| e.into_inner());
        for event in events {
            inner.push(Stamped { at, event }, self.shared.budget);
        }
        drop(inner);
        self.shared.notify.notify_one();
    }

    /// No more events will come; the consumer drains what is queued, then sees the end.
    pub fn close(&self) {
        self.shared
            .inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .closed = true;
        self.shared.notify.notify_one();
    }

    /// How many messages are currently waiting to be counted as dropped.
    pub fn pending_drops(&self) -> u64 {
        self.shared
            .inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .dropped
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        // Nobody reads any more: stop keeping messages.
        let mut inner = self.shared.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.items.clear();
        inner.bytes = 0;
    }
}

impl EventStream {
    /// Moves what is queued (up to about 4 MiB of messages) into `out`, waiting until
    /// there is something. Returns false (moving nothing) once the session has ended and
    /// everything was delivered.
    pub async fn recv_batch(&mut self, out: &mut Vec<Stamped>) -> bool {
        let shared = self.shared.clone();
        loop {
            let notified = shared.notify.notified();
            if let Some(delivered) = self.try_recv_batch(out) {
                return delivered;
            }
            notified.await;
        }
    }

    /// Moves what is queued (up to about 4 MiB of messages) into `out` without waiting.
    /// `None` when there was nothing and the session goes on; `Some(true)` when events
    /// were moved; `Some(false)` once the session has ended and everything was delivered.
    pub fn try_recv_batch(&mut self, out: &mut Vec<Stamped>) -> Option<bool> {
        let mut inner = self.shared.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.dropped > 0 {
            let count = std::mem::take(&mut inner.dropped);
            inner.items.push_back(Stamped {
                at: SystemTime::now(),
                event: SessionEvent::Dropped { count },
            });
        }
        if inner.items.is_empty() {
            return if inner.closed { Some(false) } else { None };
        }
        let mut taken = 0;
        while let Some(item) = inner.items.front() {
            let c = cost(&item.event).unwrap_or(0);
            if taken > 0 && taken + c > MAX_BATCH_BYTES {
                break;
            }
            taken += c;
            out.extend(inner.items.pop_front());
        }
        inner.bytes -= taken;
        Some(true)
    }

    /// The next event, one at a time.
    pub async fn recv(&mut self) -> Option<Stamped> {
        loop {
            let notified = self.shared.notify.notified();
            {
                let mut inner = self.shared.inner.lock().unwrap_or_else(|e| e.into_inner());
                if inner.dropped > 0 {
                    let count = std::mem::take(&mut inner.dropped);
                    inner.items.push_back(Stamped {
                        at: SystemTime::now(),
                        event: SessionEvent::Dropped { count },
                    });
                }
                if let Some(item) = inner.items.pop_front() {
                    inner.bytes = inner.bytes.saturating_sub(cost(&item.event).unwrap_or(0));
                    if !inner.items.is_empty() {
                        self.shared.notify.notify_one();
                    }
                    return Some(item);
                }
                if inner.closed {
                    return None;
                }
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ami::Message;
    use crate::session::event::Link;

    fn msg(n: usize) -> SessionEvent {
        SessionEvent::Received {
            message: Message::from_headers(&[("Event", format!("E{n}"))]),
            link: Link::Unsolicited,
            internal: false,
        }
    }

    #[tokio::test]
    async fn a_full_queue_counts_what_it_drops_exactly() {
        let one = cost(&msg(0)).unwrap();
        let (tx, mut rx) = channel(one * 10);
        for n in 0..25 {
            tx.publish(msg(n));
        }
        tx.close();
        let mut out = Vec::new();
        while rx.recv_batch(&mut out).await {}
        let kept = out
            .iter()
            .filter(|s| matches!(s.event, SessionEvent::Received { .. }))
            .count();
        let dropped: u64 = out
            .iter()
            .map(|s| match s.event {
                SessionEvent::Dropped { count } => count,
                _ => 0,
            })
            .sum();
        assert_eq!(kept, 10);
        assert_eq!(dropped, 15);
    }

    #[tokio::test]
    async fn a_batch_stops_near_its_byte_limit_and_the_rest_stays_queued() {
        let big = |n: usize| SessionEvent::Received {
            message: Message::from_headers(&[("Event", "Big"), ("N", &n.to_string())]),
            link: Link::Unsolicited,
            internal: false,
        };
        let one = cost(&big(0)).unwrap();
        let total = MAX_BATCH_BYTES / one * 3;
        let (tx, mut rx) = channel(usize::MAX);
        tx.publish_batch((0..total).map(big), SystemTime::now());
        tx.close();
        let mut first = Vec::new();
        assert!(rx.recv_batch(&mut first).await);
        assert!(
            first.len() < total / 2,
            "one batch took {} of {total}",
            first.len()
        );
        assert!(first.len() * one <= MAX_BATCH_BYTES);
        let mut all = first;
        while rx.recv_batch(&mut all).await {}
        assert_eq!(all.len(), total, "nothing lost, nothing twice");
        assert_eq!(rx.shared.inner.lock().unwrap().bytes, 0);
    }
}
