//! Where each tampering lands: fills in the default region and hour, and keeps tamperings
//! from spoiling each other's evidence (a log cannot be shown modified if its digest is
//! deleted too).

use std::collections::{HashMap, HashSet};

use super::SimError;
use super::spec::{Spec, TamperKind, TamperSpec};

/// A tampering with its region and hour decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Planned {
    pub spec: TamperSpec,
    pub region: String,
    pub hour: u32,
}

/// The regular digests a tampering changes, and those that must stay intact to show it.
struct Footprint {
    tampered: Vec<u32>,
    relied_on: Vec<u32>,
    /// Existing logs of the hour it alters.
    logs: u32,
}

/// What earlier tamperings took, per region.
#[derive(Default)]
struct Claims {
    tampered: HashSet<(String, u32)>,
    relied_on: HashSet<(String, u32)>,
    logs: HashMap<(String, u32), u32>,
}

/// Decides every tampering's target, in order. A tampering without an hour takes the first
/// hour that fits, from the middle outwards (from the newest for the signature kinds); one
/// with an hour gets it or an error saying why not.
pub(crate) fn plan(spec: &Spec) -> Result<Vec<Planned>, SimError> {
    let mut claims = Claims::default();
    let mut planned = Vec::new();
    for tamper in &spec.tampers {
        let fail = |why: String| SimError::Tamper {
            tamper: tamper.to_string(),
            why,
        };
        let region = tamper
            .region
            .clone()
            .unwrap_or_else(|| spec.home_region().to_owned());
        if !spec.regions.contains(&region) {
            return Err(fail(format!("{region} is not one of --regions")));
        }
        let hour = match tamper.hour {
            Some(hour) => {
                claim(spec, &mut claims, tamper.kind, &region, hour).map_err(fail)?;
                hour
            }
            None => candidates(spec, tamper.kind)
                .into_iter()
                .find(|&h| claim(spec, &mut claims, tamper.kind, &region, h).is_ok())
                .ok_or_else(|| {
                    fail(format!(
                        "no hour of {region} fits it beside the other tamperings and gaps: \
                         give one with @{region}:HOUR, or raise --hours"
                    ))
                })?,
        };
        planned.push(Planned {
            spec: tamper.clone(),
            region,
            hour,
        });
    }
    Ok(planned)
}

/// Hours to try, best first.
fn candidates(spec: &Spec, kind: TamperKind) -> Vec<u32> {
    if matches!(kind, TamperKind::BadSignature | TamperKind::NoSignature) {
        return (0..spec.hours).rev().collect();
    }
    let middle = i64::from(spec.hours / 2);
    let mut hours: Vec<u32> = (0..spec.hours).collect();
    hours.sort_by_key(|&h| ((i64::from(h) - middle).abs(), h < spec.hours / 2));
    hours
}

/// Takes what `kind` at `hour` needs, or says why it cannot.
fn claim(
    spec: &Spec,
    claims: &mut Claims,
    kind: TamperKind,
    region: &str,
    hour: u32,
) -> Result<(), String> {
    let footprint = footprint(spec, kind, hour)?;
    let key = |h: u32| (region.to_owned(), h);
    if let Some(h) = footprint
        .tampered
        .iter()
        .find(|&&h| claims.tampered.contains(&key(h)) || claims.relied_on.contains(&key(h)))
    {
        return Err(format!(
            "the digest of hour {h} is already tampered, or another tampering needs it intact: \
             pick another hour"
        ));
    }
    if let Some(h) = footprint
        .relied_on
        .iter()
        .find(|&&h| claims.tampered.contains(&key(h)))
    {
        return Err(format!(
            "it needs the digest of hour {h} intact, and another tampering changes it: pick \
             another hour"
        ));
    }
    let used = claims.logs.get(&key(hour)).copied().unwrap_or(0);
    if footprint.logs > 0 && used + footprint.logs > spec.logs_per_hour {
        return Err(format!(
            "hour {hour} has no untouched log left: raise --logs-per-hour or pick another hour"
        ));
    }
    claims
        .tampered
        .extend(footprint.tampered.iter().map(|&h| key(h)));
    claims
        .relied_on
        .extend(footprint.relied_on.iter().map(|&h| key(h)));
    *claims.logs.entry(key(hour)).or_insert(0) += footprint.logs;
    Ok(())
}

