//! Kafka's four assignors on the [`ConsumerPartitionAssignor`] trait, with the subscription
//! user data Kafka's sticky assignors send: eager `sticky` its last assignment and generation
//! (`StickyAssignor`'s `previous_assignment`/`generation` schema, so that eager rebalances
//! stay sticky), `cooperative-sticky` its generation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use parking_lot::Mutex;

use super::api::{
    AssignError, Assignment, ClusterMetadata, ConsumerPartitionAssignor, GroupAssignment,
    GroupSubscription, RebalanceProtocol, Subscription,
};
use super::{run, run_librdkafka_sticky, MemberSubscription, Partitions};
use crate::config::AssignorKind;
use crate::group::{ConsumerGroupMetadata, TopicPartition};

/// Kafka's `DEFAULT_GENERATION`: no generation known.
const NO_GENERATION: i32 = -1;

impl AssignorKind {
    /// A new instance of this built-in assignor.
    pub fn assignor(self) -> Arc<dyn ConsumerPartitionAssignor> {
        match self {
            AssignorKind::Range => Arc::new(RangeAssignor),
            AssignorKind::RoundRobin => Arc::new(RoundRobinAssignor),
            AssignorKind::Sticky => Arc::new(StickyAssignor::default()),
            AssignorKind::CooperativeSticky => Arc::new(CooperativeStickyAssignor::default()),
        }
    }

    /// This built-in assignor as a librdkafka consumer has it: `cooperative-sticky` runs
    /// librdkafka's algorithm ([`CooperativeStickyAssignor::librdkafka`]), the others are
    /// Kafka's.
    pub(crate) fn librdkafka_assignor(self) -> Arc<dyn ConsumerPartitionAssignor> {
        match self {
            AssignorKind::CooperativeSticky => Arc::new(CooperativeStickyAssignor::librdkafka()),
            other => other.assignor(),
        }
    }
}

/// Kafka's `RangeAssignor` (`range`): per topic, consecutive ranges, the first members in
/// order taking one more when the count does not divide.
#[derive(Debug, Clone, Copy, Default)]
pub struct RangeAssignor;

/// Kafka's `RoundRobinAssignor` (`roundrobin`): every partition dealt to the members in turn.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundRobinAssignor;

/// Kafka's eager `StickyAssignor` (`sticky`): balanced, and keeps partitions where they were.
/// It remembers its last assignment ([`on_assignment`]) and sends it as its subscription user
/// data, since eager members own nothing when they rejoin.
///
/// [`on_assignment`]: ConsumerPartitionAssignor::on_assignment
#[derive(Debug, Default)]
pub struct StickyAssignor {
    last: Mutex<Option<(Vec<TopicPartition>, i32)>>,
}

/// Kafka's `CooperativeStickyAssignor` (`cooperative-sticky`): the sticky algorithm with
/// incremental rebalancing; a partition that changes owner is withheld for one round.
#[derive(Debug)]
pub struct CooperativeStickyAssignor {
    generation: Mutex<i32>,
    /// Assigns as librdkafka's leader does (`rdkafka_sticky_assignor.c`) instead of Kafka's.
    librdkafka: bool,
}

impl Default for CooperativeStickyAssignor {
    fn default() -> Self {
        CooperativeStickyAssignor {
            generation: Mutex::new(NO_GENERATION),
            librdkafka: false,
        }
    }
}

impl CooperativeStickyAssignor {
    /// librdkafka's `cooperative-sticky`, which the `kafkalite::rdkafka` consumers use: a
    /// port of Kafka's older sticky algorithm, without the equal-subscription path, so it
    /// can assign differently from Kafka's Java assignor.
    pub(crate) fn librdkafka() -> Self {
        CooperativeStickyAssignor {
            librdkafka: true,
            ..CooperativeStickyAssignor::default()
        }
    }
}

/// Runs a built-in algorithm (`run` with the members and the partition counts) over `group`,
/// each member's previous ownership and its generation taken from its subscription by
/// `member_data`.
fn assign_builtin(
    run: impl Fn(&[MemberSubscription], &BTreeMap<String, i32>) -> Partitions,
    metadata: &ClusterMetadata,
    group: &GroupSubscription,
    member_data: impl Fn(&Subscription) -> (Vec<TopicPartition>, i32),
) -> GroupAssignment {
    let members: Vec<MemberSubscription> = group
        .subscriptions
        .iter()
        .map(|(id, s)| {
            let (owned, generation) = member_data(s);
            MemberSubscription {
                member_id: id.clone(),
                instance_id: s.group_instance_id.clone(),
                topics: s.topics.clone(),
                owned,
                generation,
                subscription_generation: s.generation_id.unwrap_or(NO_GENERATION),
            }
        })
        .collect();
    let assignments = run(&members, metadata.counts())
        .into_iter()
        .map(|(member, partitions)| {
            let assignment = Assignment {
                partitions,
                user_data: None,
            };
            (member, assignment)
        })
        .collect();
    GroupAssignment { assignments }
}

