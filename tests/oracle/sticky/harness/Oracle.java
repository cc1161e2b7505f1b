// Differential-test oracle harness for kafkalite's sticky assignors.
// This file is our own code: it only drives Apache Kafka's real assignors through their public API
// (ConsumerPartitionAssignor.assign(Cluster, GroupSubscription)) the way the group leader's
// ConsumerCoordinator.onLeaderElected does.
//
// Usage (classpath = harness-classes plus EITHER classes/ (real) OR instrumented/classes/):
//   java Oracle gen <masterSeed> <count> <out.jsonl> [--branches f.jsonl] [--rejected f.jsonl] [--print-hits]
//   java Oracle replay <in.jsonl> [--branches f.jsonl] [--print-hits] [--sticky-no-generation-id] [--reuse-assignor]
//   java Oracle one <caseSeed>            (print one generated case + Kafka's answer)
//   java Oracle scan <fromSeed> <count> <failures.jsonl>   (keep only inputs Kafka throws on / loops on)
//   common options: [--timeout-ms N] [--profile mixed|movers|wild|churn]
//
// Branch counters (a)(b)(c) are only available when the instrumented build is on the classpath
// (class org.apache.kafka.clients.consumer.internals.StickyProbe); they are read by reflection so
// this harness compiles and runs unchanged against the real build.

import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Assignment;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.GroupSubscription;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Subscription;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.StickyAssignor;
import org.apache.kafka.clients.consumer.internals.AbstractStickyAssignor;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

import java.io.BufferedReader;
import java.io.FileReader;
import java.io.FileWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

public class Oracle {

    // ------------------------------------------------------------------ model

    static final class Member {
        final String id;
        final List<String> topics;          // sorted
        final int generation;               // -1 = no generation (then owned is empty)
        final List<TopicPartition> owned;   // sorted by (topic, partition)

        Member(String id, List<String> topics, int generation, List<TopicPartition> owned) {
            this.id = id;
            this.topics = topics;
            this.generation = generation;
            this.owned = owned;
        }
    }

    static final class Case {
        long seed;
        String assignor;                                  // "sticky" | "cooperative-sticky"
        String profile = "?";                             // generator profile (not written to cases.jsonl)
        LinkedHashMap<String, Integer> topics = new LinkedHashMap<>();
        List<Member> members = new ArrayList<>();
    }

    static final class Result {
        TreeMap<String, List<TopicPartition>> assignment;
        boolean general;           // general (mixed-subscription) builder used
        int a, b, c;               // probe counters (-1 when not instrumented)
        int a0;                    // extra probe: balance-score comparison evaluated
        int kafkaErrorLogs;        // number of log.error calls Kafka made (stub logger counts them)
        String firstKafkaError;
    }

    // ------------------------------------------------------------------ options

    static boolean stickyNoGenerationId = false;   // experiment: omit Subscription.generationId for eager sticky
    static boolean reuseAssignor = false;          // experiment: one assignor instance for all cases (Kafka keeps maxGeneration)
    static String forceProfile = null;       // exploration only: force a generator profile
    static final Map<String, ConsumerPartitionAssignor> SHARED = new HashMap<>();

    // ------------------------------------------------------------------ generator

    static final String[] TOPIC_NAMES = {"a", "b", "c", "d"};
    /** Fixture mix: 50% "mixed", 35% "movers" (bias toward branch (c)), 15% "wild". */
    static String profileFor(Random r) {
        if (forceProfile != null) return forceProfile;
        int x = r.nextInt(100);
        return x < 50 ? "mixed" : x < 85 ? "movers" : "wild";
    }

    /** Generator knobs; a profile draws them per case from the case's own Random. */
    static final class Knobs {
        int minTopics = 1, maxTopics = 4;        // topics a..d
        int minParts = 1, maxParts = 6;          // partitions per topic
        int minMembers = 2, maxMembers = 5;      // members c1..c5
        int identicalSubsPct = 20;               // chance that every member has the same subscription
        int fullSubPct = 33;                     // per member: subscribe to every topic
        int ownerPct = 70;                       // per member: had an assignment before
        int olderPct = 33;                       // per owner: generation older than the group max
        int heavyExtraMin = 3, heavyExtraMax = 10;  // extra weight of the one "heavy" previous owner
        int unownedPct = 20;                     // per partition: nobody owned it before
        int revokePct = 25;                      // per partition: previous owner may be a non-subscriber
        int maxDoubles = 3;                      // older-generation double claims to attempt
        int doublesOnlySubscribers = 0;          // 1: second claimant must subscribe to the topic
        boolean moversShape = false;             // one heavy owner + one newcomer subscribed to everything,
                                                 // the other members to proper subsets (long move chains)
    }

