//! `trailcheck restore-plan`: what a range needs restored from S3's archive storage classes
//! before it can be validated, and the calls that restore it. trailcheck only reads: it
//! prints the `aws s3api restore-object` calls (or writes an S3 Batch Operations manifest)
//! for someone allowed to run them.
//!
//! The plan covers what the listing shows for the range: the digests whose end time is in it
//! (with the hour after, as `validate` reads) and the logs delivered in it or in the hour its
//! oldest digest covers. Archived digests
//! cannot be read to find logs they list elsewhere, so those are named once they are restored
//! and `validate` runs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::{self, Write};

use chrono::Utc;
use rayon::prelude::*;
use serde_json::{Value, json};

use crate::cli::{RestorePlanArgs, RestoreTier, TextOrJson};
use crate::config::s3_plan;
use crate::exit::Exit;
use trailcheck_aws::s3::{ArchiveState, Listed, S3Store};
use trailcheck_aws::session::AwsSession;
use trailcheck_core::engine::{SPILL_OVER, inventory};
use trailcheck_core::error::{ConfigError, RunError};
use trailcheck_core::store::FetchError;
use trailcheck_core::time;

/// Storage classes whose objects may need a restore before GetObject reads them
/// (Intelligent-Tiering only in its archive tiers, which HeadObject tells).
const MAY_BE_ARCHIVED: [&str; 3] = ["GLACIER", "DEEP_ARCHIVE", "INTELLIGENT_TIERING"];

/// Where one object stands.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Need {
    /// GetObject reads it now.
    Readable,
    /// Archived: a restore must be asked for.
    Restore,
    /// A restore was asked for and is not done.
    InProgress,
    /// A temporary copy is readable, until the date S3 gives.
    Restored(String),
    /// Its state could not be read; the text says why.
    Unknown(String),
}

struct Planned {
    bucket: String,
    key: String,
    size: u64,
    class: String,
    /// Intelligent-Tiering's archive tier, when the object is in one.
    tier: Option<String>,
    need: Need,
}

/// Runs `trailcheck restore-plan`: exit 0 when the plan is whole, 3 when some object's
/// state could not be read (the plan may miss it).
pub fn run(args: &RestorePlanArgs) -> Result<Exit, RunError> {
    let (location, settings) = s3_plan(
        &args.source,
        "restore-plan reads S3 storage classes",
        &args.range,
        args.jobs,
        Utc::now(),
    )?;
    let session = std::sync::Arc::new(AwsSession::open(&args.aws.options())?);
    let store = S3Store::new(session, location.clone());
    let pool = trailcheck_core::engine::worker_pool(settings.jobs)?;
    let inventory = inventory::take_inventory(&store, &settings)?;
    let start = settings
        .start
        .or(inventory.oldest_digest)
        .unwrap_or(settings.end);
    let last = settings.end + SPILL_OVER;
    let mut wanted: BTreeSet<(String, String)> = (inventory.digests.iter())
        .filter(|d| start <= d.name.end && d.name.end <= last)
        .map(|d| (d.bucket.clone(), d.key.clone()))
        .collect();
    // The oldest digest in range lists the logs of the hour before its end: those too.
    let logs_from = start - chrono::Duration::hours(1);
    for ((bucket, _), _, logs) in inventory.all_logs() {
        for (key, delivered) in logs {
            if logs_from <= *delivered && *delivered <= settings.end {
                wanted.insert((bucket.clone(), key.clone()));
            }
        }
    }
    let listed = pool.install(|| list_folders(&store, &wanted))?;
    let planned: Vec<Planned> = pool.install(|| {
        wanted
            .par_iter()
            .filter_map(|(bucket, key)| {
                let object = listed.get(&(bucket.clone(), key.clone()))?;
                Some(plan_one(&store, bucket, object))
            })
            .collect()
    });
    let plan = Plan {
        source: format!("s3://{}/{}", location.bucket, location.prefix),
        from: time::display(start),
        to: time::display(settings.end),
        days: args.days,
        tier: args.tier,
        objects: planned,
    };
    let mut out = io::stdout().lock();
    let written = match args.format {
        TextOrJson::Json => writeln!(out, "{}", plan.json()),
        TextOrJson::Text => plan.write_text(&mut out),
    };
    // A closed stdout (`| head`) is not a failure of the plan.
    drop(written);
    if let Some(path) = &args.manifest {
        fs::write(path, plan.manifest()).map_err(|e| {
            RunError::Config(ConfigError::Option {
                option: "--manifest",
                why: format!("cannot write {}: {e}", path.display()),
            })
        })?;
    }
    let unknown = plan
        .objects
        .iter()
        .any(|o| matches!(o.need, Need::Unknown(_)));
    Ok(if unknown {
        Exit::Incomplete
    } else {
        Exit::Intact
    })
}

