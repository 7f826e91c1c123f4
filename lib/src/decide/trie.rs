//! A token trie over command-rule patterns: one walk down the command's
//! arguments finds every rule whose pattern is a prefix of it, whatever the
//! number of rules.

use std::collections::HashMap;

use super::command::Token;

#[derive(Clone, Debug, Default)]
struct Node {
    children: HashMap<String, usize>,
    /// Rules whose pattern ends here.
    rules: Vec<usize>,
}

/// Rules by pattern.
#[derive(Clone, Debug)]
pub(crate) struct CommandIndex<T> {
    nodes: Vec<Node>,
    rules: Vec<T>,
}

/// The rules a command matches.
pub(crate) struct Found<'a, T> {
    /// Rules whose pattern is a prefix of the command, token for token.
    pub definite: Vec<&'a T>,
    /// Rules the command may match once its unknown tokens (or the arguments
    /// appended at run time) are known.
    pub maybe: Vec<&'a T>,
}

impl<T> CommandIndex<T> {
    /// Indexes `(pattern, rule)` pairs.
    pub fn new(items: impl IntoIterator<Item = (Vec<String>, T)>) -> CommandIndex<T> {
        let mut nodes = vec![Node::default()];
        let mut rules = Vec::new();
        for (pattern, rule) in items {
            let mut at = 0;
            for token in pattern {
                let next = nodes.len();
                at = match nodes[at].children.get(&token) {
                    Some(&child) => child,
                    None => {
                        nodes[at].children.insert(token, next);
                        nodes.push(Node::default());
                        next
                    }
                };
            }
            nodes[at].rules.push(rules.len());
            rules.push(rule);
        }
        CommandIndex { nodes, rules }
    }

    /// The rules `argv` matches. An unknown token matches any pattern token
    /// (as a "maybe"); with `open_tail`, so do the arguments past the end.
    pub fn lookup(&self, argv: &[Token], open_tail: bool) -> Found<'_, T> {
        let mut found = Found {
            definite: Vec::new(),
            maybe: Vec::new(),
        };
        // (node, tokens consumed, still certain)
        let mut stack = vec![(0usize, 0usize, true)];
        while let Some((node, depth, certain)) = stack.pop() {
            let n = &self.nodes[node];
            if node != 0 {
                let bucket = if certain {
                    &mut found.definite
                } else {
                    &mut found.maybe
                };
                bucket.extend(n.rules.iter().map(|&i| &self.rules[i]));
            }
            match argv.get(depth) {
                Some(Token::Lit(t)) => {
                    if let Some(&child) = n.children.get(t) {
                        stack.push((child, depth + 1, certain));
                    }
                }
                Some(Token::Unknown(_)) => {
                    stack.extend(n.children.values().map(|&c| (c, depth + 1, false)));
                }
                None if open_tail => {
                    stack.extend(n.children.values().map(|&c| (c, depth + 1, false)));
                }
                None => {}
            }
        }
        found
    }

    /// How many rules are indexed.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.rules.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Vec<Token> {
        s.split(' ').map(|t| Token::Lit(t.into())).collect()
    }

    fn pat(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn prefixes() {
        let idx = CommandIndex::new([
            (pat("git"), 1),
            (pat("git push"), 2),
            (pat("git push --force"), 3),
            (pat("rm -rf"), 4),
        ]);
        assert_eq!(idx.len(), 4);
        let f = idx.lookup(&lit("git push --force origin"), false);
        let mut d: Vec<i32> = f.definite.into_iter().copied().collect();
        d.sort();
        assert_eq!(d, vec![1, 2, 3]);
        assert!(f.maybe.is_empty());
        assert!(idx.lookup(&lit("gitx push"), false).definite.is_empty());
        let mut argv = lit("git push");
        argv.push(Token::Unknown("$F".into()));
        let f = idx.lookup(&argv, false);
        assert_eq!(f.maybe.into_iter().copied().collect::<Vec<_>>(), vec![3]);
        let f = idx.lookup(&lit("rm"), true);
        assert_eq!(f.maybe.into_iter().copied().collect::<Vec<_>>(), vec![4]);
    }
}
