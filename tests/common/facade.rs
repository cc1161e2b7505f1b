//! Helpers for the tests of `kafkalite::rdkafka`.

use kafkalite::rdkafka::config::ClientConfig;

/// A temporary cluster with these topics (name, partitions), and the `bootstrap.servers`
/// that reaches it.
pub fn cluster_with(topics: &[(&str, i32)]) -> (kafkalite::Cluster, String) {
    let cluster = kafkalite::Cluster::temporary().unwrap();
    for (topic, partitions) in topics {
        cluster
            .create_topic(kafkalite::NewTopic::new(*topic, *partitions))
            .unwrap();
    }
    let servers = kafkalite::rdkafka::bootstrap_servers(&cluster);
    (cluster, servers)
}

/// A client configuration naming `servers`.
pub fn config(servers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", servers);
    config
}
