//! Planning and running one query over the `events` stream.

use std::io::Write;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::Column;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::physical_plan::{ExecutionPlan, SendableRecordBatchStream, execute_stream};
use datafusion::prelude::{DataFrame, Expr, SessionConfig, SessionContext};
use futures::TryStreamExt;
use tokio::sync::mpsc;

use crate::error::QueryError;
use crate::output::{OutputFormat, write_stream};
use crate::sink::{Counters, EventSink, Projector, SinkStats};
use crate::table::{EventsTable, Shared};
use crate::udf::json_udfs;

/// Names result columns as Athena (Trino) does where DataFusion's default differs: an
/// unaliased `useridentity.arn` is the column `arn`, not `events.useridentity[arn]`, so a
/// query written for Athena yields the same column names. A name that would then occur twice
/// keeps DataFusion's.
fn athena_names(df: DataFrame) -> datafusion::error::Result<DataFrame> {
    let names: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| field_name(f.name()).unwrap_or(f.name()).to_owned())
        .collect();
    let renames = names
        .iter()
        .zip(df.schema().fields())
        .any(|(new, field)| new != field.name());
    if !renames {
        return Ok(df);
    }
    let columns: Vec<Expr> = df
        .schema()
        .iter()
        .zip(&names)
        .map(|((qualifier, field), new)| {
            let column = Expr::Column(Column::new(qualifier.cloned(), field.name()));
            let unique = names.iter().filter(|n| *n == new).count() == 1;
            if unique && new != field.name() {
                column.alias(new)
            } else {
                column
            }
        })
        .collect();
    df.select(columns)
}

/// `arn` of `events.useridentity[arn]`: the innermost field a struct access names, when it
/// is a plain identifier (an array index such as `resources[1]` keeps its name).
fn field_name(name: &str) -> Option<&str> {
    let inner = name.strip_suffix(']')?;
    let (_, field) = inner.rsplit_once('[')?;
    let plain = !field.is_empty()
        && field
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    plain.then_some(field)
}

/// Name of the table queries read.
pub const TABLE_NAME: &str = "events";

/// Tuning knobs of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryOptions {
    /// Batches (one per log) buffered between producers and the query
    /// before `LogSink::log` blocks.
    pub channel_capacity: usize,
    /// DataFusion target partitions (parallelism of operators).
    pub target_partitions: usize,
    /// Memory limit for the query's operators (sorts, aggregates) in bytes; past it a sort
    /// spills to the system's temporary folder, so a query over any archive stays bounded.
    pub memory_limit: Option<usize>,
}

/// The default operator memory: with the scan's own buffers it keeps a whole-archive sort
/// well under 256 MiB of RSS.
pub const DEFAULT_MEMORY_LIMIT: usize = 96 << 20;

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            channel_capacity: 16,
            target_partitions: 2,
            memory_limit: Some(DEFAULT_MEMORY_LIMIT),
        }
    }
}

/// A [`SessionContext`] with the Athena JSON functions registered and no
/// tables. SQL identifiers are case-insensitive as in Athena.
pub fn session_context(options: &QueryOptions) -> Result<SessionContext, QueryError> {
    let config = SessionConfig::new()
        .with_target_partitions(options.target_partitions.max(1))
        .with_information_schema(false);
    let mut runtime = RuntimeEnvBuilder::new();
    if let Some(limit) = options.memory_limit {
        runtime = runtime.with_memory_limit(limit, 1.0);
    }
    let runtime = runtime.build_arc().map_err(QueryError::exec)?;
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    for udf in json_udfs() {
        ctx.register_udf(udf);
    }
    Ok(ctx)
}

/// A planned query, waiting for logs from its [`EventSink`].
pub struct EventsQuery {
    ctx: SessionContext,
    plan: Arc<dyn ExecutionPlan>,
    shared: Arc<Shared>,
    counters: Arc<Counters>,
    projected: Vec<String>,
}

impl std::fmt::Debug for EventsQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventsQuery")
            .field("projected", &self.projected)
            .finish_non_exhaustive()
    }
}

