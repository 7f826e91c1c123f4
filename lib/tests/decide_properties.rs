//! Properties of decisions:
//!
//! - wrapping a forbidden command in any chain of wrappers the table looks
//!   through (and in shell syntax around it) never makes it allowed;
//! - a denied host under any spelling (case, trailing dot, scheme, userinfo,
//!   port, path, IPv4 in decimal, octal, hex or short form, IPv4-mapped
//!   IPv6) is never allowed, even where unknown hosts are;
//! - a decision never depends on the order of the rules within one source.

#![allow(clippy::unwrap_used)]

use mandate::decide::{Action, Decider, Verdict};
use mandate::kind::KindContext;
use mandate::{Layer, Schema, SourceKind, resolve};
use proptest::prelude::*;

fn decider(policy: &str) -> Decider {
    let schema = Schema::bundled();
    let layer = Layer::parse_policy(
        schema,
        SourceKind::System,
        "/etc/mandate/policy.d/p.toml",
        policy,
    )
    .unwrap_or_else(|e| panic!("{e}\n{policy}"));
    resolve(schema, vec![layer]).decider(&KindContext::default())
}

const FORBIDDING: &str = r#"
[settings]
commands.rules = [
  { pattern = ["rm", "-rf"], decision = "forbidden" },
  { pattern = ["git", "push", "--force"], decision = "forbidden" },
  { pattern = ["env"], decision = "allow" },
  { pattern = ["nice"], decision = "allow" },
  { pattern = ["timeout"], decision = "allow" },
  { pattern = ["bash"], decision = "allow" },
  { pattern = ["sh"], decision = "allow" },
  { pattern = ["xargs"], decision = "allow" },
  { pattern = ["nohup"], decision = "allow" },
]
"#;

/// Wrapper prefixes (argv form), each allowed by itself.
fn wrapper() -> impl Strategy<Value = Vec<String>> {
    let v = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    prop_oneof![
        Just(v(&["sudo"])),
        Just(v(&["sudo", "-u", "ops"])),
        Just(v(&["sudo", "-E", "--"])),
        Just(v(&["/usr/bin/sudo", "-n"])),
        Just(v(&["doas", "-u", "root"])),
        Just(v(&["env"])),
        Just(v(&["env", "-i", "A=1"])),
        Just(v(&["/usr/bin/env", "--unset=X", "B=2"])),
        Just(v(&["nice", "-n", "19"])),
        Just(v(&["nice", "-5"])),
        Just(v(&["nohup"])),
        Just(v(&["timeout", "-s", "KILL", "10s"])),
        Just(v(&["time", "-p"])),
        Just(v(&["command"])),
        Just(v(&["exec"])),
        Just(v(&["stdbuf", "-oL"])),
        Just(v(&["ionice", "-c", "3"])),
        Just(v(&["xargs", "-0"])),
        Just(v(&["setsid"])),
        Just(v(&["chroot", "/"])),
        Just(v(&["busybox"])),
    ]
}

/// Ways to hand an argv to a shell as one string.
fn quote(word: &str, style: u8) -> String {
    match style % 4 {
        0 => format!("'{}'", word.replace('\'', r"'\''")),
        1 => {
            let mut out = String::from("\"");
            for c in word.chars() {
                if matches!(c, '\\' | '"' | '$' | '`') {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
            out
        }
        2 => word
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_string()
                } else {
                    format!("\\{c}")
                }
            })
            .collect(),
        _ => format!(
            "$'{}'",
            word.chars()
                .map(|c| format!("\\x{:02x}", c as u32))
                .collect::<String>()
        ),
    }
}

