//! Did-you-mean suggestions: the edit distance every stage uses to name the closest of the names
//! it knows when the user wrote one it does not (a ref, a selector method, a macro, a dbt event).

/// The Levenshtein edit distance between two strings, counted in characters.
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

#[cfg(test)]
mod tests {
    use super::levenshtein;

    #[test]
    fn edits_are_counted_in_characters() {
        assert_eq!(levenshtein("custmers", "customers"), 1);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kiln", "kiln"), 0);
        assert_eq!(levenshtein("café", "cafe"), 1);
    }
}
