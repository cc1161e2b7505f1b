//! Where to read from: the positions `assign` and `seek` take.

/// A position in a partition, resolved when the consumer next needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Offset {
    /// The log start offset.
    Beginning,
    /// The end of the log: the next offset to be written.
    End,
    /// The group's committed offset, else `auto.offset.reset` (Kafka's behaviour on `assign`).
    Committed,
    /// This offset (outside the log: `auto.offset.reset` applies).
    At(i64),
    /// This many records before the end (clamped to the log start).
    FromEnd(u64),
}
