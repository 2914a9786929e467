//! Reading a scenario file into [`Scenario`], reporting every problem with its position.
//!
//! The YAML is first parsed into a tree whose every node knows its line and column. The reader
//! then walks that tree section by section and entry by entry, deserializing each piece on its
//! own: a mistake in one funnel step does not hide a mistake in a topic, so one pass reports all
//! of them. Duplicate keys are errors. Anchors and aliases are refused outright, which makes
//! alias bombs ("billion laughs") impossible rather than merely bounded.

use std::path::Path;

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{LoadError, LoaderOptions, Node};
use serde::de::DeserializeOwned;

use super::model::*;
use crate::diagnostics::{Diagnostic, Diagnostics, Position, SourceFile, suggestion};

/// The keys a scenario file may have at its top level.
pub const TOP_LEVEL_KEYS: [&str; 12] = [
    "name",
    "description",
    "seed",
    "start",
    "speed",
    "kafka",
    "topics",
    "users",
    "products",
    "funnel",
    "fields",
    "load",
];

/// A scenario as far as it could be read, the file it came from, and what was wrong with it.
#[derive(Debug)]
pub struct ReadScenario {
    pub scenario: Scenario,
    pub source: SourceFile,
    pub diagnostics: Diagnostics,
}

/// Reads and checks the scenario file at `path`.
pub fn read_file(path: &Path) -> ReadScenario {
    match std::fs::read_to_string(path) {
        Ok(text) => read_str(path, &text),
        Err(error) => {
            let mut diagnostics = Diagnostics::new();
            diagnostics.push(
                Diagnostic::new(
                    path,
                    None,
                    format!("cannot read the scenario file: {error}"),
                )
                .with_help("check the path; scenario files are YAML, e.g. scenarios/smoke.yaml"),
            );
            let source = SourceFile::new(path, "");
            ReadScenario {
                scenario: Scenario::default(),
                source,
                diagnostics,
            }
        }
    }
}

/// Reads and checks scenario text as if it came from `path`.
pub fn read_str(path: &Path, text: &str) -> ReadScenario {
    let source = SourceFile::new(path, text);
    let mut reader = Reader {
        file: path,
        diagnostics: Diagnostics::new(),
        top: None,
    };
    reader.diagnostics.add_source(source.clone());

    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    let scenario = match marked_yaml::parse_yaml_with_options(0, text, options) {
        Ok(root) => match root.as_mapping() {
            Some(top) => reader.scenario(top),
            None => {
                reader.error(
                    position_of(&root),
                    "a scenario file must be a YAML mapping",
                    None,
                );
                Scenario::default()
            }
        },
        Err(error) => {
            reader.load_error(error);
            Scenario::default()
        }
    };

    ReadScenario {
        scenario,
        source,
        diagnostics: reader.diagnostics,
    }
}

struct Reader<'a> {
    file: &'a Path,
    diagnostics: Diagnostics,
    /// The span of the top-level mapping: keys missing there are reported at the file's start.
    top: Option<marked_yaml::Span>,
}

