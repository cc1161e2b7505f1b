package org.slf4j;

/** STUB (not slf4j code): hands out the no-op/counting stub Logger. */
public final class LoggerFactory {
    private LoggerFactory() { }
    public static Logger getLogger(Class<?> clazz) { return new Logger(clazz.getName()); }
    public static Logger getLogger(String name) { return new Logger(name); }
}
