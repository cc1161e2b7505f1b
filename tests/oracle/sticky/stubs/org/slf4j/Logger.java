package org.slf4j;

/**
 * STUB (not Kafka/slf4j code): minimal logger. Messages are discarded, except that
 * error/warn calls are counted so the oracle harness can notice Kafka's internal complaints.
 * Set -Dstub.log=LEVEL (error|warn|info|debug) to print to stderr.
 */
public class Logger {
    public static int errorCount = 0;
    public static int warnCount = 0;
    public static String lastError = null;
    private static final int LEVEL = level(System.getProperty("stub.log", "off"));
    private final String name;

    Logger(String name) { this.name = name; }

    private static int level(String s) {
        switch (s) {
            case "trace": return 5;
            case "debug": return 4;
            case "info": return 3;
            case "warn": return 2;
            case "error": return 1;
            default: return 0;
        }
    }

    private void emit(int lvl, String tag, String fmt, Object... args) {
        if (LEVEL < lvl) return;
        StringBuilder sb = new StringBuilder();
        int ai = 0;
        for (int i = 0; i < fmt.length(); i++) {
            if (fmt.startsWith("{}", i) && ai < args.length) { sb.append(args[ai++]); i++; }
            else sb.append(fmt.charAt(i));
        }
        System.err.println("[" + tag + "] " + name + ": " + sb);
    }

    public boolean isTraceEnabled() { return LEVEL >= 5; }
    public boolean isDebugEnabled() { return LEVEL >= 4; }
    public boolean isInfoEnabled() { return LEVEL >= 3; }
    public void trace(String fmt, Object... args) { emit(5, "TRACE", fmt, args); }
    public void debug(String fmt, Object... args) { emit(4, "DEBUG", fmt, args); }
    public void info(String fmt, Object... args) { emit(3, "INFO", fmt, args); }
    public void warn(String fmt, Object... args) { warnCount++; emit(2, "WARN", fmt, args); }
    public void error(String fmt, Object... args) { errorCount++; lastError = fmt; emit(1, "ERROR", fmt, args); }
}
