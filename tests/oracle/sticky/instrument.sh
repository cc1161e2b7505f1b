#!/usr/bin/env bash
# Make an INSTRUMENTED COPY of Kafka's AbstractStickyAssignor in instrumented/src (the real
# kafka-src file is never modified). Only counter increments are inserted; no control flow or
# expression of Kafka's code is changed. Fails if any anchor is not found exactly once.
set -euo pipefail
cd "$(dirname "$0")"
SRC=kafka-src/org/apache/kafka/clients/consumer/internals/AbstractStickyAssignor.java
DST_DIR=instrumented/src/org/apache/kafka/clients/consumer/internals
rm -rf instrumented/src && mkdir -p "$DST_DIR"
cp instrumented/StickyProbe.java "$DST_DIR/StickyProbe.java"
perl -0777 -e '
  my $s = do { local $/; <STDIN> };
  sub rep { my ($from, $to, $name) = @_; my $n = () = $s =~ /\Q$from\E/g;
            die "anchor $name found $n times\n" unless $n == 1; $s =~ s/\Q$from\E/$to/; }
  # (a) balance() reverts to the pre-balance assignment
  rep("                deepCopy(preBalanceAssignment, currentAssignment);\n",
      "                StickyProbe.revertToPreBalance++;\n                deepCopy(preBalanceAssignment, currentAssignment);\n", "a");
  # (a0) extra: the balance-score comparison is evaluated at all (!initializing && reassignmentPerformed)
  rep("            if (!initializing && reassignmentPerformed && getBalanceScore(currentAssignment) >= getBalanceScore(preBalanceAssignment)) {\n",
      "            if (!initializing && reassignmentPerformed)\n                StickyProbe.balanceScoreCompared++;\n"
    . "            if (!initializing && reassignmentPerformed && getBalanceScore(currentAssignment) >= getBalanceScore(preBalanceAssignment)) {\n", "a0");
  # (b) first performReassignments(unassignedPartitions, ...) skipped because revocationRequired
  rep("            if (!revocationRequired) {\n                performReassignments(unassignedPartitions, prevAssignment);\n            }\n",
      "            if (!revocationRequired) {\n                performReassignments(unassignedPartitions, prevAssignment);\n            } else {\n                StickyProbe.skippedUnassignedPass++;\n            }\n", "b");
  # (c) getTheActualPartitionToBeMoved picks a different partition out of a set of >1 candidates
  rep("            return partitionMovementsForThisTopic.get(reversePair).iterator().next();\n",
      "            Set<TopicPartition> probeCandidates = partitionMovementsForThisTopic.get(reversePair);\n"
    . "            TopicPartition probePicked = probeCandidates.iterator().next();\n"
    . "            if (!probePicked.equals(partition) && probeCandidates.size() > 1)\n"
    . "                StickyProbe.substitutedFromMultiple++;\n"
    . "            return probePicked;\n", "c");
  print $s;
' < "$SRC" > "$DST_DIR/AbstractStickyAssignor.java"
diff -u "$SRC" "$DST_DIR/AbstractStickyAssignor.java" > instrumented/instrumentation.diff || true
echo "instrumented copy written; diff in instrumented/instrumentation.diff"
