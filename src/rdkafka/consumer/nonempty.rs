//! A partition queue's nonempty callback (`PartitionQueue::set_nonempty_callback`), as
//! librdkafka's `rd_kafka_queue_cb_event_enable`: called when something is put into the
//! queue while it is empty (`rd_kafka_q_enq1` at a length of one), not at once for what it
//! holds already. Here the queue holds what the split partition has past its position; a
//! watcher thread (librdkafka calls it from its own threads too) looks at every
//! notification, and the queue's reads tell it when they empty the queue.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::base_consumer::Shared;
use crate::group::TopicPartition;

/// The callback.
type Callback = Box<dyn Fn() + Send + Sync>;

/// A running watcher; dropping it stops the thread.
pub(super) struct Watch {
    shared: Arc<Shared>,
    flags: Arc<Flags>,
}

struct Flags {
    /// The queue was seen empty since the callback was last called. Held while the
    /// watcher looks at the queue, so that a read emptying it meanwhile arms it after.
    armed: Mutex<bool>,
    stop: AtomicBool,
}

impl Watch {
    /// Starts watching `tp` for `callback`.
    pub(super) fn start(shared: &Arc<Shared>, tp: TopicPartition, callback: Callback) -> Watch {
        // What the queue holds already calls nothing; the first arrival into an empty one
        // does, even before the thread first looks.
        let flags = Arc::new(Flags {
            armed: Mutex::new(!shared.inner.split_readable(&tp)),
            stop: AtomicBool::new(false),
        });
        let (thread_shared, thread_flags) = (Arc::clone(shared), Arc::clone(&flags));
        let spawned = std::thread::Builder::new()
            .name("kafkalite-nonempty".into())
            .spawn(move || watch(&thread_shared, &tp, &thread_flags, &callback));
        if let Err(error) = spawned {
            tracing::warn!(target: "kafkalite::rdkafka", "nonempty callback: no thread: {error}");
        }
        Watch {
            shared: Arc::clone(shared),
            flags,
        }
    }

    /// The queue's read found it empty, or emptied it: the next arrival calls back.
    pub(super) fn emptied(&self) {
        let mut armed = self.flags.armed.lock();
        if !*armed {
            *armed = true;
            drop(armed);
            // The watcher looks again: what came since the read calls back now.
            self.shared.inner.nudge();
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.flags.stop.store(true, Ordering::SeqCst);
        self.shared.inner.nudge();
    }
}

fn watch(shared: &Shared, tp: &TopicPartition, flags: &Flags, callback: &Callback) {
    let inner = &shared.inner;
    loop {
        let seen = inner.notify_sequence();
        if flags.stop.load(Ordering::SeqCst) {
            return;
        }
        let arrived = {
            let mut armed = flags.armed.lock();
            let readable = inner.split_readable(tp);
            let arrived = readable && *armed;
            *armed = !readable;
            arrived
        };
        // A callback replaced (or a queue dropped) while the thread looked is not called.
        if arrived && !flags.stop.load(Ordering::SeqCst) {
            callback();
        }
        inner.wait_for_notification(seen);
    }
}
