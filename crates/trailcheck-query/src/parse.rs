//! Single-pass JSON → Arrow conversion of a CloudTrail log file, building
//! only the projected columns.
//!
//! The log is walked with `serde_json` in borrowed mode through
//! [`DeserializeSeed`]s that append straight into Arrow builders: no
//! intermediate `serde_json::Value` is built, keys of unprojected columns are
//! skipped with [`IgnoredAny`], and strings without escapes are copied
//! directly from the input buffer.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, ListArray, MapArray, NullBufferBuilder, StringArray, StringBuilder, StructArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{Field, FieldRef, Fields};
use arrow::error::ArrowError;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::prefilter::Prefilter;
use crate::schema::{Child, Node, map_entries_field, struct_fields};

/// Why one log could not be turned into rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// Not JSON, or JSON of the wrong shape.
    Json(String),
    /// The top-level object has no `Records` array.
    NoRecords,
    /// Arrow refused the arrays (should not happen; reported, not panicked).
    Arrow(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Json(m) => write!(f, "invalid CloudTrail log JSON: {m}"),
            ParseError::NoRecords => f.write_str("log has no \"Records\" array"),
            ParseError::Arrow(m) => write!(f, "building Arrow arrays failed: {m}"),
        }
    }
}

impl From<ArrowError> for ParseError {
    fn from(e: ArrowError) -> Self {
        ParseError::Arrow(e.to_string())
    }
}

/// An Arrow builder tree mirroring a [`Node`] tree.
#[derive(Debug)]
pub(crate) enum Builder {
    Str {
        values: StringBuilder,
        raw_json: bool,
    },
    Struct {
        fields: Fields,
        keys: Vec<&'static str>,
        children: Vec<Builder>,
        nulls: NullBufferBuilder,
    },
    List {
        field: FieldRef,
        child: Box<Builder>,
        offsets: Vec<i32>,
        nulls: NullBufferBuilder,
    },
    Map {
        keys: StringBuilder,
        values: StringBuilder,
        offsets: Vec<i32>,
        nulls: NullBufferBuilder,
    },
}

impl Builder {
    pub(crate) fn new(node: &Node) -> Self {
        match node {
            Node::Str => Builder::Str {
                values: StringBuilder::new(),
                raw_json: false,
            },
            Node::Json => Builder::Str {
                values: StringBuilder::new(),
                raw_json: true,
            },
            Node::Struct(children) => Self::new_struct(children.iter()),
            Node::List(inner) => Builder::List {
                field: Arc::new(Field::new("item", inner.data_type(), true)),
                child: Box::new(Builder::new(inner)),
                offsets: vec![0],
                nulls: NullBufferBuilder::new(0),
            },
            Node::Map => Builder::Map {
                keys: StringBuilder::new(),
                values: StringBuilder::new(),
                offsets: vec![0],
                nulls: NullBufferBuilder::new(0),
            },
        }
    }

