//! Topic provisioning and inspection through the Kafka admin API.
//!
//! simrun creates the topics a scenario declares, with the planned partitions, replication
//! factor and configuration, and leaves matching topics alone. An existing topic whose partition
//! count or replication factor differs is an error rather than a warning: records keyed by user
//! are only co-partitioned across topics when partition counts agree, and stream joins depend on
//! that. A differing configuration of an existing topic is only reported: simrun never alters
//! topics it did not create.
//!
//! The same connection lists topics and describes them (partitions, leaders, replicas and the
//! configuration entries that differ from Kafka's defaults) for `simrun topics`.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{
    AdminClient, AdminOptions, ConfigSource, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::metadata::Metadata;

use super::Unreachable;
use crate::sink::kafka::CONNECT_TIMEOUT;

/// A topic as a scenario wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicRequest {
    /// The Kafka topic name.
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i32,
    /// Topic configuration entries to set on creation (`retention.ms` and the like).
    pub config: BTreeMap<String, String>,
}

impl TopicRequest {
    /// The request for each topic of `plan`, in the plan's order.
    pub fn of_plan(plan: &crate::plan::Plan) -> Vec<TopicRequest> {
        plan.topics
            .iter()
            .map(|topic| TopicRequest {
                name: topic.name.clone(),
                partitions: topic.partitions,
                replication_factor: topic.replication_factor,
                config: topic.config.clone(),
            })
            .collect()
    }
}

/// A topic as the cluster has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: i32,
    /// Replicas of the first partition, which Kafka keeps equal for all of them.
    pub replication_factor: i32,
}

/// One partition as the cluster has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionInfo {
    pub id: i32,
    /// The broker leading the partition; -1 while it has no leader.
    pub leader: i32,
    pub replicas: Vec<i32>,
    /// The replicas in sync with the leader.
    pub in_sync: Vec<i32>,
}

/// A configuration entry whose value is not Kafka's built-in default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigSetting {
    pub name: String,
    pub value: String,
    /// Where the value comes from: `topic`, `broker` (its static or dynamic configuration) or
    /// `cluster` (the dynamic default of all brokers).
    pub source: &'static str,
}

/// A topic in detail, for `simrun topics describe`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicDescription {
    pub name: String,
    pub partitions: Vec<PartitionInfo>,
    /// Entries that differ from Kafka's defaults, sorted by name.
    pub config: Vec<ConfigSetting>,
}

/// What provisioning did for one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provisioned {
    Created,
    AlreadyMatching,
}

/// Why provisioning failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Unreachable(#[from] Unreachable),
    #[error(
        "topic {name} exists with {found_partitions} partitions and replication factor \
             {found_replication}, but the scenario plans {partitions} and {replication}; records \
             keyed by user would not be co-partitioned. Delete the topic or change the scenario \
             to match"
    )]
    Mismatch {
        name: String,
        partitions: i32,
        replication: i32,
        found_partitions: i32,
        found_replication: i32,
    },
    #[error("cannot create topic {name}: {reason}")]
    Create { name: String, reason: String },
    #[error("cannot read the configuration of topic {name}: {reason}")]
    Describe { name: String, reason: String },
    #[error("kafka admin client: {0}")]
    Client(String),
}

/// How long admin requests may take.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);

/// An admin connection to one cluster.
pub struct Admin {
    servers: String,
    client: AdminClient<DefaultClientContext>,
    runtime: tokio::runtime::Runtime,
}

