//! Encoding: turning generated values into Avro binary datums, and datums back into JSON.
//!
//! The scheduler decides *what* happens; this module decides the bytes. Schema files are read
//! with positioned errors ([`schema`]). Hot paths write Avro's binary form directly into a reused
//! buffer ([`binary`]); fields without a binding get a random valid value for their schema
//! ([`random`]); the stdout sink and `simrun tail` render datums as plain JSON ([`json`]).

pub mod binary;
pub mod json;
pub mod random;
pub mod record;
pub mod schema;
