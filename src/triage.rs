//! The `triage` subcommand: the built-in detections over proven events, each hit with who,
//! when, from where, and the log and digest that prove it; the unproven periods beside them.

use std::borrow::Cow;
use std::fs;
use std::io::{self, Write};

use futures::TryStreamExt;
use serde_json::{Value, json};

use crate::cli::{TextOrJson, TriageArgs};
use crate::events::{Answer, EventsError, Feeder, source_config, validate};
use crate::exit::Exit;
use crate::fatal;
use trailcheck_query::{Detection, EventsQuery, PREFILTER, QueryError, QueryOptions};
use trailcheck_report::sanitize::terminal;

/// Runs `trailcheck triage`.
pub fn run(args: &TriageArgs, command_line: Vec<String>) -> Exit {
    match triage(args, command_line) {
        Ok(exit) => exit,
        Err(e) => fatal(&e),
    }
}

fn triage(args: &TriageArgs, command_line: Vec<String>) -> Result<Exit, EventsError> {
    let config = source_config(&args.source)?;
    let options = QueryOptions::default();
    let runtime =
        trailcheck_query::runtime(options.target_partitions).map_err(EventsError::Query)?;
    let (query, sink) = runtime
        .block_on(EventsQuery::prepare(PREFILTER, &options))
        .map_err(EventsError::Query)?;
    let schema = query.schema();
    let feeder = Feeder::new(sink, false);
    let (kept, validated) = std::thread::scope(|scope| {
        let validation = scope.spawn(|| {
            let validated = validate(&config, &feeder);
            feeder.finish();
            validated
        });
        let kept = runtime.block_on(async {
            let stream = query.execute()?;
            stream
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| QueryError::Execution(e.to_string()))
        });
        (kept, validation.join())
    });
    let report = match validated {
        Ok(report) => report?,
        Err(_) => {
            return Err(EventsError::Query(QueryError::Producer(
                "the validation thread stopped".to_owned(),
            )));
        }
    };
    let kept = kept.map_err(EventsError::Query)?;
    let findings = runtime
        .block_on(trailcheck_query::run_detections(schema, kept))
        .map_err(EventsError::Query)?;
    let answer = Answer::new(&report, feeder.into_unreadable(), false);
    match args.format {
        TextOrJson::Json => {
            let mut document = json!({
                "version": 1,
                "detections": findings.iter().map(detection_json).collect::<Vec<_>>(),
            });
            if let (Some(object), Value::Object(tail)) = (document.as_object_mut(), answer.json()) {
                object.extend(tail);
            }
            let _ = writeln!(io::stdout().lock(), "{document}");
        }
        TextOrJson::Text => write_text(&findings, &mut io::stdout().lock()),
    }
    answer.write_periods(&mut io::stderr().lock(), args.source.quiet);
    if let Some(path) = &args.report {
        let options = trailcheck_report::Options::default();
        let run = trailcheck_report::RunInfo {
            command_line,
            ran_at: chrono::Utc::now(),
            json: None,
        };
        let sections: Vec<trailcheck_report::Findings> = findings
            .iter()
            .map(|(d, rows)| trailcheck_report::Findings {
                title: d.title.clone(),
                source: d.source.clone(),
                rows: rows.clone(),
            })
            .collect();
        let mut html = Vec::new();
        trailcheck_report::html_with_findings(&report, &options, &run, &sections, &mut html)
            .and_then(|()| fs::write(path, html))
            .map_err(|e| EventsError::File {
                option: "--report",
                path: path.clone(),
                why: e.to_string(),
            })?;
    }
    Ok(Exit::from(answer.outcome))
}

fn detection_json((detection, rows): &(Detection, Vec<Value>)) -> Value {
    json!({
        "name": detection.name,
        "title": detection.title,
        "source": detection.source,
        "findings": rows,
    })
}

/// A finding's column as text safe for a terminal; `-` when absent.
fn text<'a>(row: &'a Value, column: &str) -> Cow<'a, str> {
    terminal(row.get(column).and_then(Value::as_str).unwrap_or("-"))
}

fn write_text(findings: &[(Detection, Vec<Value>)], out: &mut dyn Write) {
    for (detection, rows) in findings {
        let _ = writeln!(
            out,
            "{} ({}): {} found",
            detection.title,
            detection.name,
            rows.len()
        );
        for row in rows {
            let _ = writeln!(
                out,
                "  {}  {}  from {}  {} in {} {}  {}\n    log {}  digest {}",
                text(row, "eventtime"),
                text(row, "who"),
                text(row, "source_ip"),
                text(row, "eventname"),
                text(row, "account"),
                text(row, "region"),
                text(row, "detail"),
                text(row, "_log_key"),
                text(row, "_digest_key"),
            );
        }
    }
}
