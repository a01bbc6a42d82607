//! The producer side: the validation engine pushes proven logs into an
//! [`EventSink`], which turns each into one Arrow `RecordBatch` (projected
//! columns only) on the caller's thread and hands it to the query through a
//! bounded channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::datatypes::SchemaRef;
use tokio::sync::mpsc;

use crate::error::LogError;
use crate::parse::{self, Builder, ParseError};
use crate::prefilter::Prefilter;
use crate::schema::{EVENT_COLUMNS, PROVENANCE_COLUMNS, event_column_count, events_schema};

/// Where a validated log came from and what validation concluded.
///
/// Becomes the `_log_key`, `_log_bucket`, `_log_sha256`, `_digest_key`,
/// `_key_fingerprint`, `_status`, `_account` and `_region` columns of every
/// event of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provenance<'a> {
    /// S3 key of the log file.
    pub log_key: &'a str,
    /// S3 bucket of the log file.
    pub log_bucket: &'a str,
    /// Hex SHA-256 of the uncompressed log, as its digest records it.
    pub log_sha256: &'a str,
    /// S3 key of the digest file that references the log, if any.
    pub digest_key: Option<&'a str>,
    /// Fingerprint of the public key that signed that digest, if any.
    pub key_fingerprint: Option<&'a str>,
    /// Validation status: `"intact"`, or e.g. `"modified"`/`"unreferenced"`
    /// when unproven logs are included.
    pub status: &'a str,
    /// AWS account id the log belongs to.
    pub account: &'a str,
    /// AWS region of the log.
    pub region: &'a str,
}

impl Provenance<'_> {
    fn column(&self, i: usize) -> Option<&str> {
        match i {
            0 => Some(self.log_key),
            1 => Some(self.log_bucket),
            2 => Some(self.log_sha256),
            3 => self.digest_key,
            4 => self.key_fingerprint,
            5 => Some(self.status),
            6 => Some(self.account),
            _ => Some(self.region),
        }
    }
}

/// Something the validation engine pushes proven logs into.
///
/// Implementations must be callable concurrently from many worker threads.
pub trait LogSink: Send + Sync {
    /// Offer one log (its inflated JSON bytes). Returns the number of events
    /// it contributed. May block while the query catches up (backpressure).
    ///
    /// A malformed log yields [`LogError::Malformed`] and is skipped;
    /// [`LogError::Closed`] means the producer can stop early.
    fn log(&self, provenance: &Provenance<'_>, bytes: &[u8]) -> Result<usize, LogError>;
}

/// Counters of what went through a sink.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Logs turned into rows.
    pub logs: u64,
    /// Logs rejected as malformed.
    pub malformed_logs: u64,
    /// Events (rows) produced.
    pub events: u64,
    /// Inflated JSON bytes parsed (accepted logs only).
    pub bytes: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    logs: AtomicU64,
    malformed: AtomicU64,
    events: AtomicU64,
    bytes: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> SinkStats {
        SinkStats {
            logs: self.logs.load(Ordering::Relaxed),
            malformed_logs: self.malformed.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
}

/// Where each output column of a scan batch comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// The n-th built event column.
    Event(usize),
    /// Provenance column index (into [`PROVENANCE_COLUMNS`]).
    Provenance(usize),
}

/// Builds scan batches for one projection of the `events` table.
#[derive(Debug)]
pub(crate) struct Projector {
    schema: SchemaRef,
    event_columns: Vec<usize>,
    sources: Vec<Source>,
    /// Records the query's filter cannot keep, skipped before their columns are built.
    prefilter: Option<Prefilter>,
}

impl Projector {
    /// `projection`: indices into [`events_schema`]; `None` = all columns.
    pub(crate) fn new(
        projection: Option<&[usize]>,
        prefilter: Option<Prefilter>,
    ) -> Result<Self, arrow::error::ArrowError> {
        let full = events_schema();
        let indices: Vec<usize> = match projection {
            Some(p) => p.to_vec(),
            None => (0..full.fields().len()).collect(),
        };
        let schema = Arc::new(full.project(&indices)?);
        let n_events = event_column_count();
        let mut event_columns = Vec::new();
        let mut sources = Vec::with_capacity(indices.len());
        for &i in &indices {
            if i < n_events {
                sources.push(Source::Event(event_columns.len()));
                event_columns.push(i);
            } else {
                sources.push(Source::Provenance(i - n_events));
            }
        }
        Ok(Projector {
            schema,
            event_columns,
            sources,
            prefilter,
        })
    }

