//! An in-memory store, for tests and for checking what the engine makes of crafted bytes.

use std::collections::BTreeMap;
use std::io::Cursor;

use super::{FetchError, Metadata, Object, Store};

/// Objects held in memory; `deny` marks keys that answer "access denied".
#[derive(Default, Clone)]
pub struct MemoryStore {
    objects: BTreeMap<(String, String), (Vec<u8>, Metadata)>,
    denied: Vec<(String, String)>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&mut self, bucket: &str, key: &str, body: Vec<u8>, metadata: Metadata) {
        self.objects
            .insert((bucket.to_owned(), key.to_owned()), (body, metadata));
    }

    pub fn remove(&mut self, bucket: &str, key: &str) -> Option<(Vec<u8>, Metadata)> {
        self.objects.remove(&(bucket.to_owned(), key.to_owned()))
    }

    /// Makes `get` of this object fail as access denied, while it stays listed.
    pub fn deny(&mut self, bucket: &str, key: &str) {
        self.denied.push((bucket.to_owned(), key.to_owned()));
    }
}

impl Store for MemoryStore {
    fn describe(&self) -> String {
        "memory".to_owned()
    }

    fn buckets(&self) -> Vec<String> {
        let mut buckets: Vec<String> = self.objects.keys().map(|(b, _)| b.clone()).collect();
        buckets.dedup();
        buckets
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, FetchError> {
        Ok(self
            .objects
            .keys()
            .filter(|(b, k)| b == bucket && k.starts_with(prefix))
            .map(|(_, k)| k.clone())
            .collect())
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Object, FetchError> {
        let id = (bucket.to_owned(), key.to_owned());
        if self.denied.contains(&id) {
            return Err(FetchError::Inaccessible("access denied".to_owned()));
        }
        let (body, metadata) = self.objects.get(&id).ok_or(FetchError::NotFound)?;
        Ok(Object {
            body: Box::new(Cursor::new(body.clone())),
            metadata: metadata.clone(),
        })
    }
}
