//! I/O faults through the public `Storage` trait: a failed sync fails the partition for good
//! (never retried as success, nothing acknowledged that was not made durable); a failed write
//! or a full disk is an ordinary error that leaves no trace, and appends resume afterwards.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{batch, read_all};
use kafkalite::storage::{
    DirEntry, LockGuard, Mapping, OpenMode, RealStorage, Storage, StorageFile,
};
use kafkalite::{Cluster, Error, NewTopic};

/// Which operations fail, for files whose path contains `target`.
#[derive(Debug, Default)]
struct Faults {
    sync: AtomicBool,
    write: AtomicBool,
    allocate: AtomicBool,
}

#[derive(Debug)]
struct FaultyStorage {
    faults: Arc<Faults>,
    target: &'static str,
}

#[derive(Debug)]
struct FaultyFile {
    inner: Box<dyn StorageFile>,
    faults: Arc<Faults>,
    armed: bool,
}

/// The operating-system error code of `error`'s `source()`, if it is an `io::Error`.
fn os_error_of(error: &Error) -> Option<i32> {
    std::error::Error::source(error)?
        .downcast_ref::<std::io::Error>()?
        .raw_os_error()
}

fn os_error(code: i32) -> std::io::Error {
    std::io::Error::from_raw_os_error(code)
}

