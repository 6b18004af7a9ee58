//! Shell-style wildcards as dbt's selector methods see them: Python's `fnmatch` (`*`, `?`,
//! `[abc]`, `[!a-z]`; `*` crosses `.` and `/`), and `pathlib` globbing for `path:`, where a
//! wildcard stays inside one path segment and `**` spans any number of them.
//!
//! Hand-written rather than `globset` because globset adds `{a,b}` alternation and treats `\` as
//! an escape, and a selector must mean here exactly what it means to dbt.

/// One compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `?`
    One,
    /// `*`
    Any,
    /// `[...]` (negated with `[!...]`).
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Whether `s` has any wildcard character, the way dbt decides to "slurp" an fqn.
pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '[', ']'])
}

impl Pattern {
    pub fn new(pattern: &str) -> Pattern {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = vec![];
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    // Consecutive stars mean the same as one.
                    if tokens.last() != Some(&Token::Any) {
                        tokens.push(Token::Any);
                    }
                    i += 1;
                }
                '?' => {
                    tokens.push(Token::One);
                    i += 1;
                }
                '[' => match parse_class(&chars, i + 1) {
                    Some((token, next)) => {
                        tokens.push(token);
                        i = next;
                    }
                    // An unclosed `[` is an ordinary character, as in Python.
                    None => {
                        tokens.push(Token::Literal('['));
                        i += 1;
                    }
                },
                c => {
                    tokens.push(Token::Literal(c));
                    i += 1;
                }
            }
        }
        Pattern { tokens }
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        // Classic two-pointer matching with one backtrack point per `*`.
        let (mut t, mut p) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.tokens.get(p) {
                Some(Token::Any) => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(tok) if single_matches(tok, text[t]) => {
                    t += 1;
                    p += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        self.tokens[p..].iter().all(|tok| *tok == Token::Any)
    }
}

fn single_matches(tok: &Token, c: char) -> bool {
    match tok {
        Token::Literal(l) => *l == c,
        Token::One => true,
        Token::Any => false,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *negated
        }
    }
}

/// Parses a class starting just after `[`; returns the token and the index after `]`.
fn parse_class(chars: &[char], start: usize) -> Option<(Token, usize)> {
    let mut i = start;
    let negated = chars.get(i) == Some(&'!');
    if negated {
        i += 1;
    }
    let mut ranges = vec![];
    let mut first = true;
    while i < chars.len() {
        let c = chars[i];
        // `]` right after `[` or `[!` is a member, not the end.
        if c == ']' && !first {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        first = false;
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|e| *e != ']') {
            ranges.push((c, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    None
}

/// `fnmatch(text, pattern)`.
pub fn fnmatch(text: &str, pattern: &str) -> bool {
    Pattern::new(pattern).matches(text)
}

/// A `pathlib` glob relative to the project directory, e.g. `models/staging`,
/// `models/*/stg_*.sql` or `models/**/schema.yml`.
#[derive(Debug, Clone)]
pub struct PathGlob {
    /// `None` for `**`.
    segments: Vec<Option<Pattern>>,
}

impl PathGlob {
    /// Normalises the selector value (`./`, `\`, doubled and trailing slashes) and compiles it.
    pub fn new(pattern: &str) -> PathGlob {
        let normalized = pattern.replace('\\', "/");
        let segments = normalized
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .map(|s| (s != "**").then(|| Pattern::new(s)))
            .collect();
        PathGlob { segments }
    }

    /// `path:.` (or an empty path) is the project directory itself, the parent of every file.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// Whether the project-relative `path` (forward slashes) is one the glob yields.
    pub fn matches(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match_segments(&self.segments, &parts)
    }
}

fn match_segments(pattern: &[Option<Pattern>], parts: &[&str]) -> bool {
    match pattern.split_first() {
        None => parts.is_empty(),
        Some((None, rest)) => (0..=parts.len()).any(|skip| match_segments(rest, &parts[skip..])),
        Some((Some(p), rest)) => match parts.split_first() {
            Some((first, others)) => p.matches(first) && match_segments(rest, others),
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_like_python() {
        assert!(fnmatch("stg_orders", "stg_*"));
        assert!(fnmatch("stg_orders", "*"));
        assert!(fnmatch("", "*"));
        assert!(fnmatch("a.b/c", "a*c"));
        assert!(fnmatch("stg_orders", "stg_?rders"));
        assert!(!fnmatch("stg_orders", "stg_?"));
        assert!(fnmatch("b1", "[abc][0-9]"));
        assert!(!fnmatch("d1", "[abc][0-9]"));
        assert!(fnmatch("d1", "[!abc]1"));
        assert!(fnmatch("]", "[]]"));
        assert!(fnmatch("[x", "[x"));
        assert!(fnmatch("a-", "a[-]"));
        assert!(!fnmatch("Stg", "stg"));
        assert!(fnmatch("aaab", "*a*b"));
        assert!(!fnmatch("aaac", "*a*b"));
    }

    #[test]
    fn path_globs_stay_in_a_segment() {
        let g = PathGlob::new("models/*/stg_*.sql");
        assert!(g.matches("models/staging/stg_orders.sql"));
        assert!(!g.matches("models/a/b/stg_orders.sql"));
        let g = PathGlob::new("./models/staging/");
        assert!(g.matches("models/staging"));
        assert!(!g.matches("models/staging/stg_orders.sql"));
        let g = PathGlob::new("models/**/schema.yml");
        assert!(g.matches("models/schema.yml"));
        assert!(g.matches("models/marts/core/schema.yml"));
        assert!(PathGlob::new(".").is_root());
    }
}
