//! Version specifiers and ranges as dbt reads them in `packages.yml` (`"1.2.0"`, `">=1.1.0"`,
//! `[">=1.1.0", "<2.0.0"]`), with dbt's rules: three numbers, an optional pre-release
//! (`1.0.0-b1`, or `1.0.0b1`) and build (`+abc`); `>`, `>=`, `<`, `<=` or `=` (the default);
//! several specifiers narrow one range; the latest available version inside it wins, and
//! pre-releases only when asked for. The comparison follows dbt-core's `dbt_common.semver`, so
//! that the same ranges pick the same versions as under dbt.

use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matcher {
    Exact,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

impl Matcher {
    fn as_str(self) -> &'static str {
        match self {
            Matcher::Exact => "",
            Matcher::Greater => ">",
            Matcher::GreaterOrEqual => ">=",
            Matcher::Less => "<",
            Matcher::LessOrEqual => "<=",
        }
    }
    fn is_lower(self) -> bool {
        matches!(self, Matcher::Greater | Matcher::GreaterOrEqual)
    }
    fn is_upper(self) -> bool {
        matches!(self, Matcher::Less | Matcher::LessOrEqual)
    }
}

/// One specifier: `>=1.1.0`, `1.2.0`, `<2.0.0-rc1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub matcher: Matcher,
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub prerelease: Option<String>,
    pub build: Option<String>,
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}.{}.{}",
            self.matcher.as_str(),
            self.major,
            self.minor,
            self.patch
        )?;
        if let Some(p) = &self.prerelease {
            write!(f, "-{p}")?;
        }
        if let Some(b) = &self.build {
            write!(f, "+{b}")?;
        }
        Ok(())
    }
}

/// A number without leading zeros.
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// A pre-release part: a number without leading zeros, or alphanumerics and `-` with a letter.
fn prerelease_part(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.len() == 1 || !s.starts_with('0');
    }
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn build_part(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl Spec {
    /// Parses one specifier; `None` when it is not a semantic version dbt accepts.
    pub fn parse(text: &str) -> Option<Spec> {
        let (matcher, rest) = [
            (">=", Matcher::GreaterOrEqual),
            ("<=", Matcher::LessOrEqual),
            (">", Matcher::Greater),
            ("<", Matcher::Less),
            ("=", Matcher::Exact),
        ]
        .iter()
        .find_map(|(p, m)| text.strip_prefix(p).map(|r| (*m, r)))
        .unwrap_or((Matcher::Exact, text));
        let (rest, build) = match rest.split_once('+') {
            Some((r, b)) => {
                if !b.split('.').all(build_part) {
                    return None;
                }
                (r, Some(b.to_string()))
            }
            None => (rest, None),
        };
        let mut it = rest.splitn(3, '.');
        let major = number(it.next()?)?;
        let minor = number(it.next()?)?;
        let tail = it.next()?;
        // The patch number, then an optional pre-release (`-b1`, or directly `b1`).
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        let patch = number(&tail[..digits])?;
        let pre = &tail[digits..];
        let pre = pre.strip_prefix('-').unwrap_or(pre);
        let prerelease = if pre.is_empty() {
            if tail.len() > digits {
                // A lone "-".
                return None;
            }
            None
        } else {
            if !pre.split('.').all(prerelease_part) {
                return None;
            }
            Some(pre.to_string())
        };
        Some(Spec {
            matcher,
            major,
            minor,
            patch,
            prerelease,
            build,
        })
    }

    /// The version itself, without its matcher.
    pub fn version_string(&self) -> String {
        Spec {
            matcher: Matcher::Exact,
            ..self.clone()
        }
        .to_string()
    }

    /// dbt's comparison of two specifiers, matchers included: `>=1.0.0` and `<=1.0.0` are
    /// equal, `<1.0.0` is below `<=1.0.0`, an upper bound is below a lower bound of the same
    /// version.
    fn compare(&self, other: &Spec) -> Ordering {
        for (a, b) in [
            (self.major, other.major),
            (self.minor, other.minor),
            (self.patch, other.patch),
        ] {
            match a.cmp(&b) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match (&self.prerelease, &other.prerelease) {
            (None, None) => {}
            // A release is above its pre-releases, except as a `<` bound, which excludes them.
            (None, Some(_)) if self.matcher == Matcher::Less => return Ordering::Less,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(a), Some(b)) => match prerelease_cmp(a, b) {
                Ordering::Equal => {}
                o => return o,
            },
        }
        use Matcher::*;
        let (a, b) = (self.matcher, other.matcher);
        if (a == GreaterOrEqual && b == LessOrEqual) || (a == LessOrEqual && b == GreaterOrEqual) {
            return Ordering::Equal;
        }
        if (a == Less && b == LessOrEqual)
            || (b == Greater && a == GreaterOrEqual)
            || (a.is_upper() && b.is_lower())
        {
            return Ordering::Less;
        }
        if (b == Less && a == LessOrEqual)
            || (a == Greater && b == GreaterOrEqual)
            || (a.is_lower() && b.is_upper())
        {
            return Ordering::Greater;
        }
        Ordering::Equal
    }
}

/// Pre-release tags compared part by part: numbers numerically and below words.
fn prerelease_cmp(a: &str, b: &str) -> Ordering {
    for (x, y) in a.split('.').zip(b.split('.')) {
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(i), Ok(j)) => i.cmp(&j),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// A range of versions; `None` ends are unbounded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Range {
    pub start: Option<Spec>,
    pub end: Option<Spec>,
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.start, &self.end) {
            (None, None) => f.write_str("any version"),
            (Some(s), Some(e)) if s == e => write!(f, "{s}"),
            (Some(s), Some(e)) => write!(f, "{s}, {e}"),
            (Some(s), None) => write!(f, "{s}"),
            (None, Some(e)) => write!(f, "{e}"),
        }
    }
}

