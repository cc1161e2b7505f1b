// Oracle harness: Apache Kafka's own RangeAssignor and RoundRobinAssignor (Kafka's classes,
// unmodified) run on random consumer groups, as the group leader's
// ConsumerCoordinator.onLeaderElected calls them: assignor.assign(Cluster, GroupSubscription),
// subscriptions in a HashMap keyed by member id, each Subscription made with
// (topics, userData=null, ownedPartitions=[], generationId=-1, rackId=Optional.empty()) and its
// group instance id set with setGroupInstanceId. The Cluster has one broker without a rack, so
// RangeAssignor's rack-aware path is never taken (no member has a rackId either).
//
// Usage:
//   java Oracle gen <firstSeed> <count> <out.jsonl> [<rawOrder.jsonl>]
//   java Oracle one <seed>                  (print one case's line)
//   java Oracle edge <out.jsonl>            (hand-written edge cases, see ../README.md)

import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Assignment;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.GroupSubscription;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Subscription;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.consumer.RoundRobinAssignor;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

import java.io.FileWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;

public class Oracle {

    static final class Member {
        final String id;
        final String instance;        // null: dynamic member
        final List<String> topics;    // sorted, may name topics that do not exist
        Member(String id, String instance, List<String> topics) {
            this.id = id; this.instance = instance; this.topics = topics;
        }
    }

    static final class Case {
        long seed;
        String name;                                              // edge cases only
        String note;                                              // edge cases only
        LinkedHashMap<String, Integer> topics = new LinkedHashMap<>();   // existing topics only
        List<Member> members = new ArrayList<>();
    }

    static final class Outcome {
        Map<String, List<TopicPartition>> raw;   // as Kafka returned it (list order kept)
        String error;
    }

    // ------------------------------------------------------------------ generator

    static int between(Random r, int lo, int hi) { return lo + r.nextInt(hi - lo + 1); }

    static <T> List<T> pick(Random r, List<T> from, int n) {
        List<T> copy = new ArrayList<>(from);
        Collections.shuffle(copy, r);
        return new ArrayList<>(copy.subList(0, n));
    }

    static List<String> subset(Random r, List<String> universe) {
        List<String> s = pick(r, universe, between(r, 1, universe.size()));
        Collections.sort(s);
        return s;
    }

    static Case generate(long seed) {
        Random r = new Random(seed);
        Case k = new Case();
        k.seed = seed;

        // topics: 1..4 of a,b,c,d, one sometimes replaced by t10; 1..8 partitions each
        List<String> names = pick(r, List.of("a", "b", "c", "d"), between(r, 1, 4));
        if (r.nextInt(4) == 0) names.set(r.nextInt(names.size()), "t10");
        Collections.sort(names);
        for (String t : names) k.topics.put(t, between(r, 1, 8));

        // member ids: regular c1..c6 (sometimes beyond c9, so that c10 < c2), or less regular ones
        int n = between(r, 1, 6);
        List<String> ids;
        int idStyle = r.nextInt(3);
        if (idStyle == 0) {
            List<String> pool = new ArrayList<>();
            for (int i = 1; i <= 6; i++) pool.add("c" + i);
            ids = pick(r, pool, n);
        } else if (idStyle == 1) {
            List<String> pool = new ArrayList<>();
            for (int i = 1; i <= 12; i++) pool.add("c" + i);
            ids = pick(r, pool, n);
        } else {
            TreeSet<String> chosen = new TreeSet<>();
            String[] prefixes = {"consumer-", "a-", "b-", "c", "x", "consumer-1-"};
            while (chosen.size() < n)
                chosen.add(prefixes[r.nextInt(prefixes.length)] + between(r, 0, 12));
            ids = new ArrayList<>(chosen);
            Collections.shuffle(ids, r);
        }

        // static members: none, all, or a mix; instance ids i<n> or inst-<n>, unrelated to member ids
        int staticMode = r.nextInt(10);           // 0-1 none, 2-3 all, else mix
        List<String> instPool = new ArrayList<>();
        for (int i = 1; i <= 12; i++) instPool.add(r.nextBoolean() ? "i" + i : "inst-" + i);
        Collections.shuffle(instPool, r);
        // (i<n> and inst-<n> for one n may both appear; they are distinct strings)

        // subscription universe: existing topics, sometimes one that does not exist
        List<String> universe = new ArrayList<>(names);
        if (r.nextInt(4) == 0) universe.add(new String[]{"e", "zz", "t2", "0"}[r.nextInt(4)]);
        boolean same = r.nextInt(4) == 0;
        List<String> sameSub = subset(r, universe);

        for (int i = 0; i < n; i++) {
            boolean isStatic = staticMode < 2 ? false : staticMode < 4 ? true : r.nextBoolean();
            String instance = isStatic ? instPool.get(i) : null;
            List<String> topics = same ? sameSub : subset(r, universe);
            k.members.add(new Member(ids.get(i), instance, topics));
        }
        return k;
    }

