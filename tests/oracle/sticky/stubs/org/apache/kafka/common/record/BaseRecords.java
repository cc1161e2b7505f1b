package org.apache.kafka.common.record;

/** STUB: only referenced by protocol Type's RECORDS types, never used by the assignors. */
public interface BaseRecords {
    int sizeInBytes();
}
