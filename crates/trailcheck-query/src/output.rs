//! Result writers: terminal table, JSON, JSON lines, CSV, Parquet and
//! hive-partitioned Parquet (`account=/region=/date=`).

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringBuilder, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::json::writer::{EncoderOptions, JsonArray, LineDelimited, make_encoder};
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::QueryError;

/// Output formats of `trailcheck events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// Pretty table for terminals (buffers the whole result).
    Table,
    /// One JSON array of row objects.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header; nested columns are rendered as JSON text.
    Csv,
    /// A single Parquet file (Snappy-compressed).
    Parquet,
}

impl FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(OutputFormat::Table),
            "json" => Ok(OutputFormat::Json),
            "jsonl" | "ndjson" => Ok(OutputFormat::Jsonl),
            "csv" => Ok(OutputFormat::Csv),
            "parquet" => Ok(OutputFormat::Parquet),
            other => Err(format!(
                "unknown output format '{other}' (expected table, json, jsonl, csv or parquet)"
            )),
        }
    }
}

fn parquet_props() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build()
}

/// Write a result stream to `out` in `format`. Returns the number of rows.
///
/// All formats but [`OutputFormat::Table`] stream batch by batch.
pub async fn write_stream<W: Write + Send>(
    mut stream: SendableRecordBatchStream,
    format: OutputFormat,
    mut out: W,
) -> Result<u64, QueryError> {
    let schema = stream.schema();
    let mut rows = 0u64;
    match format {
        OutputFormat::Table => {
            let mut batches = Vec::new();
            while let Some(b) = stream.next().await {
                let b = b.map_err(QueryError::exec)?;
                rows += b.num_rows() as u64;
                batches.push(b);
            }
            write_table(&schema, &batches, &mut out)?;
        }
        OutputFormat::Json | OutputFormat::Jsonl => {
            let builder = arrow::json::WriterBuilder::new().with_explicit_nulls(true);
            if format == OutputFormat::Json {
                let mut w = builder.build::<_, JsonArray>(&mut out);
                while let Some(b) = stream.next().await {
                    let b = b.map_err(QueryError::exec)?;
                    rows += b.num_rows() as u64;
                    w.write(&b).map_err(QueryError::output)?;
                }
                w.finish().map_err(QueryError::output)?;
                drop(w);
                out.write_all(b"\n").map_err(QueryError::output)?;
            } else {
                let mut w = builder.build::<_, LineDelimited>(&mut out);
                while let Some(b) = stream.next().await {
                    let b = b.map_err(QueryError::exec)?;
                    rows += b.num_rows() as u64;
                    w.write(&b).map_err(QueryError::output)?;
                }
                w.finish().map_err(QueryError::output)?;
            }
        }
        OutputFormat::Csv => {
            let flat_schema = flat_schema(&schema);
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            let mut any = false;
            while let Some(b) = stream.next().await {
                let b = b.map_err(QueryError::exec)?;
                if b.num_rows() == 0 {
                    continue;
                }
                rows += b.num_rows() as u64;
                any = true;
                w.write(&nested_as_json(&b, &flat_schema)?)
                    .map_err(QueryError::output)?;
            }
            drop(w);
            if !any {
                let header: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                writeln!(out, "{}", header.join(",")).map_err(QueryError::output)?;
            }
        }
        OutputFormat::Parquet => {
            let mut w = ArrowWriter::try_new(&mut out, Arc::clone(&schema), Some(parquet_props()))
                .map_err(QueryError::output)?;
            while let Some(b) = stream.next().await {
                let b = b.map_err(QueryError::exec)?;
                rows += b.num_rows() as u64;
                w.write(&b).map_err(QueryError::output)?;
            }
            w.close().map_err(QueryError::output)?;
        }
    }
    out.flush().map_err(QueryError::output)?;
    Ok(rows)
}

/// Render batches as a pretty table.
pub fn write_table<W: Write>(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    out: &mut W,
) -> Result<(), QueryError> {
    let table = if batches.is_empty() {
        arrow::util::pretty::pretty_format_batches(&[RecordBatch::new_empty(Arc::clone(schema))])
    } else {
        arrow::util::pretty::pretty_format_batches(batches)
    }
    .map_err(QueryError::output)?;
    writeln!(out, "{table}").map_err(QueryError::output)
}

/// Rows as `serde_json` objects (NULLs included as `null`).
pub fn batches_to_json_rows(batches: &[RecordBatch]) -> Result<Vec<serde_json::Value>, QueryError> {
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, JsonArray>(&mut buf);
        for b in batches {
            w.write(b).map_err(QueryError::output)?;
        }
        w.finish().map_err(QueryError::output)?;
    }
    if buf.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&buf).map_err(QueryError::output)
}

fn is_nested(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Struct(_)
            | DataType::List(_)
            | DataType::LargeList(_)
            | DataType::ListView(_)
            | DataType::FixedSizeList(_, _)
            | DataType::Map(_, _)
    )
}

