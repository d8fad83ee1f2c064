//! Recent DHCP answers, so that the hook's repeated questions (several per packet, one
//! exchange after another) are answered from memory.
//!
//! An entry is used for at most the configured age. Every change reported through
//! [`Provisioner::dhcp_changed`](super::Provisioner::dhcp_changed) (the server reports each
//! successful change made through its API) empties the cache at once; changes made by other
//! processes (`inventory apply`, another server on the same database) are seen once entries
//! expire. An answer read from the store while a change was reported is not kept, so a
//! stale answer cannot outlive the report.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::DhcpAnswer;
use crate::mac::MacAddr;

/// At most this many MACs are kept (random MACs cannot grow it without bound); when full,
/// it starts again empty.
const MAX_ENTRIES: usize = 65_536;

/// Recent answers by MAC; `None` remembers that no interface has the MAC.
#[derive(Debug)]
pub struct DhcpCache {
    max_age: Duration,
    generation: AtomicU64,
    entries: RwLock<HashMap<MacAddr, (Instant, Option<DhcpAnswer>)>>,
}

impl DhcpCache {
    /// A cache keeping answers for `max_age` (zero: none are kept).
    pub fn new(max_age: Duration) -> Self {
        DhcpCache {
            max_age,
            generation: AtomicU64::new(0),
            entries: RwLock::default(),
        }
    }

    /// The answer for `mac` if one younger than the maximum age is kept.
    pub fn get(&self, mac: MacAddr) -> Option<Option<DhcpAnswer>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let (at, answer) = entries.get(&mac)?;
        (at.elapsed() < self.max_age).then(|| answer.clone())
    }

    /// The current generation: take it before reading the store, give it to [`put`].
    ///
    /// [`put`]: DhcpCache::put
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `answer`, read from the store at `generation`, unless a change was reported
    /// since.
    pub fn put(&self, generation: u64, mac: MacAddr, answer: Option<DhcpAnswer>) {
        if self.max_age.is_zero() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        // Checked under the lock that `clear` takes too.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(mac, (Instant::now(), answer));
    }

    /// Forgets every answer (something changed).
    pub fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);

    fn answer(file: &str) -> Option<DhcpAnswer> {
        Some(DhcpAnswer {
            ipv4: None,
            next_server: Some("10.0.0.1".into()),
            bootfile: Some(file.into()),
            vendor_class: None,
        })
    }

    #[test]
    fn kept_until_cleared_or_too_old() {
        let cache = DhcpCache::new(Duration::from_millis(200));
        assert_eq!(cache.get(MAC), None);
        cache.put(cache.generation(), MAC, answer("a"));
        assert_eq!(cache.get(MAC), Some(answer("a")));
        cache.put(cache.generation(), MAC, None);
        assert_eq!(
            cache.get(MAC),
            Some(None),
            "unknown MACs are remembered too"
        );
        cache.clear();
        assert_eq!(cache.get(MAC), None);
        cache.put(cache.generation(), MAC, answer("b"));
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(cache.get(MAC), None, "expired");
    }

    #[test]
    fn an_answer_read_before_a_change_is_not_kept() {
        let cache = DhcpCache::new(Duration::from_secs(60));
        let before = cache.generation();
        cache.clear(); // a change is reported while the store was being read
        cache.put(before, MAC, answer("stale"));
        assert_eq!(cache.get(MAC), None);
    }

    #[test]
    fn zero_age_keeps_nothing_and_size_is_bounded() {
        let off = DhcpCache::new(Duration::ZERO);
        off.put(off.generation(), MAC, answer("a"));
        assert_eq!(off.get(MAC), None);
        let cache = DhcpCache::new(Duration::from_secs(60));
        for i in 0..=MAX_ENTRIES as u32 {
            let b = i.to_be_bytes();
            cache.put(
                cache.generation(),
                MacAddr([2, 0, b[0], b[1], b[2], b[3]]),
                None,
            );
        }
        assert!(cache.entries.read().unwrap().len() <= MAX_ENTRIES);
    }
}