/// Lists each day folder the wanted objects lie in once, with sizes and storage classes.
fn list_folders(
    store: &S3Store,
    wanted: &BTreeSet<(String, String)>,
) -> Result<HashMap<(String, String), Listed>, RunError> {
    let folders: BTreeSet<(String, String)> = wanted
        .iter()
        .filter_map(|(bucket, key)| {
            let (folder, _) = key.rsplit_once('/')?;
            Some((bucket.clone(), format!("{folder}/")))
        })
        .collect();
    let pages: Vec<Result<Vec<(String, Listed)>, FetchError>> = folders
        .par_iter()
        .map(|(bucket, prefix)| {
            let objects = store.list_objects(bucket, prefix, None)?;
            Ok(objects.into_iter().map(|o| (bucket.clone(), o)).collect())
        })
        .collect();
    let mut listed = HashMap::new();
    for (page, (bucket, prefix)) in pages.into_iter().zip(&folders) {
        let page = page.map_err(|e| RunError::Listing {
            source_name: format!("s3://{bucket}"),
            what: prefix.clone(),
            why: e.to_string(),
        })?;
        for (bucket, object) in page {
            listed.insert((bucket, object.key.clone()), object);
        }
    }
    Ok(listed)
}

fn plan_one(store: &S3Store, bucket: &str, object: &Listed) -> Planned {
    let class = object
        .storage_class
        .clone()
        .unwrap_or_else(|| "STANDARD".to_owned());
    let mut planned = Planned {
        bucket: bucket.to_owned(),
        key: object.key.clone(),
        size: object.size,
        class,
        tier: None,
        need: Need::Readable,
    };
    if !MAY_BE_ARCHIVED.contains(&planned.class.as_str()) {
        return planned;
    }
    match store.archive_state(bucket, &object.key) {
        Ok(state) => {
            planned.need = need_of(&planned.class, &state);
            planned.tier = state.archive_status;
        }
        Err(e) => planned.need = Need::Unknown(e.to_string()),
    }
    planned
}

/// Reads HeadObject's answer: `x-amz-restore` says a restore is under way or done; an
/// Intelligent-Tiering object is archived only with an archive status.
fn need_of(class: &str, state: &ArchiveState) -> Need {
    if let Some(restore) = &state.restore {
        if restore.contains("ongoing-request=\"true\"") {
            return Need::InProgress;
        }
        if restore.contains("ongoing-request=\"false\"") {
            let expiry = restore
                .split_once("expiry-date=\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map_or("", |(date, _)| date);
            return Need::Restored(expiry.to_owned());
        }
    }
    if class == "INTELLIGENT_TIERING" && state.archive_status.is_none() {
        return Need::Readable;
    }
    Need::Restore
}

struct Plan {
    source: String,
    from: String,
    to: String,
    days: u32,
    tier: RestoreTier,
    objects: Vec<Planned>,
}

impl Plan {
    fn to_restore(&self) -> impl Iterator<Item = &Planned> {
        self.objects.iter().filter(|o| o.need == Need::Restore)
    }

    /// Objects, bytes and needs per storage class, in name order.
    fn by_class(&self) -> BTreeMap<&str, (u64, u64, BTreeMap<&'static str, u64>)> {
        let mut classes: BTreeMap<&str, (u64, u64, BTreeMap<&'static str, u64>)> = BTreeMap::new();
        for object in &self.objects {
            let entry = classes.entry(object.class.as_str()).or_default();
            entry.0 += 1;
            entry.1 += object.size;
            *entry.2.entry(need_name(&object.need)).or_default() += 1;
        }
        classes
    }

    /// The restore request for one object: Days for the Glacier classes, none for
    /// Intelligent-Tiering's archive tiers (the object moves back to Frequent Access);
    /// Deep Archive has no Expedited tier, so it gets Standard.
    fn request(&self, object: &Planned) -> Value {
        let tier = match (self.tier, object.class.as_str()) {
            (RestoreTier::Expedited, "DEEP_ARCHIVE") => RestoreTier::Standard,
            (RestoreTier::Expedited, "INTELLIGENT_TIERING")
                if object.tier.as_deref() == Some("DEEP_ARCHIVE_ACCESS") =>
            {
                RestoreTier::Standard
            }
            (tier, _) => tier,
        };
        let job = json!({"Tier": tier.as_str()});
        if object.class == "INTELLIGENT_TIERING" {
            json!({"GlacierJobParameters": job})
        } else {
            json!({"Days": self.days, "GlacierJobParameters": job})
        }
    }

    fn command(&self, object: &Planned) -> String {
        format!(
            "aws s3api restore-object --bucket {} --key {} --restore-request '{}'",
            shell_word(&object.bucket),
            shell_word(&object.key),
            self.request(object)
        )
    }

    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Restore plan for {}: digests and logs of {} to {}",
            self.source, self.from, self.to
        )?;
        for (class, (count, bytes, needs)) in self.by_class() {
            let needs: Vec<String> = needs.iter().map(|(n, c)| format!("{c} {n}")).collect();
            writeln!(
                out,
                "  {class:<20} {count:>7} objects {:>10}  {}",
                human_bytes(bytes),
                needs.join(", ")
            )?;
        }
        for object in &self.objects {
            if let Need::Unknown(why) = &object.need {
                writeln!(
                    out,
                    "  state unknown: s3://{}/{}: {why}",
                    object.bucket, object.key
                )?;
            }
        }
        let restore: Vec<&Planned> = self.to_restore().collect();
        if restore.is_empty() {
            return writeln!(
                out,
                "Nothing to restore: every object in range can be read."
            );
        }
        let bytes: u64 = restore.iter().map(|o| o.size).sum();
        writeln!(
            out,
            "To restore: {} objects, {} ({} tier, {} days), with s3:RestoreObject:",
            restore.len(),
            human_bytes(bytes),
            self.tier.as_str(),
            self.days
        )?;
        for object in restore {
            writeln!(out, "{}", self.command(object))?;
        }
        Ok(())
    }

    fn json(&self) -> Value {
        let classes: Vec<Value> = self
            .by_class()
            .into_iter()
            .map(|(class, (count, bytes, needs))| {
                json!({"storage_class": class, "objects": count, "bytes": bytes, "needs": needs})
            })
            .collect();
        let objects: Vec<Value> = self
            .objects
            .iter()
            .filter(|o| o.need != Need::Readable)
            .map(|o| {
                let mut entry = json!({
                    "bucket": o.bucket, "key": o.key, "size": o.size,
                    "storage_class": o.class, "archive_status": o.tier,
                    "need": need_name(&o.need),
                });
                match &o.need {
                    Need::Restore => entry["restore_request"] = self.request(o),
                    Need::Restored(expiry) => entry["restored_until"] = json!(expiry),
                    Need::Unknown(why) => entry["why"] = json!(why),
                    _ => {}
                }
                entry
            })
            .collect();
        json!({
            "version": 1,
            "source": self.source,
            "from": self.from,
            "to": self.to,
            "classes": classes,
            "objects": objects,
        })
    }

    /// The S3 Batch Operations CSV manifest (bucket,key with the key URL-encoded) of the
    /// objects to restore.
    fn manifest(&self) -> String {
        self.to_restore()
            .map(|o| format!("{},{}\n", o.bucket, url_encode(&o.key)))
            .collect()
    }
}

