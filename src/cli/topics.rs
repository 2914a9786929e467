//! `simrun topics create|list|describe`: a scenario's topics on a real cluster, before and after
//! a run, without Kafka's own shell tools.
//!
//! `create` provisions the topics as `simrun run` does, but on its own, so a test setup can
//! create topics once and run many times with `--no-create-topics`. Tables and descriptions go to
//! stdout; errors and warnings to stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::EXIT_FAILED;
use super::broker::{BootstrapArg, client_properties, load_plan};
use crate::kafka::admin::{
    Admin, AdminError, Provisioned, TopicDescription, TopicInfo, TopicRequest, check_matches,
};
use crate::plan::Plan;

/// `simrun topics ...`
#[derive(Debug, Args)]
pub struct TopicsArgs {
    #[command(subcommand)]
    pub action: TopicsAction,
}

#[derive(Debug, Subcommand)]
pub enum TopicsAction {
    /// Create the scenario's missing topics as planned; an existing topic whose partitions or
    /// replication factor differ is an error.
    Create(ScenarioArgs),
    /// List topics as the cluster has them: the scenario's, or every topic without SCENARIO.
    List(ListArgs),
    /// Show partitions, leaders, replicas and the configuration that differs from Kafka's
    /// defaults, for each of the scenario's topics.
    Describe(ScenarioArgs),
}

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// The scenario file.
    pub scenario: PathBuf,

    #[command(flatten)]
    pub kafka: BootstrapArg,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The scenario file; without it, every topic of the cluster is listed.
    pub scenario: Option<PathBuf>,

    #[command(flatten)]
    pub kafka: BootstrapArg,
}

/// Runs `simrun topics ...` and returns the exit code.
pub fn run(args: TopicsArgs) -> ExitCode {
    let (scenario, kafka) = match &args.action {
        TopicsAction::Create(a) | TopicsAction::Describe(a) => (Some(&a.scenario), &a.kafka),
        TopicsAction::List(a) => (a.scenario.as_ref(), &a.kafka),
    };
    let plan = match scenario.map(|path| load_plan(path)).transpose() {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    let servers = kafka.resolve(plan.as_ref());
    let admin = match Admin::connect(&servers, &client_properties(plan.as_ref())) {
        Ok(admin) => admin,
        Err(error) => return fail(&error),
    };

    let done = match (&args.action, &plan) {
        (TopicsAction::Create(_), Some(plan)) => create(&admin, plan),
        (TopicsAction::Describe(_), Some(plan)) => describe(&admin, plan),
        (TopicsAction::List(_), plan) => list(&admin, plan.as_ref()),
        // clap requires SCENARIO for create and describe.
        (_, None) => Ok(true),
    };
    match done {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_FAILED),
        Err(error) => fail(&error),
    }
}

fn fail(error: &AdminError) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(EXIT_FAILED)
}

/// Creates what is missing; returns whether every topic is now as planned.
fn create(admin: &Admin, plan: &Plan) -> Result<bool, AdminError> {
    let requests = TopicRequest::of_plan(plan);

    // Every mismatch is reported, and none creates anything.
    let existing = admin.list()?;
    let mismatches: Vec<AdminError> = requests
        .iter()
        .filter_map(|request| {
            let found = existing.iter().find(|t| t.name == request.name)?;
            check_matches(request, found).err()
        })
        .collect();
    if !mismatches.is_empty() {
        for mismatch in &mismatches {
            eprintln!("error: {mismatch}");
        }
        eprintln!("error: no topic was created");
        return Ok(false);
    }

    let outcome = admin.ensure(&requests)?;
    let kept: Vec<String> = outcome
        .iter()
        .filter(|(_, provisioned)| *provisioned == Provisioned::AlreadyMatching)
        .map(|(name, _)| name.clone())
        .collect();
    let configs = admin.configs(&kept)?;

    let width = name_width(requests.iter().map(|r| r.name.as_str()));
    for request in &requests {
        let shape = format!(
            "{} partitions, replication factor {}",
            request.partitions, request.replication_factor
        );
        let Some(index) = kept.iter().position(|name| *name == request.name) else {
            println!("created  {:<width$}  {shape}", request.name);
            continue;
        };
        println!("exists   {:<width$}  {shape}, as planned", request.name);

        // Existing topics keep their configuration; a difference is worth a warning.
        for (key, planned) in &request.config {
            let current = configs[index].iter().find(|setting| setting.name == *key);
            let current = current.map_or("Kafka's default", |s| s.value.as_str());
            if current != planned {
                eprintln!(
                    "warning: topic {} has {key}={current} where the scenario plans {planned}; \
                     simrun does not alter existing topics (kafka-configs.sh --alter does)",
                    request.name
                );
            }
        }
    }
    Ok(true)
}

