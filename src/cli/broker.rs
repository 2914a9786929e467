//! What the commands that talk to a Kafka cluster (`topics`, `tail`, `verify`) share: the
//! `-b/--bootstrap-server` option and how it is resolved, and reading their scenario.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::EXIT_INVALID;
use crate::plan::{self, Overrides, Plan};

/// The broker a command talks to when neither the command line, the environment nor the
/// scenario names one.
pub const DEFAULT_BOOTSTRAP: &str = "localhost:9092";

/// The cluster to talk to.
#[derive(Clone, Debug, Args)]
pub struct BootstrapArg {
    /// Kafka bootstrap servers, `host:port[,host:port...]`; defaults to the scenario's, else
    /// localhost:9092.
    #[arg(
        short = 'b',
        long = "bootstrap-server",
        env = "KAFKA_BOOTSTRAP_SERVERS",
        value_name = "HOSTS"
    )]
    pub bootstrap_server: Option<String>,
}

impl BootstrapArg {
    /// The servers from the flag or the environment, else the scenario's, else the default.
    pub fn resolve(&self, plan: Option<&Plan>) -> String {
        self.bootstrap_server
            .clone()
            .or_else(|| plan.and_then(|p| p.kafka.bootstrap_servers.clone()))
            .unwrap_or_else(|| DEFAULT_BOOTSTRAP.to_string())
    }
}

/// The scenario's client properties; the Kafka clients keep only the security and networking
/// ones among them.
pub fn client_properties(plan: Option<&Plan>) -> Vec<(String, String)> {
    plan.map(|p| {
        p.kafka
            .producer
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    })
    .unwrap_or_default()
}

/// Plans the scenario at `path` as written, or prints its problems and gives the exit code.
pub fn load_plan(path: &Path) -> Result<Plan, ExitCode> {
    plan::plan_file(path, &Overrides::default()).map_err(|diagnostics| {
        eprint!("{diagnostics}");
        ExitCode::from(EXIT_INVALID)
    })
}
