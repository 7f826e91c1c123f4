//! What a command line really runs: the wrapper table and the global-option
//! table, in one place.
//!
//! A rule names a command by its leading arguments (`["git", "push"]`). A
//! command can hide behind a **wrapper** (`sudo -u ops git push`, `env
//! FOO=1 git push`, `bash -c 'git push'`, `xargs git push`) or put
//! **global options** between the program and its subcommand (`git -C . push`,
//! `kubectl --context prod delete`). [`unwrap`] says what a wrapper runs;
//! [`skip_global_options`] drops the options that do not change the
//! subcommand. Both are tables: [`WRAPPERS`] and [`GLOBAL_OPTIONS`].
//!
//! An option these tables do not know is not guessed at: the command after it
//! is still judged, and the decision is at least `prompt`.

use std::borrow::Cow;
use std::fmt;

/// One argument as the decision sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Token {
    /// Known text.
    Lit(String),
    /// Only known at run time (a variable, a substitution, a glob); the source text.
    Unknown(String),
}

impl Token {
    /// The literal text, if known.
    pub fn lit(&self) -> Option<&str> {
        match self {
            Token::Lit(s) => Some(s),
            Token::Unknown(_) => None,
        }
    }

    fn is(&self, s: &str) -> bool {
        self.lit() == Some(s)
    }

    /// The text: literal, or as written.
    pub fn text(&self) -> &str {
        match self {
            Token::Lit(s) | Token::Unknown(s) => s,
        }
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Lit(s) => f.write_str(&quote(s)),
            Token::Unknown(s) => f.write_str(s),
        }
    }
}

/// Quotes `s` for display as one shell word (borrowed when it needs none).
pub fn quote(s: &str) -> Cow<'_, str> {
    if !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./=:,+@%^".contains(&c))
    {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(format!("'{}'", s.replace('\'', r"'\''")))
    }
}

/// Displays an argv.
pub fn display(argv: &[Token]) -> String {
    let mut out = String::with_capacity(argv.iter().map(|t| t.text().len() + 1).sum());
    for (i, t) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match t {
            Token::Lit(s) => out.push_str(&quote(s)),
            Token::Unknown(s) => out.push_str(s),
        }
    }
    out
}

/// The program name a rule is matched against: the last path component
/// (`/usr/bin/sudo` → `sudo`), lowercased (case-insensitive file systems run
/// `SUDO` as `sudo`).
pub fn program_name(token: &str) -> String {
    let base = token.rsplit(['/', '\\']).next().unwrap_or(token);
    base.to_lowercase()
}

/// What a wrapper runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inner {
    /// This argv (`open_tail`: more arguments may be appended at run time, as `xargs` does).
    Argv {
        /// The command.
        argv: Vec<Token>,
        /// Whether arguments are appended at run time.
        open_tail: bool,
    },
    /// A shell string, parsed again.
    Shell(String),
    /// A shell that reads its commands from standard input.
    ShellStdin,
    /// Something that cannot be known before it runs.
    Unresolvable(String),
}

/// The result of looking through a wrapper.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unwrapped {
    /// What it runs (nothing when it runs no command, such as `sudo -l`).
    pub inner: Vec<Inner>,
    /// Why the decision must be at least `prompt` (an option the table does not know).
    pub doubt: Option<String>,
}

/// How one wrapper's arguments read.
struct Wrapper {
    /// Program names (after [`program_name`]).
    names: &'static [&'static str],
    /// Short options that take a value (`-u USER`, `-uUSER`).
    short_value: &'static str,
    /// Short options without a value.
    short_flags: &'static str,
    /// Long options that take a value (`--user USER`, `--user=USER`).
    long_value: &'static [&'static str],
    /// Long options without a value.
    long_flags: &'static [&'static str],
    /// `NAME=VALUE` words after the options are assignments, not the command.
    assignments: bool,
    /// Positional arguments before the command (`timeout DURATION`, `chroot DIR`).
    positional: usize,
    /// What comes after.
    then: Then,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Then {
    /// The rest is the command.
    Command,
    /// The rest is the command, and more arguments are appended at run time.
    CommandOpenTail,
    /// A shell: `-c STRING`, a script file, or standard input.
    Shell,
    /// `su`/`runuser`: `-c STRING`, otherwise an interactive shell.
    SuShell,
    /// The rest, joined with spaces, is a shell string (`watch`, `eval`).
    JoinedShell,
}