impl Reader<'_> {
    fn scenario(&mut self, top: &MarkedMappingNode) -> Scenario {
        self.top = Some(*top.span());
        self.unknown_keys(top, "the scenario", &TOP_LEVEL_KEYS);
        Scenario {
            name: self.required(top, "name", "the scenario"),
            description: self
                .optional::<String>(top, "description", "the scenario")
                .filter(|d| !d.is_empty()),
            seed: self.optional(top, "seed", "the scenario"),
            start: self.start(top),
            speed: self.speed(top),
            kafka: self.optional(top, "kafka", "the `kafka` section"),
            topics: self.topics(top),
            topic_names: top
                .get_mapping("topics")
                .map(|section| section.iter().map(|(key, _)| located_key(key)).collect())
                .unwrap_or_default(),
            users: self.users(top),
            products: self.products(top),
            funnel: self.funnel(top),
            fields: self.fields(top),
            load: self.load(top),
        }
    }

    fn start(&mut self, top: &MarkedMappingNode) -> Option<Located<chrono::DateTime<chrono::Utc>>> {
        let text: Located<String> = self.optional(top, "start", "the scenario")?;
        match chrono::DateTime::parse_from_rfc3339(text.trim()) {
            Ok(time) => Some(Located::new(time.with_timezone(&chrono::Utc), text.at)),
            Err(error) => {
                let message = format!("`start` is not an RFC 3339 time: {error}");
                self.error(
                    text.at,
                    message,
                    Some("write it like 2026-11-27T08:00:00Z".into()),
                );
                None
            }
        }
    }

    fn speed(&mut self, top: &MarkedMappingNode) -> Option<Located<Speed>> {
        let text: Located<String> = self.optional(top, "speed", "the scenario")?;
        match text.parse::<Speed>() {
            Ok(speed) => Some(Located::new(speed, text.at)),
            Err(message) => {
                self.error(text.at, message, None);
                None
            }
        }
    }

    fn topics(&mut self, top: &MarkedMappingNode) -> Vec<(Located<String>, TopicSpec)> {
        let Some(section) = self.mapping(top, "topics") else {
            self.missing(
                top,
                "topics",
                "declare at least one topic with its `schema`",
            );
            return Vec::new();
        };
        let mut topics = Vec::new();
        for (key, node) in section.iter() {
            let context = format!("topic `{}`", key.as_str());
            if let Some(spec) = self.parse::<TopicSpec>(node, &context) {
                topics.push((located_key(key), spec));
            }
        }
        topics
    }

    fn users(&mut self, top: &MarkedMappingNode) -> Option<UsersSpec> {
        let Some(section) = self.mapping(top, "users") else {
            self.missing(
                top,
                "users",
                "say how many users exist, e.g. `users: { count: 1000 }`",
            );
            return None;
        };
        self.unknown_keys(section, "the `users` section", &["count", "activity"]);
        let count = self.required(section, "count", "the `users` section")?;
        let activity = section
            .get_node("activity")
            .and_then(|node| self.value_source(node));
        Some(UsersSpec { count, activity })
    }

    fn products(&mut self, top: &MarkedMappingNode) -> Option<ProductsSpec> {
        let Some(section) = self.mapping(top, "products") else {
            self.missing(
                top,
                "products",
                "say how many products exist, e.g. `products: { count: 500 }`",
            );
            return None;
        };
        let context = "the `products` section";
        self.unknown_keys(section, context, &["count", "popularity", "price"]);
        let count = self.required(section, "count", context)?;
        let popularity = section
            .get_node("popularity")
            .and_then(|node| self.value_source(node));
        let price = section
            .get_node("price")
            .and_then(|node| self.value_source(node));
        Some(ProductsSpec {
            count,
            popularity,
            price,
        })
    }

    fn funnel(&mut self, top: &MarkedMappingNode) -> Vec<StepSpec> {
        let Some(node) = top.get_node("funnel") else {
            self.missing(
                top,
                "funnel",
                "list the steps, the first driven by the load profile",
            );
            return Vec::new();
        };
        let Some(sequence) = node.as_sequence() else {
            self.error(position_of(node), "`funnel` must be a list of steps", None);
            return Vec::new();
        };

        let mut steps = Vec::new();
        for (index, node) in sequence.iter().enumerate() {
            let context = format!("funnel step {}", index + 1);
            let Some(map) = node.as_mapping() else {
                let message = format!("{context} must be a mapping with `step` and `topic`");
                self.error(position_of(node), message, None);
                continue;
            };
            let unknown = self.unknown_keys(map, &context, &["step", "topic", "ratio", "delay"]);
            let step = self.required(map, "step", &context);
            let topic = self.required(map, "topic", &context);
            let ratio = self.optional(map, "ratio", &context);
            let delay = map
                .get_node("delay")
                .and_then(|node| self.value_source(node));
            if let (Some(step), Some(topic)) = (step, topic) {
                let at = first_key_position(map);
                let had_unknown_keys = unknown > 0;
                steps.push(StepSpec {
                    step,
                    topic,
                    ratio,
                    delay,
                    at,
                    had_unknown_keys,
                });
            }
        }
        steps
    }

    fn fields(&mut self, top: &MarkedMappingNode) -> Vec<FieldBinding> {
        let Some(section) = self.mapping(top, "fields") else {
            return Vec::new();
        };
        let mut bindings = Vec::new();
        for (topic, node) in section.iter() {
            let Some(fields) = node.as_mapping() else {
                let message = format!("`fields.{}` must map field names to values", topic.as_str());
                self.error(position_of(node), message, None);
                continue;
            };
            for (field, node) in fields.iter() {
                if let Some(source) = self.value_source(node) {
                    let topic = located_key(topic);
                    bindings.push(FieldBinding {
                        topic,
                        field: located_key(field),
                        source,
                    });
                }
            }
        }
        bindings
    }

    fn load(&mut self, top: &MarkedMappingNode) -> Option<LoadSpec> {
        let Some(section) = self.mapping(top, "load") else {
            self.missing(
                top,
                "load",
                "give at least one stage, e.g. `{ duration: 1m, rate: 100 }`",
            );
            return None;
        };
        let context = "the `load` section";
        self.unknown_keys(section, context, &["arrivals", "stages"]);
        let arrivals = self.optional(section, "arrivals", context);

        let Some(node) = section.get_node("stages") else {
            self.missing(section, "stages", "give at least one stage");
            return Some(LoadSpec {
                arrivals,
                stages: Vec::new(),
            });
        };
        let Some(sequence) = node.as_sequence() else {
            self.error(
                position_of(node),
                "`load.stages` must be a list of stages",
                None,
            );
            return Some(LoadSpec {
                arrivals,
                stages: Vec::new(),
            });
        };
        let stages = sequence
            .iter()
            .enumerate()
            .filter_map(|(index, node)| self.parse(node, &format!("load stage {}", index + 1)))
            .collect();
        Some(LoadSpec { arrivals, stages })
    }

    /// A distribution or value source: a bare name, or a mapping with one kind key.
    fn value_source(&mut self, node: &Node) -> Option<ValueSource> {
        match node {
            Node::Scalar(scalar) => Some(ValueSource::Named(located_key(scalar))),
            Node::Mapping(_) => self
                .parse(node, "this value")
                .map(|spec| ValueSource::Spec(Box::new(spec))),
            Node::Sequence(_) => {
                let message = "expected a name such as `uniform` or a mapping such as \
                               `{ exponential: { mean: 40s } }`, found a list";
                self.error(position_of(node), message, None);
                None
            }
        }
    }

    fn mapping<'n>(
        &mut self,
        map: &'n MarkedMappingNode,
        key: &str,
    ) -> Option<&'n MarkedMappingNode> {
        let node = map.get_node(key)?;
        let found = node.as_mapping();
        if found.is_none() {
            self.error(
                position_of(node),
                format!("`{key}` must be a mapping"),
                None,
            );
        }
        found
    }

    fn required<T: DeserializeOwned>(
        &mut self,
        map: &MarkedMappingNode,
        key: &str,
        context: &str,
    ) -> Option<T> {
        if map.get_node(key).is_none() {
            self.missing(map, key, "");
            return None;
        }
        self.optional(map, key, context)
    }

    fn optional<T: DeserializeOwned>(
        &mut self,
        map: &MarkedMappingNode,
        key: &str,
        context: &str,
    ) -> Option<T> {
        let node = map.get_node(key)?;
        self.parse(node, &format!("`{key}` in {context}"))
    }

    /// Deserializes one node, turning a failure into a positioned diagnostic.
    fn parse<T: DeserializeOwned>(&mut self, node: &Node, context: &str) -> Option<T> {
        match marked_yaml::from_node::<T>(node) {
            Ok(value) => Some(value),
            Err(error) => {
                let at = error
                    .start_mark()
                    .map(|mark| Position::new(mark.line(), mark.column()))
                    .unwrap_or_else(|| position_of(node));
                let path = error.path().filter(|path| !path.is_empty() && *path != ".");
                let (message, help) = describe(&error, path, context);
                self.error(at, message, help);
                None
            }
        }
    }

    /// Reports keys of `map` not in `known` and returns how many there were.
    fn unknown_keys(&mut self, map: &MarkedMappingNode, context: &str, known: &[&str]) -> usize {
        let mut count = 0;
        for (key, _) in map.iter() {
            if !known.contains(&key.as_str()) {
                let message = format!("unknown key `{}` in {context}", key.as_str());
                let help = suggestion(key.as_str(), known.iter().copied());
                self.error(scalar_position(key), message, Some(help));
                count += 1;
            }
        }
        count
    }

    fn missing(&mut self, map: &MarkedMappingNode, key: &str, help: &str) {
        let at = if self.top == Some(*map.span()) {
            Position::new(1, 1)
        } else {
            first_key_position(map)
        };
        let mut diagnostic = Diagnostic::new(self.file, Some(at), format!("missing key `{key}`"));
        if !help.is_empty() {
            diagnostic = diagnostic.with_help(help);
        }
        self.diagnostics.push(diagnostic);
    }

    fn load_error(&mut self, error: LoadError) {
        let mark_at = |mark: &marked_yaml::Marker| Position::new(mark.line(), mark.column());
        match error {
            LoadError::TopLevelMustBeMapping(mark) => {
                self.error(
                    mark_at(&mark),
                    "a scenario file must be a YAML mapping",
                    None,
                );
            }
            LoadError::TopLevelMustBeSequence(mark) => {
                self.error(mark_at(&mark), "expected a YAML mapping", None);
            }
            LoadError::UnexpectedAnchor(mark) => self.error(
                mark_at(&mark),
                "anchors and aliases are not supported in scenario files",
                Some("write the value out in each place it is used".into()),
            ),
            LoadError::MappingKeyMustBeScalar(mark) => {
                self.error(mark_at(&mark), "mapping keys must be plain names", None);
            }
            LoadError::UnexpectedTag(mark) => self.error(
                mark_at(&mark),
                "YAML tags (`!name`) are not supported in scenario files",
                Some("remove the tag".into()),
            ),
            LoadError::ScanError(mark, scan) => {
                self.error(
                    mark_at(&mark),
                    format!("invalid YAML: {}", scan.info()),
                    None,
                );
            }
            LoadError::DuplicateKey(inner) => {
                let first = scalar_position(&inner.prev_key);
                let message = format!(
                    "duplicate key `{}`: it was already given at line {}",
                    inner.key.as_str(),
                    first.line
                );
                let help = "keep one of the two".to_string();
                self.error(scalar_position(&inner.key), message, Some(help));
            }
        }
    }

    fn error(&mut self, at: Position, message: impl Into<String>, help: Option<String>) {
        let mut diagnostic = Diagnostic::new(self.file, Some(at), message);
        diagnostic.help = help;
        self.diagnostics.push(diagnostic);
    }
}