    /// A struct builder over the given children (used for the top-level
    /// record with only the projected columns).
    pub(crate) fn new_struct<'c>(children: impl Iterator<Item = &'c Child>) -> Self {
        let owned: Vec<Child> = children.cloned().collect();
        Builder::Struct {
            fields: struct_fields(&owned),
            keys: owned.iter().map(|c| c.key).collect(),
            children: owned.iter().map(|c| Builder::new(&c.node)).collect(),
            nulls: NullBufferBuilder::new(0),
        }
    }

    fn append_null(&mut self) {
        match self {
            Builder::Str { values, .. } => values.append_null(),
            Builder::Struct {
                children, nulls, ..
            } => {
                for ch in children {
                    ch.append_null();
                }
                nulls.append_null();
            }
            Builder::List { offsets, nulls, .. } | Builder::Map { offsets, nulls, .. } => {
                let last = offsets.last().copied().unwrap_or(0);
                offsets.push(last);
                nulls.append_null();
            }
        }
    }

    /// Finish into one array.
    pub(crate) fn finish(self) -> Result<ArrayRef, ParseError> {
        Ok(match self {
            Builder::Str { mut values, .. } => Arc::new(values.finish()),
            Builder::Struct {
                fields,
                children,
                mut nulls,
                ..
            } => {
                let arrays = children
                    .into_iter()
                    .map(Builder::finish)
                    .collect::<Result<Vec<_>, _>>()?;
                Arc::new(StructArray::try_new(fields, arrays, nulls.finish())?)
            }
            Builder::List {
                field,
                child,
                offsets,
                mut nulls,
            } => Arc::new(ListArray::try_new(
                field,
                OffsetBuffer::new(offsets.into()),
                child.finish()?,
                nulls.finish(),
            )?),
            Builder::Map {
                mut keys,
                mut values,
                offsets,
                mut nulls,
            } => {
                let entries_field = map_entries_field();
                let entry_fields = match entries_field.data_type() {
                    arrow::datatypes::DataType::Struct(f) => f.clone(),
                    _ => return Err(ParseError::Arrow("bad map entries type".into())),
                };
                let entries = StructArray::try_new(
                    entry_fields,
                    vec![Arc::new(keys.finish()), Arc::new(values.finish())],
                    None,
                )?;
                Arc::new(MapArray::try_new(
                    entries_field,
                    OffsetBuffer::new(offsets.into()),
                    entries,
                    nulls.finish(),
                    false,
                )?)
            }
        })
    }

    /// Finish a struct builder into its child arrays (top-level record).
    pub(crate) fn finish_children(self) -> Result<Vec<ArrayRef>, ParseError> {
        match self {
            Builder::Struct { children, .. } => children.into_iter().map(Builder::finish).collect(),
            other => Ok(vec![other.finish()?]),
        }
    }
}

/// A JSON object key, borrowed from the input when it has no escapes.
pub(crate) struct Key<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

fn find_key(keys: &[&'static str], key: &str) -> Option<usize> {
    keys.iter()
        .position(|k| k.len() == key.len() && k.eq_ignore_ascii_case(key))
}

/// Append the text of a raw JSON value to a string column.
fn append_raw<E: de::Error>(out: &mut StringBuilder, raw: &str, raw_json: bool) -> Result<(), E> {
    if raw == "null" {
        out.append_null();
    } else if raw_json {
        out.append_value(raw);
    } else if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        if inner.as_bytes().contains(&b'\\') {
            let unescaped: String = serde_json::from_str(raw).map_err(E::custom)?;
            out.append_value(unescaped);
        } else {
            out.append_value(inner);
        }
    } else {
        // number, boolean, object or array: keep its JSON text
        out.append_value(raw);
    }
    Ok(())
}

/// Seed appending one JSON value into a builder.
struct ValueSeed<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.0 {
            Builder::Str { values, raw_json } => {
                let raw = <&'de RawValue>::deserialize(d)?;
                append_raw(values, raw.get(), *raw_json)
            }
            b @ Builder::Struct { .. } => d.deserialize_any(StructVisitor {
                builder: b,
                record: false,
            }),
            b @ Builder::List { .. } => d.deserialize_any(ListVisitor(b)),
            b @ Builder::Map { .. } => d.deserialize_any(MapVisitor(b)),
        }
    }
}

/// Consume the rest of a value of the wrong type and append NULL.
macro_rules! wrong_type_is_null {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            self.null()
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            self.null()
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            self.null()
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            self.null()
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            self.null()
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            self.null()
        }
        fn visit_none<E: de::Error>(self) -> Result<(), E> {
            self.null()
        }
    };
}

struct StructVisitor<'b> {
    builder: &'b mut Builder,
    /// Top-level record: anything but an object is an error.
    record: bool,
}

impl StructVisitor<'_> {
    fn null<E: de::Error>(self) -> Result<(), E> {
        if self.record {
            return Err(E::custom("a record is not a JSON object"));
        }
        self.builder.append_null();
        Ok(())
    }
}

impl<'de> Visitor<'de> for StructVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    wrong_type_is_null!();
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.null()
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Builder::Struct {
            keys,
            children,
            nulls,
            ..
        } = self.builder
        else {
            return Err(de::Error::custom("internal: struct visitor on non-struct"));
        };
        let mut seen: u128 = 0;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match find_key(keys, &key.0) {
                Some(i) if i < 128 && seen & (1u128 << i) == 0 => {
                    seen |= 1u128 << i;
                    if let Some(child) = children.get_mut(i) {
                        map.next_value_seed(ValueSeed(child))?;
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        for (i, child) in children.iter_mut().enumerate() {
            if i >= 128 || seen & (1u128 << i) == 0 {
                child.append_null();
            }
        }
        nulls.append_non_null();
        Ok(())
    }
}

struct ListVisitor<'b>(&'b mut Builder);