/// Wrappers looked through, with the options they take. Anything not listed
/// is not a wrapper; a listed wrapper with an option not listed here is still
/// looked through, with a `prompt` floor.
const WRAPPERS: &[Wrapper] = &[
    Wrapper {
        names: &["env"],
        short_value: "uCSP",
        short_flags: "i0v",
        long_value: &[
            "unset",
            "chdir",
            "split-string",
            "block-signal",
            "default-signal",
            "ignore-signal",
        ],
        long_flags: &[
            "ignore-environment",
            "null",
            "debug",
            "list-signal-handling",
        ],
        assignments: true,
        positional: 0,
        then: Then::Command,
    },
    Wrapper {
        names: &["sudo"],
        short_value: "ugpCDrtTUhc",
        short_flags: "AbEHiKklnPSsBNRVv",
        long_value: &[
            "user",
            "group",
            "prompt",
            "close-from",
            "chdir",
            "role",
            "type",
            "command-timeout",
            "other-user",
            "host",
            "login-class",
            "auth-type",
            "preserve-env",
        ],
        long_flags: &[
            "askpass",
            "background",
            "bell",
            "preserve-env",
            "set-home",
            "login",
            "remove-timestamp",
            "reset-timestamp",
            "non-interactive",
            "preserve-groups",
            "stdin",
            "shell",
            "validate",
        ],
        assignments: true,
        positional: 0,
        then: Then::Command,
    },
    Wrapper {
        names: &["doas"],
        short_value: "uC",
        short_flags: "nsL",
        long_value: &[],
        long_flags: &[],
        assignments: false,
        positional: 0,
        then: Then::Command,
    },
    Wrapper {
        names: &["pkexec"],
        short_value: "",
        short_flags: "",
        long_value: &["user"],
        long_flags: &["disable-internal-agent", "keep-cwd"],
        assignments: false,
        positional: 0,
        then: Then::Command,
    },
    Wrapper {
        names: &["nice"],
        short_value: "n",
        short_flags: "0123456789",
        long_value: &["adjustment"],
        long_flags: &[],
        assignments: false,
        positional: 0,
        then: Then::Command,
    },
    Wrapper {
        names: &["nohup", "builtin", "busybox"],
        short_value: "",
        short_flags: "",
        long_value: &[],
        long_flags: &[],
        assignments: false,
        positional: 0,
        then: Then::Command,
    },
    Wrapper {
        names: &["setsid"],
        short_value: "",
        short_flags: "cfw",
        long_value: &[],
        long_flags: &["ctty", "fork", "wait"],
        assignments: false,
        positional: 0,
        then: Then::Command,
    },
    Wrapper {
        names: &["timeout"],
        short_value: "sk",
        short_flags: "v",
        long_value: &["signal", "kill-after"],
        long_flags: &["preserve-status", "foreground", "verbose"],
        assignments: false,
        positional: 1,
        then: Then::Command,
    },
    Wrapper {
        names: &["xargs"],
        short_value: "adEILnPs",
        short_flags: "0oprtx",
        long_value: &[
            "arg-file",
            "delimiter",
            "eof",
            "replace",
            "max-lines",
            "max-args",
            "max-procs",
            "max-chars",
            "process-slot-var",
        ],
        long_flags: &[
            "null",
            "open-tty",
            "interactive",
            "no-run-if-empty",
            "verbose",
            "exit",
            "show-limits",
        ],
        assignments: false,
        positional: 0,
        then: Then::CommandOpenTail,
    },
    Wrapper {
        names: &["command"],
        short_value: "",
        short_flags: "p",
        long_value: &[],
        long_flags: &[],
        assignments: false,
        positional: 0,
        then: Then::Command,
    },
    Wrapper {
        names: &["exec"],
        short_value: "a",
        short_flags: "cl",
        long_value: &[],
        long_flags: &[],
        assignments: false,
        positional: 0,
        then: Then::Command,
    },
    Wrapper {
        names: &["time"],
        short_value: "fo",
        short_flags: "pavq",
        long_value: &["format", "output"],
        long_flags: &["portability", "append", "verbose", "quiet"],
        assignments: false,
        positional: 0,
        then: Then::Command,
    },
    Wrapper {
        names: &["stdbuf"],
        short_value: "ioe",
        short_flags: "",
        long_value: &["input", "output", "error"],
        long_flags: &[],
        assignments: false,
        positional: 0,
        then: Then::Command,
    },
    Wrapper {
        names: &["ionice"],
        short_value: "cnp",
        short_flags: "tPu",
        long_value: &["class", "classdata"],
        long_flags: &["ignore"],
        assignments: false,
        positional: 0,
        then: Then::Command,
    },
    Wrapper {
        names: &["chroot"],
        short_value: "",
        short_flags: "",
        long_value: &["userspec", "groups"],
        long_flags: &["skip-chdir"],
        assignments: false,
        positional: 1,
        then: Then::Command,
    },
    Wrapper {
        names: &[
            "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash", "posh", "fish",
        ],
        short_value: "oO",
        short_flags: "abcefhiklmnprstuvxBCEHPT",
        long_value: &["rcfile", "init-file"],
        long_flags: &[
            "login",
            "norc",
            "noprofile",
            "posix",
            "noediting",
            "restricted",
            "verbose",
            "debugger",
            "dump-strings",
            "dump-po-strings",
            "pretty-print",
            "no-config",
            "private",
        ],
        assignments: false,
        positional: 0,
        then: Then::Shell,
    },
    Wrapper {
        names: &["su", "runuser"],
        short_value: "cgGsw",
        short_flags: "lmpfP",
        long_value: &[
            "command",
            "group",
            "supp-group",
            "shell",
            "whitelist-environment",
            "session-command",
        ],
        long_flags: &["login", "preserve-environment", "pty", "fast"],
        assignments: false,
        positional: 0,
        then: Then::SuShell,
    },
    Wrapper {
        names: &["watch"],
        short_value: "nqd",
        short_flags: "bcCegprtwx",
        long_value: &["interval", "differences", "equexit"],
        long_flags: &[
            "beep", "color", "no-color", "errexit", "chgexit", "precise", "no-rerun", "no-title",
            "no-wrap", "exec",
        ],
        assignments: false,
        positional: 0,
        then: Then::JoinedShell,
    },
    Wrapper {
        names: &["eval"],
        short_value: "",
        short_flags: "",
        long_value: &[],
        long_flags: &[],
        assignments: false,
        positional: 0,
        then: Then::JoinedShell,
    },
];

