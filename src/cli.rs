//! The command line as clap sees it: flags and their help, checked without any I/O.
//! `config` turns these into typed settings; `main` dispatches to one module per subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::keys;
use crate::simulate;
use trailcheck_aws::session::AwsOptions;

#[derive(Parser, Debug)]
#[command(
    name = "trailcheck",
    version,
    about = "Proves whether AWS CloudTrail log files and digest files were tampered with.",
    after_help = "Exit codes: 0 all intact; 1 tampering found; 2 usage or configuration error; \
                  3 nothing tampered but something unverifiable."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate the digest chains and log files of a CloudTrail archive.
    #[command(after_help = "Examples:\n  \
        trailcheck validate testdata/sample --keys keys\n  \
        trailcheck validate ./archive --start-time 2026-11-01 --end-time -1d --format json\n  \
        trailcheck validate ./archive --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail --verbose\n  \
        trailcheck validate ./archive --start-time -7d --report case-42.html --report-json case-42.json\n  \
        trailcheck validate ./archive --format junit --fail-on modified,deleted > trailcheck.xml\n  \
        trailcheck validate s3://aws-cloudtrail-logs-111122223333-5c9a1e07 --start-time -7d --profile audit\n  \
        trailcheck validate ./archive --start-time 2026-01-01 --end-time 2026-11-01 --window 2/4 --format json > window-2-of-4.json")]
    Validate(ValidateArgs),
    /// Join the JSON results of the shards (`--shard K/N`) and time windows (`--window I/M`)
    /// of one run into one result: the same outcome, summary, JUnit and evidence report as
    /// one run over the whole archive and range, every chain checked across every window cut.
    #[command(after_help = "Example:\n  \
        trailcheck merge results/shard-*-of-8.json --format junit --report run.html --report-json run.json > run.xml")]
    Merge(MergeArgs),
    /// Answer SQL questions from proven events only: validates as `validate` does and, in the
    /// same pass, feeds the records of every intact log to the query.
    #[command(after_help = "Examples:\n  \
        trailcheck events ./archive --keys keys --sql \"SELECT useridentity.arn, eventtime, sourceipaddress FROM events WHERE eventname = 'DeleteBucket'\"\n  \
        trailcheck events ./archive --keys keys --format parquet --out ./verified-events\n  \
        trailcheck events ./archive --keys keys --include-unproven --format json > answer.json\n  \
        trailcheck events --athena-ddl --out ./verified-events")]
    Events(EventsArgs),
    /// Run the built-in detections (logging stopped, root activity, console logins without
    /// MFA, ingress from anywhere, buckets deleted or opened, ...) over proven events.
    #[command(after_help = "Example:\n  \
        trailcheck triage ./archive --keys keys --start-time -7d")]
    Triage(TriageArgs),
    /// Copy a trail's digests, logs and public keys from S3 into a folder `validate` reads
    /// offline; run it again to resume.
    #[command(after_help = "Example:\n  \
        trailcheck archive s3://aws-cloudtrail-logs-111122223333-5c9a1e07 ./evidence --start-time 2026-11-01 --end-time 2026-11-08\n  \
        trailcheck validate ./evidence")]
    Archive(ArchiveArgs),
    /// List what a range needs restored from S3 Glacier storage classes before it can be
    /// validated, and the restore-object calls (or Batch Operations manifest) to do it.
    /// trailcheck only reads; the calls are for someone allowed to run them.
    #[command(after_help = "Example:\n  \
        trailcheck restore-plan s3://aws-cloudtrail-logs-111122223333-5c9a1e07 --start-time 2024-01-01 --end-time 2024-02-01\n  \
        trailcheck restore-plan s3://aws-cloudtrail-logs-111122223333-5c9a1e07 --start-time -400d --manifest restore.csv --tier Bulk")]
    RestorePlan(RestorePlanArgs),
    /// Verify a CloudTrail Lake query's saved results (result_sign.json and its
    /// result_*.csv.gz), online or offline.
    #[command(after_help = "Examples:\n  \
        trailcheck verify-query-results ./AWSLogs/111122223333/CloudTrail-Lake/Query/2026/11/01/QUERY-ID --keys keys\n  \
        trailcheck verify-query-results s3://my-lake-results/AWSLogs/111122223333/CloudTrail-Lake/Query/2026/11/01/QUERY-ID --format json")]
    VerifyQueryResults(VerifyQueryResultsArgs),
    /// CloudTrail's public keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Write a signed synthetic trail (for tests and drills), optionally tampered.
    #[command(after_help = "Example:\n  \
        trailcheck simulate /tmp/drill --key crates/trailcheck-sim/signing-keys/key-a.pem --keys-out /tmp/drill-keys \
        --hours 6 --regions us-east-1,eu-west-1 --tamper modify-log --tamper delete-digest")]
    Simulate(simulate::SimulateArgs),
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  \
        trailcheck completions bash > ~/.local/share/bash-completion/completions/trailcheck\n  \
        trailcheck completions zsh > ~/.zfunc/_trailcheck\n  \
        trailcheck completions fish > ~/.config/fish/completions/trailcheck.fish")]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ValidateArgs {
    /// The archive: s3://BUCKET[/PREFIX], a folder mirroring a bucket (as `aws s3 sync`
    /// leaves it), or one folder per bucket.
    #[arg(value_name = "SOURCE")]
    pub path: PathBuf,
    /// Folder of public key files, as `aws cloudtrail list-public-keys` prints them.
    /// Default: for an S3 source, CloudTrail's ListPublicKeys; otherwise ./keys, when it
    /// exists and lies outside SOURCE. Keys inside SOURCE are used only when named here,
    /// and every output then says the evidence vouched for itself.
    #[arg(long, value_name = "DIR")]
    pub keys: Option<PathBuf>,
    /// Only keys with these fingerprints may verify digests: one fingerprint a line, or a
    /// trailcheck JSON result whose `keys` are reused. A digest signed by any other key is
    /// unverifiable (untrusted-key).
    #[arg(long, value_name = "FILE")]
    pub trusted_fingerprints: Option<PathBuf>,
    #[command(flatten)]
    pub range: RangeArgs,
    /// The bucket a one-bucket mirror holds. Default: read from the digests.
    #[arg(long, value_name = "NAME")]
    pub bucket: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Worker threads (default: one per core; 128 for an S3 source, whose threads mostly
    /// wait for the network).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Also write the evidence report: one self-contained HTML file to attach to a case.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Also write the full JSON result; the HTML report shows its SHA-256.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Incremental runs: FILE records, per chain, the newest digest this run proved intact.
    /// When FILE exists, each chain it names is validated from that digest forward only
    /// (the digest itself is checked again, and the next digest must link to it). Created
    /// when missing; one file per source, shard and --trail-arn; kept outside SOURCE.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Only time window I (0 to M-1) of M: the range from --start-time (required) to
    /// --end-time cut into M windows of whole hours, each run taking the digests that end in
    /// its window, for a chain too long for one run; `merge` joins the windows, checking
    /// each window's first digest links to the window before. auto/M takes I from
    /// JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX; with --shard auto/N too, one index
    /// i is shard i/M and window i%M, so an array of N*M jobs covers everything.
    #[arg(long, value_name = "I/M")]
    pub window: Option<String>,
    /// S3 sources: also list object versions. Each file says how often it was overwritten
    /// or deleted, and which version CloudTrail delivered; a deleted log whose delivered
    /// version is kept is "restorable"; the buckets' versioning and Object Lock settings
    /// are reported.
    #[arg(long)]
    pub versions: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Args, Debug, Clone)]
