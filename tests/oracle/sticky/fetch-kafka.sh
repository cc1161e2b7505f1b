#!/usr/bin/env bash
# Extract the unmodified Kafka client sources needed to run StickyAssignor / CooperativeStickyAssignor
# from the local bare mirror into ./kafka-src. Nothing is edited.
set -euo pipefail
cd "$(dirname "$0")"
REPO=${KAFKA_MIRROR:-/work/.mirror/apache+kafka/repo}
REV=${KAFKA_REV:-HEAD}
P=clients/src/main/java
FILES=(
  # algorithm classes (must be Kafka's own, unmodified)
  org/apache/kafka/clients/consumer/ConsumerPartitionAssignor.java
  org/apache/kafka/clients/consumer/StickyAssignor.java
  org/apache/kafka/clients/consumer/CooperativeStickyAssignor.java
  org/apache/kafka/clients/consumer/internals/AbstractPartitionAssignor.java
  org/apache/kafka/clients/consumer/internals/AbstractStickyAssignor.java
  org/apache/kafka/clients/consumer/internals/Utils.java
  # supporting types
  org/apache/kafka/clients/consumer/ConsumerGroupMetadata.java
  org/apache/kafka/common/TopicPartition.java
  org/apache/kafka/common/TopicIdPartition.java
  org/apache/kafka/common/Uuid.java
  org/apache/kafka/common/PartitionInfo.java
  org/apache/kafka/common/Node.java
  org/apache/kafka/common/Cluster.java
  org/apache/kafka/common/ClusterResource.java
  org/apache/kafka/common/Configurable.java
  org/apache/kafka/common/KafkaException.java
  org/apache/kafka/common/utils/CollectionUtils.java
  org/apache/kafka/common/utils/ByteUtils.java
  # protocol types used by StickyAssignor's user-data (de)serialization
  org/apache/kafka/common/protocol/types/ArrayOf.java
  org/apache/kafka/common/protocol/types/BoundField.java
  org/apache/kafka/common/protocol/types/CompactArrayOf.java
  org/apache/kafka/common/protocol/types/Field.java
  org/apache/kafka/common/protocol/types/RawTaggedField.java
  org/apache/kafka/common/protocol/types/Schema.java
  org/apache/kafka/common/protocol/types/SchemaException.java
  org/apache/kafka/common/protocol/types/Struct.java
  org/apache/kafka/common/protocol/types/TaggedFields.java
  org/apache/kafka/common/protocol/types/Type.java
)
rm -rf kafka-src
for f in "${FILES[@]}"; do
  mkdir -p "kafka-src/$(dirname "$f")"
  git -C "$REPO" show "$REV:$P/$f" > "kafka-src/$f"
done
git -C "$REPO" rev-parse "$REV" > kafka-src/KAFKA_COMMIT
echo "extracted ${#FILES[@]} files at $(cat kafka-src/KAFKA_COMMIT)"