    static Knobs knobs(String profile, Random r) {
        Knobs kn = new Knobs();
        switch (profile) {
            case "mixed":   // broad coverage of both builders
                kn.unownedPct = r.nextInt(40);
                kn.revokePct = r.nextInt(3) == 0 ? 0 : 10 + r.nextInt(40);
                kn.maxDoubles = r.nextInt(3) == 0 ? 0 : 3;
                break;
            case "churn":   // biased: one member held most of several shared topics, newcomers join
                kn.minTopics = 2; kn.maxTopics = 4;
                kn.minParts = 3; kn.maxParts = 6;
                kn.minMembers = 4; kn.maxMembers = 5;
                kn.identicalSubsPct = 0;
                kn.fullSubPct = 25;
                kn.ownerPct = 50;
                kn.olderPct = 50;
                kn.heavyExtraMin = 8; kn.heavyExtraMax = 17;
                kn.unownedPct = r.nextInt(20);
                kn.revokePct = 0;
                kn.maxDoubles = 8;
                kn.doublesOnlySubscribers = 1;
                break;
            case "movers":  // biased toward branch (c): see README "generator profiles"
                kn.minTopics = 2; kn.maxTopics = 4;
                kn.minParts = 4; kn.maxParts = 6;
                kn.minMembers = 3; kn.maxMembers = 5;
                kn.identicalSubsPct = 0;
                kn.fullSubPct = 0;
                kn.ownerPct = 40;
                kn.olderPct = 30;
                kn.heavyExtraMin = 15; kn.heavyExtraMax = 30;
                kn.unownedPct = 10 + r.nextInt(26);
                kn.revokePct = r.nextInt(2) == 0 ? 0 : r.nextInt(30);
                kn.maxDoubles = r.nextInt(3);
                kn.moversShape = true;
                break;
            case "wild":    // every knob uniformly random (exploration)
                kn.identicalSubsPct = r.nextInt(40);
                kn.fullSubPct = r.nextInt(60);
                kn.ownerPct = 20 + r.nextInt(80);
                kn.olderPct = r.nextInt(90);
                kn.heavyExtraMin = 0; kn.heavyExtraMax = r.nextInt(20);
                kn.unownedPct = r.nextInt(60);
                kn.revokePct = r.nextInt(60);
                kn.maxDoubles = r.nextInt(12);
                kn.doublesOnlySubscribers = r.nextInt(2);
                break;
            default:
                throw new IllegalArgumentException("unknown profile " + profile);
        }
        return kn;
    }

    static int between(Random r, int lo, int hi) { return lo + r.nextInt(hi - lo + 1); }

    static Case generate(long caseSeed) {
        Random r = new Random(caseSeed);
        String assignor = r.nextInt(5) < 3 ? "sticky" : "cooperative-sticky";
        String profile = profileFor(r);
        Case k = generate(caseSeed, assignor, r, knobs(profile, r));
        k.profile = profile;
        return k;
    }

