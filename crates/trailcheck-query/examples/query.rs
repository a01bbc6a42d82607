//! Tiny driver: run SQL over a directory of inflated CloudTrail log files.
//!
//! `query <dir> <format> <sql> [producer-threads]`
//! `query <dir> parse-only <sql>` parses with the query's projection but
//! runs no query (measures JSON→Arrow alone).

use std::io::BufWriter;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use trailcheck_query::{EventsQuery, LogError, LogSink, OutputFormat, Provenance, QueryOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, format, sql, rest @ ..] = args.as_slice() else {
        return Err(
            "usage: query <dir> <table|json|jsonl|csv|parquet|parse-only> <sql> [threads]".into(),
        );
    };
    let threads: usize = rest.first().map(|s| s.parse()).transpose()?.unwrap_or(2);
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    let t0 = Instant::now();
    let logs: Vec<(String, Vec<u8>)> = paths
        .iter()
        .map(|p| Ok((p.display().to_string(), std::fs::read(p)?)))
        .collect::<std::io::Result<_>>()?;
    let bytes: usize = logs.iter().map(|l| l.1.len()).sum();
    eprintln!(
        "loaded {} logs, {bytes} bytes in {:?}",
        logs.len(),
        t0.elapsed()
    );

    let next = AtomicUsize::new(0);
    let produce = |sink: &dyn Fn(&Provenance<'_>, &[u8]) -> Result<usize, LogError>| loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some((key, body)) = logs.get(i) else {
            break;
        };
        let prov = Provenance {
            log_key: key,
            log_bucket: "bench-bucket",
            log_sha256: "0000000000000000000000000000000000000000000000000000000000000000",
            digest_key: Some("digest.json.gz"),
            key_fingerprint: Some("fp"),
            status: "intact",
            account: if key.contains("111122223333") {
                "111122223333"
            } else {
                "444455556666"
            },
            region: "us-east-1",
        };
        match sink(&prov, body) {
            Ok(_) => {}
            Err(LogError::Closed) => break,
            Err(e) => eprintln!("{e}"),
        }
    };

    let t1 = Instant::now();
    let options = QueryOptions::default();
    if format == "parse-only" {
        let rt = tokio::runtime::Builder::new_current_thread().build()?;
        let (query, sink) = rt.block_on(EventsQuery::prepare(sql, &options))?;
        eprintln!("projected: {:?}", query.projected_columns());
        let rows = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    produce(&|p, b| {
                        let n = sink.parse_only(p, b)?.map_or(0, |b| b.num_rows());
                        rows.fetch_add(n, Ordering::Relaxed);
                        Ok(n)
                    })
                });
            }
        });
        eprintln!(
            "parsed {} rows in {:?}",
            rows.load(Ordering::Relaxed),
            t1.elapsed()
        );
        return Ok(());
    }
    let format: OutputFormat = format.parse()?;
    let out = BufWriter::new(std::io::stdout());
    let report = trailcheck_query::run(sql, &options, format, out, |sink| {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| produce(&|p, b| sink.log(p, b)));
            }
        });
    })?;
    eprintln!("{report:?} in {:?}", t1.elapsed());
    Ok(())
}
