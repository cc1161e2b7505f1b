//! `range` and `roundrobin` against Kafka's own `RangeAssignor` and `RoundRobinAssignor`:
//! 400 random groups (static and dynamic members, irregular ids, topics that do not exist)
//! and 12 written to probe an ordering rule each (one instance id twice, characters beyond
//! U+FFFF in ids and topic names, empty subscriptions, an empty group), recorded in
//! `tests/oracle/range-roundrobin/cases.jsonl` with Kafka's outcomes (see its README).

use super::tests::assign;
use super::tests_oracle::{cases, counts_of, members_of, named, recorded};
use super::*;

const CASES: &str = include_str!("../../../tests/oracle/range-roundrobin/cases.jsonl");

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
            let ours = named(&assign(kind, &members, &counts));
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
