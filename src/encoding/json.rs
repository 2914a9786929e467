//! Avro datums rendered as plain JSON, for people and for scripts.
//!
//! The stdout sink prints each record's value with this rendering and `simrun tail` prints what
//! it reads from a topic the same way, so the mapping below is a contract: scripts parse it.
//! Values are decoded with `apache-avro` and converted with the schema at hand.
//!
//! | Avro type | JSON |
//! |---|---|
//! | `null` | `null` |
//! | `boolean`, `int`, `long` | the boolean or number |
//! | `float`, `double` | a number (a float in its shortest decimal form, `0.1` rather than `0.10000000149011612`); NaN and the infinities as the strings `"NaN"`, `"Infinity"`, `"-Infinity"` |
//! | `string` | the string |
//! | `bytes`, `fixed` | a string with one character per byte, U+0000 to U+00FF (ISO-8859-1, Avro's JSON convention) |
//! | `record` | an object with the fields in schema order |
//! | `enum` | the symbol, as a string |
//! | `array` | an array |
//! | `map` | an object, keys sorted (the decoder does not keep the written order) |
//! | union | the value of the branch, unwrapped: `["null","string"]` gives `null` or `"text"` |
//! | `date` | days since 1970-01-01, a number |
//! | `time-millis`, `time-micros` | the time of day in its unit, a number |
//! | `timestamp-*`, `local-timestamp-*` | the instant in its unit (millis, micros, nanos), a number |
//! | `uuid` | its canonical lowercase text |
//! | `decimal`, `big-decimal` | the exact number as a string: `"-12.34"` |
//! | `duration` | `{"months": m, "days": d, "millis": ms}` |
//!
//! A datum must be exactly one value of the schema: bytes left over are an error, because they
//! mean the data was written with another schema or carries a header.

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::schema::{NamespaceRef, ResolvedSchema};
use apache_avro::types::Value;
use serde_json::{Map, Number, Value as Json};

/// Why a datum could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The schema's named types do not resolve, so nothing can be decoded with it.
    #[error("the schema cannot be used to decode: {0}")]
    Schema(apache_avro::Error),

    /// The bytes are not a value of the schema.
    #[error(
        "the datum does not decode with this schema: {0}; check that the records were \
        written with this schema"
    )]
    Decode(apache_avro::Error),

    /// The schema's value ends before the datum does.
    #[error(
        "the schema accounts for {used} of the datum's {total} bytes; the records were \
        probably written with another schema, or carry a header such as the 5-byte \
        schema-registry prefix"
    )]
    TrailingBytes {
        /// Bytes the value took.
        used: usize,
        /// Bytes in the datum.
        total: usize,
    },

    /// The decoded value does not fit the schema, which happens when a datum ends early.
    #[error(
        "at {at}: found {found} where the schema has {expected}; the datum is probably \
        truncated or was written with another schema"
    )]
    Mismatch {
        /// Where in the value: `lines[2].sku`, or `the top level`.
        at: String,
        /// The schema's type there.
        expected: String,
        /// What was decoded there.
        found: String,
    },
}

/// Renders datums of one schema, resolving its named types once.
pub struct JsonRenderer<'s> {
    schema: &'s Schema,
    reader: GenericDatumReader<'s>,
    names: ResolvedSchema<'s>,
}

impl std::fmt::Debug for JsonRenderer<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("JsonRenderer")
            .field("schema", self.schema)
            .finish_non_exhaustive()
    }
}

impl<'s> JsonRenderer<'s> {
    /// Prepares to render datums of `schema`.
    pub fn new(schema: &'s Schema) -> Result<Self, JsonError> {
        let reader = GenericDatumReader::builder(schema)
            .build()
            .map_err(JsonError::Schema)?;
        let names = ResolvedSchema::try_from(schema).map_err(JsonError::Schema)?;
        Ok(Self {
            schema,
            reader,
            names,
        })
    }

    /// Decodes `datum`, which must be exactly one value of the schema, and renders it.
    pub fn render(&self, datum: &[u8]) -> Result<Json, JsonError> {
        let mut rest = datum;
        let value = self
            .reader
            .read_value(&mut rest)
            .map_err(JsonError::Decode)?;
        if !rest.is_empty() {
            return Err(JsonError::TrailingBytes {
                used: datum.len() - rest.len(),
                total: datum.len(),
            });
        }
        self.render_value(&value)
    }

    /// Renders a value already decoded with the schema.
    pub fn render_value(&self, value: &Value) -> Result<Json, JsonError> {
        self.convert(value, self.schema, None)
            .map_err(Mismatch::into_error)
    }

