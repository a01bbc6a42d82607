//! The `simulate` subcommand: options are read into a [`Spec`] (key files parsed, times
//! resolved), then the trail, and on request the manifest and public keys, are written.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use clap::Args;

use trailcheck_core::time;
use trailcheck_sim::{
    BucketSwitch, DEFAULT_ACCOUNT, DEFAULT_BUCKET, DEFAULT_HOURS, DEFAULT_LOGS_PER_HOUR,
    DEFAULT_REGIONS, DEFAULT_SEED, DEFAULT_TRAIL_NAME, HourRange, KindSpec, Layout, Manifest,
    Rotation, SigningKey, SimError, Spec, TamperKind, TamperSpec, TestKeys, default_start,
    simulate, write_manifest, write_public_keys,
};

/// Write a signed, realistic CloudTrail trail (optionally tampered) into a folder.
#[derive(Args, Clone, Debug)]
pub struct SimulateArgs {
    /// Folder to write the trail into; created if needed, and must be empty.
    #[arg(value_name = "OUT")]
    pub out: PathBuf,

    /// Private signing key, PKCS#8 PEM. Repeat for, in order: the signing key, the key that
    /// takes over at --rotate-at-hour, and the unpublished key of --tamper unknown-key.
    /// Default: the built-in test keys of crates/trailcheck-sim/signing-keys (key-a, key-b, rogue).
    #[arg(long = "key", value_name = "PEM")]
    pub keys: Vec<PathBuf>,

    /// Write the public keys to DIR/public-keys.json, as `aws cloudtrail list-public-keys`
    /// prints them.
    #[arg(long, value_name = "DIR")]
    pub keys_out: Option<PathBuf>,

    /// When validation starts: RFC 3339, a date, or an offset such as -7d. Default:
    /// 2026-11-01T00:00:00Z; with --now, --hours before the start of --now's hour.
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,

    /// Hours of digests per region.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_HOURS)]
    pub hours: u32,

    /// Log files per region and hour.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_LOGS_PER_HOUR)]
    pub logs_per_hour: u32,

    /// Events per log file, MIN-MAX: 5-60 (the default) makes logs of about 1-10 KB gzipped,
    /// 12-265 about 2-45 KB, 300-1800 about 50-300 KB.
    #[arg(long, value_name = "MIN-MAX", value_parser = parse_events)]
    pub events_per_log: Option<(u64, u64)>,

    /// Regions the trail logs, comma-separated; the first is its home region.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = DEFAULT_REGIONS)]
    pub regions: Vec<String>,

    /// AWS account id.
    #[arg(long, value_name = "ID", default_value = DEFAULT_ACCOUNT)]
    pub account: String,

    #[arg(long, value_name = "NAME", default_value = DEFAULT_TRAIL_NAME)]
    pub trail_name: String,

    #[arg(long, value_name = "NAME", default_value = DEFAULT_BUCKET)]
    pub bucket: String,

    /// S3 key prefix, without slashes at either end.
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub prefix: String,

    /// Make an organization trail of this organization (o-...).
    #[arg(long, value_name = "ID")]
    pub org_id: Option<String>,

    /// From this hour on, digests are signed by the second --key.
    #[arg(long, value_name = "N")]
    pub rotate_at_hour: Option<u32>,

    /// Turn validation off for hours H1 to H2: no digests, logs still delivered. Repeatable.
    #[arg(long, value_name = "H1-H2")]
    pub gap: Vec<HourRange>,

    /// Add a backfill digest chain listing logs CloudTrail delivered late.
    #[arg(long)]
    pub backfill: bool,

    /// The bucket the trail switches to at --switch-at-hour (needs the per-bucket layout).
    #[arg(long, value_name = "NAME", requires = "switch_at_hour")]
    pub second_bucket: Option<String>,

    #[arg(long, value_name = "N", requires = "second_bucket")]
    pub switch_at_hour: Option<u32>,

