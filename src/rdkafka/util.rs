//! rust-rdkafka's utilities (`rdkafka::util`): [`Timeout`], [`IntoOpaque`] and the
//! time helpers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

/// Specifies a timeout for a Kafka operation.
#[derive(Copy, Clone, Debug, Eq, PartialEq, Ord, PartialOrd)]
pub enum Timeout {
    /// Time out after the specified duration elapses.
    After(Duration),
    /// Block forever.
    Never,
}

impl Timeout {
    /// The wait as kafkalite takes it: `Never` as a wait no run outlives.
    pub(crate) fn duration(self) -> Duration {
        match self {
            Timeout::After(duration) => duration,
            Timeout::Never => NEVER,
        }
    }

    /// The instant the wait ends, `None` for never.
    pub(crate) fn deadline(self) -> Option<Instant> {
        match self {
            Timeout::After(duration) => Instant::now().checked_add(duration),
            Timeout::Never => None,
        }
    }
}

/// What `Timeout::Never` waits: a century, far past any run, and still a valid `Instant`
/// offset.
const NEVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl std::ops::SubAssign for Timeout {
    /// Subtracts a finite timeout (`Never` minus a duration stays `Never`).
    ///
    /// # Panics
    ///
    /// As rdkafka's: subtracting `Never` is ill-defined.
    fn sub_assign(&mut self, other: Self) {
        match (self, other) {
            (Timeout::After(lhs), Timeout::After(rhs)) => *lhs = lhs.saturating_sub(rhs),
            (Timeout::Never, Timeout::After(_)) => (),
            _ => panic!("subtraction of Timeout::Never is ill-defined"),
        }
    }
}

impl From<Duration> for Timeout {
    fn from(d: Duration) -> Timeout {
        Timeout::After(d)
    }
}

impl From<Option<Duration>> for Timeout {
    fn from(v: Option<Duration>) -> Timeout {
        v.map_or(Timeout::Never, Timeout::After)
    }
}

/// Converts the given time to the number of milliseconds since the Unix epoch.
pub fn millis_to_epoch(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis()
        .try_into()
        .unwrap_or(i64::MAX)
}

/// Returns the current time in milliseconds since the Unix epoch.
pub fn current_time_millis() -> i64 {
    millis_to_epoch(SystemTime::now())
}

/// The librdkafka version rdkafka would report: `(hex, text)`. The facade is built on no
/// librdkafka; it reports the version whose behaviour it follows.
pub fn get_rdkafka_version() -> (i32, String) {
    (0x020c_01ff, "2.12.1".to_string())
}

/// A value handed back with a delivery report (rdkafka's delivery opaque). rdkafka passes it
/// through C as a pointer; here it stays a Rust value, so the trait has no methods.
pub trait IntoOpaque: Send + Sync + Sized + 'static {}

impl IntoOpaque for () {}

impl IntoOpaque for usize {}

impl<T: Send + Sync + 'static> IntoOpaque for Box<T> {}

impl<T: Send + Sync + 'static> IntoOpaque for Arc<T> {}

/// An executor's timer and spawner, for the `FutureProducer`'s retries when its queue is
/// full (rdkafka's trait: applications on smol or async-std implement it for their runtime).
pub trait AsyncRuntime: Send + Sync + 'static {
    /// The type of the future returned by [`delay_for`](AsyncRuntime::delay_for).
    type Delay: Future<Output = ()> + Send;

    /// Spawns an asynchronous task.
    fn spawn<T>(task: T)
    where
        T: Future<Output = ()> + Send + 'static;

    /// Constructs a future that will resolve after `duration` has elapsed.
    fn delay_for(duration: Duration) -> Self::Delay;
}

/// The runtime used when none is named: works under any executor, with a thread per spawned
/// task and per delay (rdkafka's `NaiveRuntime`; only a full producer queue uses it).
pub type DefaultRuntime = NaiveRuntime;

/// rdkafka's name for its default runtime, kept so that code naming it compiles: here the
/// same as [`NaiveRuntime`] (the facade depends on no executor; futures it returns run on
/// tokio's as on any other).
pub type TokioRuntime = NaiveRuntime;

/// An [`AsyncRuntime`] needing no executor: spawned tasks run on their own thread, delays
/// complete from a short-lived thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct NaiveRuntime;

impl AsyncRuntime for NaiveRuntime {
    type Delay = Delay;

    fn spawn<T>(task: T)
    where
        T: Future<Output = ()> + Send + 'static,
    {
        std::thread::spawn(move || block_on(task));
    }

    fn delay_for(duration: Duration) -> Delay {
        let shared = Arc::new(Mutex::new((false, None::<Waker>)));
        let done = Arc::clone(&shared);
        std::thread::spawn(move || {
            std::thread::sleep(duration);
            let mut state = done.lock();
            state.0 = true;
            if let Some(waker) = state.1.take() {
                waker.wake();
            }
        });
        Delay { shared }
    }
}

/// [`NaiveRuntime`]'s delay.
#[derive(Debug)]
pub struct Delay {
    shared: Arc<Mutex<(bool, Option<Waker>)>>,
}

impl Future for Delay {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.shared.lock();
        if state.0 {
            Poll::Ready(())
        } else {
            state.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// Runs `task` to completion on this thread.
fn block_on<T: Future<Output = ()>>(task: T) {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut task = std::pin::pin!(task);
    while task.as_mut().poll(&mut cx).is_pending() {
        std::thread::park();
    }
}