/// Whether `program` (after [`program_name`]) is looked through.
pub fn is_wrapper(program: &str) -> bool {
    WRAPPERS.iter().any(|w| w.names.contains(&program)) || program == "find"
}

/// Wrappers that run their command as it is, as the same user: a command
/// explicitly allowed stays explicitly allowed behind them. (`sudo`, `su`,
/// `doas`, `chroot`, `xargs`, `find`, `watch`, `eval` are not: behind them an
/// allowed command is at most "no rule applies".)
const TRANSPARENT: &[&str] = &[
    "env", "nice", "nohup", "timeout", "time", "stdbuf", "ionice", "command", "exec", "builtin",
    "setsid", "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash", "posh", "fish",
];

/// Whether an explicit allow of the wrapped command carries through `program`.
pub fn is_transparent(program: &str) -> bool {
    TRANSPARENT.contains(&program)
}

/// What a wrapper runs: `None` when `program` is not a wrapper.
pub fn unwrap(program: &str, args: &[Token]) -> Option<Unwrapped> {
    if program == "find" {
        return Some(find_exec(args));
    }
    if program == "source" || program == "." {
        return Some(Unwrapped {
            inner: vec![Inner::Unresolvable(format!(
                "`{program}` runs the commands of a file that is not known here"
            ))],
            doubt: None,
        });
    }
    let w = WRAPPERS.iter().find(|w| w.names.contains(&program))?;
    let mut out = Unwrapped::default();
    let mut i = 0;
    let mut shell_c = false;
    let mut shell_s = false;
    let mut su_command: Option<String> = None;
    let mut exec_flag = false;
    let mut query_only = false;
    let mut split_string: Option<String> = None;
    // Options.
    while let Some(tok) = args.get(i) {
        let Some(text) = tok.lit() else {
            out.doubt = Some(format!(
                "`{program}` is followed by `{tok}`, which is only known at run time"
            ));
            i += 1;
            continue;
        };
        if text == "--" {
            i += 1;
            break;
        }
        if program == "nice"
            && text.len() > 1
            && text.starts_with('-')
            && text[1..].chars().all(|c| c.is_ascii_digit())
        {
            // `nice -10 cmd`.
            i += 1;
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            if w.long_value.contains(&name) {
                let value = match inline {
                    Some(v) => Some(v.to_owned()),
                    None => {
                        i += 1;
                        args.get(i).and_then(Token::lit).map(str::to_owned)
                    }
                };
                match (w.then, name) {
                    (Then::SuShell, "command" | "session-command") => su_command = value,
                    (Then::Command, "split-string") if program == "env" => split_string = value,
                    _ => {}
                }
            } else if w.long_flags.contains(&name) {
                if name == "exec" {
                    exec_flag = true;
                }
            } else {
                out.doubt = Some(format!(
                    "`{program}` option `--{name}` is not in the wrapper table"
                ));
            }
            i += 1;
            continue;
        }
        if text.len() > 1
            && (text.starts_with('-') || (w.then == Then::Shell && text.starts_with('+')))
        {
            if w.then == Then::SuShell && text == "-" {
                i += 1;
                continue;
            }
            let cluster: Vec<char> = text[1..].chars().collect();
            let mut j = 0;
            while j < cluster.len() {
                let c = cluster[j];
                if w.short_value.contains(c) {
                    let rest: String = cluster[j + 1..].iter().collect();
                    let value = if rest.is_empty() {
                        i += 1;
                        args.get(i).and_then(Token::lit).map(str::to_owned)
                    } else {
                        Some(rest)
                    };
                    if w.then == Then::SuShell && c == 'c' {
                        su_command = value;
                    } else if program == "env" && c == 'S' {
                        split_string = value;
                    }
                    break;
                }
                if w.short_flags.contains(c) {
                    match (w.then, c) {
                        (Then::Shell, 'c') => shell_c = true,
                        (Then::Shell, 's') => shell_s = true,
                        (Then::JoinedShell, 'x') => exec_flag = true,
                        (Then::Command, 'v' | 'V') if program == "command" => query_only = true,
                        (Then::Command, 'l' | 'v' | 'V' | 'k' | 'K')
                            if program == "sudo" && !text.contains('u') =>
                        {
                            // `sudo -l`, `-v`, `-k` run no command (unless one follows).
                        }
                        _ => {}
                    }
                } else if program == "command" && (c == 'v' || c == 'V') {
                    query_only = true;
                } else {
                    out.doubt = Some(format!(
                        "`{program}` option `-{c}` is not in the wrapper table"
                    ));
                }
                j += 1;
            }
            i += 1;
            continue;
        }
        break;
    }
    let mut rest = &args[i.min(args.len())..];
    if w.assignments {
        while rest
            .first()
            .and_then(Token::lit)
            .is_some_and(|t| t.split_once('=').is_some_and(|(n, _)| is_name(n)))
        {
            rest = &rest[1..];
        }
    }
    if query_only {
        return Some(out);
    }
    if let Some(s) = split_string {
        let mut script = s;
        for t in rest {
            script.push(' ');
            script.push_str(&t.to_string());
        }
        out.inner.push(Inner::Shell(script));
        return Some(out);
    }
    match w.then {
        Then::Command | Then::CommandOpenTail => {
            let skip = w.positional.min(rest.len());
            let cmd = &rest[skip..];
            if cmd.is_empty() {
                if w.then == Then::CommandOpenTail {
                    // `xargs` alone runs `echo` with the input.
                    out.inner.push(Inner::Argv {
                        argv: vec![Token::Lit("echo".into())],
                        open_tail: true,
                    });
                }
            } else {
                out.inner.push(Inner::Argv {
                    argv: cmd.to_vec(),
                    open_tail: w.then == Then::CommandOpenTail,
                });
            }
        }
        Then::Shell => {
            if shell_c {
                match rest.first() {
                    Some(Token::Lit(s)) => out.inner.push(Inner::Shell(s.clone())),
                    Some(Token::Unknown(s)) => out.inner.push(Inner::Unresolvable(format!(
                        "`{program} -c {s}` runs a string only known at run time"
                    ))),
                    None => out.inner.push(Inner::Unresolvable(format!(
                        "`{program} -c` without a command string"
                    ))),
                }
            } else if shell_s || rest.is_empty() {
                out.inner.push(Inner::ShellStdin);
            }
            // Otherwise a script file runs: judged by its argv only.
        }
        Then::SuShell => {
            if let Some(s) = su_command {
                out.inner.push(Inner::Shell(s));
            }
        }
        Then::JoinedShell => {
            if rest.is_empty() {
                return Some(out);
            }
            if exec_flag {
                out.inner.push(Inner::Argv {
                    argv: rest.to_vec(),
                    open_tail: false,
                });
            } else if rest.iter().all(|t| t.lit().is_some()) {
                let joined = rest
                    .iter()
                    .filter_map(Token::lit)
                    .collect::<Vec<_>>()
                    .join(" ");
                out.inner.push(Inner::Shell(joined));
                if program == "eval" {
                    out.doubt = Some("`eval` builds its command at run time".into());
                }
            } else {
                out.inner.push(Inner::Unresolvable(format!(
                    "`{program}` runs a string only known at run time"
                )));
            }
        }
    }
    Some(out)
}

