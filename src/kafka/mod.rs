//! Talking to a Kafka cluster beyond producing: provisioning topics.

pub mod admin;
