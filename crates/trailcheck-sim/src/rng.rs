//! A tiny seeded generator (splitmix64), the simulator's only source of variety: a seed
//! always gives the same bytes.

/// Characters of CloudTrail's unique log-name strings.
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Characters of IAM principal and access key ids.
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEX: &[u8] = b"0123456789abcdef";
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// A splitmix64 stream.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// An independent stream for one purpose, named by a label and indices (region, hour,
    /// ...). Deriving streams, rather than drawing everything from one, keeps each file's
    /// bytes stable when an unrelated option (another tampering, more regions) changes.
    pub fn stream(seed: u64, label: &str, indices: &[u64]) -> Self {
        let mut state = mix(seed);
        for x in label.bytes().map(u64::from).chain(indices.iter().copied()) {
            state = mix(state.wrapping_add(GOLDEN) ^ x);
        }
        Rng(state)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    /// A number in `0..n`; 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A number in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high.saturating_sub(low) + 1)
    }

    /// True with the given chance, in percent.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One item of a non-empty table.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn string_of(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len).map(|_| char::from(*self.pick(alphabet))).collect()
    }

    /// Letters and digits, as in a log file's unique string.
    pub fn alnum(&mut self, len: usize) -> String {
        self.string_of(ALNUM, len)
    }

    /// Upper-case letters and digits 2-7, as in IAM ids (`AIDA...`, `AKIA...`).
    pub fn iam_id(&mut self, prefix: &str, len: usize) -> String {
        format!("{prefix}{}", self.string_of(UPPER_ALNUM, len))
    }

    pub fn hex(&mut self, len: usize) -> String {
        self.string_of(HEX, len)
    }

    /// A random (version 4) UUID, as CloudTrail writes in `eventID`.
    pub fn uuid(&mut self) -> String {
        let variant = char::from(*self.pick(b"89ab"));
        format!(
            "{}-{}-4{}-{variant}{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            self.hex(3),
            self.hex(12)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_label_give_the_same_stream() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::stream(7, "log", &[1, 2]);
                move |_| r.next_u64()
            })
            .collect();
        let mut r = Rng::stream(7, "log", &[1, 2]);
        assert_eq!(a, (0..4).map(|_| r.next_u64()).collect::<Vec<_>>());
        assert_ne!(Rng::stream(7, "log", &[1, 3]).next_u64(), a[0]);
        assert_ne!(Rng::stream(8, "log", &[1, 2]).next_u64(), a[0]);
    }

    #[test]
    fn ranges_and_ids_have_the_right_shape() {
        let mut r = Rng::stream(1, "shape", &[]);
        for _ in 0..1000 {
            assert!((3..=9).contains(&r.range(3, 9)));
        }
        let id = r.uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(r.alnum(16).bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(r.iam_id("AKIA", 16).starts_with("AKIA"));
    }
}
