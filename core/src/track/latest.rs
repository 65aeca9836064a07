//! The latest-frame-wins slot that keeps a live feed real-time: a newer frame replaces the
//! waiting one, and every replacement is counted.

use std::sync::Arc;
use std::task::Poll;

use futures::task::AtomicWaker;
use parking_lot::Mutex;

/// A one-place mailbox where a newer item replaces the waiting one (latest wins), counting
/// what it replaced so that no item disappears unaccounted for. One consumer.
#[derive(Debug)]
pub struct LatestSlot<T> {
    state: Mutex<SlotState<T>>,
    waker: AtomicWaker,
}

#[derive(Debug)]
struct SlotState<T> {
    item: Option<T>,
    replaced: u64,
    closed: bool,
}

impl<T> Default for LatestSlot<T> {
    fn default() -> Self {
        LatestSlot {
            state: Mutex::new(SlotState {
                item: None,
                replaced: 0,
                closed: false,
            }),
            waker: AtomicWaker::new(),
        }
    }
}

impl<T> LatestSlot<T> {
    pub fn new() -> Arc<LatestSlot<T>> {
        Arc::new(LatestSlot::default())
    }

    /// Puts `item` in the slot; returns the item it replaced, if one was waiting.
    pub fn put(&self, item: T) -> Option<T> {
        let replaced = {
            let mut state = self.state.lock();
            let replaced = state.item.replace(item);
            if replaced.is_some() {
                state.replaced += 1;
            }
            replaced
        };
        self.waker.wake();
        replaced
    }

    /// Takes the waiting item, with the number of items replaced since the last take.
    pub fn take(&self) -> Option<(T, u64)> {
        let mut state = self.state.lock();
        let item = state.item.take()?;
        Some((item, std::mem::take(&mut state.replaced)))
    }

    /// Waits for an item; `None` once the slot is closed and empty.
    pub async fn next(&self) -> Option<(T, u64)> {
        futures::future::poll_fn(|cx| {
            self.waker.register(cx.waker());
            if let Some(taken) = self.take() {
                return Poll::Ready(Some(taken));
            }
            if self.state.lock().closed {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await
    }

    /// No more items will come; the consumer drains what is waiting, then gets `None`.
    pub fn close(&self) {
        self.state.lock().closed = true;
        self.waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_item_wins_and_replacements_are_counted() {
        let slot = LatestSlot::new();
        assert_eq!(slot.put(1), None);
        assert_eq!(slot.put(2), Some(1));
        assert_eq!(slot.put(3), Some(2));
        assert_eq!(slot.take(), Some((3, 2)));
        assert_eq!(slot.take(), None);
        slot.put(4);
        assert_eq!(slot.take(), Some((4, 0)));
    }

    #[test]
    fn next_waits_for_an_item_and_ends_after_close() {
        let slot = LatestSlot::new();
        let producer = {
            let slot = slot.clone();
            std::thread::spawn(move || {
                slot.put("frame");
                slot.close();
            })
        };
        let first = futures::executor::block_on(slot.next());
        producer.join().unwrap();
        let mut got = vec![first];
        got.push(futures::executor::block_on(slot.next()));
        // The item arrives (either before or after close) and the end is seen exactly once.
        assert!(got.contains(&Some(("frame", 0))));
        assert_eq!(futures::executor::block_on(slot.next()), None);
    }
}
