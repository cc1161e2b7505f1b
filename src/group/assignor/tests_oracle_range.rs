//! `range` and `roundrobin` against Kafka's own `RangeAssignor` and `RoundRobinAssignor`:
//! 400 random groups (static and dynamic members, irregular ids, topics that do not exist)
//! and 12 written to probe an ordering rule each (one instance id twice, characters beyond
//! U+FFFF in ids and topic names, empty subscriptions, an empty group), recorded in
//! `tests/oracle/range-roundrobin/cases.jsonl` with Kafka's outcomes (see its README).

use serde_json::Value;

use super::tests::{assign, member};
use super::tests_oracle::{cases, counts_of};
use super::*;

const CASES: &str = include_str!("../../../tests/oracle/range-roundrobin/cases.jsonl");

/// A case's members, with their instance ids.
fn members_of(case: &Value) -> Vec<MemberSubscription> {
    case["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            let topics: Vec<&str> = m["topics"]
                .as_array()
                .expect("topics")
                .iter()
                .map(|t| t.as_str().expect("a topic"))
                .collect();
            let mut subscription = member(m["id"].as_str().expect("an id"), &topics);
            subscription.instance_id = m["instance"].as_str().map(str::to_string);
            subscription
        })
        .collect()
}

/// Each member's partitions as sorted names.
fn named(assignment: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
    assignment
        .iter()
        .map(|(m, ps)| {
            let mut ps = ps.clone();
            ps.sort();
            (m.clone(), ps)
        })
        .collect()
}

fn recorded(outcome: &Value) -> BTreeMap<String, Vec<String>> {
    let outcome: BTreeMap<String, Vec<String>> =
        serde_json::from_value(outcome.clone()).expect("member → partitions");
    named(&outcome)
}

#[test]
fn range_and_roundrobin_assign_every_recorded_case_as_kafkas_did() {
    let cases = cases(CASES);
    assert!(cases.len() >= 400, "the recorded cases are missing");
    let mut differing = Vec::new();
    for case in &cases {
        let members = members_of(case);
        let counts = counts_of(case);
        for (kind, key) in [
            (AssignorKind::Range, "range"),
            (AssignorKind::RoundRobin, "roundrobin"),
        ] {
            let ours = assign(kind, &members, &counts);
            let ours: BTreeMap<String, Vec<String>> = ours
                .iter()
                .map(|(m, ps)| (m.clone(), ps.iter().map(ToString::to_string).collect()))
                .collect();
            let ours = named(&ours);
            let theirs = match case.get(key) {
                Some(outcome) => recorded(outcome),
                // Kafka's RoundRobinAssignor throws on an empty group; ours assigns nothing.
                None => {
                    assert!(case.get(format!("{key}_error")).is_some());
                    BTreeMap::new()
                }
            };
            if ours != theirs {
                differing.push(format!(
                    "case {} {} ({key}): ours {ours:?}, Kafka's {theirs:?}",
                    case["seed"],
                    case.get("name").map_or(String::new(), ToString::to_string)
                ));
            }
        }
    }
    assert!(
        differing.is_empty(),
        "{} differences from Kafka:\n{}",
        differing.len(),
        differing.join("\n")
    );
}
