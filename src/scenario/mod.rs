//! The scenario language (version 1): the file as written, read with positions.
//!
//! [`read_file`] turns a YAML file into a [`Scenario`] and a list of problems. It checks the
//! shape of the file and the syntax of each value; the meaning of the values together is checked
//! by [`crate::plan`].

pub mod duration;
pub mod model;
pub mod reader;

pub use duration::SimDuration;
pub use model::*;
pub use reader::{ReadScenario, read_file, read_str};