/// The specifiers cannot all hold at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatible;

impl Range {
    fn of(spec: &Spec) -> Range {
        match spec.matcher {
            Matcher::Exact => Range {
                start: Some(spec.clone()),
                end: Some(spec.clone()),
            },
            m if m.is_lower() => Range {
                start: Some(spec.clone()),
                end: None,
            },
            _ => Range {
                start: None,
                end: Some(spec.clone()),
            },
        }
    }

    /// The intersection of two ranges.
    fn reduce(&self, other: &Range) -> Result<Range, Incompatible> {
        let exact = |s: &Option<Spec>| s.as_ref().is_some_and(|s| s.matcher == Matcher::Exact);
        let (start, end) = if exact(&self.start) && exact(&other.start) {
            let (Some(a), Some(b)) = (&self.start, &other.start) else {
                return Err(Incompatible);
            };
            if a.compare(b) != Ordering::Equal {
                return Err(Incompatible);
            }
            (Some(a.clone()), Some(a.clone()))
        } else {
            (
                combine(&self.start, &other.start, Ordering::Less)?,
                combine(&self.end, &other.end, Ordering::Greater)?,
            )
        };
        if let (Some(s), Some(e)) = (&start, &end)
            && s.compare(e) == Ordering::Greater
        {
            return Err(Incompatible);
        }
        Ok(Range { start, end })
    }

    /// Whether `version` (an exact version) lies in this range.
    pub fn contains(&self, version: &Spec) -> bool {
        let mut specs = vec![version.clone()];
        specs.extend(self.start.clone());
        specs.extend(self.end.clone());
        specs.len() == 1 || reduce(&specs).is_ok()
    }
}

/// The tighter of two bounds: `keep_if` is `Less` for lower bounds (keep the larger one),
/// `Greater` for upper bounds (keep the smaller one); an exact version must lie within the other.
fn combine(
    a: &Option<Spec>,
    b: &Option<Spec>,
    keep_if: Ordering,
) -> Result<Option<Spec>, Incompatible> {
    let (a, b) = match (a, b) {
        (x, None) => return Ok(x.clone()),
        (None, y) => return Ok(y.clone()),
        (Some(a), Some(b)) => (a, b),
    };
    let with_exact = |bound: &Spec, exact: &Spec| {
        let c = bound.compare(exact);
        let inclusive = if keep_if == Ordering::Less {
            Matcher::GreaterOrEqual
        } else {
            Matcher::LessOrEqual
        };
        if c == keep_if || (c == Ordering::Equal && bound.matcher == inclusive) {
            Ok(Some(exact.clone()))
        } else {
            Err(Incompatible)
        }
    };
    match (a.matcher == Matcher::Exact, b.matcher == Matcher::Exact) {
        (false, false) => Ok(Some(if a.compare(b) == keep_if {
            b.clone()
        } else {
            a.clone()
        })),
        (true, _) => with_exact(b, a),
        (false, true) => with_exact(a, b),
    }
}

/// The range every specifier allows (dbt's `reduce_versions`).
pub fn reduce(specs: &[Spec]) -> Result<Range, Incompatible> {
    let Some((last, rest)) = specs.split_last() else {
        return Ok(Range::default());
    };
    let mut range = Range::of(last);
    for s in rest {
        range = range.reduce(&Range::of(s))?;
    }
    Ok(range)
}

/// The versions (as the hub spells them) that may be installed, oldest first: pre-releases only
/// with `prerelease`; strings that are not versions are left out.
pub fn installable<'a>(
    versions: impl IntoIterator<Item = &'a str>,
    prerelease: bool,
) -> Vec<String> {
    let mut parsed: Vec<(Spec, &str)> = versions
        .into_iter()
        .filter_map(|v| Spec::parse(v).map(|s| (s, v)))
        .filter(|(s, _)| s.matcher == Matcher::Exact && (prerelease || s.prerelease.is_none()))
        .collect();
    parsed.sort_by(|a, b| a.0.compare(&b.0));
    parsed.into_iter().map(|(_, v)| v.to_string()).collect()
}

