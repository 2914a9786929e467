//! What a run leaves on Kafka: exactly the records the simulation emits, each in the partition
//! Java's partitioner gives its key, and `simrun tail` shows them as the stdout sink does.

use simrun::kafka::murmur2::partition_for;
use simrun::run::{self, RunOptions};
use simrun::sink::SinkKind;

use crate::support::{Keeper, Scenario, bootstrap, read_back, simrun_ok};

#[test]
fn a_run_leaves_exactly_the_simulated_records_each_in_its_murmur2_partition() {
    let scenario = Scenario::new("records");
    let plan = scenario.plan();
    let options = RunOptions {
        sink: SinkKind::Kafka,
        bootstrap_servers: Some(bootstrap()),
        ..RunOptions::default()
    };
    let report = run::run(&plan, scenario.resolved, &options).expect("the run starts");
    assert_eq!(report.failed(), 0, "{report:#?}");

    // The same scenario, seed and start, kept in memory.
    let mut keeper = Keeper::new(&plan);
    let memory = RunOptions::default();
    run::drive(&plan, scenario.resolved, &memory, &mut keeper);
    let mut expected = keeper.records;
    expected.sort();

    let consumed = read_back(&plan);
    let mut found: Vec<(String, Vec<u8>, i64, Vec<u8>)> = consumed
        .iter()
        .map(|r| {
            let key = r.key.clone().expect("every record has a key");
            let timestamp = r.timestamp_ms.expect("every record has a timestamp");
            let value = r.value.clone().expect("every record has a value");
            (r.topic.clone(), key, timestamp, value)
        })
        .collect();
    found.sort();

    // No record lost, none duplicated by retries, none altered.
    assert_eq!(found.len() as u64, report.events);
    let acknowledged: u64 = report.topics.iter().map(|t| t.delivery.acknowledged).sum();
    assert_eq!(found.len() as u64, acknowledged);
    let same = found == expected;
    assert!(same, "the records on Kafka differ from the simulated ones");

    for record in &consumed {
        let topic = plan.topics.iter().find(|t| t.name == record.topic).unwrap();
        let key = record.key.as_deref().unwrap();
        let expected = partition_for(key, topic.partitions);
        assert_eq!(
            record.partition, expected,
            "{} {}",
            record.topic, record.offset
        );
    }
}

#[test]
fn tail_prints_what_the_stdout_sink_prints_for_the_same_run() {
    let scenario = Scenario::new("tail");
    let path = scenario.path.to_str().unwrap();
    let start = scenario.start_arg();
    let run = ["run", path, "--start", &start, "--seed", "99"];
    simrun_ok(&run);

    // The stdout sink is chosen explicitly, so the `-b` that simrun_ok adds changes nothing.
    let printed = simrun_ok(&[&run[..], &["--sink", "stdout"]].concat());
    let mut expected: Vec<&str> = printed.lines().collect();
    expected.sort_unstable();

    let mut tailed_text = String::new();
    for topic in scenario.plan().topics.iter().map(|t| t.name.clone()) {
        tailed_text += &simrun_ok(&["tail", &topic, "--scenario", path, "--from-beginning"]);
    }
    let mut tailed: Vec<&str> = tailed_text.lines().collect();
    tailed.sort_unstable();

    assert!(!expected.is_empty());
    assert_eq!(tailed.len(), expected.len());
    let same = tailed == expected;
    assert!(same, "tail and the stdout sink print different lines");
}
