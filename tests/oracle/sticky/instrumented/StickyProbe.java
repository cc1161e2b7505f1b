package org.apache.kafka.clients.consumer.internals;

/** Our code (not Kafka's): branch counters bumped by the instrumented AbstractStickyAssignor copy. */
public final class StickyProbe {
    private StickyProbe() { }
    /** (a) balance() reverted to the pre-balance assignment (balance-score comparison branch taken). */
    public static int revertToPreBalance = 0;
    /** (a0) extra: the balance-score comparison was evaluated (!initializing && reassignmentPerformed). */
    public static int balanceScoreCompared = 0;
    /** (b) first performReassignments over unassigned partitions skipped because revocationRequired. */
    public static int skippedUnassignedPass = 0;
    /** (c) getTheActualPartitionToBeMoved returned a different partition picked from a set of size > 1. */
    public static int substitutedFromMultiple = 0;

    public static void reset() {
        revertToPreBalance = 0;
        balanceScoreCompared = 0;
        skippedUnassignedPass = 0;
        substitutedFromMultiple = 0;
    }
}
