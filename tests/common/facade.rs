//! Helpers for the tests of `kafkalite::rdkafka`.

use kafkalite::rdkafka::config::ClientConfig;

/// A temporary cluster with these topics (name, partitions), and the `bootstrap.servers`
/// that reaches it.
pub fn cluster_with(topics: &[(&str, i32)]) -> (kafkalite::Cluster, String) {
    with_topics(kafkalite::Cluster::temporary().unwrap(), topics)
}

fn with_topics(
    cluster: kafkalite::Cluster,
    topics: &[(&str, i32)],
) -> (kafkalite::Cluster, String) {
    for (topic, partitions) in topics {
        cluster
            .create_topic(kafkalite::NewTopic::new(*topic, *partitions))
            .unwrap();
    }
    let servers = kafkalite::rdkafka::bootstrap_servers(&cluster);
    (cluster, servers)
}

/// A temporary cluster on `clock` (no background work: what happens, happens in the
/// clients' calls) with these topics (name, partitions), and the `bootstrap.servers` that
/// reaches it.
pub fn cluster_on(
    clock: &kafkalite::MockClock,
    topics: &[(&str, i32)],
) -> (kafkalite::Cluster, String) {
    let cluster = kafkalite::Cluster::builder()
        .clock(std::sync::Arc::new(clock.clone()))
        .background(false)
        .temporary()
        .unwrap();
    with_topics(cluster, topics)
}

/// A client configuration naming `servers`.
pub fn config(servers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", servers);
    config
}