impl EventsQuery {
    /// Parse and plan `sql` (read-only: no DDL, DML or `SET`), returning the
    /// query and the sink to push logs into.
    ///
    /// Errors (syntax, unknown column/function, type errors, a statement
    /// that is not a query) are returned as [`QueryError::Sql`].
    pub async fn prepare(
        sql: &str,
        options: &QueryOptions,
    ) -> Result<(EventsQuery, EventSink), QueryError> {
        let ctx = session_context(options)?;
        let (tx, rx) = mpsc::channel::<RecordBatch>(options.channel_capacity.max(1));
        let shared = Shared::new(rx);
        ctx.register_table(TABLE_NAME, Arc::new(EventsTable::new(Arc::clone(&shared))))
            .map_err(QueryError::sql)?;
        let sql_options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let df = ctx
            .sql_with_options(sql, sql_options)
            .await
            .map_err(QueryError::sql)?;
        let df = athena_names(df).map_err(QueryError::sql)?;
        let plan = df.create_physical_plan().await.map_err(QueryError::sql)?;
        let counters = Arc::new(Counters::default());
        let (projector, tx) = match shared.projection() {
            Some(p) => (
                Some(Projector::new(p.as_deref(), shared.prefilter()).map_err(QueryError::sql)?),
                Some(tx),
            ),
            None => {
                // `events` is never read: close the input right away.
                shared.close();
                (None, None)
            }
        };
        let projected = projector
            .as_ref()
            .map(Projector::column_names)
            .unwrap_or_default();
        debug_assert!(
            projector
                .as_ref()
                .is_none_or(|p| p.schema().fields().len() == projected.len())
        );
        let sink = EventSink::new(projector, tx, Arc::clone(&counters));
        Ok((
            EventsQuery {
                ctx,
                plan,
                shared,
                counters,
                projected,
            },
            sink,
        ))
    }

    /// Schema of the query's result.
    pub fn schema(&self) -> SchemaRef {
        self.plan.schema()
    }

    /// The `events` columns the scan builds (projection pushdown); empty if
    /// the table is not read or no column is needed (e.g. `count(*)`).
    pub fn projected_columns(&self) -> &[String] {
        &self.projected
    }

    /// The physical plan, indented (for `--explain`).
    pub fn explain(&self) -> String {
        datafusion::physical_plan::displayable(self.plan.as_ref())
            .indent(true)
            .to_string()
    }

    /// Sink counters so far.
    pub fn stats(&self) -> SinkStats {
        self.counters.snapshot()
    }

    /// Start running; rows arrive as the sink is fed. Must be polled inside
    /// a Tokio runtime.
    pub fn execute(&self) -> Result<SendableRecordBatchStream, QueryError> {
        execute_stream(Arc::clone(&self.plan), self.ctx.task_ctx()).map_err(QueryError::exec)
    }

    /// Run to completion and collect all result batches.
    pub async fn collect(self) -> Result<Vec<RecordBatch>, QueryError> {
        let stream = self.execute()?;
        let out = stream
            .try_collect::<Vec<RecordBatch>>()
            .await
            .map_err(QueryError::exec);
        self.shared.close();
        out
    }

    /// Run to completion writing the result to `out`; returns the row count.
    pub async fn write<W: Write + Send>(
        self,
        format: OutputFormat,
        out: W,
    ) -> Result<u64, QueryError> {
        let stream = self.execute()?;
        let res = write_stream(stream, format, out).await;
        self.shared.close();
        res
    }
}

/// What [`run`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryReport {
    /// Result rows written.
    pub rows: u64,
    /// What the sink saw.
    pub sink: SinkStats,
}

/// The Tokio runtime a query runs on, `threads` workers; the producer of logs must run on
/// threads of its own (the engine's rayon pool), never on this one.
pub fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, QueryError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name("trailcheck-query")
        .build()
        .map_err(|e| QueryError::Runtime(crate::error::one_line(e)))
}

/// Blocking convenience: plan `sql`, run `producer` on its own thread with
/// the sink (it should push every proven log and return), and write the
/// result to `out` as it is produced.
///
/// The producer sees [`crate::LogError::Closed`] once the query needs no
/// more input (e.g. `LIMIT` reached) and should then stop.
pub fn run<P, W>(
    sql: &str,
    options: &QueryOptions,
    format: OutputFormat,
    out: W,
    producer: P,
) -> Result<QueryReport, QueryError>
where
    P: FnOnce(EventSink) + Send,
    W: Write + Send,
{
    let rt = runtime(options.target_partitions)?;
    let (query, sink) = rt.block_on(EventsQuery::prepare(sql, options))?;
    let counters = Arc::clone(&query.counters);
    let rows = std::thread::scope(|scope| {
        let handle = scope.spawn(move || producer(sink));
        let rows = rt.block_on(query.write(format, out));
        let joined = handle.join();
        match (rows, joined) {
            (Err(e), _) => Err(e),
            (Ok(_), Err(_)) => Err(QueryError::Producer("producer thread panicked".into())),
            (Ok(n), Ok(())) => Ok(n),
        }
    })?;
    Ok(QueryReport {
        rows,
        sink: counters.snapshot(),
    })
}
