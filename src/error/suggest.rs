//! Did-you-mean suggestions: the edit distance every stage uses to name the closest of the names
//! it knows when the user wrote one it does not (a ref, a test, a selector method, a macro, a dbt
//! event, a config value), so the suggestions agree.

pub use crate::text::levenshtein;

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
    fn edits_are_counted_in_characters() {
        assert_eq!(levenshtein("custmers", "customers"), 1);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kiln", "kiln"), 0);
        assert_eq!(levenshtein("café", "cafe"), 1);
    }

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
