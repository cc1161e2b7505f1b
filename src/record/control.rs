//! Control records: the 4-byte key of every record in a control batch, and the value of
//! transaction markers.

use crate::error::{Error, Result};

/// What a control record says. Unknown types are kept as `Unknown` and skipped, as Kafka does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlRecordType {
    /// The transaction was aborted.
    Abort,
    /// The transaction was committed.
    Commit,
    /// KRaft leader change (2).
    LeaderChange,
    /// KRaft snapshot header (3).
    SnapshotHeader,
    /// KRaft snapshot footer (4).
    SnapshotFooter,
    /// KRaft version record (5).
    KraftVersion,
    /// KRaft voters record (6).
    KraftVoters,
    /// A type this version does not know.
    Unknown(i16),
}

impl ControlRecordType {
    /// Parses a control record key (`version` i16, `type` i16).
    pub fn parse_key(key: &[u8]) -> Result<ControlRecordType> {
        if key.len() < 4 {
            return Err(Error::CorruptRecord(format!(
                "control record key has {} bytes, needs 4",
                key.len()
            )));
        }
        let kind = i16::from_be_bytes([key[2], key[3]]);
        Ok(match kind {
            0 => ControlRecordType::Abort,
            1 => ControlRecordType::Commit,
            2 => ControlRecordType::LeaderChange,
            3 => ControlRecordType::SnapshotHeader,
            4 => ControlRecordType::SnapshotFooter,
            5 => ControlRecordType::KraftVersion,
            6 => ControlRecordType::KraftVoters,
            other => ControlRecordType::Unknown(other),
        })
    }

    /// The type number.
    pub fn id(self) -> i16 {
        match self {
            ControlRecordType::Abort => 0,
            ControlRecordType::Commit => 1,
            ControlRecordType::LeaderChange => 2,
            ControlRecordType::SnapshotHeader => 3,
            ControlRecordType::SnapshotFooter => 4,
            ControlRecordType::KraftVersion => 5,
            ControlRecordType::KraftVoters => 6,
            ControlRecordType::Unknown(id) => id,
        }
    }

    /// The 4-byte key of a control record of this type (version 0).
    pub fn key(self) -> [u8; 4] {
        let id = self.id().to_be_bytes();
        [0, 0, id[0], id[1]]
    }

    /// Kafka's upper-case name (`COMMIT`, `ABORT`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ControlRecordType::Abort => "ABORT",
            ControlRecordType::Commit => "COMMIT",
            ControlRecordType::LeaderChange => "LEADER_CHANGE",
            ControlRecordType::SnapshotHeader => "SNAPSHOT_HEADER",
            ControlRecordType::SnapshotFooter => "SNAPSHOT_FOOTER",
            ControlRecordType::KraftVersion => "KRAFT_VERSION",
            ControlRecordType::KraftVoters => "KRAFT_VOTERS",
            ControlRecordType::Unknown(_) => "UNKNOWN",
        }
    }
}

/// The value of a COMMIT or ABORT marker: version 0 and the coordinator epoch.
pub fn end_transaction_marker_value(coordinator_epoch: i32) -> [u8; 6] {
    let epoch = coordinator_epoch.to_be_bytes();
    [0, 0, epoch[0], epoch[1], epoch[2], epoch[3]]
}

/// Reads the coordinator epoch from a COMMIT or ABORT marker value.
pub fn parse_end_transaction_marker(value: &[u8]) -> Result<i32> {
    if value.len() < 6 {
        return Err(Error::CorruptRecord(format!(
            "transaction marker value has {} bytes, needs 6",
            value.len()
        )));
    }
    Ok(i32::from_be_bytes([value[2], value[3], value[4], value[5]]))
}