impl ListVisitor<'_> {
    fn null<E: de::Error>(self) -> Result<(), E> {
        self.0.append_null();
        Ok(())
    }
}

impl<'de> Visitor<'de> for ListVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }
    wrong_type_is_null!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.null()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Builder::List {
            child,
            offsets,
            nulls,
            ..
        } = self.0
        else {
            return Err(de::Error::custom("internal: list visitor on non-list"));
        };
        let mut n: i32 = 0;
        while seq.next_element_seed(ValueSeed(child))?.is_some() {
            n = n.saturating_add(1);
        }
        let last = offsets.last().copied().unwrap_or(0);
        offsets.push(last.saturating_add(n));
        nulls.append_non_null();
        Ok(())
    }
}

struct MapVisitor<'b>(&'b mut Builder);

impl MapVisitor<'_> {
    fn null<E: de::Error>(self) -> Result<(), E> {
        self.0.append_null();
        Ok(())
    }
}

impl<'de> Visitor<'de> for MapVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    wrong_type_is_null!();
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.null()
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Builder::Map {
            keys,
            values,
            offsets,
            nulls,
        } = self.0
        else {
            return Err(de::Error::custom("internal: map visitor on non-map"));
        };
        let mut n: i32 = 0;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let raw = map.next_value::<&'de RawValue>()?;
            keys.append_value(&key.0);
            append_raw(values, raw.get(), false)?;
            n = n.saturating_add(1);
        }
        let last = offsets.last().copied().unwrap_or(0);
        offsets.push(last.saturating_add(n));
        nulls.append_non_null();
        Ok(())
    }
}

/// Seed for the whole log file: `{"Records": [record, ...], ...}`.
struct LogSeed<'b> {
    record: &'b mut Builder,
    rows: &'b mut usize,
    prefilter: Option<&'b Prefilter>,
}

impl<'de> DeserializeSeed<'de> for LogSeed<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LogSeed<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudTrail log object {\"Records\": [...]}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if !found && key.0 == "Records" {
                found = true;
                map.next_value_seed(RecordsSeed {
                    record: &mut *self.record,
                    rows: &mut *self.rows,
                    prefilter: self.prefilter,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

struct RecordsSeed<'b> {
    record: &'b mut Builder,
    rows: &'b mut usize,
    prefilter: Option<&'b Prefilter>,
}

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"Records\" to be an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some(prefilter) = self.prefilter else {
            while seq
                .next_element_seed(RecordSeed(&mut *self.record))?
                .is_some()
            {
                *self.rows += 1;
            }
            return Ok(());
        };
        // Each record's text is found (its syntax checked) and only parsed into columns
        // when the query's filter may keep it.
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            if !prefilter.may_match(raw.get()) {
                continue;
            }
            let mut de = serde_json::Deserializer::from_str(raw.get());
            RecordSeed(&mut *self.record)
                .deserialize(&mut de)
                .map_err(de::Error::custom)?;
            *self.rows += 1;
        }
        Ok(())
    }
}

struct RecordSeed<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(StructVisitor {
            builder: self.0,
            record: true,
        })
    }
}

/// Parse one log file, appending its records to `record` (a struct builder
/// over the projected event columns). Returns the number of records.
///
/// On error the builder may hold a partial row; callers discard it.
pub(crate) fn parse_log(
    bytes: &[u8],
    record: &mut Builder,
    prefilter: Option<&Prefilter>,
) -> Result<usize, ParseError> {
    let mut rows = 0usize;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let found = LogSeed {
        record,
        rows: &mut rows,
        prefilter,
    }
    .deserialize(&mut de)
    .map_err(|e| ParseError::Json(e.to_string()))?;
    de.end().map_err(|e| ParseError::Json(e.to_string()))?;
    if !found {
        return Err(ParseError::NoRecords);
    }
    Ok(rows)
}

/// A string column repeating one (possibly NULL) value.
pub(crate) fn repeated(value: Option<&str>, rows: usize) -> ArrayRef {
    Arc::new(StringArray::from_iter(std::iter::repeat_n(value, rows)))
}