/// `find … -exec CMD … ;` (also `-execdir`, `-ok`, `-okdir`): each runs CMD.
fn find_exec(args: &[Token]) -> Unwrapped {
    let mut out = Unwrapped::default();
    let mut i = 0;
    while i < args.len() {
        if ["-exec", "-execdir", "-ok", "-okdir"]
            .iter()
            .any(|o| args[i].is(o))
        {
            let start = i + 1;
            let mut end = start;
            while end < args.len() && !args[end].is(";") && !args[end].is("+") {
                end += 1;
            }
            let argv: Vec<Token> = args[start..end]
                .iter()
                .map(|t| match t.lit() {
                    Some(s) if s.contains("{}") => Token::Unknown(s.to_owned()),
                    _ => t.clone(),
                })
                .collect();
            if !argv.is_empty() {
                out.inner.push(Inner::Argv {
                    argv,
                    open_tail: args.get(end).is_some_and(|t| t.is("+")),
                });
            }
            i = end;
        }
        i += 1;
    }
    out
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Global options of common tools: they come between the program and its
/// subcommand and do not change which subcommand runs.
struct GlobalOptions {
    program: &'static str,
    /// Options that take a value (`-C DIR`, `--context X`, `--context=X`).
    value: &'static [&'static str],
    /// Options without a value.
    flags: &'static [&'static str],
}