fn need_name(need: &Need) -> &'static str {
    match need {
        Need::Readable => "readable",
        Need::Restore => "to restore",
        Need::InProgress => "being restored",
        Need::Restored(_) => "restored",
        Need::Unknown(_) => "state unknown",
    }
}

/// A word a POSIX shell reads back as it is: single-quoted unless plainly safe. Object keys
/// come from the bucket and are untrusted.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@+".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Percent-encoding as S3 Batch Operations manifests want keys: everything but unreserved
/// characters and `/`.
fn url_encode(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(class: &str, archive: Option<&str>, restore: Option<&str>) -> (String, ArchiveState) {
        (
            class.to_owned(),
            ArchiveState {
                storage_class: Some(class.to_owned()),
                archive_status: archive.map(str::to_owned),
                restore: restore.map(str::to_owned),
            },
        )
    }

    #[test]
    fn the_restore_header_and_the_archive_status_decide_what_an_object_needs() {
        let cases = [
            (state("GLACIER", None, None), Need::Restore),
            (state("DEEP_ARCHIVE", None, None), Need::Restore),
            (
                state("GLACIER", None, Some("ongoing-request=\"true\"")),
                Need::InProgress,
            ),
            (
                state(
                    "GLACIER",
                    None,
                    Some(
                        "ongoing-request=\"false\", expiry-date=\"Fri, 21 Dec 2026 00:00:00 GMT\"",
                    ),
                ),
                Need::Restored("Fri, 21 Dec 2026 00:00:00 GMT".to_owned()),
            ),
            (state("INTELLIGENT_TIERING", None, None), Need::Readable),
            (
                state("INTELLIGENT_TIERING", Some("ARCHIVE_ACCESS"), None),
                Need::Restore,
            ),
        ];
        for ((class, state), expected) in cases {
            assert_eq!(need_of(&class, &state), expected, "{class} {state:?}");
        }
    }

    #[test]
    fn keys_are_quoted_for_the_shell_and_encoded_for_the_manifest() {
        assert_eq!(
            shell_word("AWSLogs/1/CloudTrail/a.json.gz"),
            "AWSLogs/1/CloudTrail/a.json.gz"
        );
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's;rm -rf"), r"'it'\''s;rm -rf'");
        assert_eq!(shell_word("$(x)"), "'$(x)'");
        assert_eq!(
            url_encode("AWSLogs/a b+c.json.gz"),
            "AWSLogs/a%20b%2Bc.json.gz"
        );
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
    }
}