    static Case generate(long caseSeed, String assignor, Random r, Knobs kn) {
        Case k = new Case();
        k.seed = caseSeed;
        k.assignor = assignor;
        boolean sticky = k.assignor.equals("sticky");

        int nTopics = between(r, kn.minTopics, kn.maxTopics);
        for (int i = 0; i < nTopics; i++)
            k.topics.put(TOPIC_NAMES[i], between(r, kn.minParts, kn.maxParts));
        List<String> allTopics = new ArrayList<>(k.topics.keySet());
        int nMembers = between(r, kn.minMembers, kn.maxMembers);

        // ---- subscriptions: sometimes identical, otherwise per-member random non-empty subsets
        List<List<String>> subs = new ArrayList<>();
        if (r.nextInt(100) < kn.identicalSubsPct) {
            List<String> same = randomSubset(r, allTopics, r.nextBoolean());
            for (int i = 0; i < nMembers; i++) subs.add(same);
        } else {
            for (int i = 0; i < nMembers; i++) subs.add(randomSubset(r, allTopics, r.nextInt(100) < kn.fullSubPct));
        }

        // ---- generations: members that owned something get 1..3, most at the group's max generation
        int maxGen = between(r, 1, 3);
        int[] gen = new int[nMembers];
        boolean[] owns = new boolean[nMembers];
        for (int i = 0; i < nMembers; i++) {
            owns[i] = r.nextInt(100) < kn.ownerPct;
            if (owns[i]) gen[i] = (maxGen > 1 && r.nextInt(100) < kn.olderPct) ? between(r, 1, maxGen - 1) : maxGen;
            else if (sticky) gen[i] = -1;                       // sticky: no ownership => no user data
            else gen[i] = r.nextInt(3) == 0 ? maxGen : -1;       // cooperative: new member, or member that got nothing
        }
        if (!anyTrue(owns)) { owns[0] = true; gen[0] = maxGen; }
        int forcedHeavy = -1;
        if (kn.moversShape) {
            // heavy owner and a newcomer both subscribe to every topic; nobody else does
            forcedHeavy = r.nextInt(nMembers);
            int newcomer = (forcedHeavy + 1 + r.nextInt(nMembers - 1)) % nMembers;
            for (int i = 0; i < nMembers; i++) {
                if (i == forcedHeavy || i == newcomer) subs.set(i, new ArrayList<>(allTopics));
                else if (subs.get(i).size() == allTopics.size()) subs.set(i, new ArrayList<>(allTopics.subList(1, allTopics.size())));
            }
            owns[forcedHeavy] = true; gen[forcedHeavy] = maxGen;
            owns[newcomer] = false; gen[newcomer] = sticky ? -1 : (r.nextBoolean() ? -1 : maxGen);
        }

        // ---- skewed weights => imbalance; the previous assignment is drawn partition by partition
        int[] weight = new int[nMembers];
        for (int i = 0; i < nMembers; i++) weight[i] = owns[i] ? 1 + r.nextInt(2) : 0;
        int heavy = forcedHeavy >= 0 ? forcedHeavy : pickWeighted(r, weight);
        weight[heavy] += between(r, kn.heavyExtraMin, Math.max(kn.heavyExtraMin, kn.heavyExtraMax));

        List<Set<TopicPartition>> owned = new ArrayList<>();
        for (int i = 0; i < nMembers; i++) owned.add(new LinkedHashSet<>());
        Map<TopicPartition, Integer> firstOwner = new HashMap<>();
        for (String t : allTopics) {
            for (int p = 0; p < k.topics.get(t); p++) {
                if (r.nextInt(100) < kn.unownedPct) continue;
                TopicPartition tp = new TopicPartition(t, p);
                boolean allowNonSubscriber = r.nextInt(100) < kn.revokePct;
                int[] w = weight.clone();
                if (!allowNonSubscriber)
                    for (int i = 0; i < nMembers; i++) if (!subs.get(i).contains(t)) w[i] = 0;
                int o = pickWeighted(r, w);
                if (o < 0) continue;
                owned.get(o).add(tp);
                firstOwner.put(tp, o);
            }
        }

        // ---- older-generation double claims (exactly two claimants, with different generations)
        int doubles = kn.maxDoubles == 0 ? 0 : r.nextInt(kn.maxDoubles + 1);
        List<TopicPartition> claimed = new ArrayList<>(firstOwner.keySet());
        claimed.sort(TP_ORDER);
        for (int d = 0; d < doubles && !claimed.isEmpty(); d++) {
            TopicPartition tp = claimed.get(r.nextInt(claimed.size()));
            if (claimants(owned, tp) >= 2) continue;
            int o = firstOwner.get(tp);
            List<Integer> cands = new ArrayList<>();
            for (int i = 0; i < nMembers; i++)
                if (i != o && owns[i] && gen[i] != gen[o] && !owned.get(i).contains(tp)
                        && (kn.doublesOnlySubscribers == 0 || subs.get(i).contains(tp.topic())))
                    cands.add(i);
            if (cands.isEmpty()) continue;
            owned.get(cands.get(r.nextInt(cands.size()))).add(tp);
        }

        for (int i = 0; i < nMembers; i++) {
            List<TopicPartition> ow = new ArrayList<>(owned.get(i));
            ow.sort(TP_ORDER);
            int g = ow.isEmpty() && sticky ? -1 : gen[i];   // sticky member with nothing owned sends no user data
            k.members.add(new Member("c" + (i + 1), subs.get(i), g, ow));
        }
        return k;
    }

    static boolean anyTrue(boolean[] b) { for (boolean x : b) if (x) return true; return false; }

    static int claimants(List<Set<TopicPartition>> owned, TopicPartition tp) {
        int n = 0;
        for (Set<TopicPartition> s : owned) if (s.contains(tp)) n++;
        return n;
    }

