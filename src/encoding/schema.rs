//! Loading Avro schema files with errors a person can act on.
//!
//! A schema file is read in two steps. `serde_json` parses the text first, because it knows
//! where a syntax error is (`line:column`). `apache-avro` then turns the JSON into a [`Schema`];
//! its errors say what is wrong but not where, so when it refuses a file we find the first
//! record field whose inclusion makes the schema fail and name it (`record Order, field
//! items`). Callers that need a record at the top (every topic and `simrun gen`) check it with
//! [`top_level_record`] or [`LoadedSchema::record`].

use std::path::{Path, PathBuf};

use apache_avro::Schema;
use apache_avro::schema::{RecordSchema, ResolvedSchema};
use serde_json::Value;

/// A schema file that was read and parsed.
#[derive(Debug, Clone)]
pub struct LoadedSchema {
    /// The parsed schema, with named types defined where they first appear.
    pub schema: Schema,
    /// The file it came from, as given by the caller.
    pub path: PathBuf,
    /// The file's text, kept for messages and for showing the schema back to the user.
    pub text: String,
}

/// Why a schema file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The file could not be read at all.
    #[error("{}: cannot read the schema file: {source}; check the path and its permissions",
        path.display())]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },

    /// The file is not valid JSON.
    #[error("{}:{line}:{column}: the schema is not valid JSON: {message}; fix the syntax at this \
        position", path.display())]
    Json {
        /// The schema file.
        path: PathBuf,
        /// The line of the problem, counting from 1.
        line: usize,
        /// The column of the problem, counting from 1.
        column: usize,
        /// What the JSON parser expected or found there.
        message: String,
    },

    /// The file is valid JSON but not a valid Avro schema.
    #[error("{}: {}the schema is not valid Avro: {message}",
        path.display(), location.as_deref().map(|at| format!("{at}: ")).unwrap_or_default())]
    Avro {
        /// The schema file.
        path: PathBuf,
        /// The record field where the problem is (`record Order, field items`), when it could
        /// be found.
        location: Option<String>,
        /// What `apache-avro` said is wrong.
        message: String,
    },

    /// The schema is valid but its top level is not a record.
    #[error("{}: {source}", path.display())]
    NotARecord {
        /// The schema file.
        path: PathBuf,
        /// What the top level is instead.
        source: NotARecord,
    },
}

/// A top-level schema that is not a record, where a record is needed.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "the top-level schema is {found}, but a record is needed here; declare it as \
    {{\"type\": \"record\", \"name\": ..., \"fields\": [...]}}"
)]
pub struct NotARecord {
    /// A short description of the top-level schema, such as `a union` or `the type string`.
    pub found: String,
}

impl LoadedSchema {
    /// Returns the top-level record, or an error naming the file when the top level is not one.
    pub fn record(&self) -> Result<&RecordSchema, SchemaError> {
        top_level_record(&self.schema).map_err(|source| SchemaError::NotARecord {
            path: self.path.clone(),
            source,
        })
    }
}

/// Reads and parses the schema file at `path`.
pub fn load_schema(path: &Path) -> Result<LoadedSchema, SchemaError> {
    let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_schema(text, path)
}

/// Parses schema `text` that came from `origin` (used in messages only).
///
/// This is the second half of [`load_schema`], for schemas that are not in a file of their own.
pub fn parse_schema(text: String, origin: &Path) -> Result<LoadedSchema, SchemaError> {
    let json: Value = serde_json::from_str(&text).map_err(|error| SchemaError::Json {
        path: origin.to_path_buf(),
        line: error.line(),
        column: error.column(),
        message: json_message(&error),
    })?;

    let schema = parse_avro(&json).map_err(|error| SchemaError::Avro {
        path: origin.to_path_buf(),
        location: locate_avro_error(&json),
        message: with_hint(&error),
    })?;

    Ok(LoadedSchema {
        schema,
        path: origin.to_path_buf(),
        text,
    })
}

/// Parses the JSON as Avro and checks that every named type is defined once and every
/// reference resolves, which the parser alone lets through.
fn parse_avro(json: &Value) -> Result<Schema, apache_avro::Error> {
    let schema = Schema::parse(json)?;
    ResolvedSchema::try_from(&schema)?;
    Ok(schema)
}