impl Admin {
    /// Connects to `servers` with extra client `properties`, checking that the cluster answers.
    pub fn connect(servers: &str, properties: &[(String, String)]) -> Result<Self, AdminError> {
        let mut config = ClientConfig::new();
        for (key, value) in properties {
            // Producer-only settings would make the admin client refuse to start.
            if is_client_wide(key) {
                config.set(key, value);
            }
        }
        config.set("bootstrap.servers", servers);
        let client: AdminClient<DefaultClientContext> = config
            .create()
            .map_err(|e| AdminError::Client(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| AdminError::Client(e.to_string()))?;
        let admin = Admin {
            servers: servers.to_string(),
            client,
            runtime,
        };
        admin.list()?;
        Ok(admin)
    }

    /// The cluster's metadata about every topic.
    fn metadata(&self) -> Result<Metadata, Unreachable> {
        self.client
            .inner()
            .fetch_metadata(None, CONNECT_TIMEOUT)
            .map_err(|error| Unreachable::new(&self.servers, error))
    }

    /// Every topic of the cluster (internal ones excluded), sorted by name.
    pub fn list(&self) -> Result<Vec<TopicInfo>, AdminError> {
        let metadata = self.metadata()?;
        let mut topics: Vec<TopicInfo> = metadata
            .topics()
            .iter()
            .filter(|topic| !topic.name().starts_with("__"))
            .map(|topic| TopicInfo {
                name: topic.name().to_string(),
                partitions: topic.partitions().len() as i32,
                replication_factor: topic
                    .partitions()
                    .first()
                    .map_or(0, |p| p.replicas().len() as i32),
            })
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }

    /// Creates missing topics and checks existing ones against the requests.
    pub fn ensure(
        &self,
        requests: &[TopicRequest],
    ) -> Result<Vec<(String, Provisioned)>, AdminError> {
        let existing = self.list()?;
        let mut outcome = Vec::with_capacity(requests.len());
        let mut missing = Vec::new();
        for request in requests {
            match existing.iter().find(|topic| topic.name == request.name) {
                Some(found) => {
                    check_matches(request, found)?;
                    outcome.push((request.name.clone(), Provisioned::AlreadyMatching));
                }
                None => missing.push(request),
            }
        }
        if missing.is_empty() {
            return Ok(outcome);
        }

        let new_topics: Vec<NewTopic<'_>> = missing
            .iter()
            .map(|request| {
                let replication = TopicReplication::Fixed(request.replication_factor);
                let mut topic = NewTopic::new(&request.name, request.partitions, replication);
                for (key, value) in &request.config {
                    topic = topic.set(key, value);
                }
                topic
            })
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT));
        let results = self
            .runtime
            .block_on(self.client.create_topics(&new_topics, &options))
            .map_err(|e| AdminError::Client(e.to_string()))?;
        for result in results {
            match result {
                Ok(name) => outcome.push((name, Provisioned::Created)),
                // Another client created it meanwhile: check it like any existing topic.
                Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => {
                    let request = missing.iter().find(|r| r.name == name);
                    let found = self.list()?.into_iter().find(|t| t.name == name);
                    if let (Some(request), Some(found)) = (request, found) {
                        check_matches(request, &found)?;
                    }
                    outcome.push((name, Provisioned::AlreadyMatching));
                }
                Err((name, code)) => {
                    return Err(AdminError::Create {
                        name,
                        reason: code.to_string(),
                    });
                }
            }
        }
        self.wait_for_metadata(requests);
        Ok(outcome)
    }

    /// Describes the topics `names`, in that order; `None` for a topic the cluster lacks.
    pub fn describe(&self, names: &[String]) -> Result<Vec<Option<TopicDescription>>, AdminError> {
        let metadata = self.metadata()?;

        // Partitions from the metadata, configuration from the brokers.
        let found: Vec<Option<Vec<PartitionInfo>>> = names
            .iter()
            .map(|name| {
                let topic = metadata.topics().iter().find(|t| t.name() == name)?;
                let mut partitions: Vec<PartitionInfo> = topic
                    .partitions()
                    .iter()
                    .map(|p| PartitionInfo {
                        id: p.id(),
                        leader: p.leader(),
                        replicas: p.replicas().to_vec(),
                        in_sync: p.isr().to_vec(),
                    })
                    .collect();
                partitions.sort_by_key(|p| p.id);
                Some(partitions)
            })
            .collect();
        let existing: Vec<String> = names
            .iter()
            .zip(&found)
            .filter(|(_, partitions)| partitions.is_some())
            .map(|(name, _)| name.clone())
            .collect();
        let mut configs = self.configs(&existing)?.into_iter();

        Ok(names
            .iter()
            .zip(found)
            .map(|(name, partitions)| {
                Some(TopicDescription {
                    name: name.clone(),
                    partitions: partitions?,
                    config: configs.next().unwrap_or_default(),
                })
            })
            .collect())
    }

    /// The configuration entries of each topic in `names` that differ from Kafka's defaults.
    pub fn configs(&self, names: &[String]) -> Result<Vec<Vec<ConfigSetting>>, AdminError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let resources: Vec<ResourceSpecifier<'_>> = names
            .iter()
            .map(|name| ResourceSpecifier::Topic(name))
            .collect();
        let options = AdminOptions::new().request_timeout(Some(ADMIN_TIMEOUT));
        let results = self
            .runtime
            .block_on(self.client.describe_configs(&resources, &options))
            .map_err(|e| AdminError::Client(e.to_string()))?;

        names
            .iter()
            .zip(results)
            .map(|(name, result)| {
                let resource = result.map_err(|code| AdminError::Describe {
                    name: name.clone(),
                    reason: code.to_string(),
                })?;
                let mut settings: Vec<ConfigSetting> = resource
                    .entries
                    .into_iter()
                    .filter_map(|entry| {
                        let source = match entry.source {
                            ConfigSource::DynamicTopic => "topic",
                            ConfigSource::StaticBroker | ConfigSource::DynamicBroker => "broker",
                            ConfigSource::DynamicDefaultBroker => "cluster",
                            ConfigSource::Default | ConfigSource::Unknown => return None,
                        };
                        let value = if entry.is_sensitive {
                            "(sensitive)".to_string()
                        } else {
                            entry.value.unwrap_or_default()
                        };
                        Some(ConfigSetting {
                            name: entry.name,
                            value,
                            source,
                        })
                    })
                    .collect();
                settings.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(settings)
            })
            .collect()
    }

    /// Waits until new topics show all their partitions in metadata, each with a leader, so that
    /// producing to them starts at once: a producer that meets a partition without a leader holds
    /// its records back until it asks again, which would put the first records of a paced run
    /// behind schedule.
    fn wait_for_metadata(&self, requests: &[TopicRequest]) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let ready = |request: &TopicRequest| {
            let Ok(metadata) = self
                .client
                .inner()
                .fetch_metadata(Some(&request.name), CONNECT_TIMEOUT)
            else {
                return false;
            };
            metadata.topics().iter().any(|topic| {
                topic.name() == request.name
                    && topic.error().is_none()
                    && topic.partitions().len() as i32 == request.partitions
                    && topic.partitions().iter().all(|p| p.leader() >= 0)
            })
        };
        while std::time::Instant::now() < deadline {
            if requests.iter().all(ready) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Checks that an existing topic has the partitions and replication factor a request plans.
pub fn check_matches(request: &TopicRequest, found: &TopicInfo) -> Result<(), AdminError> {
    if found.partitions != request.partitions
        || found.replication_factor != request.replication_factor
    {
        return Err(AdminError::Mismatch {
            name: request.name.clone(),
            partitions: request.partitions,
            replication: request.replication_factor,
            found_partitions: found.partitions,
            found_replication: found.replication_factor,
        });
    }
    Ok(())
}

/// Client properties that also apply to an admin client (security and networking).
pub(crate) fn is_client_wide(key: &str) -> bool {
    key.starts_with("security.")
        || key.starts_with("sasl.")
        || key.starts_with("ssl.")
        || key.starts_with("socket.")
        || key == "client.id"
        || key == "client.dns.lookup"
        || key == "broker.address.family"
}
