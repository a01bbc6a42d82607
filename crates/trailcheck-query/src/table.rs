//! The streaming `events` [`TableProvider`]: a one-shot scan reading the
//! batches that [`crate::EventSink`] produces.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use tokio::sync::mpsc;

use crate::prefilter::Prefilter;
use crate::schema::events_schema;

/// State shared by the table, its scan, and the query handle.
pub(crate) struct Shared {
    rx: Mutex<Option<mpsc::Receiver<RecordBatch>>>,
    projection: Mutex<Option<Option<Vec<usize>>>>,
    prefilter: Mutex<Option<Prefilter>>,
    scanned: AtomicBool,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("scanned", &self.scanned.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(rx: mpsc::Receiver<RecordBatch>) -> Arc<Self> {
        Arc::new(Shared {
            rx: Mutex::new(Some(rx)),
            projection: Mutex::new(None),
            prefilter: Mutex::new(None),
            scanned: AtomicBool::new(false),
        })
    }

    /// The projection the planner asked for: `None` if `events` is never
    /// scanned, `Some(None)` for all columns.
    pub(crate) fn projection(&self) -> Option<Option<Vec<usize>>> {
        self.projection.lock().ok().and_then(|g| g.clone())
    }

    /// The records the scan may skip unparsed, from the filters pushed into it.
    pub(crate) fn prefilter(&self) -> Option<Prefilter> {
        self.prefilter.lock().ok().and_then(|g| g.clone())
    }

    /// Drop the receiver so producers see [`crate::LogError::Closed`].
    pub(crate) fn close(&self) {
        if let Ok(mut g) = self.rx.lock() {
            g.take();
        }
    }
}

/// The `events` table.
#[derive(Debug)]
pub(crate) struct EventsTable {
    shared: Arc<Shared>,
}

impl EventsTable {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        EventsTable { shared }
    }
}

#[async_trait]
impl TableProvider for EventsTable {
    fn schema(&self) -> SchemaRef {
        events_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// `eventname = '...'` and `eventname IN (...)` reach the scan, which skips records that
    /// cannot match; `Inexact`, so the filter is still applied above it.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| match Prefilter::of(f) {
                Some(_) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if self.shared.scanned.swap(true, Ordering::SeqCst) {
            return Err(DataFusionError::Plan(
                "the events table is a single stream and can be read only once per query \
                 (self-joins and repeated references are not supported)"
                    .into(),
            ));
        }
        let schema = match projection {
            Some(p) => Arc::new(events_schema().project(p)?),
            None => events_schema(),
        };
        if let Ok(mut g) = self.shared.projection.lock() {
            *g = Some(projection.cloned());
        }
        if let Ok(mut g) = self.shared.prefilter.lock() {
            *g = Prefilter::of_all(filters);
        }
        Ok(Arc::new(EventsExec::new(schema, Arc::clone(&self.shared))))
    }
}

/// Leaf plan node streaming the sink's batches.
#[derive(Debug)]
pub(crate) struct EventsExec {
    shared: Arc<Shared>,
    properties: Arc<PlanProperties>,
}

impl EventsExec {
    fn new(schema: SchemaRef, shared: Arc<Shared>) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        EventsExec {
            shared,
            properties: Arc::new(properties),
        }
    }
}

impl DisplayAs for EventsExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self
            .properties
            .eq_properties
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        write!(f, "EventsExec: projection=[{}]", names.join(", "))
    }
}

impl ExecutionPlan for EventsExec {
    fn name(&self) -> &str {
        "EventsExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            Err(DataFusionError::Internal(
                "EventsExec has no children".into(),
            ))
        }
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!(
                "EventsExec has one partition, asked for {partition}"
            )));
        }
        let rx = self
            .shared
            .rx
            .lock()
            .ok()
            .and_then(|mut g| g.take())
            .ok_or_else(|| {
                DataFusionError::Execution("the events stream was already consumed".into())
            })?;
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|batch| (Ok(batch), rx))
        });
        let schema = Arc::clone(self.properties.eq_properties.schema());
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}
