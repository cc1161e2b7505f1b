package org.apache.kafka.common.protocol;

/** STUB: only the two constants referenced by protocol.types.Struct (values as in Kafka). */
public final class MessageUtil {
    private MessageUtil() { }
    public static final long UNSIGNED_INT_MAX = 4294967295L;
    public static final int UNSIGNED_SHORT_MAX = 65535;
}
