//! Glob patterns for `within` constraints and precedence rules.
//!
//! `*` matches any run of characters (including none), `?` exactly one;
//! everything else matches itself, case-sensitively. A pattern is matched
//! against the whole string. Matching a pattern against another pattern
//! treats the inner one as text, which is conservative: `*.eu.npmjs.org`
//! lies within `*.npmjs.org`, while `*.org` does not.

/// Whether `text` matches the glob `pattern` as a whole.
///
/// ```
/// use mandate::glob::matches;
/// assert!(matches("*.npmjs.org", "registry.npmjs.org"));
/// assert!(!matches("*.npmjs.org", "npmjs.org"));
/// assert!(matches("sandbox.*", "sandbox.mode"));
/// ```
pub fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matcher with single-star backtracking: linear in practice,
    // never exponential.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;
    use proptest::prelude::*;

    #[test]
    fn literal_and_wildcards() {
        assert!(matches("github.com", "github.com"));
        assert!(!matches("github.com", "api.github.com"));
        assert!(matches("*.github.com", "api.github.com"));
        assert!(matches("*", ""));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("*.npmjs.org", "*.eu.npmjs.org"));
        assert!(!matches("*.npmjs.org", "*.org"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
    }

    proptest! {
        #[test]
        fn a_string_matches_itself_without_wildcards(s in "[a-z.]{0,20}") {
            prop_assert!(matches(&s, &s));
        }

        #[test]
        fn star_prefix_matches_any_prefix(prefix in "[a-z.]{0,10}", rest in "[a-z.]{0,10}") {
            let text = format!("{prefix}{rest}");
            let pattern = format!("*{rest}");
            prop_assert!(matches(&pattern, &text));
        }
    }
}