    fn convert(
        &self,
        value: &Value,
        schema: &Schema,
        namespace: NamespaceRef<'_>,
    ) -> Result<Json, Mismatch> {
        if let Schema::Ref { name } = schema {
            let name = name.fully_qualified_name(namespace);
            let Some(resolved) = self.names.get_names().get(name.as_ref()) else {
                return Err(Mismatch::new(value, &format!("the undefined type {name}")));
            };
            return self.convert(value, resolved, name.namespace());
        }

        match (value, schema) {
            (Value::Null, Schema::Null) => Ok(Json::Null),
            (Value::Union(index, inner), Schema::Union(union)) => {
                let Some(branch) = union.variants().get(*index as usize) else {
                    return Err(Mismatch::new(value, "a union with fewer branches"));
                };
                self.convert(inner, branch, namespace)
            }
            (Value::Record(fields), Schema::Record(record)) => {
                let qualified = record.name.fully_qualified_name(namespace);
                let mut object = Map::new();
                for (name, field_value) in fields {
                    let Some(&position) = record.lookup.get(name) else {
                        return Err(Mismatch::new(value, "a record without that field"));
                    };
                    let field_schema = &record.fields[position].schema;
                    let json = self
                        .convert(field_value, field_schema, qualified.namespace())
                        .map_err(|error| error.within(Step::Field(name)))?;
                    object.insert(name.clone(), json);
                }
                Ok(Json::Object(object))
            }
            (Value::Array(items), Schema::Array(array)) => items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    self.convert(item, &array.items, namespace)
                        .map_err(|error| error.within(Step::Item(index)))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Json::Array),
            (Value::Map(entries), Schema::Map(map)) => {
                let mut keys: Vec<&String> = entries.keys().collect();
                keys.sort();
                let mut object = Map::new();
                for key in keys {
                    let json = self
                        .convert(&entries[key], &map.types, namespace)
                        .map_err(|error| error.within(Step::Key(key)))?;
                    object.insert(key.clone(), json);
                }
                Ok(Json::Object(object))
            }
            (Value::Decimal(decimal), Schema::Decimal(decimal_schema)) => {
                let bytes = Vec::<u8>::try_from(decimal)
                    .map_err(|_| Mismatch::new(value, "a decimal that fits its size"))?;
                let (negative, digits) = twos_complement_digits(&bytes);
                let scale = i64::try_from(decimal_schema.scale).unwrap_or(i64::MAX);
                Ok(Json::String(place_point(negative, &digits, scale)))
            }
            (value, schema) => {
                scalar(value).ok_or_else(|| Mismatch::new(value, &describe_schema(schema)))
            }
        }
    }
}

/// Decodes `datum` as one value of `schema` and renders it as JSON.
///
/// Rendering many datums of one schema is cheaper with a [`JsonRenderer`].
pub fn datum_to_json(schema: &Schema, datum: &[u8]) -> Result<Json, JsonError> {
    JsonRenderer::new(schema)?.render(datum)
}

/// Renders a value that needs no schema to be understood, or `None` for the others.
fn scalar(value: &Value) -> Option<Json> {
    let json = match value {
        Value::Boolean(flag) => Json::Bool(*flag),
        Value::Int(number) | Value::Date(number) | Value::TimeMillis(number) => Json::from(*number),
        Value::Long(number)
        | Value::TimeMicros(number)
        | Value::TimestampMillis(number)
        | Value::TimestampMicros(number)
        | Value::TimestampNanos(number)
        | Value::LocalTimestampMillis(number)
        | Value::LocalTimestampMicros(number)
        | Value::LocalTimestampNanos(number) => Json::from(*number),
        Value::Float(number) => float(*number),
        Value::Double(number) => double(*number),
        Value::String(text) => Json::String(text.clone()),
        Value::Enum(_, symbol) => Json::String(symbol.clone()),
        Value::Bytes(bytes) | Value::Fixed(_, bytes) => Json::String(latin1(bytes)),
        Value::Uuid(uuid) => Json::String(uuid.to_string()),
        Value::BigDecimal(decimal) => {
            let (unscaled, scale) = decimal.as_bigint_and_exponent();
            let text = unscaled.to_string();
            let (negative, digits) = match text.strip_prefix('-') {
                Some(digits) => (true, digits.as_bytes().to_vec()),
                None => (false, text.as_bytes().to_vec()),
            };
            Json::String(place_point(negative, &digits, scale))
        }
        Value::Duration(duration) => {
            let mut object = Map::new();
            object.insert("months".into(), u32::from(duration.months()).into());
            object.insert("days".into(), u32::from(duration.days()).into());
            object.insert("millis".into(), u32::from(duration.millis()).into());
            Json::Object(object)
        }
        Value::Null
        | Value::Union(..)
        | Value::Record(_)
        | Value::Array(_)
        | Value::Map(_)
        | Value::Decimal(_) => return None,
    };
    Some(json)
}

