//! Error types. Every error renders as a single line.

use std::fmt;

/// Collapse a message onto one line (DataFusion errors may span several).
pub(crate) fn one_line(s: impl fmt::Display) -> String {
    let text = s.to_string();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An error from planning or running a query, or writing its output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The SQL text could not be parsed or planned (bad syntax, unknown
    /// column or function, a statement other than a query, ...).
    #[error("invalid query: {0}")]
    Sql(String),
    /// The query failed while running.
    #[error("query failed: {0}")]
    Execution(String),
    /// Writing the results failed.
    #[error("writing results failed: {0}")]
    Output(String),
    /// The async runtime could not be started.
    #[error("runtime error: {0}")]
    Runtime(String),
    /// The producer closure panicked.
    #[error("log producer failed: {0}")]
    Producer(String),
}

impl QueryError {
    pub(crate) fn sql(e: impl fmt::Display) -> Self {
        QueryError::Sql(one_line(e))
    }
    pub(crate) fn exec(e: impl fmt::Display) -> Self {
        QueryError::Execution(one_line(e))
    }
    pub(crate) fn output(e: impl fmt::Display) -> Self {
        QueryError::Output(one_line(e))
    }
}

/// Why [`crate::LogSink::log`] did not accept a log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// The log's bytes are not a CloudTrail log (not JSON, no `Records`
    /// array, a record that is not an object, ...). Only this log is
    /// skipped; the query goes on.
    #[error("{log_key}: {reason}")]
    Malformed {
        /// `_log_key` of the rejected log.
        log_key: String,
        /// One-line reason.
        reason: String,
    },
    /// The query no longer wants rows (it finished, hit a LIMIT, failed, or
    /// never reads the `events` table). The producer should stop.
    #[error("query no longer accepts logs")]
    Closed,
    /// `log` was called from inside an async runtime, where blocking for
    /// backpressure is not allowed. Call it from a plain (e.g. rayon) thread.
    #[error("LogSink::log called from an async context; call it from a worker thread")]
    AsyncContext,
}