impl ConsumerPartitionAssignor for RangeAssignor {
    fn name(&self) -> &str {
        AssignorKind::Range.name()
    }

    fn assign(
        &self,
        metadata: &ClusterMetadata,
        group: &GroupSubscription,
    ) -> Result<GroupAssignment, AssignError> {
        Ok(assign_builtin(
            |m, p| run(AssignorKind::Range, m, p),
            metadata,
            group,
            |_| (Vec::new(), NO_GENERATION),
        ))
    }
}

impl ConsumerPartitionAssignor for RoundRobinAssignor {
    fn name(&self) -> &str {
        AssignorKind::RoundRobin.name()
    }

    fn assign(
        &self,
        metadata: &ClusterMetadata,
        group: &GroupSubscription,
    ) -> Result<GroupAssignment, AssignError> {
        Ok(assign_builtin(
            |m, p| run(AssignorKind::RoundRobin, m, p),
            metadata,
            group,
            |_| (Vec::new(), NO_GENERATION),
        ))
    }
}

impl StickyAssignor {
    /// Kafka's `StickyAssignor` user data (schema V1): the previous assignment as an array of
    /// (topic: int16-length string, partitions: int32 array), then the generation (int32),
    /// big-endian. Topics appear in name order.
    pub fn user_data(partitions: &[TopicPartition], generation: i32) -> Vec<u8> {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for tp in partitions {
            by_topic.entry(&tp.topic).or_default().push(tp.partition);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&len_i32(by_topic.len()).to_be_bytes());
        for (topic, partitions) in by_topic {
            let name = topic.as_bytes();
            out.extend_from_slice(&i16::try_from(name.len()).unwrap_or(i16::MAX).to_be_bytes());
            out.extend_from_slice(&name[..name.len().min(i16::MAX as usize)]);
            out.extend_from_slice(&len_i32(partitions.len()).to_be_bytes());
            for p in partitions {
                out.extend_from_slice(&p.to_be_bytes());
            }
        }
        out.extend_from_slice(&generation.to_be_bytes());
        out
    }

    /// Reads [`StickyAssignor::user_data`]: the partitions and the generation (schema V0,
    /// without a generation, gives generation −1). Data that does not parse gives no
    /// previous assignment, as Kafka ignores it (with a warning).
    pub fn parse_user_data(data: &[u8]) -> (Vec<TopicPartition>, i32) {
        match parse_assignment(data) {
            Some((partitions, rest)) => {
                let generation = rest.get(..4).map_or(NO_GENERATION, |b| {
                    i32::from_be_bytes(b.try_into().expect("4"))
                });
                (partitions, generation)
            }
            None => {
                tracing::warn!(
                    bytes = data.len(),
                    "sticky assignor: a member's user data does not parse; its previous assignment is ignored"
                );
                (Vec::new(), NO_GENERATION)
            }
        }
    }
}

fn len_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The `previous_assignment` array, and the bytes after it.
fn parse_assignment(mut data: &[u8]) -> Option<(Vec<TopicPartition>, &[u8])> {
    fn take<'a>(data: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (data.get(..n)?, data.get(n..)?);
        *data = tail;
        Some(head)
    }
    fn int32(data: &mut &[u8]) -> Option<i32> {
        Some(i32::from_be_bytes(take(data, 4)?.try_into().ok()?))
    }
    let topics = usize::try_from(int32(&mut data)?).ok()?;
    let mut partitions = Vec::new();
    for _ in 0..topics {
        let length = i16::from_be_bytes(take(&mut data, 2)?.try_into().ok()?);
        let name = std::str::from_utf8(take(&mut data, usize::try_from(length).ok()?)?).ok()?;
        let topic: Arc<str> = Arc::from(name);
        let count = usize::try_from(int32(&mut data)?).ok()?;
        for _ in 0..count {
            partitions.push(TopicPartition::new(Arc::clone(&topic), int32(&mut data)?));
        }
    }
    Some((partitions, data))
}

impl ConsumerPartitionAssignor for StickyAssignor {
    fn name(&self) -> &str {
        AssignorKind::Sticky.name()
    }

