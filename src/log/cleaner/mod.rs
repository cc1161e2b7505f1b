//! The log cleaner (Kafka's `LogCleaner`): one cleaning of one log ([`clean`]), its offset
//! map, and the crash-safe segment swap with its recovery at open ([`swap`]).

mod clean;
mod offset_map;
mod output;
mod retention;
mod rewrite;
mod swap;
mod transactions;

pub use clean::{CleanStats, Cleanable};
pub(crate) use swap::{finish_interrupted, MARKERS};

#[cfg(test)]
mod tests;
