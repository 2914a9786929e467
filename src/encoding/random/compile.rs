//! Compiling an `apache-avro` schema into the flat node table the generator walks.
//!
//! Named types become one node each, and every reference to them becomes that node's index, so
//! recursive types are plain cycles in the table. After building the table we compute, for every
//! node, how deep a value of it must at least be; a union remembers its shallowest branches
//! (where recursion stops) and a node that can never be finished is refused here, before any
//! record is written.

use std::collections::HashMap;

use apache_avro::Schema;
use apache_avro::schema::{InnerDecimalSchema, Name, UuidSchema};

use super::RandomSchemaError;

/// The index of a node in a compiled schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeId(pub(super) u32);

impl NodeId {
    pub(super) fn index(self) -> usize {
        self.0 as usize
    }
}

/// The unit of an integer timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TimeUnit {
    Millis,
    Micros,
    Nanos,
}

impl TimeUnit {
    /// Converts nanoseconds since the epoch to this unit, rounding towards the past.
    ///
    /// Each arm divides by a constant, which compiles to a multiplication rather than a
    /// division; this runs for every timestamp written.
    #[inline]
    pub(super) fn convert(self, nanos: i64) -> i64 {
        match self {
            TimeUnit::Millis => nanos.div_euclid(1_000_000),
            TimeUnit::Micros => nanos.div_euclid(1_000),
            TimeUnit::Nanos => nanos,
        }
    }
}

/// One schema type, ready to generate.
#[derive(Clone, Debug)]
pub(super) enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Record {
        /// The record's full name, for messages.
        name: String,
        fields: Box<[Field]>,
    },
    Enum {
        symbols: u32,
    },
    Array(NodeId),
    Map(NodeId),
    Union {
        branches: Box<[NodeId]>,
        /// The branches of least depth, taken once the depth budget is spent.
        shallowest: Box<[u32]>,
    },
    Fixed {
        size: usize,
    },
    Date,
    TimeMillis,
    TimeMicros,
    /// `timestamp-*` and `local-timestamp-*`: the same long, read differently.
    Instant(TimeUnit),
    UuidText,
    /// A UUID as 16 raw bytes: `fixed(16)`, or `bytes` with a length prefix.
    UuidBinary {
        length_prefixed: bool,
    },
    Decimal {
        /// Unscaled values are drawn below this magnitude: within the precision, at most
        /// eighteen digits, and small enough for the fixed size.
        bound: u64,
        /// The fixed size, or `None` for bytes.
        fixed: Option<usize>,
    },
    BigDecimal,
    Duration,
}

/// A record field, with the event fact it takes when its name asks for one.
#[derive(Clone, Debug)]
pub struct Field {
    pub(super) name: String,
    pub(super) node: NodeId,
    pub(super) context: Option<ContextSlot>,
}

impl Field {
    /// The field's name in the schema.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node of the field's type, for [`super::RandomSchema::write_node`].
    pub fn node(&self) -> NodeId {
        self.node
    }
}

/// How a field named `user_id`, `product_id` or `timestamp` takes the event's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ContextSlot {
    /// The union branch to write first, when the field's type is a union.
    pub(super) branch: Option<usize>,
    pub(super) value: ContextValue,
}

/// Which event fact to write, and in which form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ContextValue {
    /// `user-<n>`.
    UserText,
    /// The user number, as an int (`narrow`) or a long.
    UserNumber { narrow: bool },
    /// The product number in decimal text.
    ProductText,
    /// The product number, as an int (`narrow`) or a long.
    ProductNumber { narrow: bool },
    /// The event time in this unit.
    Time(TimeUnit),
}

/// The largest number of decimal digits drawn for a decimal's unscaled value.
const DECIMAL_DIGITS_MAX: u32 = 18;

/// The number of integer digits a decimal gets on top of its scale, when the precision allows.
const DECIMAL_INTEGER_DIGITS: u32 = 6;

/// Builds the node table for `schema` and checks that every node can be generated.
pub(super) fn compile(schema: &Schema) -> Result<(Vec<Node>, NodeId), RandomSchemaError> {
    let mut compiler = Compiler {
        nodes: Vec::new(),
        names: HashMap::new(),
    };
    let root = compiler.node(schema, None, &Site::Top)?;
    let mut nodes = compiler.nodes;

    bind_context_fields(&mut nodes);
    let depths = least_depths(&nodes);
    check_finite(&nodes, &depths)?;
    record_shallowest_branches(&mut nodes, &depths);
    Ok((nodes, root))
}

/// Where in the schema the compiler is, for messages.
enum Site<'a> {
    Top,
    Field { record: &'a str, field: &'a str },
}

impl Site<'_> {
    fn describe(&self) -> String {
        match self {
            Site::Top => "the top-level schema".to_owned(),
            Site::Field { record, field } => format!("field `{field}` of record `{record}`"),
        }
    }
}

struct Compiler {
    nodes: Vec<Node>,
    /// Named types by full name.
    names: HashMap<String, NodeId>,
}