/// The latest of `available` (oldest first) inside `range`.
pub fn latest_in(range: &Range, available: &[String]) -> Option<String> {
    let mut best: Option<(Spec, &String)> = None;
    for v in available {
        let Some(spec) = Spec::parse(v) else { continue };
        if !range.contains(&spec) {
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|(b, _)| b.compare(&spec) == Ordering::Less)
        {
            best = Some((spec, v));
        }
    }
    best.map(|(_, v)| v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(v: &[&str]) -> Vec<Spec> {
        v.iter().map(|s| Spec::parse(s).unwrap()).collect()
    }

    #[test]
    fn parses_what_dbt_parses() {
        let s = Spec::parse(">=1.10.0-rc.1+build.5").unwrap();
        assert_eq!(s.matcher, Matcher::GreaterOrEqual);
        assert_eq!((s.major, s.minor, s.patch), (1, 10, 0));
        assert_eq!(s.prerelease.as_deref(), Some("rc.1"));
        assert_eq!(s.build.as_deref(), Some("build.5"));
        assert_eq!(s.to_string(), ">=1.10.0-rc.1+build.5");
        assert_eq!(
            Spec::parse("0.4.5a2").unwrap().prerelease.as_deref(),
            Some("a2")
        );
        for bad in [
            "1.0",
            "1",
            "01.0.0",
            "v1.0.0",
            ">=1.0.0,<2.0.0",
            "1.0.0-",
            "",
            "=>1.0.0",
        ] {
            assert!(Spec::parse(bad).is_none(), "{bad} parsed");
        }
    }

    #[test]
    fn ranges_narrow_and_pick_the_latest_inside() {
        let available: Vec<String> = ["0.9.0", "1.0.0", "1.1.0", "1.2.3", "2.0.0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let r = reduce(&specs(&[">=1.1.0", "<2.0.0"])).unwrap();
        assert_eq!(r.to_string(), ">=1.1.0, <2.0.0");
        assert_eq!(latest_in(&r, &available).as_deref(), Some("1.2.3"));
        let r = reduce(&specs(&[">=1.0.0", "<2.0.0", "<=1.1.0"])).unwrap();
        assert_eq!(latest_in(&r, &available).as_deref(), Some("1.1.0"));
        let r = reduce(&specs(&["1.0.0", ">=0.9.0"])).unwrap();
        assert_eq!(latest_in(&r, &available).as_deref(), Some("1.0.0"));
        let r = reduce(&specs(&[">2.0.0"])).unwrap();
        assert_eq!(latest_in(&r, &available), None);
        assert_eq!(
            latest_in(&Range::default(), &available).as_deref(),
            Some("2.0.0")
        );
        // `<2.0.0` excludes 2.0.0's pre-releases; `<=` bounds are inclusive.
        let r = reduce(&specs(&["<2.0.0"])).unwrap();
        assert!(!r.contains(&Spec::parse("2.0.0-rc1").unwrap()));
        assert!(
            reduce(&specs(&["<=1.1.0"]))
                .unwrap()
                .contains(&Spec::parse("1.1.0").unwrap())
        );
        assert!(
            !reduce(&specs(&["<1.1.0"]))
                .unwrap()
                .contains(&Spec::parse("1.1.0").unwrap())
        );
    }

    #[test]
    fn disjoint_ranges_are_incompatible() {
        assert_eq!(reduce(&specs(&[">=2.0.0", "<2.0.0"])), Err(Incompatible));
        assert_eq!(reduce(&specs(&["1.0.0", "1.1.0"])), Err(Incompatible));
        assert_eq!(reduce(&specs(&["1.0.0", ">1.0.0"])), Err(Incompatible));
        assert!(reduce(&specs(&["1.0.0", ">=1.0.0", "<=1.0.0"])).is_ok());
    }

    #[test]
    fn installable_versions_sort_by_version_and_leave_out_prereleases() {
        let v = installable(["1.10.0", "1.9.0", "2.0.0-b1", "1.2.0", "junk"], false);
        assert_eq!(v, ["1.2.0", "1.9.0", "1.10.0"]);
        // Numeric parts compare as numbers, words as text (so `b10` sorts before `b2`, as in dbt).
        let v = installable(
            ["1.0.0", "1.0.0-b.2", "1.0.0-b.10", "1.0.0-a", "1.0.0-b10"],
            true,
        );
        assert_eq!(
            v,
            ["1.0.0-a", "1.0.0-b.2", "1.0.0-b.10", "1.0.0-b10", "1.0.0"]
        );
    }
}