/// Words a person can act on for a deserialization failure.
fn describe(
    error: &marked_yaml::FromNodeError,
    path: Option<&str>,
    context: &str,
) -> (String, Option<String>) {
    use marked_yaml::Error;

    let place = match path {
        Some(path) => format!("`{path}` in {context}"),
        None => context.to_string(),
    };
    match &**error {
        Error::UnknownFieldError(field, expected, _) => {
            let within = match path.and_then(|p| p.rsplit_once('.')) {
                Some((parent, _)) => format!("`{parent}` in {context}"),
                None => context.to_string(),
            };
            let help = suggestion(field, expected.iter().copied());
            (format!("unknown key `{field}` in {within}"), Some(help))
        }
        Error::IntegerParseFailure(..) => (format!("{place} must be a whole number"), None),
        Error::FloatParseFailure(..) => (format!("{place} must be a number"), None),
        Error::NotBoolean(..) => (format!("{place} must be `true` or `false`"), None),
        Error::Other(message, _) => {
            if let Some(field) = message.strip_prefix("missing field ") {
                (format!("missing key {field} in {place}"), None)
            } else if let Some(rest) = message.strip_prefix("unknown variant ") {
                (format!("{place}: unknown value {rest}"), None)
            } else {
                (format!("{place}: {message}"), None)
            }
        }
    }
}

