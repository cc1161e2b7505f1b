#!/usr/bin/env bash
# Compile (1) the real build: Kafka sources + stubs -> classes/
#         (2) the instrumented build: same, but with instrumented/src's AbstractStickyAssignor copy
#             + StickyProbe instead of the real one -> instrumented/classes/ (kept fully separate)
#         (3) the harness (compiled against the real build) -> harness-classes/
set -euo pipefail
cd "$(dirname "$0")"
[ -d kafka-src ] || ./fetch-kafka.sh
# the real build must use Kafka's sources byte-for-byte
REPO=${KAFKA_MIRROR:-/work/.mirror/apache+kafka/repo}
REV=$(cat kafka-src/KAFKA_COMMIT)
(cd kafka-src && find . -name '*.java' | sed 's#^\./##') | while read -r f; do
  git -C "$REPO" show "$REV:clients/src/main/java/$f" | cmp -s - "kafka-src/$f" || { echo "kafka-src/$f differs from Kafka $REV" >&2; exit 1; }
done
./instrument.sh
JAVAC="javac -nowarn -Xlint:none -encoding UTF-8 --release 17"
ASA=kafka-src/org/apache/kafka/clients/consumer/internals/AbstractStickyAssignor.java

rm -rf classes instrumented/classes harness-classes
mkdir -p classes instrumented/classes harness-classes

$JAVAC -d classes $(find kafka-src stubs -name '*.java')

$JAVAC -d instrumented/classes \
  $(find kafka-src stubs -name '*.java' ! -path "$ASA") \
  $(find instrumented/src -name '*.java')

$JAVAC -cp classes -d harness-classes harness/Oracle.java
echo "built: classes/ (real), instrumented/classes/ (instrumented), harness-classes/"
