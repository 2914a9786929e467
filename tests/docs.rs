//! The documentation's scenario examples plan as they stand.
//!
//! In `docs/scenario.md` and the README, every `yaml` code block is either a complete scenario
//! (it has a `funnel`), which must plan as written, or a set of top-level sections, which must
//! plan when they replace the same sections of the first complete scenario in the file.

use std::path::Path;

use simrun::plan::{Overrides, plan_text};

/// The `yaml` code blocks of a Markdown file, in order.
fn yaml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// Top-level sections of a YAML document: each starts at a line with no indentation.
fn sections(text: &str) -> Vec<(String, String)> {
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let starts_section = !line.starts_with([' ', '#', '-']) && line.contains(':');
        if starts_section {
            let key = line
                .split(':')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            sections.push((key, String::new()));
        }
        if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    sections
}

/// `base` with the sections `fragment` defines replaced by the fragment's.
fn merged(base: &str, fragment: &str) -> String {
    let replacing = sections(fragment);
    let mut text: String = sections(base)
        .into_iter()
        .filter(|(key, _)| !replacing.iter().any(|(k, _)| k == key))
        .map(|(_, body)| body)
        .collect();
    text.push_str(fragment);
    text
}

fn check_examples(file: &str, minimum: usize) {
    let markdown = std::fs::read_to_string(file).expect("the documentation exists");
    let blocks = yaml_blocks(&markdown);
    assert!(
        blocks.len() >= minimum,
        "{file}: expected at least {minimum} examples"
    );

    // Relative schema paths in examples are written from the `docs/` or `scenarios/` folder.
    let as_if = Path::new("scenarios/example.yaml");
    let reference = std::fs::read_to_string("docs/scenario.md").expect("the reference exists");
    let base = yaml_blocks(&reference)
        .into_iter()
        .next()
        .expect("the reference's full example");
    for (index, block) in blocks.iter().enumerate() {
        let text = if block.contains("\nfunnel:") && block.contains("name:") {
            block.clone()
        } else {
            merged(&base, block)
        };
        if let Err(diagnostics) = plan_text(as_if, &text, &Overrides::default()) {
            panic!(
                "{file}: example {} does not plan:\n{diagnostics}\n{text}",
                index + 1
            );
        }
    }
}

#[test]
fn every_example_of_the_scenario_reference_plans() {
    check_examples("docs/scenario.md", 5);
}

#[test]
fn every_scenario_example_of_the_readme_plans() {
    check_examples("README.md", 1);
}

#[test]
fn a_broken_fragment_would_be_caught() {
    let markdown = std::fs::read_to_string("docs/scenario.md").expect("the documentation exists");
    let base = yaml_blocks(&markdown)
        .into_iter()
        .next()
        .expect("a first example");
    let broken = merged(&base, "funnel:\n  - { step: click, topic: nowhere }\n");
    assert!(
        plan_text(
            Path::new("scenarios/example.yaml"),
            &broken,
            &Overrides::default()
        )
        .is_err()
    );
}