/// The tools whose global options are skipped, and those options.
const GLOBAL_OPTIONS: &[GlobalOptions] = &[
    GlobalOptions {
        program: "git",
        value: &[
            "-C",
            "-c",
            "--git-dir",
            "--work-tree",
            "--namespace",
            "--super-prefix",
            "--config-env",
            "--exec-path",
            "--attr-source",
        ],
        flags: &[
            "-p",
            "--paginate",
            "-P",
            "--no-pager",
            "--no-replace-objects",
            "--bare",
            "--literal-pathspecs",
            "--glob-pathspecs",
            "--noglob-pathspecs",
            "--icase-pathspecs",
            "--no-optional-locks",
            "--no-lazy-fetch",
            "--no-advice",
        ],
    },
    GlobalOptions {
        program: "kubectl",
        value: &[
            "--context",
            "-n",
            "--namespace",
            "--cluster",
            "--user",
            "--kubeconfig",
            "-s",
            "--server",
            "--token",
            "--as",
            "--as-group",
            "--as-uid",
            "--request-timeout",
            "--certificate-authority",
            "--client-certificate",
            "--client-key",
            "--tls-server-name",
            "-v",
            "--v",
            "--cache-dir",
            "--log-file",
            "--profile",
            "--profile-output",
            "--username",
            "--password",
        ],
        flags: &[
            "--insecure-skip-tls-verify",
            "--match-server-version",
            "--warnings-as-errors",
        ],
    },
    GlobalOptions {
        program: "docker",
        value: &[
            "-H",
            "--host",
            "--context",
            "-c",
            "--config",
            "-l",
            "--log-level",
            "--tlscacert",
            "--tlscert",
            "--tlskey",
        ],
        flags: &["-D", "--debug", "--tls", "--tlsverify"],
    },
    GlobalOptions {
        program: "podman",
        value: &[
            "--url",
            "--connection",
            "-c",
            "--identity",
            "--log-level",
            "--root",
            "--runroot",
            "--storage-driver",
            "--cgroup-manager",
            "--events-backend",
            "--network-cmd-path",
            "--tmpdir",
            "--ssh",
        ],
        flags: &["--remote", "-r", "--syslog", "--noout"],
    },
    GlobalOptions {
        program: "helm",
        value: &[
            "--kube-context",
            "-n",
            "--namespace",
            "--kubeconfig",
            "--kube-apiserver",
            "--kube-as-user",
            "--kube-as-group",
            "--kube-token",
            "--kube-ca-file",
            "--registry-config",
            "--repository-cache",
            "--repository-config",
            "--burst-limit",
        ],
        flags: &["--debug", "--kube-insecure-skip-tls-verify"],
    },
    GlobalOptions {
        program: "terraform",
        value: &[],
        flags: &[],
    },
];