    fn subscription_user_data(&self, _topics: &BTreeSet<String>) -> Option<Vec<u8>> {
        let last = self.last.lock();
        let (partitions, generation) = last.as_ref()?;
        Some(StickyAssignor::user_data(partitions, *generation))
    }

    fn assign(
        &self,
        metadata: &ClusterMetadata,
        group: &GroupSubscription,
    ) -> Result<GroupAssignment, AssignError> {
        // Eager members revoke before rejoining: what they had is in their user data only.
        Ok(assign_builtin(
            |m, p| run(AssignorKind::Sticky, m, p),
            metadata,
            group,
            |s| match &s.user_data {
                Some(data) if !data.is_empty() => StickyAssignor::parse_user_data(data),
                _ => (Vec::new(), NO_GENERATION),
            },
        ))
    }

    fn on_assignment(&self, assignment: &Assignment, metadata: &ConsumerGroupMetadata) {
        *self.last.lock() = Some((assignment.partitions.clone(), metadata.generation_id));
    }
}

impl ConsumerPartitionAssignor for CooperativeStickyAssignor {
    fn name(&self) -> &str {
        AssignorKind::CooperativeSticky.name()
    }

    fn supported_protocols(&self) -> Vec<RebalanceProtocol> {
        vec![RebalanceProtocol::Cooperative, RebalanceProtocol::Eager]
    }

    /// The generation, big-endian (what Kafka's sends for brokers older than subscription v2).
    fn subscription_user_data(&self, _topics: &BTreeSet<String>) -> Option<Vec<u8>> {
        Some(self.generation.lock().to_be_bytes().to_vec())
    }

    fn assign(
        &self,
        metadata: &ClusterMetadata,
        group: &GroupSubscription,
    ) -> Result<GroupAssignment, AssignError> {
        // The subscription's own generation, else the one in the user data.
        let librdkafka = self.librdkafka;
        Ok(assign_builtin(
            |m, p| {
                if librdkafka {
                    run_librdkafka_sticky(m, p)
                } else {
                    run(AssignorKind::CooperativeSticky, m, p)
                }
            },
            metadata,
            group,
            |s| {
                let from_data = || {
                    let bytes = s.user_data.as_deref()?.get(..4)?;
                    Some(i32::from_be_bytes(bytes.try_into().ok()?))
                };
                let generation = s.generation_id.or_else(from_data);
                (
                    s.owned_partitions.clone(),
                    generation.unwrap_or(NO_GENERATION),
                )
            },
        ))
    }

    fn on_assignment(&self, _assignment: &Assignment, metadata: &ConsumerGroupMetadata) {
        *self.generation.lock() = metadata.generation_id;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition::new(topic, partition)
    }

    /// Kafka's `STICKY_ASSIGNOR_USER_DATA_V1`, written out field by field from its schema:
    /// ARRAY(STRUCT(topic STRING, partitions ARRAY(INT32))), generation INT32.
    #[test]
    fn sticky_user_data_is_kafkas_v1_layout() {
        let data = StickyAssignor::user_data(&[tp("b", 2), tp("a", 0), tp("b", 1)], 7);
        let mut expected = vec![0, 0, 0, 2]; // two topics
        expected.extend([0, 1, b'a', 0, 0, 0, 1, 0, 0, 0, 0]); // "a": [0]
        expected.extend([0, 1, b'b', 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 1]); // "b": [2, 1]
        expected.extend([0, 0, 0, 7]); // generation
        assert_eq!(data, expected);
        let (partitions, generation) = StickyAssignor::parse_user_data(&data);
        assert_eq!(partitions, [tp("a", 0), tp("b", 2), tp("b", 1)]);
        assert_eq!(generation, 7);
    }

    #[test]
    fn sticky_user_data_v0_and_garbage() {
        // V0 has no generation field: Kafka reads it as no generation.
        let v1 = StickyAssignor::user_data(&[tp("t", 3)], 4);
        let v0 = &v1[..v1.len() - 4];
        assert_eq!(
            StickyAssignor::parse_user_data(v0),
            (vec![tp("t", 3)], NO_GENERATION)
        );
        // Anything that does not parse is no previous assignment, never a panic.
        for bad in [
            &[0xFF, 0xFF, 0xFF, 0xFF][..],
            &[0, 0, 0, 1, 0, 9, b'x'],
            &[0, 0],
        ] {
            assert_eq!(
                StickyAssignor::parse_user_data(bad),
                (Vec::new(), NO_GENERATION)
            );
        }
        for cut in 0..v1.len() - 4 {
            let (partitions, _) = StickyAssignor::parse_user_data(&v1[..cut]);
            assert!(partitions.is_empty(), "cut at {cut}");
        }
    }

