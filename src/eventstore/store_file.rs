//! `eventstore.metadata` in the directory of the store topic's partition 0: how many of the
//! topic's partitions the store places streams over (`version: 0`, then `partitions: N`, in
//! the layout of Kafka's `partition.metadata`). A stream's partition is the murmur2 hash of
//! its id modulo that count, so the count is fixed when the store first opens the topic:
//! partitions added to the topic afterwards are not the store's, in this process or after a
//! restart (counting them would move streams, and a stream found in no partition would take
//! `NoStream` again).

use crate::error::{Error, Result};
use crate::log::Log;

pub(super) use crate::log::EVENT_STORE_FILE as NAME;

/// The number of partitions the store on the topic whose partition 0 is `first` uses, out
/// of the topic's `topic_partitions`; written to the file (synced) when there is none yet.
pub(super) fn store_partitions(first: &Log, topic_partitions: usize) -> Result<usize> {
    if first.is_closed() {
        // Its topic was deleted meanwhile (perhaps made again, in the same directory).
        return Err(Error::Closed);
    }
    let storage = first.storage();
    let path = first.dir().join(NAME);
    if !storage.exists(&path) {
        let text = format!("version: 0\npartitions: {topic_partitions}\n");
        storage.replace_file(&path, text.as_bytes(), true)?;
        return Ok(topic_partitions);
    }
    let bytes = storage.read_file(&path)?;
    let bad = |detail: String| {
        let what = "it holds `version: 0` and `partitions: N`, N the partitions the store \
                    was made with";
        Error::corruption(&path, 0, format!("{detail} ({what})"))
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("not UTF-8 text".into()))?;
    let mut version = None;
    let mut partitions = None;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match line.split_once(':').map(|(k, v)| (k.trim(), v.trim())) {
            Some(("version", v)) => version = Some(v),
            Some(("partitions", v)) => partitions = Some(v),
            _ => return Err(bad(format!("unexpected line {line:?}"))),
        }
    }
    if version != Some("0") {
        return Err(bad(format!("version {version:?}, expected \"0\"")));
    }
    let count: usize = partitions
        .and_then(|p| p.parse().ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| bad(format!("partitions {partitions:?} is not a count")))?;
    if count > topic_partitions {
        return Err(bad(format!(
            "the event store places streams over {count} partitions, but its topic has \
             {topic_partitions}"
        )));
    }
    if count < topic_partitions {
        tracing::info!(
            target: "kafkalite::eventstore",
            "{}: the event store uses partitions 0 to {} of its {topic_partitions} (those added afterwards would move streams)",
            first.name(),
            count - 1
        );
    }
    Ok(count)
}