pub struct MergeArgs {
    /// The shards' JSON results (`--format json` or `--report-json`), one per shard, in any
    /// order.
    #[arg(value_name = "RESULT.json", required = true)]
    pub results: Vec<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Also write the evidence report of the merged result.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Also write the merged JSON result; the HTML report shows its SHA-256.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
}

/// How a verdict is written, the same for every command that judges files.
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also list every valid file (text format).
    #[arg(long)]
    pub verbose: bool,
    /// Print only the verdict line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Statuses that fail the run (exit 1): any of intact, pending, unverifiable,
    /// unreferenced, moved, deleted, modified.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "STATUS,...",
        default_value = "modified,deleted,moved,unreferenced"
    )]
    pub fail_on: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct VerifyQueryResultsArgs {
    /// The query's folder: s3://BUCKET/PREFIX or a local folder holding result_sign.json
    /// and result_*.csv.gz (AWSLogs/ACCOUNT/CloudTrail-Lake/Query/YYYY/MM/DD/QUERY-ID/).
    #[arg(value_name = "SOURCE")]
    pub source: PathBuf,
    /// Folder of public key files, as `aws cloudtrail list-public-keys` prints them.
    /// Needed for a local folder; for S3 without it, CloudTrail's ListPublicKeys is asked
    /// in the sign file's region. Keys are never taken from inside SOURCE.
    #[arg(long, value_name = "DIR")]
    pub keys: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Where the events come from: the same source, keys and range options as `validate`.
#[derive(Args, Debug, Clone)]
pub struct EventSourceArgs {
    /// The archive: s3://BUCKET[/PREFIX], a folder mirroring a bucket, or one folder per
    /// bucket.
    #[arg(value_name = "SOURCE")]
    pub path: Option<PathBuf>,
    /// Folder of public key files, as `aws cloudtrail list-public-keys` prints them.
    /// Default as for `validate`: ListPublicKeys for S3, else ./keys outside SOURCE.
    #[arg(long, value_name = "DIR")]
    pub keys: Option<PathBuf>,
    /// Only keys with these fingerprints may verify digests, as for `validate`.
    #[arg(long, value_name = "FILE")]
    pub trusted_fingerprints: Option<PathBuf>,
    #[command(flatten)]
    pub range: RangeArgs,
    /// The bucket a one-bucket mirror holds. Default: read from the digests.
    #[arg(long, value_name = "NAME")]
    pub bucket: Option<String>,
    /// Worker threads (default: one per core; 128 for an S3 source).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Print only the verdict line on stderr, not the unproven periods.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Args, Debug, Clone)]
pub struct EventsArgs {
    #[command(flatten)]
    pub source: EventSourceArgs,
    /// The query, over the table `events` (AWS's Athena CloudTrail columns plus `_log_key`,
    /// `_log_bucket`, `_log_sha256`, `_digest_key`, `_key_fingerprint`, `_status`, `_account`,
    /// `_region`). Default: SELECT * FROM events.
    #[arg(long, value_name = "QUERY", conflicts_with = "sql_file")]
    pub sql: Option<String>,
    /// Read the query from a file.
    #[arg(long, value_name = "FILE")]
    pub sql_file: Option<PathBuf>,
    /// Output format. Default: table on a terminal, jsonl otherwise.
    #[arg(long, value_enum)]
    pub format: Option<EventsFormat>,
    /// Write the rows here instead of stdout; for parquet, a folder partitioned as
    /// account=/region=/date= (Athena's partition projection layout).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Write the coverage (proven and unproven periods, excluded logs) here as JSON, for
    /// jsonl, csv and parquet output.
    #[arg(long, value_name = "FILE")]
    pub coverage: Option<PathBuf>,
    /// Also take the records of logs not proven intact, with their `_status`.
    #[arg(long)]
    pub include_unproven: bool,
    /// Print the `CREATE EXTERNAL TABLE` for the parquet output at --out (default
    /// s3://BUCKET/PREFIX/) and exit.
    #[arg(long)]
    pub athena_ddl: bool,
}

#[derive(Args, Debug, Clone)]
pub struct TriageArgs {
    #[command(flatten)]
    pub source: EventSourceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
    /// Also write the evidence report, with its "Findings from proven events" section.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventsFormat {
    /// A table of the rows, then one line per unproven period (on stderr).
    Table,
    /// One object: query, columns, rows, coverage, excluded logs, outcome.
    Json,
    /// One JSON object per row; the coverage on stderr or in --coverage.
    Jsonl,
    /// CSV with a header row.
    Csv,
    /// Parquet, hive-partitioned under --out.
    Parquet,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextOrJson {
    /// For a person: lines, then a summary.
    Text,
    /// One JSON object, for a program.
    Json,
}

/// The time range and trail a run takes, shared by `validate`, `archive` and `events`.
#[derive(Args, Debug, Clone, Default)]
pub struct RangeArgs {
    /// Take digests delivered from this time (RFC 3339, a date, or -7d). Default: the oldest
    /// digest present.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub start_time: Option<String>,
    /// Take digests delivered up to this time (and the hour after, as the AWS CLI does).
    /// Default: now.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub end_time: Option<String>,
    /// Only this trail (arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME).
    #[arg(long, value_name = "ARN")]
    pub trail_arn: Option<String>,
    /// Only shard K (0 to N-1) of N: a fixed split by account and region, so N runs (one
    /// per job of a Kubernetes Indexed Job or an AWS Batch array job) judge every file
    /// once. auto/N takes K from JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ArchiveArgs {
    /// The trail: s3://BUCKET[/PREFIX].
    #[arg(value_name = "SOURCE")]
    pub source: PathBuf,
    /// The folder to copy into (one folder per bucket); created if needed.
    #[arg(value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Copies in flight (default 128).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Also record what S3 keeps besides the current objects: every version and delete
    /// marker of each object copied, its Object Lock, and the buckets' versioning and
    /// Object Lock settings, in DIR/versions.json.
    #[arg(long)]
    pub versions: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Args, Debug, Clone)]
pub struct RestorePlanArgs {
    /// The trail: s3://BUCKET[/PREFIX].
    #[arg(value_name = "SOURCE")]
    pub source: PathBuf,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
    /// Days a restored copy of a Glacier object stays readable.
    #[arg(long, value_name = "N", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub days: u32,
    /// Retrieval tier (Deep Archive has no Expedited tier: its objects get Standard).
    #[arg(long, value_enum, ignore_case = true, default_value_t = RestoreTier::Bulk)]
    pub tier: RestoreTier,
    /// Also write the objects to restore as an S3 Batch Operations CSV manifest.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Requests in flight (default 128).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// S3's retrieval tiers for a restore.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreTier {
    Bulk,
    Standard,
    Expedited,
}

impl RestoreTier {
    pub fn as_str(self) -> &'static str {
        match self {
            RestoreTier::Bulk => "Bulk",
            RestoreTier::Standard => "Standard",
            RestoreTier::Expedited => "Expedited",
        }
    }
}

/// The AWS options, as the AWS CLI has them. Credentials come from the standard chain:
/// environment, profiles, SSO, instance and container roles.
#[derive(Args, Debug, Clone, Default)]
pub struct AwsArgs {
    /// The region of every bucket (default: asked with GetBucketLocation), and of CloudTrail.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// A profile of the AWS config and credentials files.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The S3 endpoint, for an S3-compatible server (AWS_ENDPOINT_URL_S3 works too; CloudTrail
    /// takes AWS_ENDPOINT_URL_CLOUDTRAIL).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

impl AwsArgs {
    pub fn options(&self) -> AwsOptions {
        AwsOptions {
            region: self.region.clone(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The AWS CLI's validate-logs lines, then a verdict line.
    Text,
    /// One JSON object listing every file, gap and key.
    Json,
    /// JUnit XML for CI test reporters: one test case per digest hour.
    Junit,
}