    /// mirror: OUT/KEY, as `aws s3 sync` makes it; per-bucket: OUT/BUCKET/KEY. Default:
    /// mirror, or per-bucket with --second-bucket.
    #[arg(long, value_enum)]
    pub layout: Option<Layout>,

    /// Tamper with the trail after writing it; repeatable. KIND is one of modify-log,
    /// append-log, corrupt-log, delete-log, insert-log, modify-digest, delete-digest,
    /// delete-digests-2, move-digest, unknown-key, bad-signature, no-signature. Default
    /// region: home; default hour: one that fits, from the middle.
    #[arg(long = "tamper", value_name = "KIND[@REGION:HOUR]")]
    pub tampers: Vec<TamperSpec>,

    /// Also deliver logs of another kind, one an hour per region: insight
    /// (CloudTrail-Insight/), network-activity or aggregated. With `:undigested` the digests
    /// do not list them. Repeatable.
    #[arg(long = "log-kind", value_name = "KIND[:undigested]")]
    pub log_kinds: Vec<KindSpec>,

    /// Seed: the same options and seed give the same bytes.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SEED)]
    pub seed: u64,

    /// The current time, for defaults only (instead of the clock).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,

    /// Also write the manifest to OUT/simulation.json.
    #[arg(long)]
    pub manifest: bool,
}

fn parse_events(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("'{text}' is not MIN-MAX (for example 5-60)");
    let (fewest, most) = text.split_once('-').ok_or_else(bad)?;
    Ok((
        fewest.trim().parse().map_err(|_| bad())?,
        most.trim().parse().map_err(|_| bad())?,
    ))
}

impl SimulateArgs {
    /// The spec these options describe; `clock` is used only when --now is not given.
    pub fn to_spec(&self, clock: DateTime<Utc>) -> Result<Spec, SimError> {
        let (key, rotation_key, rogue_key) = self.signing_keys()?;
        let mut spec = Spec::new(key);
        spec.start = self.start_time(clock)?;
        spec.hours = self.hours;
        spec.logs_per_hour = self.logs_per_hour;
        if let Some(events) = self.events_per_log {
            spec.events_per_log = events;
        }
        spec.regions = self.regions.iter().map(|r| r.trim().to_owned()).collect();
        spec.account = self.account.clone();
        spec.trail_name = self.trail_name.clone();
        spec.bucket = self.bucket.clone();
        spec.prefix = self.prefix.clone();
        spec.org_id = self.org_id.clone();
        spec.rotation = self
            .rotate_at_hour
            .zip(rotation_key)
            .map(|(at_hour, key)| Rotation { at_hour, key });
        spec.rogue_key = rogue_key;
        spec.gaps = self.gap.clone();
        spec.backfill = self.backfill;
        spec.bucket_switch = self
            .second_bucket
            .clone()
            .zip(self.switch_at_hour)
            .map(|(bucket, at_hour)| BucketSwitch { at_hour, bucket });
        spec.layout = self.layout.unwrap_or(match self.second_bucket {
            Some(_) => Layout::PerBucket,
            None => Layout::Mirror,
        });
        spec.tampers = self.tampers.clone();
        spec.log_kinds = self.log_kinds.clone();
        spec.seed = self.seed;
        Ok(spec)
    }

