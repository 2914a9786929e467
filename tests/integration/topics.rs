//! `simrun topics`: provisioning as planned, and refusing what does not match the plan.

use simrun::kafka::admin::{Admin, AdminError, TopicRequest};
use simrun::run::{self, RunError, RunOptions};
use simrun::sink::SinkKind;

use crate::support::{Scenario, bootstrap, shown, simrun, simrun_at, simrun_ok};

#[test]
fn topics_are_created_with_the_planned_partitions_replication_and_configuration() {
    let scenario = Scenario::new("create");
    let plan = scenario.plan();
    let path = scenario.path.to_str().unwrap();

    let created = simrun_ok(&["topics", "create", path]);
    assert_eq!(created.matches("created ").count(), 3, "{created}");

    // The cluster has them as planned, configuration included.
    let admin = Admin::connect(&bootstrap(), &[]).expect("the broker answers");
    let topics = admin.list().unwrap();
    let names: Vec<String> = plan.topics.iter().map(|t| t.name.clone()).collect();
    let configs = admin.configs(&names).unwrap();
    let mut settings_checked = 0;
    for (planned, config) in plan.topics.iter().zip(&configs) {
        let found = topics.iter().find(|t| t.name == planned.name).unwrap();
        assert_eq!(found.partitions, planned.partitions, "{}", planned.name);
        assert_eq!(found.replication_factor, planned.replication_factor);
        for (key, value) in &planned.config {
            let setting = config.iter().find(|s| s.name == *key);
            let setting = setting.unwrap_or_else(|| panic!("{} has no {key}", planned.name));
            assert_eq!(setting.value, *value, "{} {key}", planned.name);
            assert_eq!(setting.source, "topic", "{} {key}", planned.name);
            settings_checked += 1;
        }
    }
    assert_eq!(settings_checked, 3);

    // A second time, every topic is left as it is.
    let again = simrun_ok(&["topics", "create", path]);
    assert_eq!(again.matches("exists ").count(), 3, "{again}");
    assert!(!again.contains("created "), "{again}");

    // `list` and `describe` show what the cluster has.
    let listed = simrun_ok(&["topics", "list", path]);
    assert_eq!(listed.matches("as planned").count(), 3, "{listed}");
    let described = simrun_ok(&["topics", "describe", path]);
    assert!(
        described.contains("retention.ms=7200000 (topic)"),
        "{described}"
    );
    assert!(
        described.contains("cleanup.policy=delete (topic)"),
        "{described}"
    );
    assert_eq!(
        described.matches("  partition ").count(),
        4 + 3 + 2,
        "{described}"
    );
}

#[test]
fn a_topic_with_other_partitions_than_planned_is_refused_with_a_clear_error() {
    let scenario = Scenario::new("mismatch");
    let plan = scenario.plan();
    let clicks = &plan.topics[0];
    let admin = Admin::connect(&bootstrap(), &[]).expect("the broker answers");
    let other = TopicRequest {
        name: clicks.name.clone(),
        partitions: clicks.partitions - 1,
        replication_factor: 1,
        config: Default::default(),
    };
    admin.ensure(&[other]).unwrap();

    // The command names the topic and both shapes, and creates nothing.
    let refused = simrun(&["topics", "create", scenario.path.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1), "{}", shown(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let expected = format!(
        "error: topic {} exists with {} partitions and replication factor 1, but the scenario \
         plans {} and 1",
        clicks.name,
        clicks.partitions - 1,
        clicks.partitions
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("no topic was created"), "{stderr}");
    let topics = admin.list().unwrap();
    assert!(!topics.iter().any(|t| t.name == plan.topics[1].name));

    // A run refuses to produce into it as well.
    let options = RunOptions {
        sink: SinkKind::Kafka,
        bootstrap_servers: Some(bootstrap()),
        ..RunOptions::default()
    };
    match run::run(&plan, scenario.resolved, &options) {
        Err(RunError::Topics(AdminError::Mismatch { name, .. })) => assert_eq!(name, clicks.name),
        Err(other) => panic!("expected a mismatch, got: {other}"),
        Ok(report) => panic!("the run went ahead: {} events", report.events),
    }
}

#[test]
fn a_command_against_an_address_where_no_broker_listens_fails_with_advice() {
    let output = simrun_at(&["topics", "list"], "127.0.0.1:9");
    assert_eq!(output.status.code(), Some(1), "{}", shown(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: cannot reach Kafka at 127.0.0.1:9"),
        "{stderr}"
    );
    assert!(stderr.contains("make kafka-up"), "{stderr}");
}