/// apache-avro's message, followed by what to do for the mistakes people make most.
fn with_hint(error: &apache_avro::Error) -> String {
    use apache_avro::error::Details;

    let hint = match error.details() {
        Details::ParsePrimitive(_) | Details::ParsePrimitiveSimilar(..) => {
            "; use a primitive type (null, boolean, int, long, float, double, bytes, string) or \
             the name of a record, enum or fixed type defined earlier in this file"
        }
        Details::SchemaResolutionError(_) => {
            "; define the named type before its first use, or check the spelling and namespace"
        }
        Details::AmbiguousSchemaDefinition(_) => {
            "; give each named type its own full name, or refer to the first definition by name"
        }
        Details::GetDefaultRecordField(..) | Details::GetDefaultUnion(..) => {
            "; make the default a JSON value of the field's type, or remove it"
        }
        Details::FieldNameDuplicate(_) => "; rename one of the fields",
        _ => "",
    };
    let message = error.to_string();
    format!("{}{hint}", message.trim_end_matches('.'))
}

/// Returns the record at the top of `schema`, or says what is there instead.
pub fn top_level_record(schema: &Schema) -> Result<&RecordSchema, NotARecord> {
    match schema {
        Schema::Record(record) => Ok(record),
        Schema::Union(_) => Err(NotARecord {
            found: "a union".to_owned(),
        }),
        Schema::Array(_) => Err(NotARecord {
            found: "an array".to_owned(),
        }),
        Schema::Map(_) => Err(NotARecord {
            found: "a map".to_owned(),
        }),
        Schema::Enum(schema) => Err(NotARecord {
            found: format!("the enum {}", schema.name.name()),
        }),
        Schema::Fixed(schema) => Err(NotARecord {
            found: format!("the fixed type {}", schema.name.name()),
        }),
        other => Err(NotARecord {
            found: format!("the type {}", kind_name(other)),
        }),
    }
}

/// The name of a non-record schema's kind, as a user would write it.
fn kind_name(schema: &Schema) -> String {
    let kind = apache_avro::schema::SchemaKind::from(schema);
    format!("{kind:?}").to_lowercase()
}

/// serde_json's message without the position it appends, which the error shows first.
fn json_message(error: &serde_json::Error) -> String {
    let full = error.to_string();
    match full.rfind(" at line ") {
        Some(end) => full[..end].to_owned(),
        None => full,
    }
}

/// Finds the first record field (in document order) whose inclusion makes the schema fail.
///
/// apache-avro parses fields in document order and named types must be defined before they are
/// used, so a copy of the schema cut after the n-th field is valid exactly when the first n
/// fields are. The cut keeps each record but drops its later fields. Returns `None` when even
/// the schema cut before its first field fails: the problem is then at the top level.
fn locate_avro_error(json: &Value) -> Option<String> {
    let mut fields = Vec::new();
    list_fields(json, &mut fields);

    let mut previous_valid = {
        let mut cut = json.clone();
        truncate_fields(&mut cut, &mut 0);
        parse_avro(&cut).is_ok()
    };
    for (index, location) in fields.into_iter().enumerate() {
        let mut cut = json.clone();
        truncate_fields(&mut cut, &mut (index + 1));
        let valid = parse_avro(&cut).is_ok();
        if previous_valid && !valid {
            return Some(location);
        }
        previous_valid = valid;
    }
    None
}

/// Lists `record R, field f` for every record field, in the order the parser meets them.
fn list_fields(json: &Value, out: &mut Vec<String>) {
    match json {
        Value::Array(branches) => branches.iter().for_each(|branch| list_fields(branch, out)),
        Value::Object(object) => {
            if let Some(Value::Array(fields)) = object.get("fields") {
                let record = object.get("name").and_then(Value::as_str).unwrap_or("?");
                for field in fields {
                    let name = field.get("name").and_then(Value::as_str).unwrap_or("?");
                    out.push(format!("record {record}, field {name}"));
                    if let Some(schema) = field.get("type") {
                        list_fields(schema, out);
                    }
                }
            }
            for key in ["type", "items", "values"] {
                if let Some(inner) = object.get(key).filter(|inner| !inner.is_string()) {
                    list_fields(inner, out);
                }
            }
        }
        _ => {}
    }
}

