package org.apache.kafka.common.record;

import java.nio.ByteBuffer;

/** STUB: only referenced by protocol Type's RECORDS types, never used by the assignors. */
public class MemoryRecords implements BaseRecords {
    private final ByteBuffer buffer;
    private MemoryRecords(ByteBuffer buffer) { this.buffer = buffer; }
    public static MemoryRecords readableRecords(ByteBuffer buffer) { return new MemoryRecords(buffer); }
    public ByteBuffer buffer() { return buffer.duplicate(); }
    @Override public int sizeInBytes() { return buffer.limit(); }
}
