//! Finding what a run must look at: the digests of the selected trails and the logs beside
//! them, from the store's listings.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::error::ConfigError;
use crate::objectkey::{self, DigestName, ObjectName};
use crate::store::Store;
use crate::verdict::ChainId;

use super::Settings;
use super::chain::FolderId;

/// What the store holds that matters for this run.
#[derive(Default)]
pub struct Inventory {
    pub digests: Vec<(ChainId, String, String)>,
    pub logs: BTreeMap<FolderId, Vec<(String, DateTime<Utc>)>>,
    pub oldest_digest: Option<DateTime<Utc>>,
}

/// Lists every bucket and sorts its keys into digests (of selected trails) and logs.
pub fn take_inventory(store: &dyn Store, settings: &Settings) -> Result<Inventory, ConfigError> {
    let mut inventory = Inventory::default();
    for bucket in store.buckets() {
        let keys = store
            .list(&bucket, "")
            .map_err(|e| ConfigError::SourceUnreadable {
                path: store.describe().into(),
                why: format!("listing bucket {bucket}: {e}"),
            })?;
        for key in keys {
            match objectkey::parse(&key) {
                Some(ObjectName::Digest(name))
                    if settings.trail.as_ref().is_none_or(|t| t.matches(&name)) =>
                {
                    let oldest = inventory
                        .oldest_digest
                        .map_or(name.end, |o| o.min(name.end));
                    inventory.oldest_digest = Some(oldest);
                    inventory
                        .digests
                        .push((chain_id(&name), bucket.clone(), key));
                }
                Some(ObjectName::Log(name)) => {
                    let folder = (bucket.clone(), name.folder.clone());
                    inventory
                        .logs
                        .entry(folder)
                        .or_default()
                        .push((key, name.delivered));
                }
                _ => {}
            }
        }
    }
    Ok(inventory)
}

pub fn chain_id(name: &DigestName) -> ChainId {
    ChainId {
        account: name.folder.account.clone(),
        region: name.folder.region.clone(),
        trail: name.trail.clone(),
        home_region: name.home_region.clone(),
        organization: name.folder.organization.clone(),
        backfill: name.backfill,
    }
}
