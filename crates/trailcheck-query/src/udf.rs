//! Presto/Trino (Athena) JSON functions over JSON text columns:
//! `json_extract_scalar`, `json_extract`, `json_array_contains`,
//! `json_array_length`, `json_size`.
//!
//! Semantics follow Trino's documentation: invalid JSON and missing paths
//! give NULL; `json_extract_scalar` gives NULL for objects, arrays and JSON
//! null; an invalid JSONPath is a query error. Values are navigated on the
//! raw text (no `serde_json::Value` tree), so numbers keep their original
//! spelling.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Int64Builder, StringArray, StringBuilder,
};
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::parse::Key;

/// One step of a JSONPath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    /// `.name` or `["name"]`
    Key(String),
    /// `[n]`
    Index(usize),
}

/// Parse the JSONPath subset Trino's JSON functions accept:
/// `$`, `.key`, `["key"]` / `['key']`, `[index]`.
pub fn parse_json_path(path: &str) -> std::result::Result<Vec<PathStep>, String> {
    let bad = |why: &str| format!("invalid JSON path '{path}': {why}");
    let rest = path.trim();
    let mut rest = rest
        .strip_prefix('$')
        .ok_or_else(|| bad("must start with '$'"))?;
    let mut steps = Vec::new();
    while let Some(c) = rest.chars().next() {
        match c {
            '.' => {
                let after = &rest[1..];
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let name = &after[..end];
                if name.is_empty() {
                    return Err(bad("empty key after '.'"));
                }
                if name == "*" {
                    return Err(bad("wildcards are not supported"));
                }
                steps.push(PathStep::Key(name.to_owned()));
                rest = &after[end..];
            }
            '[' => {
                let after = &rest[1..];
                if let Some(q) = after.chars().next().filter(|q| *q == '"' || *q == '\'') {
                    let body = &after[1..];
                    let mut key = String::new();
                    let mut chars = body.char_indices();
                    let mut close = None;
                    while let Some((i, ch)) = chars.next() {
                        if ch == '\\' {
                            match chars.next() {
                                Some((_, esc)) => key.push(esc),
                                None => return Err(bad("unterminated escape")),
                            }
                        } else if ch == q {
                            close = Some(i);
                            break;
                        } else {
                            key.push(ch);
                        }
                    }
                    let close = close.ok_or_else(|| bad("unterminated quoted key"))?;
                    let tail = &body[close + 1..];
                    rest = tail
                        .strip_prefix(']')
                        .ok_or_else(|| bad("expected ']' after quoted key"))?;
                    steps.push(PathStep::Key(key));
                } else {
                    let end = after.find(']').ok_or_else(|| bad("missing ']'"))?;
                    let idx = after[..end].trim();
                    if idx == "*" {
                        return Err(bad("wildcards are not supported"));
                    }
                    let n: usize = idx
                        .parse()
                        .map_err(|_| bad("array index must be a non-negative integer"))?;
                    steps.push(PathStep::Index(n));
                    rest = &after[end + 1..];
                }
            }
            _ => return Err(bad("expected '.' or '['")),
        }
    }
    Ok(steps)
}

/// Find a key in an object, or an index in an array, returning its raw text.
struct Step<'p>(&'p PathStep);

impl<'de> DeserializeSeed<'de> for Step<'_> {
    type Value = Option<&'de RawValue>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Step<'_> {
    type Value = Option<&'de RawValue>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match self.0 {
                PathStep::Key(k) if found.is_none() && *k == *key.0 => {
                    found = Some(map.next_value::<&'de RawValue>()?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut found = None;
        let mut i = 0usize;
        loop {
            let want = matches!(self.0, PathStep::Index(n) if *n == i);
            if want {
                match seq.next_element::<&'de RawValue>()? {
                    Some(v) => found = Some(v),
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(found)
    }
}

/// The raw JSON text at `path` in `doc`, or `None` (invalid JSON / missing).
pub fn json_path_raw<'a>(doc: &'a str, path: &[PathStep]) -> Option<&'a str> {
    let mut cur: &'a RawValue = serde_json::from_str(doc).ok()?;
    for step in path {
        let mut de = serde_json::Deserializer::from_str(cur.get());
        cur = Step(step).deserialize(&mut de).ok()??;
    }
    Some(cur.get())
}

/// Trino `json_extract_scalar` on one value.
pub fn extract_scalar(doc: &str, path: &[PathStep]) -> Option<String> {
    let raw = json_path_raw(doc, path)?;
    match raw.as_bytes().first()? {
        b'{' | b'[' | b'n' => None,
        b'"' => serde_json::from_str::<String>(raw).ok(),
        _ => Some(raw.to_owned()),
    }
}

#[derive(Deserialize)]
#[serde(transparent)]
struct RawList<'a>(#[serde(borrow)] Vec<&'a RawValue>);

