package org.apache.kafka.common.requests;

/** STUB: only the constants referenced by ConsumerGroupMetadata (values as in Kafka). */
public final class JoinGroupRequest {
    private JoinGroupRequest() { }
    public static final String UNKNOWN_MEMBER_ID = "";
    public static final int UNKNOWN_GENERATION_ID = -1;
}