    // ------------------------------------------------------------------ driver

    static Cluster cluster(Case k) {
        Node node = new Node(0, "localhost", 9092);   // no rack
        List<PartitionInfo> parts = new ArrayList<>();
        for (Map.Entry<String, Integer> e : k.topics.entrySet())
            for (int p = 0; p < e.getValue(); p++)
                parts.add(new PartitionInfo(e.getKey(), p, node, new Node[]{node}, new Node[]{node}));
        return new Cluster("oracle", Collections.singletonList(node), parts,
                           Collections.emptySet(), Collections.emptySet());
    }

    /** As ConsumerCoordinator.onLeaderElected builds them: a HashMap keyed by member id. */
    static Map<String, Subscription> subscriptions(Case k) {
        Map<String, Subscription> subscriptions = new HashMap<>();
        for (Member m : k.members) {
            Subscription s = new Subscription(new ArrayList<>(m.topics), null, Collections.emptyList(), -1, Optional.empty());
            s.setGroupInstanceId(Optional.ofNullable(m.instance));
            subscriptions.put(m.id, s);
        }
        return subscriptions;
    }

    static Outcome run(ConsumerPartitionAssignor assignor, Case k) {
        Outcome o = new Outcome();
        try {
            Map<String, Assignment> ga = assignor.assign(cluster(k), new GroupSubscription(subscriptions(k))).groupAssignment();
            o.raw = new TreeMap<>();
            for (Map.Entry<String, Assignment> e : ga.entrySet())
                o.raw.put(e.getKey(), new ArrayList<>(e.getValue().partitions()));
        } catch (Throwable t) {
            o.error = t.getClass().getName() + ": " + t.getMessage();
        }
        return o;
    }