fn footprint(spec: &Spec, kind: TamperKind, hour: u32) -> Result<Footprint, String> {
    if hour >= spec.hours {
        return Err(format!(
            "hour {hour} is past the trail's last hour, {}",
            spec.hours.saturating_sub(1)
        ));
    }
    if !spec.has_digest(hour) {
        return Err(format!(
            "hour {hour} is in a --gap: it has no digest; pick another hour"
        ));
    }
    let successor = spec.has_digest(hour + 1).then_some(hour + 1);
    let digest = |tampered: Vec<u32>, relied_on: Vec<u32>| Footprint {
        tampered,
        relied_on,
        logs: 0,
    };
    match kind {
        TamperKind::ModifyLog
        | TamperKind::AppendLog
        | TamperKind::CorruptLog
        | TamperKind::DeleteLog => Ok(Footprint {
            tampered: Vec::new(),
            relied_on: vec![hour],
            logs: 1,
        }),
        TamperKind::InsertLog => Ok(digest(Vec::new(), vec![hour])),
        TamperKind::ModifyDigest
        | TamperKind::MoveDigest
        | TamperKind::UnknownKey
        | TamperKind::BadSignature => Ok(digest(vec![hour], successor.into_iter().collect())),
        TamperKind::DeleteDigest => match successor {
            Some(next) => Ok(digest(vec![hour], vec![next])),
            None => Err(format!(
                "the digest of hour {hour} has no successor to show it was deleted: pick an \
                 earlier hour"
            )),
        },
        TamperKind::DeleteDigests2 => {
            if successor.is_some() && spec.has_digest(hour + 2) {
                Ok(digest(vec![hour, hour + 1], vec![hour + 2]))
            } else {
                Err(format!(
                    "hours {hour} and {} need a successor digest in hour {}: pick an earlier hour",
                    hour + 1,
                    hour + 2
                ))
            }
        }
        TamperKind::NoSignature => match successor {
            None => Ok(digest(vec![hour], Vec::new())),
            Some(_) => Err(format!(
                "the digest of hour {hour} is not the newest of its chain, so its successor \
                 still carries its signature: pick the last hour (or the hour before a gap)"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::TestKeys;

    fn spec(tampers: &[&str]) -> Spec {
        let mut spec = Spec::new(TestKeys::embedded().unwrap().a);
        spec.hours = 8;
        spec.tampers = tampers.iter().map(|t| t.parse().unwrap()).collect();
        spec
    }

    fn hours(tampers: &[&str]) -> Vec<u32> {
        plan(&spec(tampers))
            .unwrap()
            .iter()
            .map(|p| p.hour)
            .collect()
    }

    #[test]
    fn log_tamperings_share_the_middle_hour_and_digest_ones_move_aside() {
        assert_eq!(
            hours(&["modify-log", "delete-log", "insert-log"]),
            vec![4, 4, 4]
        );
        assert_eq!(hours(&["modify-log", "delete-digest"]), vec![4, 5]);
        assert_eq!(hours(&["delete-digest", "modify-digest"]), vec![4, 6]);
        assert_eq!(
            hours(&["no-signature", "bad-signature@eu-west-1"]),
            vec![7, 7]
        );
    }

    #[test]
    fn explicit_hours_that_cannot_work_say_why() {
        let err = |t: &[&str]| plan(&spec(t)).unwrap_err().to_string();
        assert!(err(&["delete-digest@:7"]).contains("no successor"));
        assert!(err(&["no-signature@:3"]).contains("not the newest"));
        assert!(err(&["modify-log@:3", "delete-digest@:3"]).contains("already"));
        assert!(err(&["modify-log@ap-south-1"]).contains("not one of --regions"));
        let mut gapped = spec(&["modify-log@:3"]);
        gapped.gaps = vec!["2-3".parse().unwrap()];
        assert!(plan(&gapped).unwrap_err().to_string().contains("gap"));
    }

    #[test]
    fn too_many_log_tamperings_for_an_hour_spill_to_the_next() {
        let mut s = spec(&["modify-log", "delete-log", "corrupt-log"]);
        s.logs_per_hour = 2;
        let planned: Vec<u32> = plan(&s).unwrap().iter().map(|p| p.hour).collect();
        assert_eq!(planned, vec![4, 4, 5]);
    }
}