fn flat_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if is_nested(f.data_type()) {
                Field::new(f.name(), DataType::Utf8, true)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Replace nested columns by their JSON text (CSV cannot hold them).
fn nested_as_json(batch: &RecordBatch, flat: &SchemaRef) -> Result<RecordBatch, QueryError> {
    let options = EncoderOptions::default();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
        if !is_nested(field.data_type()) {
            columns.push(Arc::clone(array));
            continue;
        }
        let mut enc = make_encoder(field, array.as_ref(), &options).map_err(QueryError::output)?;
        let mut b = StringBuilder::with_capacity(array.len(), 0);
        let mut buf = Vec::new();
        for i in 0..array.len() {
            if array.is_null(i) {
                b.append_null();
            } else {
                buf.clear();
                enc.encode(i, &mut buf);
                b.append_value(String::from_utf8_lossy(&buf));
            }
        }
        columns.push(Arc::new(b.finish()));
    }
    RecordBatch::try_new(Arc::clone(flat), columns).map_err(QueryError::output)
}

fn str_at(a: &arrow::array::StringArray, row: usize) -> &str {
    if a.is_null(row) { "" } else { a.value(row) }
}

/// Make a partition value safe as one path component.
fn path_component(v: &str) -> String {
    let s: String = v
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { "_".to_owned() } else { s }
}

/// `YYYY-MM-DD` of an ISO-8601 `eventtime`, or `unknown`.
fn event_date(eventtime: &str) -> String {
    let d = eventtime.get(..10).unwrap_or("");
    let ok = d.len() == 10
        && d.bytes().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if ok {
        d.to_owned()
    } else {
        "unknown".to_owned()
    }
}

/// Write a result stream as hive-partitioned Parquet under `dir`:
/// `dir/account=<_account>/region=<_region>/date=<YYYY-MM-DD>/part-0.parquet`.
///
/// The result must contain `_account`, `_region` and `eventtime` (e.g.
/// `SELECT * FROM events`); `_account` and `_region` are not repeated inside
/// the files. One writer per partition stays open until the end. Returns the
/// files written.
pub async fn write_hive_parquet(
    mut stream: SendableRecordBatchStream,
    dir: &Path,
) -> Result<Vec<PathBuf>, QueryError> {
    let schema = stream.schema();
    let idx = |name: &str| {
        schema.index_of(name).map_err(|_| {
            QueryError::Output(format!(
                "hive-partitioned output needs columns _account, _region and eventtime; '{name}' is missing"
            ))
        })
    };
    let (acc_i, reg_i, time_i) = (idx("_account")?, idx("_region")?, idx("eventtime")?);
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|i| *i != acc_i && *i != reg_i)
        .collect();
    let file_schema = Arc::new(schema.project(&keep).map_err(QueryError::output)?);
    let mut writers: HashMap<(String, String, String), (PathBuf, ArrowWriter<File>)> =
        HashMap::new();
    while let Some(b) = stream.next().await {
        let b = b.map_err(QueryError::exec)?;
        let text = |i: usize| {
            arrow::compute::cast(b.column(i), &DataType::Utf8).map_err(QueryError::output)
        };
        let (acc, reg, time) = (text(acc_i)?, text(reg_i)?, text(time_i)?);
        let (acc, reg, time) = (
            acc.as_string::<i32>(),
            reg.as_string::<i32>(),
            time.as_string::<i32>(),
        );
        let mut groups: HashMap<(String, String, String), Vec<u32>> = HashMap::new();
        for row in 0..b.num_rows() {
            let key = (
                path_component(str_at(acc, row)),
                path_component(str_at(reg, row)),
                event_date(str_at(time, row)),
            );
            let row = u32::try_from(row).map_err(QueryError::output)?;
            groups.entry(key).or_default().push(row);
        }
        let projected = b.project(&keep).map_err(QueryError::output)?;
        for (key, rows) in groups {
            let indices = UInt32Array::from(rows);
            let cols = projected
                .columns()
                .iter()
                .map(|c| arrow::compute::take(c.as_ref(), &indices, None))
                .collect::<Result<Vec<_>, _>>()
                .map_err(QueryError::output)?;
            let part =
                RecordBatch::try_new(Arc::clone(&file_schema), cols).map_err(QueryError::output)?;
            if !writers.contains_key(&key) {
                let sub = dir
                    .join(format!("account={}", key.0))
                    .join(format!("region={}", key.1))
                    .join(format!("date={}", key.2));
                std::fs::create_dir_all(&sub).map_err(QueryError::output)?;
                let path = sub.join("part-0.parquet");
                let file = File::create(&path).map_err(QueryError::output)?;
                let w = ArrowWriter::try_new(file, Arc::clone(&file_schema), Some(parquet_props()))
                    .map_err(QueryError::output)?;
                writers.insert(key.clone(), (path, w));
            }
            if let Some((_, w)) = writers.get_mut(&key) {
                w.write(&part).map_err(QueryError::output)?;
            }
        }
    }
    let mut paths = Vec::with_capacity(writers.len());
    for (_, (path, w)) in writers {
        w.close().map_err(QueryError::output)?;
        paths.push(path);
    }
    paths.sort();
    Ok(paths)
}
