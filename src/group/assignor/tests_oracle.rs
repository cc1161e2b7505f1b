//! The sticky assignors against Kafka's own: random groups (mixed subscriptions, uneven
//! and stale ownership, partitions of topics a member dropped) that Kafka's
//! `StickyAssignor` and `CooperativeStickyAssignor` assigned, run from Kafka's sources by
//! the harness in `tests/oracle/sticky/` (see its README), recorded with their outcomes in
//! `tests/oracle/sticky/cases.jsonl`. Every case must come out as Kafka's did.

use serde_json::Value;

use super::tests::{assign, member, owning};
use super::*;

const CASES: &str = include_str!("../../../tests/oracle/sticky/cases.jsonl");

/// Groups on which Kafka's leader throws (`NullPointerException` in
/// `performReassignments`) or never returns (a substitution undoes the move just made).
const KAFKA_FAILS: &str = include_str!("../../../tests/oracle/sticky/kafka-failures.jsonl");

/// A case's members as the leader sees them: each with its instance id if the case gives
/// one, and with its claims (owned partitions and their generation) if it gives those.
pub(super) fn members_of(case: &Value) -> Vec<MemberSubscription> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("a list")
            .iter()
            .map(|s| s.as_str().expect("a string").to_string())
            .collect()
    };
    case["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            let topics = strings(&m["topics"]);
            let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
            let mut subscription = member(m["id"].as_str().expect("an id"), &topics);
            subscription.instance_id = m
                .get("instance")
                .and_then(Value::as_str)
                .map(str::to_string);
            let Some(owned) = m.get("owned") else {
                return subscription;
            };
            let owned = strings(owned);
            let owned: Vec<&str> = owned.iter().map(String::as_str).collect();
            let generation =
                i32::try_from(m["generation"].as_i64().expect("generation")).expect("a generation");
            owning(subscription, generation, &owned)
        })
        .collect()
}

/// Each member's partitions as sorted names.
pub(super) fn named(assignment: &Partitions) -> BTreeMap<String, Vec<String>> {
    assignment
        .iter()
        .map(|(m, ps)| {
            let mut ps: Vec<String> = ps.iter().map(ToString::to_string).collect();
            ps.sort();
            (m.clone(), ps)
        })
        .collect()
}

/// A recorded outcome (member → partition names) with each member's names sorted.
pub(super) fn recorded(outcome: &Value) -> BTreeMap<String, Vec<String>> {
    let mut outcome: BTreeMap<String, Vec<String>> =
        serde_json::from_value(outcome.clone()).expect("member → partitions");
    for names in outcome.values_mut() {
        names.sort();
    }
    outcome
}

/// A case's topics with their partition counts.
pub(super) fn counts_of(case: &Value) -> BTreeMap<String, i32> {
    case["topics"]
        .as_object()
        .expect("topics")
        .iter()
        .map(|(t, n)| {
            let count = n.as_i64().expect("a count");
            (t.clone(), i32::try_from(count).expect("a partition count"))
        })
        .collect()
}

/// Whether Kafka's outcome gives a member a partition of a topic it does not subscribe to:
/// its general builder hands a partition back to an older-generation owner without checking
/// that it still takes the topic (the member's consumer then refuses the assignment).
/// kafkalite does not, by design (README, "Consumer groups").
fn kafka_breaks_a_subscription(case: &Value) -> bool {
    if case.get("kafka").is_none() {
        return false;
    }
    case["members"]
        .as_array()
        .expect("members")
        .iter()
        .any(|m| {
            let topics = m["topics"].as_array().expect("topics");
            case["kafka"][m["id"].as_str().expect("an id")]
                .as_array()
                .expect("partitions")
                .iter()
                .any(|p| {
                    let (topic, _) = p
                        .as_str()
                        .expect("a partition")
                        .rsplit_once('-')
                        .expect("t-p");
                    !topics.iter().any(|t| t.as_str() == Some(topic))
                })
        })
}

/// What one case gives here and in Kafka, when they differ.
fn differs(case: &Value) -> Option<String> {
    let kind = match case["assignor"].as_str() {
        Some("sticky") => AssignorKind::Sticky,
        Some("cooperative-sticky") => AssignorKind::CooperativeSticky,
        other => panic!("unknown assignor {other:?}"),
    };
    let counts = counts_of(case);
    let members = members_of(case);
    let ours = assign(kind, &members, &counts);
    if kafka_breaks_a_subscription(case) || case.get("error").is_some() {
        // Ours keeps to the subscriptions, and hands out each partition once.
        let mut seen = BTreeSet::new();
        for m in &members {
            for tp in &ours[&m.member_id] {
                if !m.topics.iter().any(|t| **t == *tp.topic) || !seen.insert(tp.clone()) {
                    return Some(format!("case {}: {tp} to {}", case["seed"], m.member_id));
                }
            }
        }
        return None;
    }
    let kafka = case["kafka"].as_object().expect("kafka's outcome");
    let mut differences = Vec::new();
    for m in &members {
        let mut mine: Vec<String> = ours[&m.member_id].iter().map(|tp| tp.to_string()).collect();
        mine.sort();
        let mut theirs: Vec<String> = kafka[&m.member_id]
            .as_array()
            .expect("partitions")
            .iter()
            .map(|p| p.as_str().expect("a partition").to_string())
            .collect();
        theirs.sort();
        if mine != theirs {
            differences.push(format!(
                "{}: ours {mine:?}, Kafka's {theirs:?}",
                m.member_id
            ));
        }
    }
    (!differences.is_empty()).then(|| format!("case {}: {}", case["seed"], differences.join("; ")))
}

/// The cases of a JSON-lines fixture.
pub(super) fn cases(lines: &str) -> Vec<Value> {
    lines
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON case"))
        .collect()
}

#[test]
fn the_sticky_assignors_assign_every_recorded_case_as_kafkas_did() {
    let cases = cases(CASES);
    assert!(cases.len() >= 100, "the recorded cases are missing");
    let differing: Vec<String> = cases.iter().filter_map(differs).collect();
    let broken = cases
        .iter()
        .filter(|c| kafka_breaks_a_subscription(c))
        .count();
    println!(
        "{} cases, {broken} where Kafka hands out a topic a member dropped",
        cases.len()
    );
    assert!(
        differing.is_empty(),
        "{} of {} cases differ from Kafka's:\n{}",
        differing.len(),
        cases.len(),
        differing.join("\n")
    );
}

/// Where Kafka's leader fails, this one assigns: each partition once, to a subscriber.
#[test]
fn the_groups_kafkas_sticky_leader_fails_on_are_assigned_validly() {
    let cases = cases(KAFKA_FAILS);
    assert!(!cases.is_empty());
    let invalid: Vec<String> = cases.iter().filter_map(differs).collect();
    assert!(invalid.is_empty(), "{}", invalid.join("\n"));
}