impl Compiler {
    fn push(&mut self, node: Node) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(node);
        id
    }

    /// Reserves a node for a named type before its parts are compiled, so they can refer to it.
    fn define(&mut self, name: &Name, namespace: Option<&str>) -> NodeId {
        let id = self.push(Node::Null);
        let full = name.fully_qualified_name(namespace).fullname(None);
        self.names.insert(full, id);
        id
    }

    fn set(&mut self, id: NodeId, node: Node) -> NodeId {
        self.nodes[id.index()] = node;
        id
    }

    fn node(
        &mut self,
        schema: &Schema,
        namespace: Option<&str>,
        site: &Site<'_>,
    ) -> Result<NodeId, RandomSchemaError> {
        let simple = match schema {
            Schema::Null => Node::Null,
            Schema::Boolean => Node::Boolean,
            Schema::Int => Node::Int,
            Schema::Long => Node::Long,
            Schema::Float => Node::Float,
            Schema::Double => Node::Double,
            Schema::Bytes => Node::Bytes,
            Schema::String => Node::String,
            Schema::Date => Node::Date,
            Schema::TimeMillis => Node::TimeMillis,
            Schema::TimeMicros => Node::TimeMicros,
            Schema::TimestampMillis | Schema::LocalTimestampMillis => {
                Node::Instant(TimeUnit::Millis)
            }
            Schema::TimestampMicros | Schema::LocalTimestampMicros => {
                Node::Instant(TimeUnit::Micros)
            }
            Schema::TimestampNanos | Schema::LocalTimestampNanos => Node::Instant(TimeUnit::Nanos),
            Schema::BigDecimal => Node::BigDecimal,
            Schema::Uuid(UuidSchema::String) => Node::UuidText,
            Schema::Uuid(UuidSchema::Bytes) => Node::UuidBinary {
                length_prefixed: true,
            },
            Schema::Uuid(UuidSchema::Fixed(fixed)) => {
                let id = self.define(&fixed.name, namespace);
                let node = Node::UuidBinary {
                    length_prefixed: false,
                };
                return Ok(self.set(id, node));
            }
            Schema::Duration(fixed) => {
                let id = self.define(&fixed.name, namespace);
                return Ok(self.set(id, Node::Duration));
            }
            Schema::Fixed(fixed) => {
                let id = self.define(&fixed.name, namespace);
                return Ok(self.set(id, Node::Fixed { size: fixed.size }));
            }
            Schema::Decimal(decimal) => {
                let fixed = match &decimal.inner {
                    InnerDecimalSchema::Bytes => None,
                    InnerDecimalSchema::Fixed(fixed) => Some(fixed),
                };
                let node = Node::Decimal {
                    bound: decimal_bound(decimal.precision, decimal.scale, fixed.map(|f| f.size)),
                    fixed: fixed.map(|f| f.size),
                };
                return Ok(match fixed {
                    Some(fixed) => {
                        let id = self.define(&fixed.name, namespace);
                        self.set(id, node)
                    }
                    None => self.push(node),
                });
            }
            Schema::Enum(enumeration) => {
                if enumeration.symbols.is_empty() {
                    return Err(RandomSchemaError::EmptyEnum {
                        name: enumeration.name.name().to_owned(),
                    });
                }
                let id = self.define(&enumeration.name, namespace);
                let symbols = enumeration.symbols.len() as u32;
                return Ok(self.set(id, Node::Enum { symbols }));
            }
            Schema::Array(array) => {
                let items = self.node(&array.items, namespace, site)?;
                Node::Array(items)
            }
            Schema::Map(map) => {
                let values = self.node(&map.types, namespace, site)?;
                Node::Map(values)
            }
            Schema::Union(union) => {
                if union.variants().is_empty() {
                    return Err(RandomSchemaError::EmptyUnion {
                        location: site.describe(),
                    });
                }
                let branches = union
                    .variants()
                    .iter()
                    .map(|branch| self.node(branch, namespace, site))
                    .collect::<Result<Box<[NodeId]>, _>>()?;
                Node::Union {
                    branches,
                    shallowest: Box::new([]),
                }
            }
            Schema::Record(record) => {
                let id = self.define(&record.name, namespace);
                let qualified = record.name.fully_qualified_name(namespace);
                let mut fields = Vec::with_capacity(record.fields.len());
                for field in &record.fields {
                    let site = Site::Field {
                        record: record.name.name(),
                        field: &field.name,
                    };
                    let node = self.node(&field.schema, qualified.namespace(), &site)?;
                    fields.push(Field {
                        name: field.name.clone(),
                        node,
                        context: None,
                    });
                }
                let node = Node::Record {
                    name: qualified.fullname(None),
                    fields: fields.into_boxed_slice(),
                };
                return Ok(self.set(id, node));
            }
            Schema::Ref { name } => {
                let full = name.fully_qualified_name(namespace).fullname(None);
                return self.names.get(&full).copied().ok_or_else(|| {
                    RandomSchemaError::UnresolvedName {
                        name: full,
                        location: site.describe(),
                    }
                });
            }
        };
        Ok(self.push(simple))
    }
}

