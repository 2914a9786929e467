//! Tests against a real Kafka broker: `make integration-test` starts one when none answers on
//! `BOOTSTRAP` (default localhost:9092) and runs them. They are built only with the
//! `integration-tests` feature, so a plain `cargo test` needs no broker; when no broker answers,
//! they fail rather than skip.

mod generator;
mod records;
mod support;
mod topics;
mod verify;