/// Elements of a JSON array, or `None` if `doc` is not an array.
fn array_elements(doc: &str) -> Option<Vec<&RawValue>> {
    let trimmed = doc.trim_start();
    if !trimmed.starts_with('[') {
        return None;
    }
    serde_json::from_str::<RawList<'_>>(trimmed)
        .ok()
        .map(|l| l.0)
}

/// Number of entries of an object or array (0 for scalars).
fn raw_size(raw: &str) -> Option<i64> {
    match raw.as_bytes().first()? {
        b'[' => array_elements(raw).map(|v| v.len() as i64),
        b'{' => serde_json::from_str::<std::collections::HashMap<Cow<'_, str>, IgnoredAny>>(raw)
            .ok()
            .map(|m| m.len() as i64),
        _ => Some(0),
    }
}

/// Which JSON function a [`JsonUdf`] implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    ExtractScalar,
    Extract,
    ArrayContains,
    ArrayLength,
    Size,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonUdf {
    kind: Kind,
    signature: Signature,
}

impl JsonUdf {
    fn new(kind: Kind) -> Self {
        JsonUdf {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn arity(&self) -> usize {
        match self.kind {
            Kind::ArrayLength => 1,
            _ => 2,
        }
    }
}

fn is_string(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    )
}

/// String view over any string array type.
fn strings(a: &ArrayRef) -> Result<StringArray> {
    let cast = arrow::compute::cast(a, &DataType::Utf8)?;
    Ok(cast.as_string::<i32>().clone())
}

impl ScalarUDFImpl for JsonUdf {
    fn name(&self) -> &str {
        match self.kind {
            Kind::ExtractScalar => "json_extract_scalar",
            Kind::Extract => "json_extract",
            Kind::ArrayContains => "json_array_contains",
            Kind::ArrayLength => "json_array_length",
            Kind::Size => "json_size",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != self.arity() {
            return plan_err!(
                "{} takes {} argument(s), got {}",
                self.name(),
                self.arity(),
                arg_types.len()
            );
        }
        let mut out = Vec::with_capacity(arg_types.len());
        for (i, t) in arg_types.iter().enumerate() {
            if i == 1 && self.kind == Kind::ArrayContains {
                out.push(match t {
                    t if is_string(t) => DataType::Utf8,
                    DataType::Boolean => DataType::Boolean,
                    t if t.is_integer() => DataType::Int64,
                    t if t.is_floating() || t.is_numeric() => DataType::Float64,
                    other => {
                        return plan_err!("json_array_contains cannot look for a {other} value");
                    }
                });
            } else if is_string(t) {
                out.push(DataType::Utf8);
            } else {
                return plan_err!(
                    "{} expects a string (JSON text) argument {}, got {t}",
                    self.name(),
                    i + 1
                );
            }
        }
        Ok(out)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::ExtractScalar | Kind::Extract => DataType::Utf8,
            Kind::ArrayContains => DataType::Boolean,
            Kind::ArrayLength | Kind::Size => DataType::Int64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let Some(first) = arrays.first() else {
            return exec_err!("{} called without arguments", self.name());
        };
        let docs = strings(first)?;
        let n = docs.len();
        let out: ArrayRef = match self.kind {
            Kind::ExtractScalar | Kind::Extract | Kind::Size => {
                let Some(second) = arrays.get(1) else {
                    return exec_err!("{} needs a JSON path", self.name());
                };
                let paths = strings(second)?;
                let mut cache: Option<(String, Vec<PathStep>)> = None;
                let mut text = StringBuilder::with_capacity(n, 0);
                let mut sizes = Int64Builder::with_capacity(n);
                for i in 0..n {
                    let (doc, path) = if docs.is_null(i) || paths.is_null(i) {
                        (None, None)
                    } else {
                        (Some(docs.value(i)), Some(paths.value(i)))
                    };
                    let (Some(doc), Some(path)) = (doc, path) else {
                        text.append_null();
                        sizes.append_null();
                        continue;
                    };
                    if cache.as_ref().is_none_or(|(p, _)| p != path) {
                        match parse_json_path(path) {
                            Ok(s) => cache = Some((path.to_owned(), s)),
                            Err(e) => return exec_err!("{}: {e}", self.name()),
                        }
                    }
                    let Some((_, steps)) = &cache else {
                        return exec_err!("{}: JSON path cache is empty", self.name());
                    };
                    match self.kind {
                        Kind::ExtractScalar => text.append_option(extract_scalar(doc, steps)),
                        Kind::Extract => text.append_option(json_path_raw(doc, steps)),
                        _ => sizes.append_option(json_path_raw(doc, steps).and_then(raw_size)),
                    }
                }
                if self.kind == Kind::Size {
                    Arc::new(sizes.finish())
                } else {
                    Arc::new(text.finish())
                }
            }
            Kind::ArrayLength => {
                let mut b = Int64Builder::with_capacity(n);
                for i in 0..n {
                    if docs.is_null(i) {
                        b.append_null();
                    } else {
                        b.append_option(array_elements(docs.value(i)).map(|v| v.len() as i64));
                    }
                }
                Arc::new(b.finish())
            }
            Kind::ArrayContains => {
                let Some(needle) = arrays.get(1) else {
                    return exec_err!("json_array_contains needs a value");
                };
                let mut b = BooleanBuilder::with_capacity(n);
                for i in 0..n {
                    if docs.is_null(i) || needle.is_null(i) {
                        b.append_null();
                        continue;
                    }
                    let Some(elems) = array_elements(docs.value(i)) else {
                        b.append_null();
                        continue;
                    };
                    b.append_value(contains(&elems, needle, i));
                }
                Arc::new(b.finish())
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// Trino semantics: only elements of the needle's JSON type can match.
fn contains(elems: &[&RawValue], needle: &ArrayRef, i: usize) -> bool {
    match needle.data_type() {
        DataType::Utf8 => {
            let want = needle.as_string::<i32>().value(i);
            elems.iter().any(|e| {
                e.get().starts_with('"')
                    && serde_json::from_str::<Cow<'_, str>>(e.get()).is_ok_and(|s| s == want)
            })
        }
        DataType::Boolean => {
            let want = needle.as_boolean().value(i);
            elems
                .iter()
                .any(|e| serde_json::from_str::<bool>(e.get()).is_ok_and(|v| v == want))
        }
        DataType::Int64 => {
            let want = needle
                .as_primitive::<arrow::datatypes::Int64Type>()
                .value(i);
            elems.iter().any(|e| {
                serde_json::from_str::<serde_json::Number>(e.get()).is_ok_and(|v| {
                    v.as_i64() == Some(want) || v.as_f64().is_some_and(|f| f == want as f64)
                })
            })
        }
        DataType::Float64 => {
            let want = needle
                .as_primitive::<arrow::datatypes::Float64Type>()
                .value(i);
            elems.iter().any(|e| {
                serde_json::from_str::<serde_json::Number>(e.get())
                    .is_ok_and(|v| v.as_f64() == Some(want))
            })
        }
        _ => false,
    }
}

/// All JSON UDFs, ready for `SessionContext::register_udf`.
pub fn json_udfs() -> Vec<ScalarUDF> {
    [
        Kind::ExtractScalar,
        Kind::Extract,
        Kind::ArrayContains,
        Kind::ArrayLength,
        Kind::Size,
    ]
    .into_iter()
    .map(|k| ScalarUDF::new_from_impl(JsonUdf::new(k)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(doc: &str, path: &str) -> Option<String> {
        extract_scalar(doc, &parse_json_path(path).expect("valid path"))
    }

    fn extract(doc: &str, path: &str) -> Option<String> {
        json_path_raw(doc, &parse_json_path(path).expect("valid path")).map(str::to_owned)
    }

    const DOC: &str = r#"{"instanceType":"m5.xlarge","n":12,"f":1.50,"b":true,"z":null,
        "o":{"k":"v","deep":{"x":[10,20]}},"a":["x",{"y":"z"},[1]],"we\"ird key":"w",
        "esc":"line\nnext"}"#;

    #[test]
    fn extract_scalar_semantics() {
        let cases: &[(&str, Option<&str>)] = &[
            ("$.instanceType", Some("m5.xlarge")),
            ("$.n", Some("12")),
            ("$.f", Some("1.50")),
            ("$.b", Some("true")),
            ("$.z", None),
            ("$.o", None),
            ("$.a", None),
            ("$.missing", None),
            ("$.o.k", Some("v")),
            ("$.o.deep.x[1]", Some("20")),
            ("$.o.deep.x[2]", None),
            ("$.a[0]", Some("x")),
            ("$.a[1].y", Some("z")),
            ("$.a[2][0]", Some("1")),
            ("$[\"instanceType\"]", Some("m5.xlarge")),
            ("$['o']['k']", Some("v")),
            ("$[\"we\\\"ird key\"]", Some("w")),
            ("$.esc", Some("line\nnext")),
            ("$.n.x", None),
            ("$[0]", None),
            ("$", None),
        ];
        for (path, want) in cases {
            assert_eq!(scalar(DOC, path).as_deref(), *want, "{path}");
        }
        assert_eq!(scalar("not json", "$.a"), None);
        assert_eq!(scalar("", "$.a"), None);
        assert_eq!(scalar("\"top\"", "$"), Some("top".into()));
    }

    #[test]
    fn extract_semantics() {
        let cases: &[(&str, Option<&str>)] = &[
            ("$.o.deep", Some(r#"{"x":[10,20]}"#)),
            ("$.a[1]", Some(r#"{"y":"z"}"#)),
            ("$.instanceType", Some("\"m5.xlarge\"")),
            ("$.n", Some("12")),
            ("$.z", Some("null")),
            ("$.missing", None),
        ];
        for (path, want) in cases {
            assert_eq!(extract(DOC, path).as_deref(), *want, "{path}");
        }
    }

    #[test]
    fn path_parsing() {
        assert_eq!(
            parse_json_path("$.a[3][\"b.c\"]"),
            Ok(vec![
                PathStep::Key("a".into()),
                PathStep::Index(3),
                PathStep::Key("b.c".into())
            ])
        );
        for bad in [
            "a.b", "$.", "$[x]", "$[-1]", "$.a[*]", "$[\"a]", "$a", "$.*",
        ] {
            assert!(parse_json_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_and_arrays() {
        let p = |s: &str| parse_json_path(s).expect("path");
        assert_eq!(json_path_raw(DOC, &p("$.o")).and_then(raw_size), Some(2));
        assert_eq!(json_path_raw(DOC, &p("$.a")).and_then(raw_size), Some(3));
        assert_eq!(json_path_raw(DOC, &p("$.n")).and_then(raw_size), Some(0));
        assert_eq!(json_path_raw(DOC, &p("$.nope")).and_then(raw_size), None);
        assert_eq!(array_elements("[1, 2, 3]").map(|v| v.len()), Some(3));
        assert_eq!(array_elements("{}").map(|v| v.len()), None);
        assert_eq!(array_elements("[1,").map(|v| v.len()), None);
    }

    #[test]
    fn array_contains() {
        use arrow::array::{BooleanArray, Float64Array, Int64Array};
        let elems = array_elements(r#"["a", 2, 2.5, true, {"a":1}]"#).expect("array");
        let s: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "2"]));
        assert!(contains(&elems, &s, 0));
        assert!(!contains(&elems, &s, 1));
        assert!(
            !contains(&elems, &s, 2),
            "string '2' does not match number 2"
        );
        let i: ArrayRef = Arc::new(Int64Array::from(vec![2, 3]));
        assert!(contains(&elems, &i, 0));
        assert!(!contains(&elems, &i, 1));
        let f: ArrayRef = Arc::new(Float64Array::from(vec![2.5]));
        assert!(contains(&elems, &f, 0));
        let b: ArrayRef = Arc::new(BooleanArray::from(vec![true, false]));
        assert!(contains(&elems, &b, 0));
        assert!(!contains(&elems, &b, 1));
    }
}