    /// Schema of the batches produced.
    pub(crate) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Names of the columns that are built (projected), in schema order.
    pub(crate) fn column_names(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    /// Turn one log into a batch.
    pub(crate) fn batch(
        &self,
        provenance: &Provenance<'_>,
        bytes: &[u8],
    ) -> Result<RecordBatch, ParseError> {
        let mut record = Builder::new_struct(
            self.event_columns
                .iter()
                .filter_map(|&i| EVENT_COLUMNS.get(i)),
        );
        let rows = parse::parse_log(bytes, &mut record, self.prefilter.as_ref())?;
        let events = record.finish_children()?;
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.sources.len());
        for src in &self.sources {
            match *src {
                Source::Event(k) => match events.get(k) {
                    Some(a) => columns.push(Arc::clone(a)),
                    None => return Err(ParseError::Arrow("missing event column".into())),
                },
                Source::Provenance(p) => {
                    debug_assert!(p < PROVENANCE_COLUMNS.len());
                    columns.push(parse::repeated(provenance.column(p), rows));
                }
            }
        }
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &options,
        )?)
    }
}

#[derive(Debug)]
struct SinkInner {
    /// `None` when the query never scans `events` (e.g. `WHERE false`).
    projector: Option<Projector>,
    tx: Option<mpsc::Sender<RecordBatch>>,
    counters: Arc<Counters>,
}

/// The [`LogSink`] feeding one query. Cheap to clone; share it with all
/// worker threads. The query's input ends when every clone is dropped.
#[derive(Debug, Clone)]
pub struct EventSink {
    inner: Arc<SinkInner>,
}

impl EventSink {
    pub(crate) fn new(
        projector: Option<Projector>,
        tx: Option<mpsc::Sender<RecordBatch>>,
        counters: Arc<Counters>,
    ) -> Self {
        EventSink {
            inner: Arc::new(SinkInner {
                projector,
                tx,
                counters,
            }),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> SinkStats {
        self.inner.counters.snapshot()
    }

    /// Parse a log into the batch the query would receive, without sending
    /// it (used by benchmarks and tests).
    pub fn parse_only(
        &self,
        provenance: &Provenance<'_>,
        bytes: &[u8],
    ) -> Result<Option<RecordBatch>, LogError> {
        match &self.inner.projector {
            None => Ok(None),
            Some(p) => p
                .batch(provenance, bytes)
                .map(Some)
                .map_err(|e| LogError::Malformed {
                    log_key: provenance.log_key.to_owned(),
                    reason: e.to_string(),
                }),
        }
    }
}

impl LogSink for EventSink {
    fn log(&self, provenance: &Provenance<'_>, bytes: &[u8]) -> Result<usize, LogError> {
        let (Some(projector), Some(tx)) = (&self.inner.projector, &self.inner.tx) else {
            return Err(LogError::Closed);
        };
        if tx.is_closed() {
            return Err(LogError::Closed);
        }
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(LogError::AsyncContext);
        }
        let counters = &self.inner.counters;
        let batch = match projector.batch(provenance, bytes) {
            Ok(b) => b,
            Err(e) => {
                counters.malformed.fetch_add(1, Ordering::Relaxed);
                return Err(LogError::Malformed {
                    log_key: provenance.log_key.to_owned(),
                    reason: e.to_string(),
                });
            }
        };
        let rows = batch.num_rows();
        counters.logs.fetch_add(1, Ordering::Relaxed);
        counters.events.fetch_add(rows as u64, Ordering::Relaxed);
        counters
            .bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if rows == 0 {
            return Ok(0);
        }
        tx.blocking_send(batch).map_err(|_| LogError::Closed)?;
        Ok(rows)
    }
}
