//! Ctrl-C (SIGINT) and SIGTERM for the long-running commands: as Kafka's console tools do
//! in their shutdown hooks, `produce` stops reading and closes its producer (delivering what
//! it read), and `consume` stops polling, commits what it printed and prints its summary.
//! The command then exits with 128 + the signal's number, as a JVM tool does.

use std::fmt;
use std::thread::JoinHandle;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

/// While alive, SIGINT and SIGTERM run a handler on a thread of their own instead of
/// killing the process.
pub struct OnInterrupt {
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

impl OnInterrupt {
    /// Calls `handler` with the signal's number for each SIGINT or SIGTERM.
    pub fn install(handler: impl Fn(i32) + Send + 'static) -> std::io::Result<OnInterrupt> {
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        let handle = signals.handle();
        let thread = std::thread::Builder::new()
            .name("kafkalite-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    handler(signal);
                }
            })?;
        Ok(OnInterrupt {
            handle,
            thread: Some(thread),
        })
    }
}

impl Drop for OnInterrupt {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The command finished its work after a signal: the process exits with 128 + `signal`.
#[derive(Debug)]
pub struct Interrupted(pub i32);

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if self.0 == SIGTERM {
            "SIGTERM"
        } else {
            "SIGINT"
        };
        write!(f, "interrupted by {name}")
    }
}

impl std::error::Error for Interrupted {}