    static final Comparator<TopicPartition> TP_ORDER =
        Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition);

    /** Each partition of a subscribed existing topic exactly once, to a subscriber; every member present. */
    static String check(Case k, Outcome o) {
        if (o.error != null) return null;
        Map<TopicPartition, String> seen = new HashMap<>();
        for (Member m : k.members) {
            List<TopicPartition> l = o.raw.get(m.id);
            if (l == null) return "member " + m.id + " missing";
            for (TopicPartition tp : l) {
                if (!m.topics.contains(tp.topic())) return m.id + " got unsubscribed " + tp;
                String prev = seen.put(tp, m.id);
                if (prev != null) return tp + " to " + prev + " and " + m.id;
            }
        }
        if (o.raw.size() != k.members.size()) return "extra members in assignment " + o.raw.keySet();
        for (Member m : k.members)
            for (String t : m.topics)
                if (k.topics.containsKey(t))
                    for (int p = 0; p < k.topics.get(t); p++)
                        if (!seen.containsKey(new TopicPartition(t, p))) return "unassigned " + t + "-" + p;
        return null;
    }

    // ------------------------------------------------------------------ JSON

    static String q(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static String tpList(List<TopicPartition> l) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < l.size(); i++) {
            if (i > 0) b.append(',');
            b.append(q(l.get(i).topic() + "-" + l.get(i).partition()));
        }
        return b.append(']').toString();
    }

    static String assignmentJson(Map<String, List<TopicPartition>> raw, boolean sorted) {
        StringBuilder b = new StringBuilder("{");
        boolean first = true;
        for (Map.Entry<String, List<TopicPartition>> e : raw.entrySet()) {
            if (!first) b.append(',');
            first = false;
            List<TopicPartition> l = new ArrayList<>(e.getValue());
            if (sorted) l.sort(TP_ORDER);
            b.append(q(e.getKey())).append(':').append(tpList(l));
        }
        return b.append('}').toString();
    }

    static String line(Case k, Outcome range, Outcome rr) {
        StringBuilder b = new StringBuilder("{");
        if (k.name != null) b.append("\"name\":").append(q(k.name)).append(',');
        b.append("\"seed\":").append(k.seed).append(",\"topics\":{");
        boolean first = true;
        for (Map.Entry<String, Integer> e : k.topics.entrySet()) {
            if (!first) b.append(',');
            first = false;
            b.append(q(e.getKey())).append(':').append(e.getValue());
        }
        b.append("},\"members\":[");
        for (int i = 0; i < k.members.size(); i++) {
            Member m = k.members.get(i);
            if (i > 0) b.append(',');
            b.append("{\"id\":").append(q(m.id)).append(",\"instance\":").append(q(m.instance)).append(",\"topics\":[");
            for (int j = 0; j < m.topics.size(); j++) {
                if (j > 0) b.append(',');
                b.append(q(m.topics.get(j)));
            }
            b.append("]}");
        }
        b.append(']');
        if (range.error != null) b.append(",\"range_error\":").append(q(range.error));
        else b.append(",\"range\":").append(assignmentJson(range.raw, true));
        if (rr.error != null) b.append(",\"roundrobin_error\":").append(q(rr.error));
        else b.append(",\"roundrobin\":").append(assignmentJson(rr.raw, true));
        if (k.note != null) b.append(",\"note\":").append(q(k.note));
        return b.append('}').toString();
    }

    static String rawLine(Case k, Outcome range, Outcome rr) {
        return "{\"seed\":" + k.seed
            + ",\"range\":" + (range.error != null ? "null" : assignmentJson(range.raw, false))
            + ",\"roundrobin\":" + (rr.error != null ? "null" : assignmentJson(rr.raw, false)) + "}";
    }

    // ------------------------------------------------------------------ edge cases

    static Member m(String id, String instance, String... topics) {
        List<String> t = new ArrayList<>(List.of(topics));
        Collections.sort(t);
        return new Member(id, instance, t);
    }

    static Case edge(String name, String note, Map<String, Integer> topics, Member... members) {
        Case k = new Case();
        k.seed = -1;
        k.name = name;
        k.note = note;
        k.topics.putAll(topics);
        k.members.addAll(List.of(members));
        return k;
    }

    static List<Case> edgeCases() {
        List<Case> l = new ArrayList<>();
        String smile = "\uD83D\uDE00";   // U+1F600: UTF-16 D83D DE00, UTF-8 F0 9F 98 80
        String halfStop = "\uFF61";      // U+FF61:  UTF-16 FF61,      UTF-8 EF BD A1
        l.add(edge("duplicate-instance-id",
            "two members with one group.instance.id: compareTo ties, stable sort keeps HashMap order of member ids (b-11 before a-2)",
            Map.of("a", 3), m("a-2", "i1", "a"), m("b-11", "i1", "a")));
        l.add(edge("duplicate-instance-id-kafkalite-ids",
            "as above with kafkalite-style member ids (HashMap order consumer-2, consumer-1)",
            Map.of("a", 3, "b", 2), m("consumer-1", "inst-1", "a", "b"), m("consumer-2", "inst-1", "a", "b")));
        l.add(edge("non-bmp-member-ids",
            "dynamic members; Java String.compareTo (UTF-16 units) puts U+1F600 before U+FF61, UTF-8 byte order the reverse",
            Map.of("a", 3), m(halfStop + "-1", null, "a"), m(smile + "-2", null, "a")));
        l.add(edge("non-bmp-instance-ids",
            "static members; same UTF-16 vs UTF-8 order question on group.instance.id",
            Map.of("a", 3, "b", 1), m("c1", halfStop, "a", "b"), m("c2", smile, "a", "b")));
        l.add(edge("non-bmp-topic-names",
            "roundrobin walks topics in TreeSet (String.compareTo) order: U+1F600 topic before U+FF61 topic",
            new LinkedHashMap<>(Map.of(halfStop, 1, smile, 2)), m("c1", null, halfStop, smile), m("c2", null, halfStop, smile)));
        l.add(edge("empty-subscription",
            "a member subscribed to nothing (e.g. a pattern matching no topic) gets an empty list; roundrobin skips it",
            Map.of("a", 3, "b", 2), m("c1", null), m("c2", null, "a", "b"), m("c3", null, "a")));
        l.add(edge("only-missing-topic",
            "c1 subscribes only to a topic that does not exist",
            Map.of("a", 4), m("c1", null, "zz"), m("c2", "i9", "a", "zz"), m("c3", null, "a")));
        l.add(edge("all-subscriptions-empty", "nobody subscribes to anything",
            Map.of("a", 2), m("c1", null), m("c2", "i1")));
        l.add(edge("all-topics-missing", "every subscribed topic is missing",
            Map.of("a", 2), m("c1", null, "x"), m("c2", "i1", "y")));
        l.add(edge("no-members", "empty group (the coordinator never hands a leader one)",
            Map.of("a", 2)));
        l.add(edge("empty-instance-id", "group.instance.id \"\" counts as static and sorts first among statics",
            Map.of("a", 5), m("c1", "i1", "a"), m("c2", "", "a"), m("c3", null, "a")));
        l.add(edge("roundrobin-cursor-carries-over",
            "roundrobin's cursor carries over from topic to topic, skipping non-subscribers (Kafka's javadoc example)",
            new LinkedHashMap<>(Map.of("t0", 1, "t1", 2, "t2", 3)),
            m("C0", null, "t0"), m("C1", null, "t0", "t1"), m("C2", null, "t0", "t1", "t2")));
        return l;
    }

    // ------------------------------------------------------------------ main

    public static void main(String[] args) throws IOException {
        switch (args[0]) {
            case "gen": {
                long first = Long.parseLong(args[1]);
                int count = Integer.parseInt(args[2]);
                int rangeErrors = 0, rrErrors = 0, invalid = 0;
                try (PrintWriter out = new PrintWriter(new FileWriter(args[3]));
                     PrintWriter raw = args.length > 4 ? new PrintWriter(new FileWriter(args[4])) : null) {
                    for (int i = 0; i < count; i++) {
                        long seed = first + i;
                        Case k = generate(seed);
                        Outcome range = run(new RangeAssignor(), k);
                        Outcome rr = run(new RoundRobinAssignor(), k);
                        if (range.error != null) rangeErrors++;
                        if (rr.error != null) rrErrors++;
                        String bad1 = check(k, range), bad2 = check(k, rr);
                        if (bad1 != null || bad2 != null) {
                            invalid++;
                            System.out.println("seed " + seed + " INVALID range=" + bad1 + " roundrobin=" + bad2);
                        }
                        System.out.println("seed " + seed);
                        out.println(line(k, range, rr));
                        if (raw != null) raw.println(rawLine(k, range, rr));
                    }
                }
                System.out.println("cases=" + count + " range_errors=" + rangeErrors
                    + " roundrobin_errors=" + rrErrors + " invalid=" + invalid);
                break;
            }
            case "one": {
                Case k = generate(Long.parseLong(args[1]));
                System.out.println(line(k, run(new RangeAssignor(), k), run(new RoundRobinAssignor(), k)));
                break;
            }
            case "edge": {
                try (PrintWriter out = new PrintWriter(new FileWriter(args[1]))) {
                    for (Case k : edgeCases()) {
                        Outcome range = run(new RangeAssignor(), k);
                        Outcome rr = run(new RoundRobinAssignor(), k);
                        String l = line(k, range, rr);
                        System.out.println(l);
                        out.println(l);
                        System.out.println("  raw range=" + (range.raw == null ? null : range.raw)
                            + " roundrobin=" + (rr.raw == null ? null : rr.raw));
                    }
                }
                break;
            }
            default:
                throw new IllegalArgumentException(args[0]);
        }
    }
}