/// A float in the shortest decimal form that reads back as the same float.
fn float(number: f32) -> Json {
    if !number.is_finite() {
        return non_finite(f64::from(number));
    }
    let shortest: f64 = number.to_string().parse().unwrap_or(f64::from(number));
    double(shortest)
}

fn double(number: f64) -> Json {
    Number::from_f64(number).map_or_else(|| non_finite(number), Json::Number)
}

fn non_finite(number: f64) -> Json {
    let text = if number.is_nan() {
        "NaN"
    } else if number > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    };
    Json::String(text.to_owned())
}

/// One character per byte, as ISO-8859-1 reads them.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().copied().map(char::from).collect()
}

/// The sign and decimal digits (as ASCII) of a big-endian two's-complement integer.
fn twos_complement_digits(bytes: &[u8]) -> (bool, Vec<u8>) {
    let negative = bytes.first().is_some_and(|byte| byte & 0x80 != 0);

    // The magnitude: for a negative number, invert every bit and add one.
    let mut magnitude = bytes.to_vec();
    if negative {
        magnitude.iter_mut().for_each(|byte| *byte = !*byte);
        for byte in magnitude.iter_mut().rev() {
            let (sum, carry) = byte.overflowing_add(1);
            *byte = sum;
            if !carry {
                break;
            }
        }
    }

    // Decimal digits by repeated division by ten, least significant first.
    let mut digits = Vec::new();
    while magnitude.iter().any(|&byte| byte != 0) {
        let mut remainder = 0u32;
        for byte in magnitude.iter_mut() {
            let current = (remainder << 8) | u32::from(*byte);
            *byte = (current / 10) as u8;
            remainder = current % 10;
        }
        digits.push(b'0' + remainder as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.reverse();
    (negative, digits)
}

/// Writes `digits` (an unscaled integer) with `scale` digits after the point.
///
/// A negative scale multiplies by a power of ten, as `big-decimal` allows.
fn place_point(negative: bool, digits: &[u8], scale: i64) -> String {
    let mut text = String::with_capacity(digits.len() + 3);
    if negative {
        text.push('-');
    }
    let digits = std::str::from_utf8(digits).unwrap_or("0");
    if scale <= 0 {
        text.push_str(digits);
        if digits != "0" {
            (0..scale.unsigned_abs()).for_each(|_| text.push('0'));
        }
        return text;
    }

    let scale = usize::try_from(scale).unwrap_or(usize::MAX);
    if digits.len() > scale {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        text.push_str(whole);
        text.push('.');
        text.push_str(fraction);
    } else {
        text.push_str("0.");
        (0..scale - digits.len()).for_each(|_| text.push('0'));
        text.push_str(digits);
    }
    text
}

/// A schema's kind in words, for messages.
fn describe_schema(schema: &Schema) -> String {
    let kind = apache_avro::schema::SchemaKind::from(schema);
    format!("{kind:?}").to_lowercase()
}

/// A step into a value, innermost last once reversed.
enum Step<'a> {
    Field(&'a str),
    Item(usize),
    Key(&'a str),
}

/// A value that does not fit the schema, with the way down to it.
struct Mismatch {
    /// Steps from the value up to the top, innermost first.
    path: Vec<String>,
    expected: String,
    found: String,
}

impl Mismatch {
    fn new(value: &Value, expected: &str) -> Self {
        let kind = apache_avro::types::ValueKind::from(value);
        Self {
            path: Vec::new(),
            expected: expected.to_owned(),
            found: format!("{kind:?}").to_lowercase(),
        }
    }

    fn within(mut self, step: Step<'_>) -> Self {
        self.path.push(match step {
            Step::Field(name) => format!(".{name}"),
            Step::Item(index) => format!("[{index}]"),
            Step::Key(key) => format!("[{key:?}]"),
        });
        self
    }

    fn into_error(self) -> JsonError {
        let mut at: String = self.path.iter().rev().map(String::as_str).collect();
        if at.is_empty() {
            at = "the top level".to_owned();
        } else if at.starts_with('.') {
            at.remove(0);
        }
        JsonError::Mismatch {
            at,
            expected: self.expected,
            found: self.found,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::writer::datum::GenericDatumWriter;
    use apache_avro::{Decimal, Duration, Uuid};
    use serde_json::json;

    fn encode(schema: &Schema, value: Value) -> Vec<u8> {
        GenericDatumWriter::builder(schema)
            .build()
            .and_then(|writer| writer.write_value_to_vec(value))
            .expect("the test value fits the schema")
    }

    fn render(schema_text: &str, value: Value) -> Json {
        let schema = Schema::parse_str(schema_text).unwrap();
        datum_to_json(&schema, &encode(&schema, value)).unwrap()
    }

    #[test]
    fn records_keep_field_order_and_unions_are_unwrapped() {
        let schema = r#"{"type":"record","name":"R","fields":[
            {"name":"zeta","type":"int"},
            {"name":"alpha","type":["null","string"]},
            {"name":"mid","type":["null","string"]}
        ]}"#;
        let value = Value::Record(vec![
            ("zeta".into(), Value::Int(1)),
            (
                "alpha".into(),
                Value::Union(1, Box::new(Value::String("a".into()))),
            ),
            ("mid".into(), Value::Union(0, Box::new(Value::Null))),
        ]);

        let json = render(schema, value);

        assert_eq!(json, json!({"zeta": 1, "alpha": "a", "mid": null}));
        assert_eq!(json.to_string(), r#"{"zeta":1,"alpha":"a","mid":null}"#);
    }

    #[test]
    fn scalars_follow_the_documented_mapping() {
        let schema = r#"{"type":"record","name":"R","fields":[
            {"name":"flag","type":"boolean"},
            {"name":"small","type":"float"},
            {"name":"large","type":"double"},
            {"name":"raw","type":"bytes"},
            {"name":"hash","type":{"type":"fixed","name":"H","size":3}},
            {"name":"suit","type":{"type":"enum","name":"Suit","symbols":["SPADES","HEARTS"]}},
            {"name":"day","type":{"type":"int","logicalType":"date"}},
            {"name":"at","type":{"type":"long","logicalType":"timestamp-nanos"}},
            {"name":"id","type":{"type":"string","logicalType":"uuid"}},
            {"name":"span","type":{"type":"fixed","name":"D","size":12,"logicalType":"duration"}}
        ]}"#;
        let uuid = Uuid::parse_str("67e55044-10b1-426f-9247-bb680e5fe0c8").unwrap();
        let duration = Duration::from([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
        let value = Value::Record(vec![
            ("flag".into(), Value::Boolean(true)),
            ("small".into(), Value::Float(0.1)),
            ("large".into(), Value::Double(f64::NAN)),
            ("raw".into(), Value::Bytes(vec![0x41, 0x00, 0xe9, 0xff])),
            ("hash".into(), Value::Fixed(3, vec![0x61, 0x62, 0x80])),
            ("suit".into(), Value::Enum(1, "HEARTS".into())),
            ("day".into(), Value::Date(19_000)),
            ("at".into(), Value::TimestampNanos(-5)),
            ("id".into(), Value::Uuid(uuid)),
            ("span".into(), Value::Duration(duration)),
        ]);

        let json = render(schema, value);

        let expected = json!({
            "flag": true, "small": 0.1, "large": "NaN", "raw": "A\u{0}\u{e9}\u{ff}",
            "hash": "ab\u{80}", "suit": "HEARTS", "day": 19000, "at": -5,
            "id": "67e55044-10b1-426f-9247-bb680e5fe0c8",
            "span": {"months": 1, "days": 2, "millis": 3}
        });
        assert_eq!(json, expected);
    }

    #[test]
    fn maps_render_as_objects_with_sorted_keys() {
        let schema = r#"{"type":"map","values":["null","long"]}"#;
        let entries = [("pear", 2), ("apple", 1), ("fig", 3)]
            .into_iter()
            .map(|(key, n)| (key.to_owned(), Value::Union(1, Box::new(Value::Long(n)))))
            .collect();

        let json = render(schema, Value::Map(entries));

        assert_eq!(json.to_string(), r#"{"apple":1,"fig":3,"pear":2}"#);
    }

    #[test]
    fn decimals_render_as_exact_text_on_bytes_and_fixed() {
        let bytes = r#"{"type":"bytes","logicalType":"decimal","precision":6,"scale":2}"#;
        let fixed = r#"{"type":"fixed","name":"F","size":5,"logicalType":"decimal",
            "precision":9,"scale":3}"#;
        let cases: [(&str, i64, &str); 5] = [
            (bytes, -1234, "-12.34"),
            (bytes, 5, "0.05"),
            (bytes, 0, "0.00"),
            (fixed, -7, "-0.007"),
            (fixed, 123_456_789, "123456.789"),
        ];
        for (schema, unscaled, expected) in cases {
            let value = Value::Decimal(Decimal::from(unscaled.to_be_bytes()));
            assert_eq!(
                render(schema, value),
                Json::String(expected.into()),
                "{unscaled}"
            );
        }
    }

    #[test]
    fn decimal_digits_agree_with_integer_formatting() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let number = (state as i64) >> (state % 60);
            let (negative, digits) = twos_complement_digits(&number.to_be_bytes());
            let text = format!(
                "{}{}",
                if negative { "-" } else { "" },
                String::from_utf8(digits).unwrap()
            );
            assert_eq!(text, number.to_string());
        }
        assert_eq!(twos_complement_digits(&[]), (false, b"0".to_vec()));
    }

    #[test]
    fn the_point_is_placed_for_every_scale() {
        assert_eq!(place_point(false, b"1234", 2), "12.34");
        assert_eq!(place_point(true, b"5", 3), "-0.005");
        assert_eq!(place_point(false, b"5", 1), "0.5");
        assert_eq!(place_point(false, b"12", 0), "12");
        assert_eq!(place_point(false, b"12", -2), "1200");
        assert_eq!(place_point(false, b"0", -2), "0");
    }

    #[test]
    fn big_decimals_render_exactly() {
        let schema = Schema::parse_str(r#"{"type":"bytes","logicalType":"big-decimal"}"#).unwrap();
        let value: apache_avro::BigDecimal = "-31.4159".parse().unwrap();
        let json = datum_to_json(&schema, &encode(&schema, Value::BigDecimal(value))).unwrap();
        assert_eq!(json, Json::String("-31.4159".into()));
    }

    #[test]
    fn floats_use_their_shortest_form_and_infinities_become_strings() {
        assert_eq!(float(0.1).to_string(), "0.1");
        assert_eq!(float(f32::INFINITY), Json::String("Infinity".into()));
        assert_eq!(double(f64::NEG_INFINITY), Json::String("-Infinity".into()));
        assert_eq!(double(2.5), json!(2.5));
    }

    #[test]
    fn recursive_named_types_resolve_through_references() {
        let schema = r#"{"type":"record","name":"Node","namespace":"t","fields":[
            {"name":"label","type":"string"},
            {"name":"next","type":["null","Node"]}
        ]}"#;
        let leaf = Value::Record(vec![
            ("label".into(), Value::String("b".into())),
            ("next".into(), Value::Union(0, Box::new(Value::Null))),
        ]);
        let value = Value::Record(vec![
            ("label".into(), Value::String("a".into())),
            ("next".into(), Value::Union(1, Box::new(leaf))),
        ]);

        let json = render(schema, value);

        assert_eq!(
            json,
            json!({"label": "a", "next": {"label": "b", "next": null}})
        );
    }

    #[test]
    fn bytes_left_over_are_an_error_that_mentions_headers() {
        let schema = Schema::parse_str(r#""long""#).unwrap();
        let error = datum_to_json(&schema, &[0x02, 0x00]).unwrap_err();
        assert!(matches!(
            error,
            JsonError::TrailingBytes { used: 1, total: 2 }
        ));
        assert!(error.to_string().contains("header"));
    }

    #[test]
    fn a_truncated_datum_is_an_error_with_its_place() {
        // apache-avro decodes a string whose text is cut off by the end of the input as a null,
        // so the renderer is what notices that the datum is short.
        let schema = Schema::parse_str(
            r#"{"type":"record","name":"R","fields":[
                {"name":"n","type":"long"},
                {"name":"inner","type":{"type":"record","name":"I","fields":[
                    {"name":"label","type":"string"}]}}
            ]}"#,
        )
        .unwrap();
        let inner = Value::Record(vec![("label".into(), Value::String("abc".into()))]);
        let full = encode(
            &schema,
            Value::Record(vec![("n".into(), Value::Long(3)), ("inner".into(), inner)]),
        );
        assert!(datum_to_json(&schema, &full).is_ok());

        let error = datum_to_json(&schema, &full[..3]).unwrap_err();

        let JsonError::Mismatch {
            at,
            expected,
            found,
        } = &error
        else {
            panic!("expected a mismatch, got {error:?}");
        };
        assert_eq!(
            (at.as_str(), expected.as_str(), found.as_str()),
            ("inner.label", "string", "null")
        );
        assert!(error.to_string().contains("truncated"));
    }
}