/// Keeps the first `budget` fields, in the order of [`list_fields`], and drops every later one.
fn truncate_fields(json: &mut Value, budget: &mut usize) {
    match json {
        Value::Array(branches) => branches
            .iter_mut()
            .for_each(|branch| truncate_fields(branch, budget)),
        Value::Object(object) => {
            if let Some(Value::Array(fields)) = object.get_mut("fields") {
                let mut kept = 0;
                for field in fields.iter_mut() {
                    if *budget == 0 {
                        break;
                    }
                    *budget -= 1;
                    kept += 1;
                    if let Some(schema) = field.get_mut("type") {
                        truncate_fields(schema, budget);
                    }
                }
                fields.truncate(kept);
            }
            for key in ["type", "items", "values"] {
                if let Some(inner) = object.get_mut(key).filter(|inner| !inner.is_string()) {
                    truncate_fields(inner, budget);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LoadedSchema, SchemaError> {
        parse_schema(text.to_owned(), Path::new("orders.avsc"))
    }

    #[test]
    fn a_valid_record_loads_from_a_file_and_keeps_its_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("click.avsc");
        let text = r#"{"type":"record","name":"Click","fields":[{"name":"n","type":"long"}]}"#;
        std::fs::write(&path, text).unwrap();

        let loaded = load_schema(&path).unwrap();

        assert_eq!(loaded.text, text);
        assert_eq!(loaded.path, path);
        assert_eq!(loaded.record().unwrap().fields.len(), 1);
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let error = load_schema(Path::new("/nonexistent/x.avsc")).unwrap_err();
        assert!(matches!(error, SchemaError::Read { .. }));
        assert!(
            error
                .to_string()
                .starts_with("/nonexistent/x.avsc: cannot read")
        );
    }

    #[test]
    fn json_syntax_errors_give_line_and_column() {
        let error = parse("{\n  \"type\": \"record\",\n  \"name\" \"Order\"\n}").unwrap_err();
        match &error {
            SchemaError::Json { line, column, .. } => assert_eq!((*line, *column), (3, 10)),
            other => panic!("expected a JSON error, got {other:?}"),
        }
        let text = error.to_string();
        assert!(text.starts_with("orders.avsc:3:10: the schema is not valid JSON: expected `:`"));
        assert!(
            !text.contains("at line"),
            "the position is not repeated: {text}"
        );
    }

    #[test]
    fn an_unknown_type_names_the_record_and_field() {
        let error = parse(
            r#"{"type":"record","name":"Order","fields":[
                {"name":"id","type":"string"},
                {"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line",
                    "fields":[{"name":"sku","type":"string"},{"name":"qty","type":"integer"}]}}}
            ]}"#,
        )
        .unwrap_err();
        match &error {
            SchemaError::Avro { location, .. } => {
                assert_eq!(location.as_deref(), Some("record Line, field qty"));
            }
            other => panic!("expected an Avro error, got {other:?}"),
        }
        assert!(
            error
                .to_string()
                .starts_with("orders.avsc: record Line, field qty: ")
        );
        assert!(error.to_string().contains("integer"), "{error}");
    }

    #[test]
    fn a_bad_default_names_the_field() {
        let error = parse(
            r#"{"type":"record","name":"Order","fields":[
                {"name":"id","type":"string"},
                {"name":"qty","type":"int","default":"three"}
            ]}"#,
        )
        .unwrap_err();
        let SchemaError::Avro { location, .. } = &error else {
            panic!("expected an Avro error, got {error:?}");
        };
        assert_eq!(location.as_deref(), Some("record Order, field qty"));
    }

    #[test]
    fn a_duplicate_type_name_is_located_at_its_second_definition() {
        let error = parse(
            r#"{"type":"record","name":"Order","fields":[
                {"name":"a","type":{"type":"fixed","name":"Hash","size":4}},
                {"name":"b","type":{"type":"enum","name":"Hash","symbols":["X"]}}
            ]}"#,
        )
        .unwrap_err();
        let SchemaError::Avro { location, .. } = &error else {
            panic!("expected an Avro error, got {error:?}");
        };
        assert_eq!(location.as_deref(), Some("record Order, field b"));
    }

    #[test]
    fn top_level_problems_have_no_field_location() {
        let error = parse(r#"{"type":"record","fields":[]}"#).unwrap_err();
        let SchemaError::Avro { location, .. } = &error else {
            panic!("expected an Avro error, got {error:?}");
        };
        assert_eq!(location, &None);
    }

    #[test]
    fn non_record_top_levels_are_refused_with_what_was_found() {
        let union = parse(r#"["null","string"]"#).unwrap();
        let error = union.record().unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("orders.avsc: the top-level schema is a union")
        );

        let enumeration = parse(r#"{"type":"enum","name":"Suit","symbols":["SPADES"]}"#).unwrap();
        let error = top_level_record(&enumeration.schema).unwrap_err();
        assert_eq!(error.found, "the enum Suit");

        let error = top_level_record(&Schema::Long).unwrap_err();
        assert_eq!(error.found, "the type long");
    }
}
