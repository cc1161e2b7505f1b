//! The demo's async step: [`kafkalite::Consumer::recv`] driven by a minimal executor (a
//! thread that parks until the future's waker unparks it), as any runtime would drive it.

use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

use kafkalite::{Cluster, ConsumerConfig, Offset, TopicPartition};

use super::CliResult;

/// Wakes by unparking the thread that polls.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread, parked between polls until its waker is called.
fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

/// Receives the last record of `topic`'s partition 0 with `recv().await`'s future.
pub fn run(cluster: &Cluster, topic: &str, out: &mut dyn Write) -> CliResult {
    let consumer = cluster.consumer(ConsumerConfig::new())?;
    consumer.assign(&[(TopicPartition::new(topic, 0), Offset::FromEnd(1))])?;
    let record = block_on(consumer.recv())?;
    writeln!(
        out,
        "-- async: consumer.recv() on a 10-line executor (no runtime) got {topic}-0 offset {} ({} bytes)",
        record.offset,
        record.value.as_ref().map_or(0, Vec::len)
    )?;
    Ok(())
}