/// Where a mapping begins for a reader: its first key, or the mapping itself when empty.
fn first_key_position(map: &MarkedMappingNode) -> Position {
    match map.iter().next() {
        Some((key, _)) => scalar_position(key),
        None => map
            .span()
            .start()
            .map(|m| Position::new(m.line(), m.column()))
            .unwrap_or_default(),
    }
}

fn located_key(scalar: &MarkedScalarNode) -> Located<String> {
    Located::new(scalar.as_str().to_string(), scalar_position(scalar))
}

fn scalar_position(scalar: &MarkedScalarNode) -> Position {
    scalar
        .span()
        .start()
        .map(|m| Position::new(m.line(), m.column()))
        .unwrap_or_default()
}

fn position_of(node: &Node) -> Position {
    node.span()
        .start()
        .map(|m| Position::new(m.line(), m.column()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> ReadScenario {
        read_str(Path::new("test.yaml"), text)
    }

    #[test]
    fn the_black_friday_scenario_reads_without_problems() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/black-friday.yaml");
        let read = read_file(&path);
        assert!(read.diagnostics.is_empty(), "{}", read.diagnostics);
        assert_eq!(read.scenario.topics.len(), 3);
        assert_eq!(read.scenario.funnel.len(), 3);
        assert_eq!(read.scenario.load.as_ref().map(|l| l.stages.len()), Some(5));
        assert_eq!(read.scenario.fields.len(), 6);
    }

    #[test]
    fn problems_in_separate_sections_are_all_reported() {
        let text = "name: x\nseeed: 1\ntopics:\n  a: { schema: a.avsc, partitons: 3 }\n\
                    users: { count: many }\nproducts: { count: 5 }\n\
                    funnel:\n  - { step: a, topic: a, ratoi: 1 }\n\
                    load: { stages: [ { duration: 10s, rate: fast } ] }\n";
        let read = read(text);
        let messages: Vec<String> = read
            .diagnostics
            .iter()
            .map(|d| {
                let at = d.position.unwrap();
                format!("{}:{} {}", at.line, at.column, d.message)
            })
            .collect();
        assert_eq!(
            messages,
            [
                "2:1 unknown key `seeed` in the scenario",
                "4:24 unknown key `partitons` in topic `a`",
                "5:17 `count` in the `users` section must be a whole number",
                "8:26 unknown key `ratoi` in funnel step 1",
                "9:42 `rate` in load stage 1 must be a number",
            ]
        );
    }

    #[test]
    fn anchors_are_refused_before_any_expansion() {
        let mut text =
            String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for level in b'b'..=b'z' {
            let previous = (level - 1) as char;
            let alias = format!("*{previous},").repeat(9);
            text.push_str(&format!(
                "{}: &{} [{}]\n",
                level as char, level as char, alias
            ));
        }
        let started = std::time::Instant::now();
        let read = read(&text);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let first = read.diagnostics.iter().next().unwrap();
        assert_eq!(
            first.message,
            "anchors and aliases are not supported in scenario files"
        );
        assert_eq!(first.position.map(|p| p.line), Some(1));
    }

    #[test]
    fn duplicate_keys_point_at_the_second_one() {
        let read = read("name: a\nname: b\n");
        let first = read.diagnostics.iter().next().unwrap();
        assert_eq!(first.position, Some(Position::new(2, 1)));
        assert!(
            first.message.starts_with("duplicate key `name`"),
            "{}",
            first.message
        );
    }
}