/// The exclusive bound of a decimal's unscaled magnitude.
///
/// Values have up to `scale + 6` digits (amounts like `123456.78`), never more than the precision
/// or eighteen digits, and no more than a fixed of `size` bytes holds as a signed number.
fn decimal_bound(precision: usize, scale: usize, size: Option<usize>) -> u64 {
    let digits = (scale as u32)
        .saturating_add(DECIMAL_INTEGER_DIGITS)
        .min(precision.min(DECIMAL_DIGITS_MAX as usize) as u32);
    let mut bound = 10u64.pow(digits);
    if let Some(size) = size {
        let capacity = match size {
            0 => 1,
            1..=8 => 1u64 << (8 * size - 1),
            _ => u64::MAX,
        };
        bound = bound.min(capacity);
    }
    bound
}

/// Gives fields named `user_id`, `product_id` and `timestamp` the event's value when their type
/// (or, for a union, its first branch that can) holds it.
fn bind_context_fields(nodes: &mut [Node]) {
    let mut slots = Vec::new();
    for (index, node) in nodes.iter().enumerate() {
        if let Node::Record { fields, .. } = node {
            for (position, field) in fields.iter().enumerate() {
                if let Some(slot) = context_slot(nodes, &field.name, field.node) {
                    slots.push((index, position, slot));
                }
            }
        }
    }

    for (index, position, slot) in slots {
        if let Node::Record { fields, .. } = &mut nodes[index] {
            fields[position].context = Some(slot);
        }
    }
}

fn context_slot(nodes: &[Node], name: &str, node: NodeId) -> Option<ContextSlot> {
    if let Node::Union { branches, .. } = &nodes[node.index()] {
        return branches.iter().enumerate().find_map(|(branch, id)| {
            context_value(name, &nodes[id.index()]).map(|value| ContextSlot {
                branch: Some(branch),
                value,
            })
        });
    }
    context_value(name, &nodes[node.index()]).map(|value| ContextSlot {
        branch: None,
        value,
    })
}

fn context_value(name: &str, node: &Node) -> Option<ContextValue> {
    match (name, node) {
        ("user_id", Node::String) => Some(ContextValue::UserText),
        ("user_id", Node::Int) => Some(ContextValue::UserNumber { narrow: true }),
        ("user_id", Node::Long) => Some(ContextValue::UserNumber { narrow: false }),
        ("product_id", Node::String) => Some(ContextValue::ProductText),
        ("product_id", Node::Int) => Some(ContextValue::ProductNumber { narrow: true }),
        ("product_id", Node::Long) => Some(ContextValue::ProductNumber { narrow: false }),
        ("timestamp", Node::Long) => Some(ContextValue::Time(TimeUnit::Millis)),
        ("timestamp", Node::Instant(unit)) => Some(ContextValue::Time(*unit)),
        _ => None,
    }
}

/// Marks a node that no finite value can have.
const ENDLESS: u32 = u32::MAX;

/// For every node, the least number of nested records a value of it must contain when every
/// union takes its shallowest branch and every array and map is empty.
///
/// Starting from "endless" everywhere, each pass lowers what it can until nothing changes; the
/// nodes still endless afterwards need themselves to be finished.
fn least_depths(nodes: &[Node]) -> Vec<u32> {
    let mut depths = vec![ENDLESS; nodes.len()];
    loop {
        let mut changed = false;
        for (index, node) in nodes.iter().enumerate() {
            let depth = match node {
                Node::Record { fields, .. } => fields
                    .iter()
                    .map(|field| depths[field.node.index()])
                    .try_fold(0u32, |deepest, depth| {
                        (depth != ENDLESS).then(|| deepest.max(depth))
                    })
                    .map_or(ENDLESS, |deepest| deepest + 1),
                Node::Union { branches, .. } => branches
                    .iter()
                    .map(|branch| depths[branch.index()])
                    .min()
                    .unwrap_or(ENDLESS),
                _ => 0,
            };
            if depth < depths[index] {
                depths[index] = depth;
                changed = true;
            }
        }
        if !changed {
            return depths;
        }
    }
}

/// Refuses a schema with a record that can only be finished by another copy of itself.
fn check_finite(nodes: &[Node], depths: &[u32]) -> Result<(), RandomSchemaError> {
    for (index, node) in nodes.iter().enumerate() {
        let Node::Record { name, fields } = node else {
            continue;
        };
        if depths[index] != ENDLESS {
            continue;
        }
        let field = fields
            .iter()
            .find(|field| depths[field.node.index()] == ENDLESS)
            .map_or_else(String::new, |field| field.name.clone());
        return Err(RandomSchemaError::EndlessRecursion {
            record: name.clone(),
            field,
        });
    }
    Ok(())
}

fn record_shallowest_branches(nodes: &mut [Node], depths: &[u32]) {
    for node in nodes.iter_mut() {
        if let Node::Union {
            branches,
            shallowest,
        } = node
        {
            let least = branches.iter().map(|b| depths[b.index()]).min();
            *shallowest = branches
                .iter()
                .enumerate()
                .filter(|(_, branch)| Some(depths[branch.index()]) == least)
                .map(|(index, _)| index as u32)
                .collect();
        }
    }
}
