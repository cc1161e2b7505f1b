//! librdkafka's configuration properties (its CONFIGURATION.md, global and topic tables):
//! what a client configuration may name, where it applies (`C` consumer, `P` producer, `*`
//! both) and what values it takes. Generated from librdkafka's CONFIGURATION.md; keep it
//! that way rather than editing by hand.

use super::config::{Kind, Property};

/// Every property librdkafka knows, in its documentation's order.
pub(super) static PROPERTIES: &[Property] = &[
    Property {
        name: "builtin.features",
        scope: b'*',
        kind: Kind::Flags(&[]),
    },
    Property {
        name: "client.id",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "metadata.broker.list",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "bootstrap.servers",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "message.max.bytes",
        scope: b'*',
        kind: Kind::Int(1000, 1000000000),
    },
    Property {
        name: "message.copy.max.bytes",
        scope: b'*',
        kind: Kind::Int(0, 1000000000),
    },
    Property {
        name: "receive.message.max.bytes",
        scope: b'*',
        kind: Kind::Int(1000, 2147483647),
    },
    Property {
        name: "max.in.flight.requests.per.connection",
        scope: b'*',
        kind: Kind::Int(1, 1000000),
    },
    Property {
        name: "max.in.flight",
        scope: b'*',
        kind: Kind::Int(1, 1000000),
    },
    Property {
        name: "metadata.recovery.strategy",
        scope: b'*',
        kind: Kind::Enum(&["none", "rebootstrap"]),
    },
    Property {
        name: "metadata.recovery.rebootstrap.trigger.ms",
        scope: b'*',
        kind: Kind::Int(0, 2147483647),
    },
    Property {
        name: "topic.metadata.refresh.interval.ms",
        scope: b'*',
        kind: Kind::Int(-1, 3600000),
    },
    Property {
        name: "metadata.max.age.ms",
        scope: b'*',
        kind: Kind::Int(1, 86400000),
    },
    Property {
        name: "topic.metadata.refresh.fast.interval.ms",
        scope: b'*',
        kind: Kind::Int(1, 60000),
    },
    Property {
        name: "topic.metadata.refresh.fast.cnt",
        scope: b'*',
        kind: Kind::Int(0, 1000),
    },
    Property {
        name: "topic.metadata.refresh.sparse",
        scope: b'*',
        kind: Kind::Bool,
    },
    Property {
        name: "topic.metadata.propagation.max.ms",
        scope: b'*',
        kind: Kind::Int(0, 3600000),
    },
    Property {
        name: "topic.blacklist",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "debug",
        scope: b'*',
        kind: Kind::Flags(&[
            "generic",
            "broker",
            "topic",
            "metadata",
            "feature",
            "queue",
            "msg",
            "protocol",
            "cgrp",
            "security",
            "fetch",
            "interceptor",
            "plugin",
            "consumer",
            "admin",
            "eos",
            "mock",
            "assignor",
            "conf",
            "telemetry",
            "all",
        ]),
    },
    Property {
        name: "socket.timeout.ms",
        scope: b'*',
        kind: Kind::Int(10, 300000),
    },
    Property {
        name: "socket.blocking.max.ms",
        scope: b'*',
        kind: Kind::Int(1, 60000),
    },
    Property {
        name: "socket.send.buffer.bytes",
        scope: b'*',
        kind: Kind::Int(0, 100000000),
    },
    Property {
        name: "socket.receive.buffer.bytes",
        scope: b'*',
        kind: Kind::Int(0, 100000000),
    },
    Property {
        name: "socket.keepalive.enable",
        scope: b'*',
        kind: Kind::Bool,
    },
    Property {
        name: "socket.nagle.disable",
        scope: b'*',
        kind: Kind::Bool,
    },
    Property {
        name: "socket.max.fails",
        scope: b'*',
        kind: Kind::Int(0, 1000000),
    },
    Property {
        name: "broker.address.ttl",
        scope: b'*',
        kind: Kind::Int(0, 86400000),
    },
    Property {
        name: "broker.address.family",
        scope: b'*',
        kind: Kind::Enum(&["any", "v4", "v6"]),
    },
    Property {
        name: "socket.connection.setup.timeout.ms",
        scope: b'*',
        kind: Kind::Int(1000, 2147483647),
    },
    Property {
        name: "connections.max.idle.ms",
        scope: b'*',
        kind: Kind::Int(0, 2147483647),
    },
    Property {
        name: "reconnect.backoff.jitter.ms",
        scope: b'*',
        kind: Kind::Int(0, 3600000),
    },
    Property {
        name: "reconnect.backoff.ms",
        scope: b'*',
        kind: Kind::Int(0, 3600000),
    },
    Property {
        name: "reconnect.backoff.max.ms",
        scope: b'*',
        kind: Kind::Int(0, 3600000),
    },
    Property {
        name: "statistics.interval.ms",
        scope: b'*',
        kind: Kind::Int(0, 86400000),
    },
    Property {
        name: "enabled_events",
        scope: b'*',
        kind: Kind::Int(0, 2147483647),
    },
    Property {
        name: "error_cb",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "throttle_cb",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "stats_cb",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "log_cb",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "log_level",
        scope: b'*',
        kind: Kind::Int(0, 7),
    },
    Property {
        name: "log.queue",
        scope: b'*',
        kind: Kind::Bool,
    },
    Property {
        name: "log.thread.name",
        scope: b'*',
        kind: Kind::Bool,
    },
    Property {
        name: "enable.random.seed",
        scope: b'*',
        kind: Kind::Bool,
    },
    Property {
        name: "log.connection.close",
        scope: b'*',
        kind: Kind::Bool,
    },
    Property {
        name: "background_event_cb",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "socket_cb",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "connect_cb",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "closesocket_cb",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "open_cb",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "resolve_cb",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "opaque",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "default_topic_conf",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "internal.termination.signal",
        scope: b'*',
        kind: Kind::Int(0, 128),
    },
    Property {
        name: "api.version.request",
        scope: b'*',
        kind: Kind::Bool,
    },
    Property {
        name: "api.version.request.timeout.ms",
        scope: b'*',
        kind: Kind::Int(1, 300000),
    },
    Property {
        name: "api.version.fallback.ms",
        scope: b'*',
        kind: Kind::Int(0, 604800000),
    },
    Property {
        name: "broker.version.fallback",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "allow.auto.create.topics",
        scope: b'*',
        kind: Kind::Bool,
    },
    Property {
        name: "security.protocol",
        scope: b'*',
        kind: Kind::Enum(&["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"]),
    },
    Property {
        name: "ssl.cipher.suites",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl.curves.list",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl.sigalgs.list",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl.key.location",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl.key.password",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl.key.pem",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl_key",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "ssl.certificate.location",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl.certificate.pem",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl_certificate",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "ssl.ca.location",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "https.ca.location",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "https.ca.pem",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl.ca.pem",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl_ca",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "ssl.ca.certificate.stores",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl.crl.location",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl.keystore.location",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl.keystore.password",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl.providers",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl.engine.location",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl.engine.id",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "ssl_engine_callback_data",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "enable.ssl.certificate.verification",
        scope: b'*',
        kind: Kind::Bool,
    },
    Property {
        name: "ssl.endpoint.identification.algorithm",
        scope: b'*',
        kind: Kind::Enum(&["none", "https"]),
    },
    Property {
        name: "ssl.certificate.verify_cb",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "sasl.mechanisms",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.mechanism",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.kerberos.service.name",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.kerberos.principal",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.kerberos.kinit.cmd",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.kerberos.keytab",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.kerberos.min.time.before.relogin",
        scope: b'*',
        kind: Kind::Int(0, 86400000),
    },
    Property {
        name: "sasl.username",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.password",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.config",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "enable.sasl.oauthbearer.unsecure.jwt",
        scope: b'*',
        kind: Kind::Bool,
    },
    Property {
        name: "oauthbearer_token_refresh_cb",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "sasl.oauthbearer.method",
        scope: b'*',
        kind: Kind::Enum(&["default", "oidc"]),
    },
    Property {
        name: "sasl.oauthbearer.client.id",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.client.credentials.client.id",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.client.credentials.client.secret",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.client.secret",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.scope",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.extensions",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.token.endpoint.url",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.sub.claim.name",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.grant.type",
        scope: b'*',
        kind: Kind::Enum(&[
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
        ]),
    },
    Property {
        name: "sasl.oauthbearer.assertion.algorithm",
        scope: b'*',
        kind: Kind::Enum(&["RS256", "ES256"]),
    },
    Property {
        name: "sasl.oauthbearer.assertion.private.key.file",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.assertion.private.key.passphrase",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.assertion.private.key.pem",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.assertion.file",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.assertion.claim.aud",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.assertion.claim.exp.seconds",
        scope: b'*',
        kind: Kind::Int(1, 2147483647),
    },
    Property {
        name: "sasl.oauthbearer.assertion.claim.iss",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.assertion.claim.jti.include",
        scope: b'*',
        kind: Kind::Bool,
    },
    Property {
        name: "sasl.oauthbearer.assertion.claim.nbf.seconds",
        scope: b'*',
        kind: Kind::Int(0, 2147483647),
    },
    Property {
        name: "sasl.oauthbearer.assertion.claim.sub",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.assertion.jwt.template.file",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "sasl.oauthbearer.metadata.authentication.type",
        scope: b'*',
        kind: Kind::Enum(&["none", "azure_imds", "aws_iam"]),
    },
    Property {
        name: "plugin.library.paths",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "interceptors",
        scope: b'*',
        kind: Kind::Api,
    },
    Property {
        name: "group.id",
        scope: b'C',
        kind: Kind::Str,
    },
    Property {
        name: "group.instance.id",
        scope: b'C',
        kind: Kind::Str,
    },
    Property {
        name: "partition.assignment.strategy",
        scope: b'C',
        kind: Kind::Str,
    },
    Property {
        name: "session.timeout.ms",
        scope: b'C',
        kind: Kind::Int(1, 3600000),
    },
    Property {
        name: "heartbeat.interval.ms",
        scope: b'C',
        kind: Kind::Int(1, 3600000),
    },
    Property {
        name: "group.protocol.type",
        scope: b'C',
        kind: Kind::Str,
    },
    Property {
        name: "group.protocol",
        scope: b'C',
        kind: Kind::Enum(&["classic", "consumer"]),
    },
    Property {
        name: "group.remote.assignor",
        scope: b'C',
        kind: Kind::Str,
    },
    Property {
        name: "coordinator.query.interval.ms",
        scope: b'C',
        kind: Kind::Int(1, 3600000),
    },
    Property {
        name: "max.poll.interval.ms",
        scope: b'C',
        kind: Kind::Int(1, 86400000),
    },
    Property {
        name: "enable.auto.commit",
        scope: b'C',
        kind: Kind::Bool,
    },
    Property {
        name: "auto.commit.interval.ms",
        scope: b'C',
        kind: Kind::Int(0, 86400000),
    },
    Property {
        name: "enable.auto.offset.store",
        scope: b'C',
        kind: Kind::Bool,
    },
    Property {
        name: "queued.min.messages",
        scope: b'C',
        kind: Kind::Int(1, 10000000),
    },
    Property {
        name: "queued.max.messages.kbytes",
        scope: b'C',
        kind: Kind::Int(1, 2097151),
    },
    Property {
        name: "fetch.wait.max.ms",
        scope: b'C',
        kind: Kind::Int(0, 300000),
    },
    Property {
        name: "fetch.queue.backoff.ms",
        scope: b'C',
        kind: Kind::Int(0, 300000),
    },
    Property {
        name: "fetch.message.max.bytes",
        scope: b'C',
        kind: Kind::Int(1, 1000000000),
    },
    Property {
        name: "max.partition.fetch.bytes",
        scope: b'C',
        kind: Kind::Int(1, 1000000000),
    },
    Property {
        name: "fetch.max.bytes",
        scope: b'C',
        kind: Kind::Int(0, 2147483135),
    },
    Property {
        name: "fetch.min.bytes",
        scope: b'C',
        kind: Kind::Int(0, 2147483647),
    },
    Property {
        name: "fetch.error.backoff.ms",
        scope: b'C',
        kind: Kind::Int(0, 300000),
    },
    Property {
        name: "offset.store.method",
        scope: b'C',
        kind: Kind::Enum(&["none", "file", "broker"]),
    },
    Property {
        name: "isolation.level",
        scope: b'C',
        kind: Kind::Enum(&["read_uncommitted", "read_committed"]),
    },
    Property {
        name: "consume_cb",
        scope: b'C',
        kind: Kind::Api,
    },
    Property {
        name: "rebalance_cb",
        scope: b'C',
        kind: Kind::Api,
    },
    Property {
        name: "offset_commit_cb",
        scope: b'C',
        kind: Kind::Api,
    },
    Property {
        name: "enable.partition.eof",
        scope: b'C',
        kind: Kind::Bool,
    },
    Property {
        name: "check.crcs",
        scope: b'C',
        kind: Kind::Bool,
    },
    Property {
        name: "client.rack",
        scope: b'*',
        kind: Kind::Str,
    },
    Property {
        name: "max.poll.records",
        scope: b'C',
        kind: Kind::Int(1, 2147483647),
    },
    Property {
        name: "share.acknowledgement.mode",
        scope: b'C',
        kind: Kind::Str,
    },
    Property {
        name: "transactional.id",
        scope: b'P',
        kind: Kind::Str,
    },
    Property {
        name: "transaction.timeout.ms",
        scope: b'P',
        kind: Kind::Int(1000, 2147483647),
    },
    Property {
        name: "enable.idempotence",
        scope: b'P',
        kind: Kind::Bool,
    },
    Property {
        name: "enable.gapless.guarantee",
        scope: b'P',
        kind: Kind::Bool,
    },
    Property {
        name: "queue.buffering.max.messages",
        scope: b'P',
        kind: Kind::Int(0, 2147483647),
    },
    Property {
        name: "queue.buffering.max.kbytes",
        scope: b'P',
        kind: Kind::Int(1, 2147483647),
    },
    Property {
        name: "queue.buffering.max.ms",
        scope: b'P',
        kind: Kind::Float(0.0, 900000.0),
    },
    Property {
        name: "linger.ms",
        scope: b'P',
        kind: Kind::Float(0.0, 900000.0),
    },
    Property {
        name: "message.send.max.retries",
        scope: b'P',
        kind: Kind::Int(0, 2147483647),
    },
    Property {
        name: "retries",
        scope: b'P',
        kind: Kind::Int(0, 2147483647),
    },
    Property {
        name: "retry.backoff.ms",
        scope: b'*',
        kind: Kind::Int(1, 300000),
    },
    Property {
        name: "retry.backoff.max.ms",
        scope: b'*',
        kind: Kind::Int(1, 300000),
    },
    Property {
        name: "queue.buffering.backpressure.threshold",
        scope: b'P',
        kind: Kind::Int(1, 1000000),
    },
    Property {
        name: "compression.codec",
        scope: b'P',
        kind: Kind::Enum(&["none", "gzip", "snappy", "lz4", "zstd"]),
    },
    Property {
        name: "compression.type",
        scope: b'P',
        kind: Kind::Enum(&["none", "gzip", "snappy", "lz4", "zstd"]),
    },
    Property {
        name: "batch.num.messages",
        scope: b'P',
        kind: Kind::Int(1, 1000000),
    },
    Property {
        name: "batch.size",
        scope: b'P',
        kind: Kind::Int(1, 2147483647),
    },
    Property {
        name: "delivery.report.only.error",
        scope: b'P',
        kind: Kind::Bool,
    },
    Property {
        name: "dr_cb",
        scope: b'P',
        kind: Kind::Api,
    },
    Property {
        name: "dr_msg_cb",
        scope: b'P',
        kind: Kind::Api,
    },
    Property {
        name: "sticky.partitioning.linger.ms",
        scope: b'P',
        kind: Kind::Int(0, 900000),
    },
    Property {
        name: "client.dns.lookup",
        scope: b'*',
        kind: Kind::Enum(&[
            "use_all_dns_ips",
            "resolve_canonical_bootstrap_servers_only",
        ]),
    },
    Property {
        name: "enable.metrics.push",
        scope: b'*',
        kind: Kind::Bool,
    },
    Property {
        name: "request.required.acks",
        scope: b'P',
        kind: Kind::Int(-1, 1000),
    },
    Property {
        name: "acks",
        scope: b'P',
        kind: Kind::Int(-1, 1000),
    },
    Property {
        name: "request.timeout.ms",
        scope: b'P',
        kind: Kind::Int(1, 900000),
    },
    Property {
        name: "message.timeout.ms",
        scope: b'P',
        kind: Kind::Int(0, 2147483647),
    },
    Property {
        name: "delivery.timeout.ms",
        scope: b'P',
        kind: Kind::Int(0, 2147483647),
    },
    Property {
        name: "queuing.strategy",
        scope: b'P',
        kind: Kind::Enum(&["fifo", "lifo"]),
    },
    Property {
        name: "produce.offset.report",
        scope: b'P',
        kind: Kind::Bool,
    },
    Property {
        name: "partitioner",
        scope: b'P',
        kind: Kind::Str,
    },
    Property {
        name: "partitioner_cb",
        scope: b'P',
        kind: Kind::Api,
    },
    Property {
        name: "msg_order_cmp",
        scope: b'P',
        kind: Kind::Api,
    },
    Property {
        name: "compression.level",
        scope: b'P',
        kind: Kind::Int(-1, 12),
    },
    Property {
        name: "auto.commit.enable",
        scope: b'C',
        kind: Kind::Bool,
    },
    Property {
        name: "auto.offset.reset",
        scope: b'C',
        kind: Kind::Enum(&[
            "smallest",
            "earliest",
            "beginning",
            "largest",
            "latest",
            "end",
            "error",
        ]),
    },
    Property {
        name: "offset.store.path",
        scope: b'C',
        kind: Kind::Str,
    },
    Property {
        name: "offset.store.sync.interval.ms",
        scope: b'C',
        kind: Kind::Int(-1, 86400000),
    },
    Property {
        name: "consume.callback.max.messages",
        scope: b'C',
        kind: Kind::Int(0, 1000000),
    },
];
