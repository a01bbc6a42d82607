//! Progress events from the engine to whoever is watching: the engine counts, never draws.
//!
//! The engine announces how many files it is about to read and reports each one finished,
//! with the bytes fetched since the last report. What to do with that (a bar on a terminal,
//! nothing at all) is the caller's business, so the engine stays free of printing.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::{FetchError, Object, Store};

/// Receives the engine's progress events, from any worker thread.
pub trait Progress: Sync {
    /// `files` more files are queued to be read; called once per phase, so the total grows.
    fn total(&self, files: u64);
    /// One queued file is finished; `bytes` were fetched from the store since the last call.
    fn done(&self, bytes: u64);
}

/// Ignores every event: for library callers and tests that watch nothing.
pub struct Silent;

impl Progress for Silent {
    fn total(&self, _files: u64) {}
    fn done(&self, _bytes: u64) {}
}

/// A store that counts the bytes read through it, and reports them with each finished file.
///
/// Counting at the store boundary measures exactly what was fetched (compressed bytes, as a
/// download would), whichever step fetched it, without the steps having to know.
pub struct Metered<'a> {
    store: &'a dyn Store,
    progress: &'a dyn Progress,
    /// Bytes read since the last [`Metered::file_done`]; shared with every open reader.
    read: Arc<AtomicU64>,
}

impl<'a> Metered<'a> {
    pub fn new(store: &'a dyn Store, progress: &'a dyn Progress) -> Self {
        Self {
            store,
            progress,
            read: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Announces `files` more files to read.
    pub fn queue(&self, files: usize) {
        self.progress.total(files as u64);
    }

    /// One file is finished. With several workers the bytes are those read by all of them
    /// since the last call: the sum over a run, and so the rate, are exact.
    pub fn file_done(&self) {
        self.progress.done(self.read.swap(0, Ordering::Relaxed));
    }
}

impl Store for Metered<'_> {
    fn describe(&self) -> String {
        self.store.describe()
    }

    fn buckets(&self) -> Vec<String> {
        self.store.buckets()
    }

    // Every method is forwarded: a provided method left to its default here would hide the
    // wrapped store's own (S3's StartAfter listing, delimiter listing, source prefix).
    fn root(&self, bucket: &str) -> String {
        self.store.root(bucket)
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, FetchError> {
        self.store.list(bucket, prefix)
    }

    fn list_after(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: &str,
    ) -> Result<Vec<String>, FetchError> {
        self.store.list_after(bucket, prefix, start_after)
    }

    fn folders(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, FetchError> {
        self.store.folders(bucket, prefix)
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Object, FetchError> {
        let object = self.store.get(bucket, key)?;
        Ok(Object {
            body: Box::new(CountingReader {
                inner: object.body,
                read: Arc::clone(&self.read),
            }),
            metadata: object.metadata,
        })
    }
}

struct CountingReader {
    inner: Box<dyn Read + Send>,
    read: Arc<AtomicU64>,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use std::sync::Mutex;

    /// A store whose provided methods all answer differently from the trait's defaults.
    struct Distinct;

    impl Store for Distinct {
        fn describe(&self) -> String {
            "distinct".to_owned()
        }
        fn buckets(&self) -> Vec<String> {
            vec!["b".to_owned()]
        }
        fn root(&self, _bucket: &str) -> String {
            "prefix/".to_owned()
        }
        fn list(&self, _bucket: &str, _prefix: &str) -> Result<Vec<String>, FetchError> {
            Ok(Vec::new())
        }
        fn list_after(&self, _: &str, _: &str, after: &str) -> Result<Vec<String>, FetchError> {
            Ok(vec![format!("after {after}")])
        }
        fn folders(&self, _bucket: &str, _prefix: &str) -> Result<Vec<String>, FetchError> {
            Ok(vec!["folder/".to_owned()])
        }
        fn get(&self, _bucket: &str, _key: &str) -> Result<Object, FetchError> {
            Err(FetchError::NotFound)
        }
    }

    #[test]
    fn the_meter_forwards_every_store_method() {
        let metered = Metered::new(&Distinct, &Silent);
        assert_eq!(metered.root("b"), "prefix/");
        assert_eq!(
            metered.list_after("b", "p", "k"),
            Ok(vec!["after k".to_owned()])
        );
        assert_eq!(metered.folders("b", "p"), Ok(vec!["folder/".to_owned()]));
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(char, u64)>>);

    impl Progress for Recorder {
        fn total(&self, files: u64) {
            self.0.lock().unwrap().push(('t', files));
        }
        fn done(&self, bytes: u64) {
            self.0.lock().unwrap().push(('d', bytes));
        }
    }

    #[test]
    fn bytes_read_through_the_store_are_reported_with_the_next_finished_file() {
        let mut inner = MemoryStore::new();
        inner.put("b", "k", b"0123456789".to_vec(), Default::default());
        let recorder = Recorder::default();
        let store = Metered::new(&inner, &recorder);
        store.queue(2);
        let mut body = Vec::new();
        store
            .get("b", "k")
            .unwrap()
            .body
            .read_to_end(&mut body)
            .unwrap();
        store.file_done();
        store.file_done();
        assert_eq!(*recorder.0.lock().unwrap(), [('t', 2), ('d', 10), ('d', 0)]);
    }
}
