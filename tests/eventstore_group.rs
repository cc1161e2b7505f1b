//! The event store's competing consumers: a consumer group over the store's topic shares
//! the events among its members and resumes from the group's commits.

use std::time::Duration;

use kafkalite::eventstore::{EventData, EventStoreConfig};
use kafkalite::{Cluster, ExpectedVersion};

fn event(n: u32) -> EventData {
    EventData::new(format!("Deposited{n}"), format!("{{\"amount\":{n}}}"))
}

#[test]
fn competing_consumers_share_the_events_and_resume_from_the_group_commits() {
    let cluster = Cluster::temporary().unwrap();
    let store = cluster
        .event_store("work", EventStoreConfig::new().partitions(4))
        .unwrap();
    for n in 0..40 {
        store
            .append(&format!("job-{}", n % 10), ExpectedVersion::Any, [event(n)])
            .unwrap();
    }
    let a = store.subscribe_group("workers").unwrap();
    let b = store.subscribe_group("workers").unwrap();
    let mut seen: Vec<(String, u64, usize)> = Vec::new();
    let short = Duration::from_millis(20);
    // Poll both until the group settled on both members and every event came through.
    for _ in 0..500 {
        for (member, sub) in [&a, &b].into_iter().enumerate() {
            for e in sub.poll(short).unwrap() {
                seen.push((e.stream.into(), e.version, member));
            }
        }
        let both = !a.consumer().assignment().is_empty() && !b.consumer().assignment().is_empty();
        if seen.len() >= 40 && both {
            break;
        }
    }
    let mut keys: Vec<(String, u64)> = seen.iter().map(|(s, v, _)| (s.clone(), *v)).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(
        keys.len(),
        40,
        "every event (at least once), with its stream version"
    );
    assert!(
        keys.iter().all(|(_, v)| *v < 4),
        "ten streams of four events"
    );
    // The members share the partitions: each has some, none has one twice.
    let mut owned = a.consumer().assignment();
    let theirs = b.consumer().assignment();
    assert!(!owned.is_empty() && !theirs.is_empty());
    assert!(
        owned.iter().all(|tp| !theirs.contains(tp)),
        "{owned:?} {theirs:?}"
    );
    owned.extend(theirs);
    assert_eq!(owned.len(), 4);
    a.commit().unwrap();
    b.commit().unwrap();
    drop((a, b));
    // A new member resumes from the commits: only what comes after.
    store
        .append("job-0", ExpectedVersion::Exact(3), [event(99)])
        .unwrap();
    let c = store.subscribe_group("workers").unwrap();
    let mut later = Vec::new();
    for _ in 0..500 {
        later.extend(c.poll(short).unwrap());
        if !later.is_empty() {
            break;
        }
    }
    assert_eq!(
        later
            .iter()
            .map(|e| (e.stream.as_str(), e.version))
            .collect::<Vec<_>>(),
        [("job-0", 4)]
    );
}
