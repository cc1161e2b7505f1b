//! What `bootstrap.servers` names for the facade: a kafkalite data directory, or
//! `memory:NAME` (`memory:` alone is the name ""): a temporary cluster shared by every client
//! naming it while one is alive, removed when the last closes. Tests running in parallel
//! each take their own name. Clients naming the same cluster share one open handle, since a
//! directory can be open once per process; a cluster the test opened itself is shared
//! through [`bootstrap_servers`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use parking_lot::Mutex;

use super::error::{KafkaError, KafkaResult};
use crate::cluster::{Cluster, WeakCluster};
use crate::error::Error;

/// The clusters facade clients (or `bootstrap_servers`) have open, by canonical directory
/// or `memory:` name. Weak: a cluster closes when its last client and user handle drop.
fn registry() -> &'static Mutex<HashMap<String, WeakCluster>> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, WeakCluster>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// The `bootstrap.servers` value that connects facade clients to `cluster`, a cluster the
/// caller opened (with a mock clock, say): its directory, registered so that clients share
/// this handle instead of trying to open the directory again.
pub fn bootstrap_servers(cluster: &Cluster) -> String {
    let key = registry_key(cluster.dir());
    registry().lock().insert(key.clone(), cluster.downgrade());
    key
}

fn registry_key(dir: &Path) -> String {
    dir.canonicalize()
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string()
}

/// The cluster a client's configuration names: a mock cluster of its own under
/// `test.mock.num.brokers` (with its broker count), else what `bootstrap.servers` names.
pub(crate) fn connect_client(
    config: &super::config::ClientConfig,
) -> KafkaResult<(Cluster, Option<i32>)> {
    match config.mock_brokers() {
        Some(brokers) => {
            let cluster = Cluster::temporary()
                .map_err(|error| KafkaError::ClientCreation(format!("mock cluster: {error}")))?;
            Ok((cluster, Some(brokers)))
        }
        None => Ok((connect(config.servers()?)?, None)),
    }
}

/// The cluster `servers` names, opened if no client has it open yet.
pub(crate) fn connect(servers: &str) -> KafkaResult<Cluster> {
    let servers = servers.trim();
    let mut registry = registry().lock();
    registry.retain(|_, weak| weak.upgrade().is_some());
    if let Some(name) = servers.strip_prefix("memory:") {
        let key = format!("memory:{name}");
        if let Some(cluster) = registry.get(&key).and_then(WeakCluster::upgrade) {
            return Ok(cluster);
        }
        let cluster = Cluster::temporary().map_err(|error| creation_error(servers, &error))?;
        registry.insert(key, cluster.downgrade());
        return Ok(cluster);
    }
    let dir = PathBuf::from(servers);
    if !dir.is_dir() {
        return Err(KafkaError::ClientCreation(format!(
            "bootstrap.servers is \"{servers}\", which is not a directory: kafkalite's rdkafka \
             facade connects to a data directory (create it first, or open a Cluster and \
             pass kafkalite::rdkafka::bootstrap_servers(&cluster)), or to \"memory:\" / \
             \"memory:NAME\" for a temporary cluster"
        )));
    }
    let key = registry_key(&dir);
    if let Some(cluster) = registry.get(&key).and_then(WeakCluster::upgrade) {
        return Ok(cluster);
    }
    let cluster = Cluster::open(&dir).map_err(|error| creation_error(servers, &error))?;
    registry.insert(key, cluster.downgrade());
    Ok(cluster)
}

fn creation_error(servers: &str, error: &Error) -> KafkaError {
    let hint = match error {
        Error::Locked { .. } => {
            " (another process has it open; in this process, open the Cluster once and pass \
             kafkalite::rdkafka::bootstrap_servers(&cluster) to the clients)"
        }
        _ => "",
    };
    KafkaError::ClientCreation(format!(
        "cannot open the cluster in \"{servers}\": {error}{hint}"
    ))
}
