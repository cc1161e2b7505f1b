package org.apache.kafka.common.utils;

import org.apache.kafka.common.KafkaException;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * STUB (ours): stands in for Kafka's Utils, whose dependency graph is large. Only the calls the
 * extracted classes make, written plainly; none is part of the assignment algorithm.
 */
public final class Utils {
    private Utils() { }

    public static String utf8(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    public static String utf8(ByteBuffer buffer, int offset, int length) {
        byte[] bytes = new byte[length];
        ByteBuffer view = buffer.duplicate();
        view.position(buffer.position() + offset);
        view.get(bytes);
        return utf8(bytes);
    }

    public static String utf8(ByteBuffer buffer, int length) {
        return utf8(buffer, 0, length);
    }

    public static String utf8(ByteBuffer buffer) {
        return utf8(buffer, 0, buffer.remaining());
    }

    public static byte[] utf8(String string) {
        return string.getBytes(StandardCharsets.UTF_8);
    }

    public static int utf8Length(CharSequence s) {
        return s.toString().getBytes(StandardCharsets.UTF_8).length;
    }

    public static <T> T newInstance(Class<T> type) {
        try {
            return type.getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new KafkaException("cannot make a " + type, e);
        }
    }

    public static <T> Class<? extends T> loadClass(String name, Class<T> base) throws ClassNotFoundException {
        return Class.forName(name).asSubclass(base);
    }
}
