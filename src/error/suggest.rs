//! Did-you-mean suggestions: the closest of a few known words to what was written. Every stage
//! that rejects a name (a ref, a test, a config value) uses this one edit distance, so the
//! suggestions agree.

/// Edit distance (Levenshtein) between two words, counted in characters.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `wanted`, if one is near enough to be what was meant: at most
/// `max_distance` edits away, and nearer than rewriting the whole word.
pub fn closest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    max_distance: usize,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (levenshtein(wanted, c), c))
        .filter(|(d, c)| *d <= max_distance && *d < c.chars().count().max(1))
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_word_within_reach_wins() {
        assert_eq!(levenshtein("mergee", "merge"), 1);
        assert_eq!(
            closest("mergee", ["append", "merge", "delete+insert"], 3),
            Some("merge")
        );
        assert_eq!(closest("zzz", ["append", "merge"], 2), None);
    }
}
