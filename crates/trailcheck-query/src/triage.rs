//! The triage pack: detections kept as SQL files in `triage/`, each citing where its idea
//! comes from, run over proven events. All return the same columns ([`FINDING_COLUMNS`]) so
//! findings render alike.
//!
//! The events are read once: a first query keeps only what some detection can match
//! ([`PREFILTER`]), in memory, and every detection then runs over that.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::datasource::MemTable;

use crate::error::QueryError;
use crate::output::batches_to_json_rows;
use crate::query::{QueryOptions, TABLE_NAME, session_context};

/// One detection of the pack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// The file's name without `.sql`.
    pub name: &'static str,
    /// What it finds, from its `-- title:` line.
    pub title: String,
    /// Where the idea comes from, from its `-- source:` lines.
    pub source: String,
    /// The query, over the prefiltered events (`FINDING_COLUMNS` out).
    pub sql: &'static str,
}

/// The columns every detection returns, in order.
pub const FINDING_COLUMNS: [&str; 9] = [
    "eventtime",
    "who",
    "source_ip",
    "eventname",
    "region",
    "account",
    "detail",
    "_log_key",
    "_digest_key",
];

const FILES: [(&str, &str); 10] = [
    (
        "logging-changed",
        include_str!("../triage/logging-changed.sql"),
    ),
    ("root-activity", include_str!("../triage/root-activity.sql")),
    (
        "console-login-without-mfa",
        include_str!("../triage/console-login-without-mfa.sql"),
    ),
    (
        "ingress-from-anywhere",
        include_str!("../triage/ingress-from-anywhere.sql"),
    ),
    (
        "bucket-deleted-or-public",
        include_str!("../triage/bucket-deleted-or-public.sql"),
    ),
    (
        "access-key-for-another-user",
        include_str!("../triage/access-key-for-another-user.sql"),
    ),
    (
        "large-instances",
        include_str!("../triage/large-instances.sql"),
    ),
    (
        "security-monitoring-disabled",
        include_str!("../triage/security-monitoring-disabled.sql"),
    ),
    (
        "privileged-policy-attached",
        include_str!("../triage/privileged-policy-attached.sql"),
    ),
    (
        "kms-key-disabled-or-deleted",
        include_str!("../triage/kms-key-disabled-or-deleted.sql"),
    ),
];

/// Every event some detection could match: the event names they name, and the root user.
pub const PREFILTER: &str = "SELECT * FROM events WHERE useridentity.type = 'Root' OR eventname IN (\
    'StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors', 'PutInsightSelectors', \
    'ConsoleLogin', 'AuthorizeSecurityGroupIngress', 'ModifySecurityGroupRules', \
    'DeleteBucket', 'PutBucketPolicy', 'PutBucketAcl', 'DeleteBucketPublicAccessBlock', \
    'PutBucketPublicAccessBlock', 'CreateAccessKey', 'RunInstances', 'DeleteDetector', \
    'UpdateDetector', 'StopConfigurationRecorder', 'DeleteConfigurationRecorder', \
    'DeleteDeliveryChannel', 'AttachUserPolicy', 'AttachRolePolicy', 'AttachGroupPolicy', \
    'ScheduleKeyDeletion', 'DisableKey')";

/// The pack, in a fixed order.
pub fn detections() -> Vec<Detection> {
    FILES
        .iter()
        .map(|(name, sql)| Detection {
            name,
            title: header(sql, "title").unwrap_or_else(|| (*name).to_owned()),
            source: header(sql, "source").unwrap_or_default(),
            sql,
        })
        .collect()
}

/// The text of a `-- FIELD:` header, with its continuation lines (`--   ...`).
fn header(sql: &str, field: &str) -> Option<String> {
    let tag = format!("-- {field}:");
    let mut lines = sql.lines().skip_while(|l| !l.starts_with(&tag));
    let first = lines.next()?.strip_prefix(&tag)?.trim().to_owned();
    let rest = lines
        .take_while(|l| l.starts_with("--   "))
        .map(|l| l.trim_start_matches('-').trim());
    Some(
        std::iter::once(first.as_str())
            .chain(rest)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Runs every detection over `events`, the prefiltered events held in memory; returns each
/// detection with its findings as JSON rows.
pub async fn run_detections(
    schema: SchemaRef,
    events: Vec<RecordBatch>,
) -> Result<Vec<(Detection, Vec<serde_json::Value>)>, QueryError> {
    let ctx = session_context(&QueryOptions::default())?;
    let table = MemTable::try_new(schema, vec![events]).map_err(QueryError::exec)?;
    ctx.register_table(TABLE_NAME, Arc::new(table))
        .map_err(QueryError::exec)?;
    let mut found = Vec::new();
    for detection in detections() {
        let batches = ctx
            .sql(detection.sql)
            .await
            .map_err(|e| QueryError::sql(format!("{}: {e}", detection.name)))?
            .collect()
            .await
            .map_err(QueryError::exec)?;
        found.push((detection, batches_to_json_rows(&batches)?));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_detection_has_a_title_and_a_source() {
        for d in detections() {
            assert!(!d.title.is_empty() && d.title != d.name, "{}", d.name);
            assert!(!d.source.is_empty(), "{} cites no source", d.name);
        }
    }

    /// The quoted names in `eventname IN (...)` and `eventname = '...'` clauses.
    fn named_events(sql: &str) -> Vec<String> {
        let quoted = |text: &str| -> Vec<String> {
            text.split('\'')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect()
        };
        let mut names = Vec::new();
        for (at, _) in sql.match_indices("eventname IN (") {
            let rest = &sql[at..];
            let list = rest.split_once(')').map_or(rest, |(list, _)| list);
            names.extend(quoted(list));
        }
        for (at, _) in sql.match_indices("eventname = '") {
            let rest = &sql[at + "eventname = ".len()..];
            names.extend(quoted(rest).into_iter().take(1));
        }
        names
    }

    #[test]
    fn named_events_are_read_from_in_lists_and_equalities_only() {
        let sql = "SELECT eventname FROM events WHERE eventtype <> 'X' AND eventname IN ('A', 'B') \
                   OR eventname = 'C' AND errorcode = 'D'";
        assert_eq!(named_events(sql), vec!["A", "B", "C"]);
    }

    /// A detection naming an event the prefilter drops would never fire.
    #[test]
    fn the_prefilter_keeps_every_event_name_a_detection_names() {
        for d in detections() {
            let body: String = d
                .sql
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join(" ");
            for name in named_events(&body) {
                assert!(
                    PREFILTER.contains(&format!("'{name}'")),
                    "{}: {name}",
                    d.name
                );
            }
        }
    }
}
