//! A fast hash for short keys that are not chosen against us.
//!
//! [`FastHasher`] is FxHash (as in `rustc`) with MurmurHash3's 64-bit
//! finaliser, so every input bit reaches the low bits a hash table indexes
//! by (FxHash alone leaves keys that differ only late in their last word in
//! the same few buckets). It is not
//! keyed: where an attacker could choose many keys that collide, only the
//! time of reading their own input suffers, and it is used only where the
//! keys are a document's own table keys or the entries of a managed
//! requirement. Values a user can add by the thousand to a list that is
//! de-duplicated are hashed with SipHash ([`crate::constraint`]).

use std::hash::Hasher;

/// FxHash over 8-byte words, with a finaliser.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }

    /// The hash of `bytes` written at once.
    pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
        let mut h = FastHasher::default();
        h.write(bytes);
        h.finish()
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        // The last multiplication leaves its low bits depending only on the
        // low bits of the last word, and a table indexes by the low bits:
        // MurmurHash3's `fmix64` spreads every bit over all of them.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn keys_that_differ_late_in_their_last_word_spread_over_the_low_bits() {
        // `abcdefgh00000123` … : the digits that differ sit in the high
        // bytes of the last word, which without the finaliser reach only
        // the high bits (164 of 4,096 buckets).
        let buckets: HashSet<u64> = (0..4096)
            .map(|i| FastHasher::hash_bytes(format!("abcdefgh{i:08}").as_bytes()) & 0xfff)
            .collect();
        assert!(buckets.len() > 2500, "{} of 4096 buckets", buckets.len());
    }
}
