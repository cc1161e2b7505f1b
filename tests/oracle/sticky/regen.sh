#!/usr/bin/env bash
# Regenerate the fixture and cross-check the real and instrumented builds.
#   ./regen.sh [masterSeed=20261207] [count=400]
set -euo pipefail
cd "$(dirname "$0")"
SEED=${1:-20261207}
COUNT=${2:-400}
JAVA="java -XX:-OmitStackTraceInFastThrow"
REAL=harness-classes:classes                 # Kafka's unmodified assignors
INST=harness-classes:instrumented/classes    # instrumented copy of AbstractStickyAssignor
mkdir -p work

echo "== 1. fixture from the REAL build"
$JAVA -cp $REAL Oracle gen "$SEED" "$COUNT" cases.jsonl --rejected rejected.jsonl | tee work/gen-real.log

echo "== 2. same generation with the INSTRUMENTED build (must be byte-identical)"
$JAVA -cp $INST Oracle gen "$SEED" "$COUNT" work/cases-instrumented.jsonl \
      --rejected work/rejected-instrumented.jsonl --branches branches.jsonl | tee work/gen-instrumented.log
cmp cases.jsonl work/cases-instrumented.jsonl
cmp rejected.jsonl work/rejected-instrumented.jsonl
echo "outputs identical: real vs instrumented"

echo "== 3. replay cases.jsonl through the INSTRUMENTED build (JSON round trip + per-case branch hits)"
$JAVA -cp $INST Oracle replay cases.jsonl --print-hits > hits.tsv
tail -1 hits.tsv

echo "== 4. replay cases.jsonl through the REAL build (determinism)"
$JAVA -cp $REAL Oracle replay cases.jsonl
