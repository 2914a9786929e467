//! simrun runs declarative load scenarios against Kafka.
//!
//! A scenario file declares topics and their Avro schemas, user and product populations, a
//! funnel of correlated steps and a load profile over time. The crate is organised as the
//! pipeline a run follows:
//!
//! - [`scenario`]: the file as written, read with positions so that every problem can be
//!   reported as `FILE:LINE:COLUMN`;
//! - [`plan`]: the validated, resolved form: schemas loaded, distributions built, stages laid
//!   out, field bindings compiled;
//! - [`sim`]: the deterministic simulation: arrivals, the funnel scheduler, entities;
//! - [`encoding`]: Avro binary datums and their JSON rendering;
//! - [`sink`]: where records go: Kafka, the embedded broker, stdout, Avro files or nowhere;
//! - [`report`]: what happened, for people (stderr) and for machines (JSON);
//! - [`run`]: the loop that paces the simulation into a sink.
//!
//! [`generate`] is `simrun gen`: records of any one schema, paced into one topic, built by the
//! same encoder as the fields a scenario leaves unbound.
//!
//! [`kafka`] provisions topics, reads records back and verifies what a run left on a cluster;
//! [`diagnostics`] renders problems. The `simrun` binary is a thin
//! shell over [`cli`].

pub mod cli;
pub mod diagnostics;
pub mod encoding;
pub mod generate;
pub mod kafka;
pub mod plan;
pub mod report;
pub mod run;
pub mod scenario;
pub mod sim;
pub mod sink;