// SAFETY: every call is RealStorage's, or an injected error that changes nothing.
#[allow(unsafe_code)]
unsafe impl Storage for FaultyStorage {
    fn create_dir_all(&self, path: &Path) -> kafkalite::Result<()> {
        RealStorage.create_dir_all(path)
    }
    fn open(&self, path: &Path, mode: OpenMode) -> kafkalite::Result<Box<dyn StorageFile>> {
        Ok(Box::new(FaultyFile {
            inner: RealStorage.open(path, mode)?,
            faults: Arc::clone(&self.faults),
            armed: path.to_string_lossy().contains(self.target),
        }))
    }
    fn list(&self, dir: &Path) -> kafkalite::Result<Vec<DirEntry>> {
        RealStorage.list(dir)
    }
    fn exists(&self, path: &Path) -> bool {
        RealStorage.exists(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> kafkalite::Result<()> {
        RealStorage.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> kafkalite::Result<()> {
        RealStorage.remove_file(path)
    }
    fn remove_dir(&self, path: &Path) -> kafkalite::Result<()> {
        RealStorage.remove_dir(path)
    }
    fn sync_dir(&self, path: &Path) -> kafkalite::Result<()> {
        RealStorage.sync_dir(path)
    }
    fn lock(&self, path: &Path) -> kafkalite::Result<Box<dyn LockGuard>> {
        RealStorage.lock(path)
    }
}

impl FaultyFile {
    fn check(&self, flag: &AtomicBool, op: &'static str, code: i32) -> kafkalite::Result<()> {
        if self.armed && flag.load(Ordering::SeqCst) {
            return Err(Error::Io {
                op,
                path: self.inner.path().to_path_buf(),
                source: Arc::new(os_error(code)),
            });
        }
        Ok(())
    }
}

// SAFETY: every call is the real file's, or an injected error that changes nothing.
#[allow(unsafe_code)]
unsafe impl StorageFile for FaultyFile {
    fn path(&self) -> &Path {
        self.inner.path()
    }
    fn len(&self) -> kafkalite::Result<u64> {
        self.inner.len()
    }
    fn read_at(&self, buf: &mut [u8], position: u64) -> kafkalite::Result<()> {
        self.inner.read_at(buf, position)
    }
    fn write_at(&self, bufs: &[&[u8]], position: u64) -> kafkalite::Result<()> {
        if self.armed && self.faults.write.load(Ordering::SeqCst) {
            // A short write: half of the first buffer reaches the file, then EIO.
            let half = &bufs[0][..bufs[0].len() / 2];
            self.inner.write_at(&[half], position)?;
            return self.check(&self.faults.write, "write", libc::EIO);
        }
        self.inner.write_at(bufs, position)
    }
    fn allocate(&self, len: u64) -> kafkalite::Result<()> {
        self.check(&self.faults.allocate, "fallocate", libc::ENOSPC)?;
        self.inner.allocate(len)
    }
    fn set_len(&self, len: u64) -> kafkalite::Result<()> {
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> kafkalite::Result<()> {
        self.check(&self.faults.sync, "fdatasync", libc::EIO)?;
        self.inner.sync_data()
    }
    fn map(&self, len: usize) -> kafkalite::Result<Mapping> {
        self.inner.map(len)
    }
}

fn faulty_cluster(dir: &Path, faults: &Arc<Faults>) -> Cluster {
    faulty_cluster_at(dir, faults, "/t-0/")
}

/// A cluster whose files with `target` in their path fail as `faults` say.
fn faulty_cluster_at(dir: &Path, faults: &Arc<Faults>, target: &'static str) -> Cluster {
    let storage = FaultyStorage {
        faults: Arc::clone(faults),
        target,
    };
    Cluster::builder()
        .storage(Arc::new(storage))
        .background(false)
        .open(dir)
        .unwrap()
}

#[test]
fn a_failed_sync_fails_the_partition_until_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(Faults::default());
    let cluster = faulty_cluster(dir.path(), &faults);
    cluster
        .create_topic(NewTopic::new("t", 1).config("flush.messages", "1"))
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    log.append(&batch(0, 3, 10, 1)).unwrap();
    assert_eq!(log.durable_offset(), 3);

    faults.sync.store(true, Ordering::SeqCst);
    let err = log.append(&batch(3, 2, 10, 1)).unwrap_err();
    assert!(
        matches!(err, Error::Failed { ref partition, .. } if partition == "t-0"),
        "{err}"
    );
    assert_eq!(os_error_of(&err), Some(libc::EIO), "{err}");
    assert_eq!(
        log.durable_offset(),
        3,
        "nothing acknowledged past the failed sync"
    );
    assert_eq!(
        log.high_watermark(),
        3,
        "readers never see unsynced data in fsync mode"
    );
    faults.sync.store(false, Ordering::SeqCst);
    let sticky = log.append(&batch(5, 1, 10, 1)).unwrap_err();
    assert!(matches!(sticky, Error::Failed { .. }), "sticky: {sticky}");
    assert_eq!(
        os_error_of(&sticky),
        Some(libc::EIO),
        "the first failure stays the cause: {sticky}"
    );
    assert!(
        matches!(log.sync(), Err(Error::Failed { .. })),
        "never retried as success"
    );
    assert!(log.is_failed());
    drop(log);
    cluster.close().unwrap();
    assert!(
        !dir.path().join(".kafka_cleanshutdown").exists(),
        "not a clean shutdown"
    );

    let cluster = Cluster::open(dir.path()).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    let records = read_all(&log);
    assert!(
        records.len() == 3 || records.len() == 5,
        "the failed append is indefinite: {}",
        records.len()
    );
    log.append(&batch(records.len(), 1, 10, 1)).unwrap();
}

#[test]
fn a_full_disk_is_an_error_and_appends_resume() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(Faults::default());
    let cluster = faulty_cluster(dir.path(), &faults);
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    faults.allocate.store(true, Ordering::SeqCst);
    let err = log.append(&batch(0, 3, 10, 1)).unwrap_err();
    assert!(
        matches!(err, Error::Io { ref source, .. } if source.raw_os_error() == Some(libc::ENOSPC)),
        "{err}"
    );
    assert!(!log.is_failed());
    assert_eq!(log.log_end_offset(), 0);
    faults.allocate.store(false, Ordering::SeqCst);
    let info = log.append(&batch(0, 3, 10, 1)).unwrap();
    assert_eq!(info.first_offset, 0);
    assert_eq!(read_all(&log).len(), 3);
}

#[test]
fn a_failed_write_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(Faults::default());
    let cluster = faulty_cluster(dir.path(), &faults);
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    log.append(&batch(0, 2, 10, 1)).unwrap();
    faults.write.store(true, Ordering::SeqCst);
    assert!(matches!(
        log.append(&batch(2, 2, 300, 1)),
        Err(Error::Io { .. })
    ));
    faults.write.store(false, Ordering::SeqCst);
    assert_eq!(log.log_end_offset(), 2);
    log.append(&batch(2, 1, 10, 1)).unwrap();
    let records = read_all(&log);
    assert_eq!(
        records.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    drop(log);
    drop(cluster);
    // The half-written bytes past the end were overwritten or are cut at the next open.
    let cluster = Cluster::open(dir.path()).unwrap();
    assert_eq!(read_all(&cluster.partition("t", 0).unwrap()).len(), 3);
}

#[test]
fn a_producers_group_commit_fails_only_the_partition_whose_sync_failed() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(Faults::default());
    let cluster = faulty_cluster(dir.path(), &faults);
    cluster
        .create_topic(NewTopic::new("t", 2).config("flush.messages", "1"))
        .unwrap();
    let producer = cluster
        .producer(kafkalite::ProducerConfig::new().idempotence(false))
        .unwrap();
    let send = |partition: i32, value: &str| {
        let record = kafkalite::ProducerRecord::to("t")
            .partition(partition)
            .value(value.to_string());
        producer.send(record).unwrap()
    };
    for p in 0..2 {
        send(p, "before").wait().unwrap();
    }
    faults.sync.store(true, Ordering::SeqCst);
    // Batches of both partitions queue together; the appender writes them all, then syncs
    // each partition once.
    let handles: Vec<_> = (0..20)
        .map(|i| (i % 2, send(i % 2, &format!("v{i}"))))
        .collect();
    producer.flush(std::time::Duration::from_secs(60)).unwrap();
    for (partition, handle) in handles {
        match (partition, handle.wait()) {
            (0, Err(error)) => assert_eq!(os_error_of(&error), Some(libc::EIO), "{error}"),
            (1, Ok(metadata)) => assert_eq!(metadata.partition, 1),
            (p, other) => panic!("partition {p}: {other:?}"),
        }
    }
    let synced = cluster.partition("t", 1).unwrap();
    assert_eq!(synced.durable_offset(), 11, "t-1's deliveries were synced");
    // Each record counts once: sent and delivered, or failed.
    let metrics = producer.metrics();
    assert_eq!(metrics.record_error_total, 10);
    assert_eq!(
        metrics.record_send_total, 12,
        "t-0's first and t-1's eleven"
    );
    assert_eq!(cluster.partition("t", 0).unwrap().durable_offset(), 1);
}

/// DeleteRecords makes the new log start durable before any reader sees it: when its
/// checkpoint cannot be written the call fails and the log still starts where it did (so
/// nothing a reader learnt of the deletion can be taken back by a crash).
#[test]
fn a_delete_records_whose_checkpoint_fails_moves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(Faults::default());
    let cluster = faulty_cluster_at(dir.path(), &faults, "log-start-offset-checkpoint");
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    // Stamped now, so that time-based retention leaves the segment alone.
    let now = kafkalite::Clock::now_ms(&kafkalite::SystemClock);
    log.append(&batch(0, 10, 10, now)).unwrap();
    faults.write.store(true, Ordering::SeqCst);
    let err = cluster.delete_records("t", 0, 5).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert_eq!(log.log_start_offset(), 0);
    assert_eq!(read_all(&log).len(), 10);
    faults.write.store(false, Ordering::SeqCst);
    assert_eq!(cluster.delete_records("t", 0, 5).unwrap(), 5);
    assert_eq!(log.log_start_offset(), 5);
    drop(log);
    cluster.close().unwrap();
    let cluster = Cluster::open(dir.path()).unwrap();
    assert_eq!(cluster.partition("t", 0).unwrap().log_start_offset(), 5);
}