/// Lists the scenario's topics against the plan, or every topic.
fn list(admin: &Admin, plan: Option<&Plan>) -> Result<bool, AdminError> {
    let topics = admin.list()?;
    let Some(plan) = plan else {
        let width = name_width(topics.iter().map(|t| t.name.as_str()));
        println!("{:<width$}  PARTITIONS  REPLICATION", "TOPIC");
        for topic in &topics {
            println!(
                "{:<width$}  {:<10}  {}",
                topic.name, topic.partitions, topic.replication_factor
            );
        }
        return Ok(true);
    };

    let requests = TopicRequest::of_plan(plan);
    let width = name_width(requests.iter().map(|r| r.name.as_str()));
    println!("{:<width$}  PARTITIONS  REPLICATION  STATE", "TOPIC");
    for request in &requests {
        let found = topics.iter().find(|t| t.name == request.name);
        let (partitions, replication) = found.map_or(("-".into(), "-".into()), |t: &TopicInfo| {
            (t.partitions.to_string(), t.replication_factor.to_string())
        });
        let state = match found {
            None => "missing".to_string(),
            Some(found) if check_matches(request, found).is_ok() => "as planned".to_string(),
            Some(_) => format!(
                "differs: the scenario plans {} partitions, replication factor {}",
                request.partitions, request.replication_factor
            ),
        };
        println!(
            "{:<width$}  {partitions:<10}  {replication:<11}  {state}",
            request.name
        );
    }
    Ok(true)
}

/// Describes the scenario's topics; returns whether they all exist.
fn describe(admin: &Admin, plan: &Plan) -> Result<bool, AdminError> {
    let names: Vec<String> = plan.topics.iter().map(|t| t.name.clone()).collect();
    let descriptions = admin.describe(&names)?;
    let mut all_there = true;
    for (name, description) in names.iter().zip(&descriptions) {
        match description {
            Some(description) => print_description(description),
            None => {
                println!("{name}: missing");
                eprintln!(
                    "error: topic {name} does not exist; `simrun topics create {}` creates it",
                    plan.file.display()
                );
                all_there = false;
            }
        }
    }
    Ok(all_there)
}

fn print_description(topic: &TopicDescription) {
    let replication = topic.partitions.first().map_or(0, |p| p.replicas.len());
    println!(
        "{}: {} partitions, replication factor {replication}",
        topic.name,
        topic.partitions.len()
    );
    let brokers = |ids: &[i32]| {
        let ids: Vec<String> = ids.iter().map(i32::to_string).collect();
        ids.join(",")
    };
    for partition in &topic.partitions {
        println!(
            "  partition {:<3} leader {:<3} replicas {:<8} in sync {}",
            partition.id,
            partition.leader,
            brokers(&partition.replicas),
            brokers(&partition.in_sync)
        );
    }
    if topic.config.is_empty() {
        println!("  configuration: Kafka's defaults");
        return;
    }
    println!("  configuration that differs from Kafka's defaults:");
    for setting in &topic.config {
        println!(
            "    {}={} ({})",
            setting.name, setting.value, setting.source
        );
    }
}

fn name_width<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names.map(str::len).max().unwrap_or(0).max("TOPIC".len())
}