fn shell_string(argv: &[String], style: u8) -> String {
    argv.iter()
        .map(|w| quote(w, style))
        .collect::<Vec<_>>()
        .join(" ")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn wrappers_never_allow_a_forbidden_command(
        wrappers in proptest::collection::vec(wrapper(), 0..4),
        target in prop_oneof![
            Just(vec!["rm", "-rf", "/"]),
            Just(vec!["git", "push", "--force", "origin"]),
            Just(vec!["git", "-C", "/src", "push", "--force"]),
            Just(vec!["/bin/rm", "-rf", "/tmp/x"]),
        ],
        via_shell in proptest::collection::vec(any::<u8>(), 0..3),
        around in 0u8..6,
    ) {
        let d = decider(FORBIDDING);
        let mut argv: Vec<String> = target.iter().map(|s| (*s).to_owned()).collect();
        for w in wrappers.iter().rev() {
            let mut next = w.clone();
            next.extend(argv);
            argv = next;
        }
        // Optionally hand it to `sh -c`/`bash -c`, quoted in one of four ways, nested.
        for (i, style) in via_shell.iter().enumerate() {
            let shell = if i % 2 == 0 { "bash" } else { "sh" };
            argv = vec![shell.to_owned(), "-c".to_owned(), shell_string(&argv, *style)];
        }
        let exec = d.decide(&Action::Exec(argv.clone()), None);
        prop_assert_eq!(exec.decision, Verdict::Deny, "{:?}: {}", argv, exec.reason);
        let line = shell_string(&argv, around);
        let compound = match around {
            0 => line,
            1 => format!("ls && {line}"),
            2 => format!("echo $({line})"),
            3 => format!("( {line} ) | cat"),
            4 => format!("if true; then {line}; fi"),
            _ => format!("bash <<'EOF'\n{line}\nEOF"),
        };
        let shell = d.decide(&Action::Shell(compound.clone()), None);
        prop_assert_eq!(shell.decision, Verdict::Deny, "{}: {}", compound, shell.reason);
    }
}

const HOSTS: &str = r#"
[settings]
network.denied_domains = ["pastebin.com", "127.0.0.1", "169.254.169.254"]
network.allowed_domains = ["github.com"]
network.unknown_domains = "allow"
"#;

/// IPv4 spellings a URL parser accepts for one address.
fn ipv4_spelling(ip: [u8; 4], form: u8) -> String {
    let n = u32::from_be_bytes(ip);
    match form % 7 {
        0 => format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]),
        1 => n.to_string(),
        2 => format!("0x{n:x}"),
        3 => format!("0{:o}.0{:o}.0{:o}.0{:o}", ip[0], ip[1], ip[2], ip[3]),
        4 => format!("0x{:x}.0x{:x}.0x{:x}.0x{:x}", ip[0], ip[1], ip[2], ip[3]),
        5 => format!("{}.{}", ip[0], n & 0x00ff_ffff),
        _ => format!("[::ffff:{}.{}.{}.{}]", ip[0], ip[1], ip[2], ip[3]),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_denied_host_is_denied_under_any_spelling(
        which in 0u8..3,
        cases in proptest::collection::vec(any::<bool>(), 12),
        form in any::<u8>(),
        scheme in prop_oneof![Just(""), Just("http://"), Just("https://"), Just("HTTPS://"), Just("ftp://"), Just("wss://"), Just("//")],
        userinfo in prop_oneof![Just(""), Just("user@"), Just("a:b@"), Just("github.com@")],
        dot in any::<bool>(),
        port in prop_oneof![Just(""), Just(":443"), Just(":80"), Just(":8080")],
        path in prop_oneof![Just(""), Just("/"), Just("/raw/x?y=1#z"), Just("/github.com")],
    ) {
        let d = decider(HOSTS);
        let host = match which {
            0 => "pastebin.com"
                .chars()
                .zip(cases.iter().cycle())
                .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
                .collect::<String>(),
            1 => ipv4_spelling([127, 0, 0, 1], form),
            _ => ipv4_spelling([169, 254, 169, 254], form),
        };
        let dot = if dot && !host.ends_with(']') { "." } else { "" };
        let url = if scheme.is_empty() && (!userinfo.is_empty() || !path.is_empty()) {
            // A bare host cannot carry userinfo or a path.
            format!("{host}{dot}{port}")
        } else {
            format!("{scheme}{userinfo}{host}{dot}{port}{path}")
        };
        let decision = d.decide(&Action::Url(url.clone()), None);
        prop_assert_eq!(decision.decision, Verdict::Deny, "{}: {}", url, decision.reason);
    }
}

const TOKENS: &[&str] = &[
    "git", "push", "--force", "status", "rm", "-rf", "sudo", "ls",
];
const DECISIONS: &[&str] = &["allow", "prompt", "forbidden"];

