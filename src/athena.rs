//! The verified events as a data set others query: hive-partitioned Parquet
//! (`account=/region=/date=`, the layout Athena's partition projection reads) and the
//! `CREATE EXTERNAL TABLE` that declares it, for when a case outgrows one machine.

use std::fmt::Write as _;
use std::path::Path;

use trailcheck_query::datafusion::arrow::datatypes::DataType;
use trailcheck_query::{EventsQuery, QueryError, events_schema};

/// The table the DDL creates.
const TABLE: &str = "trailcheck_verified_events";

/// Writes the query's rows under `dir`; returns how many Parquet files were written.
pub async fn write_partitioned(query: EventsQuery, dir: &Path) -> Result<u64, QueryError> {
    let stream = query.execute()?;
    let files = trailcheck_query::write_hive_parquet(stream, dir).await?;
    Ok(files.len() as u64)
}

/// `CREATE EXTERNAL TABLE` for the Parquet written at `location`, with partition projection
/// so no `MSCK REPAIR TABLE` is needed; the columns are those of `events` but the partition
/// keys (`_account` and `_region` live in the path as `account=` and `region=`).
pub fn ddl(location: &str) -> String {
    let location = location.trim_end_matches('/');
    let schema = events_schema();
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .filter(|f| !matches!(f.name().as_str(), "_account" | "_region"))
        .map(|f| format!("  `{}` {}", f.name(), hive_type(f.data_type())))
        .collect();
    let mut sql = String::new();
    let _ = writeln!(sql, "CREATE EXTERNAL TABLE {TABLE} (");
    let _ = writeln!(sql, "{}", columns.join(",\n"));
    let _ = writeln!(sql, ")");
    let _ = writeln!(
        sql,
        "PARTITIONED BY (`account` string, `region` string, `date` string)"
    );
    let _ = writeln!(sql, "STORED AS PARQUET");
    let _ = writeln!(sql, "LOCATION '{location}/'");
    let _ = writeln!(sql, "TBLPROPERTIES (");
    let _ = writeln!(sql, "  'projection.enabled' = 'true',");
    let _ = writeln!(sql, "  'projection.account.type' = 'injected',");
    let _ = writeln!(sql, "  'projection.region.type' = 'injected',");
    let _ = writeln!(sql, "  'projection.date.type' = 'date',");
    let _ = writeln!(sql, "  'projection.date.format' = 'yyyy-MM-dd',");
    let _ = writeln!(sql, "  'projection.date.range' = '2013-01-01,NOW',");
    let _ = writeln!(sql, "  'projection.date.interval' = '1',");
    let _ = writeln!(sql, "  'projection.date.interval.unit' = 'DAYS',");
    let _ = writeln!(
        sql,
        "  'storage.location.template' = '{location}/account=${{account}}/region=${{region}}/date=${{date}}/'"
    );
    let _ = writeln!(sql, ");");
    sql
}

/// Athena's (Hive's) name for an Arrow type of the events schema.
fn hive_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Boolean => "boolean".to_owned(),
        DataType::Int8 | DataType::Int16 | DataType::Int32 => "int".to_owned(),
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => "bigint".to_owned(),
        DataType::Float32 | DataType::Float64 => "double".to_owned(),
        DataType::Struct(fields) => {
            let inner: Vec<String> = fields
                .iter()
                .map(|f| format!("{}:{}", f.name(), hive_type(f.data_type())))
                .collect();
            format!("struct<{}>", inner.join(","))
        }
        DataType::List(item) | DataType::LargeList(item) => {
            format!("array<{}>", hive_type(item.data_type()))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "map<{},{}>",
                hive_type(kv[0].data_type()),
                hive_type(kv[1].data_type())
            ),
            _ => "map<string,string>".to_owned(),
        },
        _ => "string".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_declares_the_athena_columns_the_partitions_and_their_projection() {
        let ddl = ddl("s3://evidence/case-42/");
        assert!(ddl.starts_with("CREATE EXTERNAL TABLE trailcheck_verified_events ("));
        assert!(ddl.contains("  `eventname` string"));
        assert!(ddl.contains("`useridentity` struct<type:string,principalid:string,arn:string"));
        assert!(ddl.contains("`resources` array<struct<"));
        assert!(ddl.contains("`_log_sha256` string"));
        assert!(!ddl.contains("`_account`"), "a partition key, not a column");
        assert!(ddl.contains("PARTITIONED BY (`account` string, `region` string, `date` string)"));
        assert!(ddl.contains("LOCATION 's3://evidence/case-42/'"));
        assert!(
            ddl.contains(
                "'s3://evidence/case-42/account=${account}/region=${region}/date=${date}/'"
            )
        );
    }
}
