//! The subjects' keyed hash in the audit: HMAC-SHA-256 (RFC 2104), lower-case hex, the same
//! construction as the demo's `hash_pii` macro, so an auditor holding the key can check whether
//! a given person was erased without the audit ever holding who.

use sha2::{Digest, Sha256};

const BLOCK: usize = 64;

pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    let mut k0 = [0u8; BLOCK];
    if key.len() > BLOCK {
        let digest = Sha256::digest(key);
        k0[..digest.len()].copy_from_slice(&digest);
    } else {
        k0[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| -> Vec<u8> { k0.iter().map(|k| k ^ byte).collect() };
    let mut inner = Sha256::new();
    inner.update(pad(0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(pad(0x5c));
    outer.update(inner);
    outer
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231's test cases 2 and 6 (a key longer than the block).
    #[test]
    fn matches_the_rfc_4231_test_vectors() {
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hmac_sha256_hex(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