    #[test]
    fn sticky_sends_its_last_assignment_once_it_has_one() {
        let sticky = StickyAssignor::default();
        let topics = BTreeSet::from(["t".to_string()]);
        assert_eq!(sticky.subscription_user_data(&topics), None);
        let metadata = ConsumerGroupMetadata {
            group_id: "g".into(),
            generation_id: 3,
            member_id: "m".into(),
            group_instance_id: None,
        };
        let assignment = Assignment {
            partitions: vec![tp("t", 1)],
            user_data: None,
        };
        sticky.on_assignment(&assignment, &metadata);
        assert_eq!(
            sticky.subscription_user_data(&topics),
            Some(StickyAssignor::user_data(&[tp("t", 1)], 3))
        );
    }

    /// Kafka's `allSubscriptionsEqual` weighs a claim against the other claimant's
    /// `Subscription.generationId()`, not the generation in its user data: a's user data
    /// says generation 3 but its subscription carries none (−1), so b's claim of generation
    /// 2 wins t-0 (Kafka visits a before b: "a" and "b" hash to buckets 1 and 2).
    #[test]
    fn a_claim_is_weighed_against_the_other_claimants_subscription_generation() {
        let subscription = |data: i32, generation_id: Option<i32>| Subscription {
            topics: BTreeSet::from(["t".to_string()]),
            user_data: Some(StickyAssignor::user_data(&[tp("t", 0)], data)),
            owned_partitions: Vec::new(),
            group_instance_id: None,
            generation_id,
        };
        let group = GroupSubscription {
            subscriptions: BTreeMap::from([
                ("a".to_string(), subscription(3, None)),
                ("b".to_string(), subscription(2, Some(2))),
            ]),
        };
        let metadata = ClusterMetadata::new([("t", 2)]);
        let result = StickyAssignor::default().assign(&metadata, &group).unwrap();
        assert_eq!(result.assignments["b"].partitions, [tp("t", 0)]);
        assert_eq!(result.assignments["a"].partitions, [tp("t", 1)]);
    }

    /// A claim on a partition that does not exist (here a negative one) is no claim: it
    /// never reaches an assignment, which the consumer would refuse.
    #[test]
    fn a_claim_on_a_partition_that_does_not_exist_is_ignored() {
        let group = GroupSubscription {
            subscriptions: BTreeMap::from([(
                "a".to_string(),
                Subscription {
                    topics: BTreeSet::from(["t".to_string()]),
                    user_data: None,
                    owned_partitions: vec![tp("t", -1), tp("t", 2)],
                    group_instance_id: None,
                    generation_id: Some(1),
                },
            )]),
        };
        let metadata = ClusterMetadata::new([("t", 2)]);
        let result = CooperativeStickyAssignor::default()
            .assign(&metadata, &group)
            .unwrap();
        assert_eq!(result.assignments["a"].partitions, [tp("t", 0), tp("t", 1)]);
    }

    /// Kafka's `CooperativeStickyAssignor.memberData`: the subscription's generation, else the
    /// one in its user data; here the claim with the higher generation wins the partition.
    #[test]
    fn cooperative_sticky_reads_the_generation_from_user_data_when_the_subscription_has_none() {
        let subscription = |owned: Vec<TopicPartition>, data: i32| Subscription {
            topics: BTreeSet::from(["t".to_string()]),
            user_data: Some(data.to_be_bytes().to_vec()),
            owned_partitions: owned,
            group_instance_id: None,
            generation_id: None,
        };
        let group = GroupSubscription {
            subscriptions: BTreeMap::from([
                ("a".to_string(), subscription(vec![tp("t", 0)], 1)),
                ("b".to_string(), subscription(vec![tp("t", 0)], 2)),
            ]),
        };
        let metadata = ClusterMetadata::new([("t", 2)]);
        let assignor = CooperativeStickyAssignor::default();
        let result = assignor.assign(&metadata, &group).unwrap();
        // b's claim (generation 2) stands; a gets the free partition.
        assert_eq!(result.assignments["b"].partitions, [tp("t", 0)]);
        assert_eq!(result.assignments["a"].partitions, [tp("t", 1)]);
        assert_eq!(
            assignor.subscription_user_data(&BTreeSet::new()),
            Some(NO_GENERATION.to_be_bytes().to_vec())
        );
    }
}