    static List<String> randomSubset(Random r, List<String> all, boolean full) {
        List<String> out = new ArrayList<>();
        if (full) { out.addAll(all); return out; }
        while (out.isEmpty())
            for (String t : all) if (r.nextBoolean()) out.add(t);
        Collections.sort(out);
        return out;
    }

    static int pickWeighted(Random r, int[] w) {
        int total = 0;
        for (int x : w) total += x;
        if (total <= 0) return -1;
        int x = r.nextInt(total);
        for (int i = 0; i < w.length; i++) {
            x -= w[i];
            if (x < 0) return i;
        }
        return -1;
    }

    static final java.util.Comparator<TopicPartition> TP_ORDER =
        java.util.Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition);

    // ------------------------------------------------------------------ running Kafka

    /** Thrown when Kafka's assignor does not return within the time limit (infinite loop). */
    static final class AssignorTimeout extends RuntimeException {
        AssignorTimeout(String m) { super(m); }
    }

    static long timeoutMs = 5000;

    static java.util.concurrent.ExecutorService worker;
    static volatile Thread workerThread;

    static java.util.concurrent.ExecutorService worker() {
        if (worker == null)
            worker = java.util.concurrent.Executors.newSingleThreadExecutor(rn -> {
                Thread t = new Thread(rn, "assignor-worker");
                t.setDaemon(true);
                workerThread = t;
                return t;
            });
        return worker;
    }

    /** Runs Kafka's assignor on a worker thread; a run that exceeds timeoutMs is stopped and reported. */
    @SuppressWarnings({"deprecation", "removal"})
    static Result run(Case k) {
        java.util.concurrent.Future<Result> f = worker().submit(() -> runDirect(k));
        try {
            return f.get(timeoutMs, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            Thread t = workerThread;
            worker.shutdownNow();
            worker = null;
            t.stop();   // Kafka's loop never checks for interruption; Thread.stop still works on JDK 17
            throw new AssignorTimeout("no result after " + timeoutMs + " ms (assignor loops forever)");
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException) throw (RuntimeException) c;
            if (c instanceof Error) throw (Error) c;
            throw new RuntimeException(c);
        } catch (InterruptedException e) {
            throw new RuntimeException(e);
        }
    }

    static Result runDirect(Case k) {
        boolean sticky = k.assignor.equals("sticky");

        // Cluster metadata as the leader's Metadata would hold it: one broker, no racks.
        Node node = new Node(0, "localhost", 9092);
        List<PartitionInfo> parts = new ArrayList<>();
        for (Map.Entry<String, Integer> e : k.topics.entrySet())
            for (int p = 0; p < e.getValue(); p++)
                parts.add(new PartitionInfo(e.getKey(), p, node, new Node[]{node}, new Node[]{node}));
        Cluster cluster = new Cluster("oracle", Collections.singletonList(node), parts,
                                      Collections.emptySet(), Collections.emptySet());

        // Subscriptions exactly as ConsumerCoordinator.metadata() builds them on each member and
        // ConsumerProtocol delivers them to the leader (HashMap keyed by member id, like onLeaderElected).
        Map<String, Subscription> subscriptions = new HashMap<>();
        for (Member m : k.members) {
            List<String> topics = new ArrayList<>(m.topics);
            Set<String> topicSet = new LinkedHashSet<>(m.topics);
            Subscription s;
            if (sticky) {
                // Each member's own StickyAssignor produces the user data after its last onAssignment().
                StickyAssignor own = new StickyAssignor();
                if (!m.owned.isEmpty())
                    own.onAssignment(new Assignment(new ArrayList<>(m.owned)),
                                     new ConsumerGroupMetadata("oracle-group", m.generation, m.id, Optional.empty()));
                ByteBuffer userData = own.subscriptionUserData(topicSet);   // null when never assigned
                // eager: all partitions were revoked before joining, so ownedPartitions is empty on the wire;
                // the coordinator still sends its generation (same one the assignor recorded).
                int wireGen = stickyNoGenerationId ? -1 : m.generation;
                s = new Subscription(topics, userData, Collections.emptyList(), wireGen, Optional.empty());
            } else {
                CooperativeStickyAssignor own = new CooperativeStickyAssignor();
                if (m.generation >= 0)
                    own.onAssignment(new Assignment(new ArrayList<>(m.owned)),
                                     new ConsumerGroupMetadata("oracle-group", m.generation, m.id, Optional.empty()));
                ByteBuffer userData = own.subscriptionUserData(topicSet);
                s = new Subscription(topics, userData, new ArrayList<>(m.owned), m.generation, Optional.empty());
            }
            subscriptions.put(m.id, s);
        }

        AbstractStickyAssignor assignor;
        if (reuseAssignor) {
            assignor = (AbstractStickyAssignor) SHARED.computeIfAbsent(k.assignor,
                n -> n.equals("sticky") ? new StickyAssignor() : new CooperativeStickyAssignor());
        } else {
            assignor = sticky ? new StickyAssignor() : new CooperativeStickyAssignor();
        }

        probeReset();
        int errBefore = loggerErrors();
        ConsumerPartitionAssignor.GroupAssignment ga = assignor.assign(cluster, new GroupSubscription(subscriptions));

        Result res = new Result();
        res.assignment = new TreeMap<>();
        for (Member m : k.members) {
            Assignment a = ga.groupAssignment().get(m.id);
            List<TopicPartition> l = a == null ? new ArrayList<>() : new ArrayList<>(a.partitions());
            l.sort(TP_ORDER);
            res.assignment.put(m.id, l);
        }
        res.general = assignor.partitionsTransferringOwnership() == null;
        int[] pc = probeRead();
        res.a = pc[0]; res.b = pc[1]; res.c = pc[2]; res.a0 = pc[3];
        res.kafkaErrorLogs = loggerErrors() - errBefore;
        res.firstKafkaError = res.kafkaErrorLogs > 0 ? loggerLastError() : null;
        return res;
    }

    /** Structural checks a leader would expect; returns a problem description or null. */
    static String validate(Case k, Result res) {
        Map<TopicPartition, String> seen = new HashMap<>();
        Set<String> subscribedAnywhere = new HashSet<>();
        for (Member m : k.members) subscribedAnywhere.addAll(m.topics);
        for (Member m : k.members) {
            for (TopicPartition tp : res.assignment.get(m.id)) {
                if (!m.topics.contains(tp.topic())) return m.id + " got unsubscribed " + tp;
                String prev = seen.put(tp, m.id);
                if (prev != null) return tp + " assigned to " + prev + " and " + m.id;
            }
        }
        if (k.assignor.equals("sticky")) {
            for (String t : subscribedAnywhere)
                for (int p = 0; p < k.topics.get(t); p++)
                    if (!seen.containsKey(new TopicPartition(t, p))) return "unassigned " + t + "-" + p;
        }
        return null;
    }

    // ------------------------------------------------------------------ probe / logger via reflection

    static Class<?> probe;
    static {
        try {
            probe = Class.forName("org.apache.kafka.clients.consumer.internals.StickyProbe");
        } catch (ClassNotFoundException e) {
            probe = null;
        }
    }

    static void probeReset() {
        if (probe == null) return;
        try { probe.getMethod("reset").invoke(null); } catch (ReflectiveOperationException e) { throw new RuntimeException(e); }
    }

    static int[] probeRead() {
        if (probe == null) return new int[]{-1, -1, -1, -1};
        try {
            return new int[]{
                probe.getField("revertToPreBalance").getInt(null),
                probe.getField("skippedUnassignedPass").getInt(null),
                probe.getField("substitutedFromMultiple").getInt(null),
                probe.getField("balanceScoreCompared").getInt(null)};
        } catch (ReflectiveOperationException e) { throw new RuntimeException(e); }
    }

    static int loggerErrors() {
        try { Field f = Class.forName("org.slf4j.Logger").getField("errorCount"); return f.getInt(null); }
        catch (ReflectiveOperationException e) { return 0; }
    }

    static String loggerLastError() {
        try { Field f = Class.forName("org.slf4j.Logger").getField("lastError"); return (String) f.get(null); }
        catch (ReflectiveOperationException e) { return null; }
    }

    // ------------------------------------------------------------------ JSON out

    static String tpStr(TopicPartition tp) { return tp.topic() + "-" + tp.partition(); }

    static String q(String s) { return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\""; }

    static String tpList(List<TopicPartition> l) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < l.size(); i++) { if (i > 0) sb.append(","); sb.append(q(tpStr(l.get(i)))); }
        return sb.append("]").toString();
    }

    static String toJson(Case k, Result res) {
        StringBuilder sb = new StringBuilder();
        sb.append("{\"seed\":").append(k.seed).append(",\"assignor\":").append(q(k.assignor)).append(",\"topics\":{");
        int i = 0;
        for (Map.Entry<String, Integer> e : k.topics.entrySet()) {
            if (i++ > 0) sb.append(",");
            sb.append(q(e.getKey())).append(":").append(e.getValue());
        }
        sb.append("},\"members\":[");
        for (int j = 0; j < k.members.size(); j++) {
            Member m = k.members.get(j);
            if (j > 0) sb.append(",");
            sb.append("{\"id\":").append(q(m.id)).append(",\"topics\":[");
            for (int t = 0; t < m.topics.size(); t++) { if (t > 0) sb.append(","); sb.append(q(m.topics.get(t))); }
            sb.append("],\"generation\":").append(m.generation).append(",\"owned\":").append(tpList(m.owned)).append("}");
        }
        sb.append("],\"kafka\":{");
        int n = 0;
        for (Member m : k.members) {
            if (n++ > 0) sb.append(",");
            sb.append(q(m.id)).append(":").append(tpList(res.assignment.get(m.id)));
        }
        return sb.append("}}").toString();
    }

    static String branchJson(Case k, Result res) {
        List<String> hit = new ArrayList<>();
        if (res.a > 0) hit.add("a");
        if (res.b > 0) hit.add("b");
        if (res.c > 0) hit.add("c");
        int owned = 0;
        for (Member m : k.members) owned += m.owned.size();
        int parts = 0;
        for (int p : k.topics.values()) parts += p;
        StringBuilder sb = new StringBuilder();
        sb.append("{\"seed\":").append(k.seed).append(",\"assignor\":").append(q(k.assignor))
          .append(",\"profile\":").append(q(k.profile))
          .append(",\"builder\":").append(q(res.general ? "general" : "constrained"))
          .append(",\"a\":").append(res.a).append(",\"a0_compared\":").append(res.a0).append(",\"b\":").append(res.b).append(",\"c\":").append(res.c)
          .append(",\"hits\":[");
        for (int i = 0; i < hit.size(); i++) { if (i > 0) sb.append(","); sb.append(q(hit.get(i))); }
        sb.append("],\"size\":{\"members\":").append(k.members.size()).append(",\"partitions\":").append(parts)
          .append(",\"owned\":").append(owned).append("}")
          .append(",\"kafka_error_logs\":").append(res.kafkaErrorLogs);
        String anomaly = validate(k, res);
        if (anomaly != null) sb.append(",\"anomaly\":").append(q(anomaly));
        if (res.firstKafkaError != null) sb.append(",\"kafka_error\":").append(q(res.firstKafkaError));
        return sb.append("}").toString();
    }

    // ------------------------------------------------------------------ tiny JSON reader (for replay)

    static final class JsonReader {
        final String s; int i = 0;
        JsonReader(String s) { this.s = s; }
        void ws() { while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++; }
        Object value() {
            ws();
            char c = s.charAt(i);
            if (c == '{') {
                LinkedHashMap<String, Object> m = new LinkedHashMap<>();
                i++; ws();
                if (s.charAt(i) == '}') { i++; return m; }
                while (true) {
                    ws(); String key = (String) value(); ws(); expect(':');
                    m.put(key, value()); ws();
                    if (s.charAt(i) == ',') { i++; continue; }
                    expect('}'); return m;
                }
            } else if (c == '[') {
                List<Object> l = new ArrayList<>();
                i++; ws();
                if (s.charAt(i) == ']') { i++; return l; }
                while (true) {
                    l.add(value()); ws();
                    if (s.charAt(i) == ',') { i++; continue; }
                    expect(']'); return l;
                }
            } else if (c == '"') {
                StringBuilder sb = new StringBuilder();
                i++;
                while (s.charAt(i) != '"') {
                    char ch = s.charAt(i++);
                    if (ch == '\\') ch = s.charAt(i++);
                    sb.append(ch);
                }
                i++;
                return sb.toString();
            } else {
                int st = i;
                while (i < s.length() && "-0123456789".indexOf(s.charAt(i)) >= 0) i++;
                return Long.parseLong(s.substring(st, i));
            }
        }
        void expect(char c) {
            if (s.charAt(i) != c) throw new IllegalArgumentException("expected " + c + " at " + i);
            i++;
        }
    }

    static TopicPartition parseTp(String s) {
        int d = s.lastIndexOf('-');
        return new TopicPartition(s.substring(0, d), Integer.parseInt(s.substring(d + 1)));
    }

    @SuppressWarnings("unchecked")
    static Object[] parseCase(String line) {
        Map<String, Object> o = (Map<String, Object>) new JsonReader(line).value();
        Case k = new Case();
        k.seed = (Long) o.get("seed");
        k.assignor = (String) o.get("assignor");
        for (Map.Entry<String, Object> e : ((Map<String, Object>) o.get("topics")).entrySet())
            k.topics.put(e.getKey(), ((Long) e.getValue()).intValue());
        for (Object mo : (List<Object>) o.get("members")) {
            Map<String, Object> m = (Map<String, Object>) mo;
            List<String> topics = new ArrayList<>();
            for (Object t : (List<Object>) m.get("topics")) topics.add((String) t);
            List<TopicPartition> owned = new ArrayList<>();
            for (Object t : (List<Object>) m.get("owned")) owned.add(parseTp((String) t));
            k.members.add(new Member((String) m.get("id"), topics, ((Long) m.get("generation")).intValue(), owned));
        }
        TreeMap<String, List<TopicPartition>> expected = new TreeMap<>();
        for (Map.Entry<String, Object> e : ((Map<String, Object>) o.get("kafka")).entrySet()) {
            List<TopicPartition> l = new ArrayList<>();
            for (Object t : (List<Object>) e.getValue()) l.add(parseTp((String) t));
            expected.put(e.getKey(), l);
        }
        return new Object[]{k, expected};
    }

    // ------------------------------------------------------------------ main

    static String inputJson(Case k) {
        Result empty = new Result();
        empty.assignment = new TreeMap<>();
        for (Member m : k.members) empty.assignment.put(m.id, new ArrayList<>());
        String j = toJson(k, empty);
        return j.substring(0, j.indexOf(",\"kafka\":"));
    }

    static String hitLine(Case k, Result res) {
        StringBuilder h = new StringBuilder();
        if (res.a > 0) h.append('a');
        if (res.b > 0) h.append('b');
        if (res.c > 0) h.append('c');
        int parts = 0;
        for (int p : k.topics.values()) parts += p;
        return k.seed + "\t" + k.assignor + "\t" + (res.general ? "general" : "constrained") + "\t"
            + (h.length() == 0 ? "-" : h.toString()) + "\tmembers=" + k.members.size() + "\tpartitions=" + parts
            + "\ta=" + res.a + "\tb=" + res.b + "\tc=" + res.c + "\tcompared=" + res.a0;
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 0) { usage(); System.exit(2); }
        String branchesOut = null, rejectedOut = null;
        boolean printHits = false;
        List<String> pos = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--branches": branchesOut = args[++i]; break;
                case "--rejected": rejectedOut = args[++i]; break;
                case "--print-hits": printHits = true; break;
                case "--timeout-ms": timeoutMs = Long.parseLong(args[++i]); break;
                case "--sticky-no-generation-id": stickyNoGenerationId = true; break;
                case "--reuse-assignor": reuseAssignor = true; break;
                case "--profile": forceProfile = args[++i]; break;
                default: pos.add(args[i]);
            }
        }
        String mode = pos.get(0);
        PrintWriter branches = branchesOut == null ? null : new PrintWriter(new FileWriter(branchesOut));
        if ((branches != null || printHits) && probe == null)
            System.err.println("warning: branch counters need the instrumented build on the classpath; they will read -1");
        int exit = 0;

        if (mode.equals("gen")) {
            long master = Long.parseLong(pos.get(1));
            int count = Integer.parseInt(pos.get(2));
            PrintWriter out = new PrintWriter(new FileWriter(pos.get(3)));
            PrintWriter rej = rejectedOut == null ? null : new PrintWriter(new FileWriter(rejectedOut));
            int emitted = 0, rejected = 0, anomalies = 0;
            int[] hits = new int[3];
            Map<String, Integer> rejectReasons = new TreeMap<>();
            for (long idx = 0; emitted < count; idx++) {
                long caseSeed = master * 1000 + idx;        // case i of master seed S has seed S*1000+i
                Case k = generate(caseSeed);
                Result res;
                try {
                    res = run(k);
                } catch (RuntimeException e) {
                    rejected++;
                    StackTraceElement top = e.getStackTrace().length > 0 ? e.getStackTrace()[0] : null;
                    String why = e.getClass().getSimpleName()
                        + (top != null && !(e instanceof AssignorTimeout) ? " at " + top.getClassName().replaceAll(".*\\.", "") + "." + top.getMethodName() : "")
                        + ": " + e.getMessage();
                    rejectReasons.merge(why, 1, Integer::sum);
                    if (rej != null) rej.println(inputJson(k) + ",\"profile\":" + q(k.profile) + ",\"error\":" + q(why) + "}");
                    continue;
                }
                if (validate(k, res) != null) anomalies++;
                out.println(toJson(k, res));
                if (branches != null) branches.println(branchJson(k, res));
                if (printHits) System.out.println(hitLine(k, res));
                if (res.a > 0) hits[0]++;
                if (res.b > 0) hits[1]++;
                if (res.c > 0) hits[2]++;
                emitted++;
            }
            out.close();
            if (rej != null) rej.close();
            System.out.println("emitted=" + emitted + " rejected=" + rejected
                + " kafka-output-anomalies=" + anomalies
                + (probe != null ? " hits(a,b,c)=" + hits[0] + "," + hits[1] + "," + hits[2] : ""));
            for (Map.Entry<String, Integer> e : rejectReasons.entrySet())
                System.out.println("  rejected x" + e.getValue() + ": " + e.getKey());
        } else if (mode.equals("replay")) {
            int n = 0, mismatch = 0, threw = 0;
            int[] hits = new int[3];
            try (BufferedReader br = new BufferedReader(new FileReader(pos.get(1)))) {
                String line;
                while ((line = br.readLine()) != null) {
                    if (line.isBlank()) continue;
                    Object[] pc = parseCase(line);
                    Case k = (Case) pc[0];
                    Case regenerated = generate(k.seed);
                    if (inputJson(regenerated).equals(inputJson(k))) k.profile = regenerated.profile;
                    @SuppressWarnings("unchecked")
                    TreeMap<String, List<TopicPartition>> expected = (TreeMap<String, List<TopicPartition>>) pc[1];
                    n++;
                    Result res;
                    try {
                        res = run(k);
                    } catch (RuntimeException e) {
                        threw++;
                        System.out.println("THREW " + k.seed + ": " + e);
                        continue;
                    }
                    if (!res.assignment.equals(expected)) {
                        mismatch++;
                        System.out.println("MISMATCH " + k.seed + " " + k.assignor + "\n  file: " + expected + "\n  now:  " + res.assignment);
                    }
                    if (branches != null) branches.println(branchJson(k, res));
                    if (printHits) System.out.println(hitLine(k, res));
                    if (res.a > 0) hits[0]++;
                    if (res.b > 0) hits[1]++;
                    if (res.c > 0) hits[2]++;
                }
            }
            System.out.println("replayed=" + n + " mismatches=" + mismatch + " threw=" + threw
                + (probe != null ? " hits(a,b,c)=" + hits[0] + "," + hits[1] + "," + hits[2] : ""));
            if (mismatch > 0 || threw > 0) exit = 1;
        } else if (mode.equals("scan")) {
            // exploration: run many generated cases, keep only the inputs Kafka rejects (throws / loops)
            long from = Long.parseLong(pos.get(1));
            long count = Long.parseLong(pos.get(2));
            PrintWriter out = new PrintWriter(new FileWriter(pos.get(3)));
            Map<String, Integer> reasons = new TreeMap<>();
            for (long sd = from; sd < from + count; sd++) {
                Case k = generate(sd);
                try {
                    run(k);
                } catch (RuntimeException e) {
                    StackTraceElement top = e.getStackTrace().length > 0 ? e.getStackTrace()[0] : null;
                    String why = e.getClass().getSimpleName()
                        + (top != null && !(e instanceof AssignorTimeout) ? " at " + top.getClassName().replaceAll(".*\\.", "") + "." + top.getMethodName() : "")
                        + ": " + e.getMessage();
                    reasons.merge(why, 1, Integer::sum);
                    out.println(inputJson(k) + ",\"profile\":" + q(k.profile) + ",\"error\":" + q(why) + "}");
                }
            }
            out.close();
            System.out.println("scanned=" + count);
            for (Map.Entry<String, Integer> e : reasons.entrySet())
                System.out.println("  x" + e.getValue() + ": " + e.getKey());
        } else if (mode.equals("one")) {
            Case k = generate(Long.parseLong(pos.get(1)));
            Result res = run(k);
            System.out.println(toJson(k, res));
            System.out.println(branchJson(k, res));
        } else {
            usage();
            exit = 2;
        }
        if (branches != null) branches.close();
        System.exit(exit);
    }

    static void usage() {
        System.err.println("usage: Oracle gen <masterSeed> <count> <out.jsonl> [--branches f] [--rejected f] [--print-hits]\n"
            + "       Oracle replay <in.jsonl> [--branches f] [--print-hits] [--sticky-no-generation-id] [--reuse-assignor]\n"
            + "       Oracle one <caseSeed>\n"
            + "       Oracle scan <fromSeed> <count> <failures.jsonl>\n"
            + "  common: [--timeout-ms N] [--profile mixed|movers|wild|churn]");
    }
}