fn rules_text(rules: &[(Vec<usize>, usize, usize)]) -> String {
    let mut text = String::from("[settings]\ncommands.rules = [\n");
    for (pattern, decision, why) in rules {
        let p: Vec<String> = pattern
            .iter()
            .map(|i| format!("\"{}\"", TOKENS[*i]))
            .collect();
        text.push_str(&format!(
            "  {{ pattern = [{}], decision = \"{}\", justification = \"reason {why}\" }},\n",
            p.join(", "),
            DECISIONS[*decision]
        ));
    }
    text.push_str("]\n");
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn decisions_do_not_depend_on_rule_order(
        rules in proptest::collection::vec(
            (proptest::collection::vec(0..TOKENS.len(), 1..4), 0..DECISIONS.len(), 0usize..3),
            1..12,
        ),
        order in any::<u64>(),
        argv in proptest::collection::vec(0..TOKENS.len(), 1..5),
    ) {
        let mut shuffled = rules.clone();
        // A deterministic permutation from `order`.
        let mut seed = order;
        for i in (1..shuffled.len()).rev() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (seed >> 33) as usize % (i + 1));
        }
        let a = decider(&rules_text(&rules));
        let b = decider(&rules_text(&shuffled));
        let argv: Vec<String> = argv.iter().map(|i| TOKENS[*i].to_owned()).collect();
        for action in [Action::Exec(argv.clone()), Action::Shell(format!("sudo {}", argv.join(" ")))] {
            let x = a.decide(&action, None);
            let y = b.decide(&action, None);
            prop_assert_eq!(x.decision, y.decision, "{:?}", action);
            prop_assert_eq!(x.rule.map(|r| (r.entry, r.justification)), y.rule.map(|r| (r.entry, r.justification)));
            prop_assert_eq!(x.reason, y.reason);
        }
    }
}

/// Words shells, wrappers and tools care about, and some that are not ASCII.
const WORDS: &[&str] = &[
    "git",
    "-C",
    "-c",
    "push",
    "--force",
    "sudo",
    "-u",
    "env",
    "A=1",
    "bash",
    "-c",
    "sh",
    "xargs",
    "find",
    "-exec",
    "{}",
    ";",
    "+",
    "nice",
    "-n",
    "timeout",
    "5",
    "kubectl",
    "--context",
    "eval",
    "source",
    ".",
    "-",
    "--",
    "-é",
    "-Cé",
    "ü",
    "日本",
    "\\",
    "'",
    "\"",
    "$(",
    ")",
    "`",
    "$",
    "${",
    "}",
    "(",
    "((",
    "))",
    "<<",
    "EOF",
    "<<<",
    ">",
    ">>",
    "&>",
    "2>&1",
    "|",
    "||",
    "&&",
    "&",
    "\n",
    "#",
    "$'\\x",
    "case",
    "in",
    "esac",
    "if",
    "then",
    "fi",
    "for",
    "do",
    "done",
    "function",
    "[[",
    "]]",
    "~",
    "*",
    "?",
    "[",
    "{a,b}",
    "time",
    "-p",
    "watch",
    "su",
    "!",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Any sequence of these words, joined with or without spaces, is
    /// decided without a panic; a line that does not parse is never allowed.
    #[test]
    fn any_command_line_is_decided(
        words in proptest::collection::vec(proptest::sample::select(WORDS), 0..24),
        glue in proptest::collection::vec(any::<bool>(), 24),
    ) {
        static D: std::sync::OnceLock<Decider> = std::sync::OnceLock::new();
        let d = D.get_or_init(|| decider(FORBIDDING));
        let mut line = String::new();
        for (w, g) in words.iter().zip(&glue) {
            if !g {
                line.push(' ');
            }
            line.push_str(w);
        }
        let parsed = mandate::decide::shell::parse(&line);
        let decision = d.decide(&Action::Shell(line.clone()), Some("/work"));
        if parsed.is_err() {
            prop_assert_ne!(decision.decision, Verdict::Allow, "{:?}", line);
        }
        let argv: Vec<String> = line.split(' ').map(str::to_owned).collect();
        let _ = d.decide(&Action::Exec(argv), Some("/work"));
    }
}
