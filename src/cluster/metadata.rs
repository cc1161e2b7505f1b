//! The metadata log (`__cluster_metadata-0`): one record per change to the set of topics,
//! synced before the change is acknowledged and replayed on open.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::record::BatchBuilder;

/// One change to the cluster's topics, or the cluster's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataRecord {
    /// The cluster's id, as in `meta.properties` (the log's first record; a directory whose
    /// `meta.properties` names another id is not this log's).
    ClusterId {
        /// Kafka's `cluster.id`.
        id: String,
    },
    /// A topic was created.
    CreateTopic {
        /// Topic name.
        name: String,
        /// Stable id (Kafka's TopicId).
        id: String,
        /// Partition count.
        partitions: i32,
        /// Config overrides.
        configs: BTreeMap<String, String>,
    },
    /// A topic was deleted.
    DeleteTopic {
        /// Topic name.
        name: String,
    },
    /// A topic grew to `partitions` partitions.
    AddPartitions {
        /// Topic name.
        name: String,
        /// The new total.
        partitions: i32,
    },
    /// A topic's overrides were replaced by `configs`.
    AlterConfigs {
        /// Topic name.
        name: String,
        /// The complete new set of overrides.
        configs: BTreeMap<String, String>,
    },
    /// Producer ids below `end` are reserved (see `producer_ids`).
    ProducerIds {
        /// The end of the reserved block (exclusive).
        end: i64,
    },
}

impl MetadataRecord {
    /// Encodes the record as a one-record batch: key = kind, value = lines of text.
    pub fn to_batch(&self, timestamp: i64) -> Result<Vec<u8>> {
        let (kind, lines) = match self {
            MetadataRecord::ClusterId { id } => ("cluster-id", vec![id.clone()]),
            MetadataRecord::CreateTopic {
                name,
                id,
                partitions,
                configs,
            } => {
                let mut lines = vec![name.clone(), id.clone(), partitions.to_string()];
                lines.extend(configs.iter().map(|(k, v)| format!("{k}={v}")));
                ("create-topic", lines)
            }
            MetadataRecord::DeleteTopic { name } => ("delete-topic", vec![name.clone()]),
            MetadataRecord::AddPartitions { name, partitions } => {
                ("add-partitions", vec![name.clone(), partitions.to_string()])
            }
            MetadataRecord::AlterConfigs { name, configs } => {
                let mut lines = vec![name.clone()];
                lines.extend(configs.iter().map(|(k, v)| format!("{k}={v}")));
                ("alter-configs", lines)
            }
            MetadataRecord::ProducerIds { end } => ("producer-ids", vec![end.to_string()]),
        };
        let value = lines.join("\n");
        let mut builder = BatchBuilder::new();
        builder.append(
            timestamp,
            Some(kind.as_bytes()),
            Some(value.as_bytes()),
            &[],
        )?;
        builder.build()
    }

    /// Decodes a record written by [`MetadataRecord::to_batch`].
    pub fn decode(key: Option<&[u8]>, value: Option<&[u8]>) -> Result<MetadataRecord> {
        let bad = |why: &str| Error::CorruptRecord(format!("metadata record: {why}"));
        let kind = std::str::from_utf8(key.ok_or_else(|| bad("no key"))?)
            .map_err(|_| bad("key is not UTF-8"))?;
        let value = std::str::from_utf8(value.ok_or_else(|| bad("no value"))?)
            .map_err(|_| bad("value is not UTF-8"))?;
        let mut lines = value.split('\n');
        let name = lines
            .next()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| bad("no topic name"))?
            .to_string();
        let configs = |lines: std::str::Split<'_, char>| -> Result<BTreeMap<String, String>> {
            lines
                .map(|l| {
                    l.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .ok_or_else(|| bad("config line without '='"))
                })
                .collect()
        };
        let number = |line: Option<&str>| -> Result<i32> {
            line.and_then(|l| l.parse().ok())
                .ok_or_else(|| bad("bad partition count"))
        };
        Ok(match kind {
            "cluster-id" => MetadataRecord::ClusterId { id: name },
            "create-topic" => {
                let id = lines.next().ok_or_else(|| bad("no topic id"))?.to_string();
                let partitions = number(lines.next())?;
                MetadataRecord::CreateTopic {
                    name,
                    id,
                    partitions,
                    configs: configs(lines)?,
                }
            }
            "delete-topic" => MetadataRecord::DeleteTopic { name },
            "add-partitions" => MetadataRecord::AddPartitions {
                name,
                partitions: number(lines.next())?,
            },
            "alter-configs" => MetadataRecord::AlterConfigs {
                name,
                configs: configs(lines)?,
            },
            "producer-ids" => MetadataRecord::ProducerIds {
                end: name
                    .parse()
                    .ok()
                    .filter(|&end: &i64| end >= 0)
                    .ok_or_else(|| bad("bad producer id block end"))?,
            },
            other => return Err(bad(&format!("unknown kind '{other}'"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordBatch;

    #[test]
    fn round_trip() {
        let mut configs = BTreeMap::new();
        configs.insert("retention.ms".to_string(), "1000".to_string());
        let records = [
            MetadataRecord::ClusterId {
                id: "MkU3OEVBNTcwNTJENDM2Qg".into(),
            },
            MetadataRecord::CreateTopic {
                name: "t".into(),
                id: "abc".into(),
                partitions: 3,
                configs: configs.clone(),
            },
            MetadataRecord::CreateTopic {
                name: "u".into(),
                id: "def".into(),
                partitions: 1,
                configs: BTreeMap::new(),
            },
            MetadataRecord::DeleteTopic { name: "t".into() },
            MetadataRecord::AddPartitions {
                name: "t".into(),
                partitions: 5,
            },
            MetadataRecord::ProducerIds { end: 3000 },
            MetadataRecord::AlterConfigs {
                name: "t".into(),
                configs,
            },
        ];
        for record in records {
            let bytes = record.to_batch(7).unwrap();
            let batch = RecordBatch::new(&bytes).unwrap();
            let records = batch.records().unwrap();
            let r = records.iter().next().unwrap().unwrap();
            assert_eq!(MetadataRecord::decode(r.key, r.value).unwrap(), record);
        }
        assert!(MetadataRecord::decode(Some(b"nope"), Some(b"t")).is_err());
    }
}
