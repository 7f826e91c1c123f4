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
    // ASCII (nearly every pattern and host) is matched byte by byte, without
    // copying; anything else character by character.
    if pattern.is_ascii() && text.is_ascii() {
        run(pattern.as_bytes(), text.as_bytes(), b'*', b'?')
    } else {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        run(&p, &t, '*', '?')
    }
}

/// The matcher over symbols: iterative, with single-star backtracking:
/// linear in practice, never exponential.
fn run<T: Copy + PartialEq>(p: &[T], t: &[T], star_sym: T, any: T) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == star_sym {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == any || p[pi] == t[ti]) {
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
    p[pi..].iter().all(|&c| c == star_sym)
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
        // `?` is one character, however many bytes it takes.
        assert!(matches("a?", "aé"));
        assert!(matches("?.example", "é.example"));
        assert!(!matches("a??", "aé"));
    }

    proptest! {
        #[test]
        fn a_string_matches_itself_without_wildcards(s in "[a-z.]{0,20}") {
            prop_assert!(matches(&s, &s));
        }

        #[test]
        fn bytes_and_characters_agree(p in "[ab.*?]{0,8}", t in "[ab.]{0,10}") {
            let (pc, tc): (Vec<char>, Vec<char>) = (p.chars().collect(), t.chars().collect());
            prop_assert_eq!(
                super::run(p.as_bytes(), t.as_bytes(), b'*', b'?'),
                super::run(&pc, &tc, '*', '?')
            );
        }

        #[test]
        fn star_prefix_matches_any_prefix(prefix in "[a-z.]{0,10}", rest in "[a-z.]{0,10}") {
            let text = format!("{prefix}{rest}");
            let pattern = format!("*{rest}");
            prop_assert!(matches(&pattern, &text));
        }
    }
}