    /// The signing key, the rotation key if rotating, and the rogue key if an `unknown-key`
    /// tampering is asked for: from --key in that order, or the built-in test keys.
    fn signing_keys(
        &self,
    ) -> Result<(SigningKey, Option<SigningKey>, Option<SigningKey>), SimError> {
        let rotating = self.rotate_at_hour.is_some();
        let rogue = self
            .tampers
            .iter()
            .any(|t| t.kind == TamperKind::UnknownKey);
        if self.keys.is_empty() {
            let test = TestKeys::embedded()?;
            return Ok((
                test.a,
                rotating.then_some(test.b),
                rogue.then_some(test.rogue),
            ));
        }
        let mut keys = self
            .keys
            .iter()
            .map(|path| (path, SigningKey::from_pem_file(path)));
        let mut next = |role: &str| match keys.next() {
            Some((_, key)) => key,
            None => Err(SimError::spec(format!("{role}: give one more --key"))),
        };
        let key = next("the signing key")?;
        let rotation_key = match rotating {
            true => Some(next("--rotate-at-hour needs the key that takes over")?),
            false => None,
        };
        let rogue_key = match rogue {
            true => Some(next(
                "--tamper unknown-key needs a key that is not published",
            )?),
            false => None,
        };
        match keys.next() {
            Some((path, _)) => Err(SimError::spec(format!(
                "--key {} is not used: keys serve, in order, to sign, to take over at \
                 --rotate-at-hour, and to sign the unknown-key tampering",
                path.display()
            ))),
            None => Ok((key, rotation_key, rogue_key)),
        }
    }

    fn start_time(&self, clock: DateTime<Utc>) -> Result<DateTime<Utc>, SimError> {
        let now = match &self.now {
            Some(text) => {
                time::parse_user(text, clock).map_err(|e| SimError::spec(format!("--now: {e}")))?
            }
            None => clock,
        };
        match (&self.start, &self.now) {
            (Some(text), _) => {
                time::parse_user(text, now).map_err(|e| SimError::spec(format!("--start: {e}")))
            }
            (None, Some(_)) => {
                let hour = now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now);
                Ok(hour - TimeDelta::hours(i64::from(self.hours)))
            }
            (None, None) => Ok(default_start()),
        }
    }
}

/// Runs `trailcheck simulate`: writes the trail, then the keys and manifest if asked, and
/// prints a summary.
pub fn run(args: &SimulateArgs) -> Result<(), SimError> {
    let spec = args.to_spec(Utc::now())?;
    let manifest = simulate(&spec, &args.out)?;
    let mut text = summary(&manifest, &args.out);
    if let Some(dir) = &args.keys_out {
        let path = write_public_keys(&manifest.public_keys, dir)?;
        let _ = writeln!(text, "public keys: {}", path.display());
    }
    if args.manifest {
        let path = write_manifest(&manifest, &args.out)?;
        let _ = writeln!(text, "manifest: {}", path.display());
    }
    io::stdout()
        .write_all(text.as_bytes())
        .map_err(SimError::write("standard output"))
}

/// What was written, one line per tampering.
fn summary(manifest: &Manifest, out: &Path) -> String {
    let mut text = format!(
        "wrote {} digests and {} logs of {} to {}\n",
        manifest.digests_written,
        manifest.logs_written,
        manifest.trail_arns.join(", "),
        out.display()
    );
    for t in &manifest.tampered {
        let _ = writeln!(
            text,
            "tampered ({}): s3://{}/{} -> {}{}",
            t.kind,
            t.bucket,
            t.key,
            t.expected_status,
            if t.awscli_detects {
                ""
            } else {
                " (the AWS CLI misses it)"
            }
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn command_line_key_files_and_relative_start() {
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: SimulateArgs,
        }
        let key = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("crates/trailcheck-sim/signing-keys/key-b.pem");
        let cli = Cli::parse_from([
            "simulate",
            "out",
            "--key",
            key.to_str().unwrap(),
            "--now",
            "2026-12-01T10:20:00Z",
        ]);
        let spec = cli.args.to_spec(chrono::Utc::now()).unwrap();
        assert_eq!(
            spec.key.fingerprint(),
            TestKeys::embedded().unwrap().b.fingerprint()
        );
        assert_eq!(time::display(spec.start), "2026-12-01T04:00:00Z");
        let cli = Cli::parse_from([
            "simulate",
            "out",
            "--key",
            key.to_str().unwrap(),
            "--rotate-at-hour",
            "2",
        ]);
        let err = cli.args.to_spec(chrono::Utc::now()).unwrap_err();
        assert!(err.to_string().contains("one more --key"), "{err}");
    }
}
