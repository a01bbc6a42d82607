//! `trailcheck-query`: answer SQL questions, as Athena users write them, from
//! CloudTrail events that trailcheck has proven against signed digests.
//!
//! The validation engine pushes each proven log (provenance + inflated JSON)
//! into an [`EventSink`] from its worker threads. The sink parses the log on
//! the calling thread, builds only the columns the query needs (projection
//! pushdown) and passes one Arrow batch per log through a bounded channel to
//! a streaming DataFusion table named `events`. Memory stays bounded: rows
//! are streamed, never the whole archive.
//!
//! ```no_run
//! use trailcheck_query::{LogSink, OutputFormat, Provenance, QueryOptions, run};
//!
//! let prov = Provenance {
//!     log_key: "AWSLogs/1/CloudTrail/eu-west-1/2026/11/05/x.json.gz",
//!     log_bucket: "trail-bucket",
//!     log_sha256: "00",
//!     digest_key: None,
//!     key_fingerprint: None,
//!     status: "intact",
//!     account: "111122223333",
//!     region: "eu-west-1",
//! };
//! let report = run(
//!     "SELECT eventname, count(*) AS n FROM events GROUP BY eventname",
//!     &QueryOptions::default(),
//!     OutputFormat::Table,
//!     std::io::stdout(),
//!     |sink| {
//!         let _ = sink.log(&prov, br#"{"Records":[]}"#);
//!     },
//! );
//! assert!(report.is_ok());
//! ```
//!
//! The `events` table has the columns of AWS's documented Athena
//! `cloudtrail_logs` table (lower-case names; `requestparameters`,
//! `responseelements`, `additionaleventdata` and `serviceeventdetails` hold
//! raw JSON text) followed by the provenance columns
//! [`PROVENANCE_COLUMNS`]. Athena's JSON functions are available:
//! `json_extract_scalar`, `json_extract`, `json_array_contains`,
//! `json_array_length`, `json_size`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod output;
mod parse;
mod prefilter;
mod query;
mod schema;
mod sink;
mod table;
mod triage;
mod udf;

pub use error::{LogError, QueryError};
pub use output::{
    OutputFormat, batches_to_json_rows, write_hive_parquet, write_stream, write_table,
};
pub use query::{
    EventsQuery, QueryOptions, QueryReport, TABLE_NAME, run, runtime, session_context,
};
pub use schema::{PROVENANCE_COLUMNS, events_schema};
pub use sink::{EventSink, LogSink, Provenance, SinkStats};
pub use triage::{Detection, FINDING_COLUMNS, PREFILTER, detections, run_detections};
pub use udf::{PathStep, extract_scalar, json_path_raw, json_udfs, parse_json_path};

/// Re-exported so callers use the same Arrow/DataFusion versions.
pub use datafusion;