/// `git -c KEY=VALUE` keys whose value is a command git may run.
const GIT_COMMAND_KEYS: &[&str] = &[
    "core.sshcommand",
    "core.pager",
    "core.editor",
    "core.fsmonitor",
    "core.hookspath",
    "core.askpass",
    "credential.helper",
    "diff.external",
    "sequence.editor",
    "gpg.program",
    "gpg.ssh.program",
    "uploadpack.packobjectshook",
    "protocol.allow",
    "include.path",
    "includeif",
    "remote.",
    "url.",
    "filter.",
    "merge.",
    "difftool.",
    "mergetool.",
];

/// The argv with a tool's global options removed (`git -C . push` → `git push`),
/// when `program` is in the table and any were removed.
pub fn skip_global_options(program: &str, argv: &[Token]) -> Option<Unwrapped> {
    let table = GLOBAL_OPTIONS.iter().find(|g| g.program == program)?;
    let mut out = Unwrapped::default();
    let mut i = 1;
    let mut skipped = false;
    while let Some(tok) = argv.get(i) {
        let Some(text) = tok.lit() else { break };
        if program == "terraform" && text.starts_with("-chdir=") {
            i += 1;
            skipped = true;
            continue;
        }
        let (name, inline) = match text.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_owned())),
            _ => (text, None),
        };
        // `-C.` and `-cKEY=VALUE` glue the value to a short option.
        let glued = (!text.starts_with("--") && text.len() > 2)
            .then(|| text.get(..2))
            .flatten()
            .filter(|short| table.value.contains(short));
        if table.value.contains(&name) || glued.is_some() {
            let (opt, value) = if let Some(short) = glued {
                (short, Some(text.get(2..).unwrap_or_default().to_owned()))
            } else if let Some(v) = inline {
                (name, Some(v))
            } else {
                i += 1;
                (
                    name,
                    argv.get(i)
                        .map(|t| t.lit().map(str::to_owned).unwrap_or_default()),
                )
            };
            if program == "git" && (opt == "-c" || opt == "--config-env") {
                git_config(&value.unwrap_or_default(), &mut out);
            }
            i += 1;
            skipped = true;
            continue;
        }
        if table.flags.contains(&name) {
            i += 1;
            skipped = true;
            continue;
        }
        break;
    }
    if !skipped {
        return None;
    }
    let mut canonical = vec![argv[0].clone()];
    canonical.extend_from_slice(&argv[i.min(argv.len())..]);
    out.inner.push(Inner::Argv {
        argv: canonical,
        open_tail: false,
    });
    Some(out)
}

