//! Talking to a Kafka cluster beyond producing: provisioning topics, reading records back and
//! checking what a run left on the topics.

pub mod admin;
pub mod consume;
pub mod murmur2;
pub mod verify;
