//! Talking to a Kafka cluster beyond producing: provisioning topics, reading records back and
//! checking what a run left on the topics.

pub mod admin;
pub mod consume;
pub mod murmur2;
pub mod verify;

use std::time::Duration;

use crate::sink::kafka::CONNECT_TIMEOUT;

/// A cluster that gave no metadata within [`CONNECT_TIMEOUT`].
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot reach Kafka at {servers} within {timeout:?}: {reason}; start a broker \
     (`make kafka-up`) or choose another with --bootstrap-server"
)]
pub struct Unreachable {
    pub servers: String,
    pub timeout: Duration,
    pub reason: String,
}

impl Unreachable {
    /// The cluster at `servers` did not answer within [`CONNECT_TIMEOUT`], for `reason`.
    pub fn new(servers: &str, reason: impl ToString) -> Self {
        Unreachable {
            servers: servers.to_string(),
            timeout: CONNECT_TIMEOUT,
            reason: reason.to_string(),
        }
    }
}