/// `git -c KEY=VALUE`: an alias starting with `!` is a shell command; keys
/// that name a program make the run depend on it.
fn git_config(kv: &str, out: &mut Unwrapped) {
    let (key, value) = kv.split_once('=').unwrap_or((kv, ""));
    let key = key.to_lowercase();
    if key.starts_with("alias.") {
        if let Some(script) = value.strip_prefix('!') {
            out.inner.push(Inner::Shell(script.to_owned()));
        } else {
            out.doubt = Some(format!(
                "`git -c {key}=…` defines an alias used by this command"
            ));
        }
    } else if GIT_COMMAND_KEYS.iter().any(|k| key.starts_with(k)) {
        out.doubt = Some(format!("`git -c {key}=…` makes git run another program"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Token> {
        s.split_whitespace().map(|t| Token::Lit(t.into())).collect()
    }

    fn inner(program: &str, args: &str) -> Unwrapped {
        unwrap(program, &toks(args)).unwrap_or_default()
    }

    fn argv(u: &Unwrapped) -> String {
        match u.inner.first() {
            Some(Inner::Argv { argv, .. }) => display(argv),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn wrappers() {
        assert_eq!(argv(&inner("sudo", "-u ops -E git push")), "git push");
        assert_eq!(argv(&inner("sudo", "-uops FOO=1 rm -rf /")), "rm -rf /");
        assert_eq!(argv(&inner("env", "-i -u PATH A=1 B=2 rm x")), "rm x");
        assert_eq!(argv(&inner("env", "--chdir=/ --unset X rm")), "rm");
        assert_eq!(argv(&inner("nice", "-n 5 rm")), "rm");
        assert_eq!(argv(&inner("nice", "-10 rm")), "rm");
        assert_eq!(argv(&inner("timeout", "-s KILL 5s rm -rf")), "rm -rf");
        assert_eq!(argv(&inner("timeout", "--kill-after=1 10 rm")), "rm");
        assert_eq!(argv(&inner("xargs", "-0 -n 1 rm -f")), "rm -f");
        assert_eq!(argv(&inner("stdbuf", "-oL rm")), "rm");
        assert_eq!(argv(&inner("ionice", "-c 3 rm")), "rm");
        assert_eq!(argv(&inner("doas", "-u root rm")), "rm");
        assert_eq!(argv(&inner("chroot", "/mnt rm")), "rm");
        assert_eq!(argv(&inner("command", "-p rm")), "rm");
        assert!(inner("command", "-v rm").inner.is_empty());
        assert_eq!(inner("bash", "-lc x").inner, vec![Inner::Shell("x".into())]);
        assert_eq!(inner("sh", "").inner, vec![Inner::ShellStdin]);
        assert!(inner("sh", "script.sh").inner.is_empty());
        assert_eq!(
            inner("su", "-c id root").inner,
            vec![Inner::Shell("id".into())]
        );
        assert_eq!(
            inner("watch", "-n 1 rm x").inner,
            vec![Inner::Shell("rm x".into())]
        );
        assert_eq!(inner("env", "-S rm").inner, vec![Inner::Shell("rm".into())]);
        let u = inner("eval", "rm -rf /");
        assert_eq!(u.inner, vec![Inner::Shell("rm -rf /".into())]);
        assert!(u.doubt.is_some());
        let u = inner("sudo", "--frobnicate rm");
        assert_eq!(argv(&u), "rm");
        assert!(u.doubt.is_some());
        assert!(unwrap("git", &toks("push")).is_none());
        let f = inner("find", ". -name x -exec rm -f {} ; -execdir sh -c y +");
        assert_eq!(f.inner.len(), 2);
    }

    #[test]
    fn global_options() {
        let s = |a: &str| {
            let v = toks(a);
            skip_global_options(&program_name(a.split(' ').next().unwrap_or("")), &v)
                .map(|u| argv(&u))
                .unwrap_or_default()
        };
        assert_eq!(s("git -C . push --force"), "git push --force");
        assert_eq!(
            s("git -C. -c a=b --git-dir=.git --no-pager push"),
            "git push"
        );
        assert_eq!(
            s("kubectl --context prod -n x delete ns y"),
            "kubectl delete ns y"
        );
        assert_eq!(s("docker -H tcp://x --context c run"), "docker run");
        assert_eq!(s("git push"), "");
        let u = skip_global_options("git", &toks("git -c alias.x=!rm x")).unwrap_or_default();
        assert!(u.inner.contains(&Inner::Shell("rm".into())));
        let u = skip_global_options("git", &toks("git -c core.sshCommand=evil fetch"))
            .unwrap_or_default();
        assert!(u.doubt.is_some());
        // Multi-byte text where a short option would be: no panic, nothing skipped.
        assert!(skip_global_options("git", &toks("git -é push")).is_none());
        assert!(skip_global_options("git", &toks("git -Cé push")).is_some());
    }

    #[test]
    fn names() {
        assert_eq!(program_name("/usr/bin/sudo"), "sudo");
        assert_eq!(program_name("./RM"), "rm");
        assert_eq!(quote("a b"), "'a b'");
    }
}
