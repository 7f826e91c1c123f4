//! A POSIX shell (and common bash) parser that finds every simple command a
//! shell string would run.
//!
//! The parser does not build a full syntax tree: decisions need the simple
//! commands (with their words, assignments, redirections and where their
//! standard input comes from), wherever they sit — in a list (`;`, `&`,
//! newline), an and-or list (`&&`, `||`), a pipeline (`|`, `|&`), a subshell
//! `( … )`, a group `{ …; }`, `if`/`while`/`until`/`for`/`case` bodies,
//! function bodies, command substitutions `$( … )` and `` `…` ``, process
//! substitutions `<( … )`/`>( … )`, and here-documents. Reserved words are
//! recognised in command position and skipped, so every command inside a
//! compound command is reported; the structure around them does not matter
//! for a "strictest wins" decision.
//!
//! Words are reduced to their literal text when they have one: quoting
//! (single, double, backslash, `$'…'` ANSI-C, `$"…"`) is removed. A word
//! whose value is only known at run time — a parameter expansion, a command
//! or arithmetic substitution, an unquoted glob or brace expansion — is
//! marked as not literal; the decision layer treats such a word as "could be
//! anything".
//!
//! Whatever the parser cannot follow (nesting deeper than [`MAX_DEPTH`],
//! arithmetic with a command substitution inside) is reported in
//! [`Script::unresolved`]; a syntax error (an unterminated quote, an
//! unbalanced parenthesis) is a [`ParseError`]. Both lead to `prompt`, never
//! to `allow`.

use std::fmt;

/// How deeply substitutions, subshells and `sh -c` strings may nest.
pub const MAX_DEPTH: usize = 16;

/// One word of a command, after quote removal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The literal text; for a non-literal word, the source text as written.
    pub text: String,
    /// Whether `text` is exactly what the shell passes (no expansion happens).
    pub literal: bool,
}

impl Word {
    fn lit(text: impl Into<String>) -> Word {
        Word {
            text: text.into(),
            literal: true,
        }
    }
}

/// What a redirection does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectOp {
    /// `<`: reads the target.
    Read,
    /// `>`, `>|`, `&>`: writes (truncates) the target.
    Write,
    /// `>>`, `&>>`: appends to the target.
    Append,
    /// `<>`: opens the target for reading and writing.
    ReadWrite,
    /// `<&N`, `>&N`, `N>&-`: duplicates or closes a descriptor.
    Duplicate,
    /// `<<`, `<<-`: a here-document feeds standard input.
    HereDoc,
    /// `<<<`: a here-string feeds standard input.
    HereString,
}

/// One redirection of a simple command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    /// The descriptor named before the operator, if any.
    pub fd: Option<u32>,
    /// What it does.
    pub op: RedirectOp,
    /// The file (or descriptor, or here-string); for a here-document, its body.
    pub target: Word,
}

/// Where a simple command's standard input comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stdin {
    /// From whatever the shell itself reads (a terminal, or nothing known).
    Inherited,
    /// From the previous command of a pipeline.
    Pipe,
    /// From a file (`< FILE`).
    File(Word),
    /// From a here-document or here-string (its text, when literal).
    Text(Word),
}

/// One simple command: what the shell would execute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimpleCommand {
    /// `NAME=value` assignments before the command name.
    pub assignments: Vec<(String, Word)>,
    /// The command name and its arguments.
    pub words: Vec<Word>,
    /// Its redirections.
    pub redirects: Vec<Redirect>,
    /// Where its standard input comes from.
    pub stdin: Stdin,
}

/// Every simple command of a shell string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    /// The simple commands, in source order (substitutions before the command that uses them).
    pub commands: Vec<SimpleCommand>,
    /// Constructs that could not be followed statically.
    pub unresolved: Vec<String>,
}

/// A shell string that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("shell syntax error at character {offset}: {message}")]
pub struct ParseError {
    /// Character offset into the string.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses a shell string into the simple commands it would run.
pub fn parse(src: &str) -> Result<Script, ParseError> {
    parse_at_depth(src, 0)
}

/// Parses `src` as if nested `depth` levels deep (for `sh -c` strings).
pub fn parse_at_depth(src: &str, depth: usize) -> Result<Script, ParseError> {
    let mut p = Parser {
        src: src.chars().collect(),
        pos: 0,
        depth,
        script: Script::default(),
        heredocs: Vec::new(),
        bodies: Vec::new(),
    };
    if depth > MAX_DEPTH {
        p.script
            .unresolved
            .push(format!("nesting deeper than {MAX_DEPTH} levels"));
        return Ok(p.script);
    }
    p.list(End::Eof)?;
    if p.pos < p.src.len() {
        return Err(p.error(format!("unexpected `{}`", p.src[p.pos])));
    }
    if !p.heredocs.is_empty() {
        // bash reads a here-document up to the end of input when its line never comes.
        p.newline_bodies()?;
    }
    p.fill_heredocs();
    Ok(p.script)
}

/// Where a list ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    /// End of input.
    Eof,
    /// A `)` (subshell, command or process substitution).
    Paren,
    /// A `;;`, `;&`, `;;&` or `esac` (a `case` item).
    CaseItem,
}

/// A here-document waiting for its body.
struct PendingHereDoc {
    id: usize,
    delimiter: String,
    strip_tabs: bool,
    expand: bool,
}

struct Parser {
    src: Vec<char>,
    pos: usize,
    depth: usize,
    script: Script,
    heredocs: Vec<PendingHereDoc>,
    bodies: Vec<Option<Word>>,
}

/// Marks a here-document redirect until its body has been read.
const HEREDOC_MARK: &str = "\0heredoc:";

const RESERVED_SKIP: &[&str] = &[
    "if", "then", "elif", "else", "fi", "do", "done", "while", "until", "{", "}", "!", "time",
    "esac",
];

fn is_meta(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>'
    )
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

impl Parser {
    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            offset: self.pos,
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src.get(self.pos + n).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.peek_at(i) == Some(c))
    }

    /// Skips blanks, line continuations and comments (not newlines).
    fn blanks(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t') => self.pos += 1,
                Some('\\') if self.peek_at(1) == Some('\n') => self.pos += 2,
                Some('#') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    /// Consumes a newline and then any here-document bodies that were waiting for it.
    fn newline(&mut self) -> Result<(), ParseError> {
        self.pos += 1;
        self.newline_bodies()
    }

    fn newline_bodies(&mut self) -> Result<(), ParseError> {
        let pending = std::mem::take(&mut self.heredocs);
        for doc in pending {
            let body = self.heredoc_body(&doc)?;
            let target = if doc.expand {
                self.expand_text(&body)?
            } else {
                Word::lit(body)
            };
            self.bodies[doc.id] = Some(target);
        }
        Ok(())
    }

    /// Puts every here-document body in its redirect and its command's stdin.
    fn fill_heredocs(&mut self) {
        for cmd in &mut self.script.commands {
            for r in &mut cmd.redirects {
                let Some(id) = r.target.text.strip_prefix(HEREDOC_MARK) else {
                    continue;
                };
                let body = id
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| self.bodies.get_mut(i))
                    .and_then(Option::take)
                    .unwrap_or(Word {
                        text: String::new(),
                        literal: false,
                    });
                r.target = body.clone();
                if r.fd.is_none_or(|f| f == 0) {
                    cmd.stdin = Stdin::Text(body);
                }
            }
        }
    }

    fn heredoc_body(&mut self, doc: &PendingHereDoc) -> Result<String, ParseError> {
        let mut body = String::new();
        loop {
            if self.pos >= self.src.len() {
                // bash takes end of input as the end of a here-document (with
                // a warning), other shells may not: the rest of the line is
                // data to one and commands to another, so it is not allowed
                // without asking.
                self.script.unresolved.push(format!(
                    "the here-document ending `{}` never ends",
                    doc.delimiter
                ));
                return Ok(body);
            }
            let start = self.pos;
            while self.peek().is_some_and(|c| c != '\n') {
                self.pos += 1;
            }
            let mut line: String = self.src[start..self.pos].iter().collect();
            if self.peek() == Some('\n') {
                self.pos += 1;
            }
            if doc.strip_tabs {
                line = line.trim_start_matches('\t').to_owned();
            }
            if line == doc.delimiter {
                return Ok(body);
            }
            body.push_str(&line);
            body.push('\n');
        }
    }

    /// Skips blanks, comments and newlines.
    fn linebreaks(&mut self) -> Result<(), ParseError> {
        loop {
            self.blanks();
            if self.peek() == Some('\n') {
                self.newline()?;
            } else {
                return Ok(());
            }
        }
    }

    fn at_case_item_end(&self) -> bool {
        self.starts_with(";;") || self.starts_with(";&") || self.at_word("esac")
    }

    /// Whether the next word is exactly `w` (followed by a metacharacter or the end).
    fn at_word(&self, w: &str) -> bool {
        self.starts_with(w) && self.peek_at(w.chars().count()).is_none_or(is_meta)
    }

    fn list(&mut self, end: End) -> Result<(), ParseError> {
        loop {
            self.linebreaks()?;
            match self.peek() {
                None => {
                    return if end == End::Eof {
                        Ok(())
                    } else {
                        Err(self.error("unexpected end of input"))
                    };
                }
                Some(')') if end == End::Paren => return Ok(()),
                Some(')') if end == End::Eof => return Err(self.error("unbalanced `)`")),
                _ => {}
            }
            if end == End::CaseItem && self.at_case_item_end() {
                return Ok(());
            }
            self.pipeline()?;
            self.blanks();
            if end == End::CaseItem && self.at_case_item_end() {
                return Ok(());
            }
            match self.peek() {
                Some(';') if self.peek_at(1) == Some(';') => {
                    return Err(self.error("`;;` outside `case`"));
                }
                Some(';') => self.pos += 1,
                Some('&') if self.peek_at(1) == Some('&') => self.pos += 2,
                Some('&') => self.pos += 1,
                Some('|') if self.peek_at(1) == Some('|') => self.pos += 2,
                Some('\n') => self.newline()?,
                None | Some(')') => {}
                Some(c) => return Err(self.error(format!("unexpected `{c}`"))),
            }
        }
    }

    fn pipeline(&mut self) -> Result<(), ParseError> {
        let mut piped = false;
        loop {
            self.blanks();
            let first = self.script.commands.len();
            self.command()?;
            if piped {
                // Every simple command of this pipeline element reads the pipe,
                // unless a redirection or here-document already says otherwise.
                for cmd in &mut self.script.commands[first..] {
                    if cmd.stdin == Stdin::Inherited {
                        cmd.stdin = Stdin::Pipe;
                    }
                }
            }
            self.blanks();
            if self.peek() == Some('|') && self.peek_at(1) != Some('|') {
                self.pos += 1;
                if self.peek() == Some('&') {
                    self.pos += 1;
                }
                self.linebreaks()?;
                piped = true;
            } else {
                return Ok(());
            }
        }
    }

    fn command(&mut self) -> Result<(), ParseError> {
        self.blanks();
        if self.starts_with("((") {
            self.pos += 2;
            self.balanced_arith()?;
            return self.trailing_redirects();
        }
        if self.peek() == Some('(') {
            self.pos += 1;
            self.nested(|p| p.list(End::Paren))?;
            if self.peek() != Some(')') {
                return Err(self.error("expected `)`"));
            }
            self.pos += 1;
            return self.trailing_redirects();
        }
        self.simple()
    }

    /// Redirections after a compound command apply to all of it; judge their targets.
    fn trailing_redirects(&mut self) -> Result<(), ParseError> {
        let mut cmd = SimpleCommand {
            assignments: Vec::new(),
            words: Vec::new(),
            redirects: Vec::new(),
            stdin: Stdin::Inherited,
        };
        loop {
            self.blanks();
            if !self.redirect(&mut cmd)? {
                break;
            }
        }
        if !cmd.redirects.is_empty() {
            self.script.commands.push(cmd);
        }
        Ok(())
    }

    fn nested(
        &mut self,
        f: impl FnOnce(&mut Parser) -> Result<(), ParseError>,
    ) -> Result<(), ParseError> {
        self.depth += 1;
        let result = if self.depth > MAX_DEPTH {
            Err(self.error(format!("nesting deeper than {MAX_DEPTH} levels")))
        } else {
            f(self)
        };
        self.depth -= 1;
        result
    }

    fn simple(&mut self) -> Result<(), ParseError> {
        let mut cmd = SimpleCommand {
            assignments: Vec::new(),
            words: Vec::new(),
            redirects: Vec::new(),
            stdin: Stdin::Inherited,
        };
        let mut in_test = false;
        let mut after_time = false;
        loop {
            self.blanks();
            let Some(c) = self.peek() else { break };
            if cmd.words.is_empty() && !in_test {
                // Reserved words in command position.
                if let Some(w) = RESERVED_SKIP.iter().find(|w| self.at_word(w)) {
                    after_time = *w == "time";
                    self.pos += w.chars().count();
                    continue;
                }
                if self.at_word("for") || self.at_word("select") {
                    return self.for_header();
                }
                if self.at_word("case") {
                    return self.case();
                }
                if self.at_word("function") {
                    self.pos += "function".len();
                    self.blanks();
                    self.word_advancing()?;
                    self.blanks();
                    if self.starts_with("()") {
                        self.pos += 2;
                    }
                    self.linebreaks()?;
                    return self.command();
                }
                if self.at_word("[[") {
                    in_test = true;
                }
                if c == '(' {
                    // A subshell after reserved words (`if ( … )`, `! ( … )`).
                    return self.command();
                }
            }
            if in_test {
                if self.at_word("]]") {
                    self.pos += 2;
                    cmd.words.push(Word::lit("]]"));
                    in_test = false;
                    continue;
                }
                // Inside `[[ … ]]`, `<`, `>`, `&&`, `||` and parentheses are operands.
                if matches!(c, '<' | '>' | '(' | ')' | '&' | '|') {
                    let start = self.pos;
                    while self
                        .peek()
                        .is_some_and(|c| matches!(c, '<' | '>' | '(' | ')' | '&' | '|'))
                    {
                        self.pos += 1;
                    }
                    cmd.words.push(Word::lit(
                        self.src[start..self.pos].iter().collect::<String>(),
                    ));
                    continue;
                }
                if c == '\n' {
                    self.newline()?;
                    continue;
                }
            }
            if self.redirect(&mut cmd)? {
                continue;
            }
            let substitution = self.starts_with("<(") || self.starts_with(">(");
            if is_meta(c) && !substitution {
                // A function definition: `name ( )` followed by a body.
                if c == '(' && cmd.words.len() == 1 && cmd.assignments.is_empty() {
                    let save = self.pos;
                    self.pos += 1;
                    self.blanks();
                    if self.peek() == Some(')') {
                        self.pos += 1;
                        self.linebreaks()?;
                        return self.command();
                    }
                    self.pos = save;
                }
                break;
            }
            let word = self.word_in()?;
            if cmd.words.is_empty() && after_time {
                after_time = false;
                // `time -p pipeline`: the option belongs to the keyword.
                if word.text == "-p" || word.text == "--" {
                    continue;
                }
            }
            if cmd.words.is_empty()
                && let Some((name, value)) = assignment(&word)
            {
                cmd.assignments.push((name, value));
                continue;
            }
            cmd.words.push(word);
        }
        if in_test {
            return Err(self.error("`[[` without `]]`"));
        }
        if !cmd.words.is_empty() || !cmd.assignments.is_empty() || !cmd.redirects.is_empty() {
            // Substitutions inside this command were pushed while it was read: the
            // command itself goes after them.
            self.script.commands.push(cmd);
        }
        Ok(())
    }

    /// `for NAME [in WORDS]` / `select …`: the loop words are not a command, but
    /// substitutions inside them run.
    fn for_header(&mut self) -> Result<(), ParseError> {
        self.word_in()?; // `for`
        loop {
            self.blanks();
            match self.peek() {
                None | Some(';' | '\n' | '&' | '|' | ')') => return Ok(()),
                Some('(') if self.starts_with("((") => {
                    // C-style `for (( … ))`.
                    self.pos += 2;
                    return self.balanced_arith();
                }
                _ if self.at_word("do") => return Ok(()),
                _ => {
                    self.word_advancing()?;
                }
            }
        }
    }

    fn case(&mut self) -> Result<(), ParseError> {
        self.pos += "case".len();
        self.blanks();
        self.word_advancing()?;
        self.linebreaks()?;
        if !self.at_word("in") {
            return Err(self.error("expected `in` after `case WORD`"));
        }
        self.pos += 2;
        loop {
            self.linebreaks()?;
            if self.at_word("esac") {
                self.pos += 4;
                return Ok(());
            }
            if self.peek().is_none() {
                return Err(self.error("`case` without `esac`"));
            }
            if self.peek() == Some('(') {
                self.pos += 1;
            }
            // Patterns up to `)`.
            loop {
                self.blanks();
                match self.peek() {
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    Some('|') => self.pos += 1,
                    None => return Err(self.error("`case` pattern without `)`")),
                    _ => {
                        self.word_advancing()?;
                    }
                }
            }
            self.list(End::CaseItem)?;
            for op in [";;&", ";;", ";&"] {
                if self.starts_with(op) {
                    self.pos += op.len();
                    break;
                }
            }
        }
    }

    /// Reads a redirection if one starts here.
    fn redirect(&mut self, cmd: &mut SimpleCommand) -> Result<bool, ParseError> {
        let start = self.pos;
        let mut fd = None;
        let mut digits = String::new();
        while let Some(c) = self.peek().filter(char::is_ascii_digit) {
            digits.push(c);
            self.pos += 1;
        }
        if !digits.is_empty() {
            if matches!(self.peek(), Some('<' | '>')) {
                fd = digits.parse().ok();
            } else {
                self.pos = start;
                return Ok(false);
            }
        }
        let ops: &[(&str, RedirectOp)] = &[
            ("&>>", RedirectOp::Append),
            ("&>", RedirectOp::Write),
            ("<<<", RedirectOp::HereString),
            ("<<-", RedirectOp::HereDoc),
            ("<<", RedirectOp::HereDoc),
            ("<>", RedirectOp::ReadWrite),
            ("<&", RedirectOp::Duplicate),
            (">&", RedirectOp::Duplicate),
            (">>", RedirectOp::Append),
            (">|", RedirectOp::Write),
            ("<", RedirectOp::Read),
            (">", RedirectOp::Write),
        ];
        // `<(` and `>(` are process substitutions, which are words.
        if self.starts_with("<(") || self.starts_with(">(") {
            self.pos = start;
            return Ok(false);
        }
        let Some(&(text, mut op)) = ops.iter().find(|(t, _)| self.starts_with(t)) else {
            self.pos = start;
            return Ok(false);
        };
        self.pos += text.len();
        self.blanks();
        if op == RedirectOp::HereDoc {
            let (delimiter, quoted) = self.heredoc_delimiter()?;
            let id = self.bodies.len();
            self.bodies.push(None);
            cmd.redirects.push(Redirect {
                fd,
                op,
                target: Word {
                    text: format!("{HEREDOC_MARK}{id}"),
                    literal: false,
                },
            });
            // Standard input is the document; the pipe (if any) no longer feeds it.
            if fd.is_none_or(|f| f == 0) {
                cmd.stdin = Stdin::Text(Word::lit(""));
            }
            self.heredocs.push(PendingHereDoc {
                id,
                delimiter,
                strip_tabs: text == "<<-",
                expand: !quoted,
            });
            return Ok(true);
        }
        let target = self.word_in()?;
        if target.text.is_empty() && target.literal {
            return Err(self.error(format!("`{text}` without a target")));
        }
        if op == RedirectOp::Duplicate {
            // `>&file` (not a descriptor or `-`) writes the file, as `&>` does.
            let t = &target.text;
            if !(t == "-" || t.trim_end_matches('-').chars().all(|c| c.is_ascii_digit())) {
                op = if text == "<&" {
                    RedirectOp::Read
                } else {
                    RedirectOp::Write
                };
            }
        }
        if op == RedirectOp::HereString {
            cmd.stdin = Stdin::Text(target.clone());
        }
        if op == RedirectOp::Read && fd.is_none_or(|f| f == 0) {
            cmd.stdin = Stdin::File(target.clone());
        }
        cmd.redirects.push(Redirect { fd, op, target });
        Ok(true)
    }

    fn heredoc_delimiter(&mut self) -> Result<(String, bool), ParseError> {
        let start = self.pos;
        let mut out = String::new();
        let mut quoted = false;
        while let Some(c) = self.peek() {
            if is_meta(c) {
                break;
            }
            match c {
                '\'' | '"' => {
                    quoted = true;
                    self.pos += 1;
                    while let Some(d) = self.peek() {
                        self.pos += 1;
                        if d == c {
                            break;
                        }
                        out.push(d);
                    }
                }
                '\\' => {
                    quoted = true;
                    self.pos += 1;
                    if let Some(d) = self.peek() {
                        out.push(d);
                        self.pos += 1;
                    }
                }
                _ => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
        if self.pos == start {
            return Err(self.error("here-document without a delimiter"));
        }
        Ok((out, quoted))
    }

    /// Reads one word that must be there (a loop reading words stops on anything else).
    fn word_advancing(&mut self) -> Result<Word, ParseError> {
        let start = self.pos;
        let word = self.word_in()?;
        if self.pos == start {
            return Err(match self.peek() {
                Some(c) => self.error(format!("unexpected `{c}`")),
                None => self.error("unexpected end of input"),
            });
        }
        Ok(word)
    }

    /// Reads one word; substitutions in it are parsed as commands.
    fn word_in(&mut self) -> Result<Word, ParseError> {
        let mut text = String::new();
        let mut literal = true;
        let start = self.pos;
        let mut brace_open = false;
        while let Some(c) = self.peek() {
            if is_meta(c) {
                // Process substitution inside a word: `<(…)`, `>(…)`.
                if matches!(c, '<' | '>') && self.peek_at(1) == Some('(') {
                    self.pos += 2;
                    self.nested(|p| p.list(End::Paren))?;
                    if self.peek() != Some(')') {
                        return Err(self.error("expected `)`"));
                    }
                    self.pos += 1;
                    literal = false;
                    continue;
                }
                break;
            }
            match c {
                '\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some('\n') => self.pos += 1,
                        Some(d) => {
                            text.push(d);
                            self.pos += 1;
                        }
                        None => {}
                    }
                }
                '\'' => {
                    self.pos += 1;
                    loop {
                        match self.peek() {
                            None => return Err(self.error("unterminated single quote")),
                            Some('\'') => {
                                self.pos += 1;
                                break;
                            }
                            Some(d) => {
                                text.push(d);
                                self.pos += 1;
                            }
                        }
                    }
                }
                '"' => {
                    self.pos += 1;
                    if !self.double_quoted(&mut text)? {
                        literal = false;
                    }
                }
                '$' => {
                    if self.peek_at(1) == Some('\'') {
                        self.pos += 2;
                        self.ansi_c(&mut text)?;
                    } else if self.peek_at(1) == Some('"') {
                        self.pos += 2;
                        if !self.double_quoted(&mut text)? {
                            literal = false;
                        }
                    } else if self.dollar()? {
                        literal = false;
                    } else {
                        text.push('$');
                    }
                }
                '`' => {
                    self.pos += 1;
                    self.backtick()?;
                    literal = false;
                }
                '*' | '?' | '[' => {
                    // An unquoted glob may expand to file names.
                    text.push(c);
                    self.pos += 1;
                    if c != '[' || self.src[self.pos..].contains(&']') {
                        literal = false;
                    }
                }
                '{' => {
                    brace_open = true;
                    text.push(c);
                    self.pos += 1;
                }
                ',' if brace_open => {
                    text.push(c);
                    self.pos += 1;
                    if self.src[self.pos..]
                        .iter()
                        .take_while(|c| !is_meta(**c))
                        .any(|c| *c == '}')
                    {
                        // Brace expansion: `{rm,-rf,/}` is three words.
                        literal = false;
                    }
                }
                '.' if brace_open && self.peek_at(1) == Some('.') => {
                    text.push(c);
                    self.pos += 1;
                    literal = false;
                }
                '~' if self.pos == start => {
                    // Tilde expansion is resolved by whoever judges a path.
                    text.push(c);
                    self.pos += 1;
                }
                _ => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
        if !literal {
            text = self.src[start..self.pos].iter().collect();
        }
        Ok(Word { text, literal })
    }

    /// Reads a `"…"` body after the opening quote; false when it expands anything.
    fn double_quoted(&mut self, text: &mut String) -> Result<bool, ParseError> {
        let mut literal = true;
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated double quote")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(literal);
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(d @ ('$' | '`' | '"' | '\\')) => {
                            text.push(d);
                            self.pos += 1;
                        }
                        Some('\n') => self.pos += 1,
                        _ => text.push('\\'),
                    }
                }
                Some('$') => {
                    if self.dollar()? {
                        literal = false;
                    } else {
                        text.push('$');
                    }
                }
                Some('`') => {
                    self.pos += 1;
                    self.backtick()?;
                    literal = false;
                }
                Some(d) => {
                    text.push(d);
                    self.pos += 1;
                }
            }
        }
    }

    /// Reads a `$…` expansion at `$`; returns false when the `$` is literal.
    fn dollar(&mut self) -> Result<bool, ParseError> {
        match self.peek_at(1) {
            Some('(') if self.peek_at(2) == Some('(') => {
                self.pos += 3;
                self.balanced_arith()?;
                Ok(true)
            }
            Some('(') => {
                self.pos += 2;
                self.nested(|p| p.list(End::Paren))?;
                if self.peek() != Some(')') {
                    return Err(self.error("unterminated `$(`"));
                }
                self.pos += 1;
                Ok(true)
            }
            Some('{') => {
                self.pos += 2;
                let mut depth = 1;
                while depth > 0 {
                    match self.peek() {
                        None => return Err(self.error("unterminated `${`")),
                        Some('\\') => self.pos += 2,
                        Some('{') => {
                            depth += 1;
                            self.pos += 1;
                        }
                        Some('}') => {
                            depth -= 1;
                            self.pos += 1;
                        }
                        Some('$') if matches!(self.peek_at(1), Some('(' | '{')) => {
                            self.dollar()?;
                        }
                        Some('`') => {
                            self.pos += 1;
                            self.backtick()?;
                        }
                        Some('\'') => {
                            self.pos += 1;
                            while self.peek().is_some_and(|c| c != '\'') {
                                self.pos += 1;
                            }
                            self.pos += 1;
                        }
                        Some(_) => self.pos += 1,
                    }
                }
                Ok(true)
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                self.pos += 1;
                while self
                    .peek()
                    .is_some_and(|c| c == '_' || c.is_ascii_alphanumeric())
                {
                    self.pos += 1;
                }
                Ok(true)
            }
            Some(c) if c.is_ascii_digit() || "@*#?-$!".contains(c) => {
                self.pos += 2;
                Ok(true)
            }
            _ => {
                self.pos += 1;
                Ok(false)
            }
        }
    }

    /// Reads up to the `))` closing an arithmetic expression; command
    /// substitutions inside it are parsed as commands.
    fn balanced_arith(&mut self) -> Result<(), ParseError> {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated arithmetic `((`")),
                Some('$') if self.peek_at(1) == Some('(') => {
                    self.dollar()?;
                    continue;
                }
                Some('`') => {
                    self.pos += 1;
                    self.backtick()?;
                    continue;
                }
                Some('(') => depth += 1,
                Some(')') if depth == 0 && self.peek_at(1) == Some(')') => {
                    self.pos += 2;
                    return Ok(());
                }
                Some(')') => depth = depth.saturating_sub(1),
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// Reads a backquoted command substitution after the opening backquote.
    fn backtick(&mut self) -> Result<(), ParseError> {
        let mut inner = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated backquote")),
                Some('`') => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(d @ ('$' | '`' | '\\')) => inner.push(d),
                        Some(d) => {
                            inner.push('\\');
                            inner.push(d);
                        }
                        None => return Err(self.error("unterminated backquote")),
                    }
                    self.pos += 1;
                }
                Some(d) => {
                    inner.push(d);
                    self.pos += 1;
                }
            }
        }
        self.sub_script(&inner)
    }

    /// Parses text (a backquote body) as a nested script and keeps its commands.
    fn sub_script(&mut self, text: &str) -> Result<(), ParseError> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            self.script
                .unresolved
                .push(format!("nesting deeper than {MAX_DEPTH} levels"));
            return Ok(());
        }
        let offset = self.pos;
        let inner = parse_at_depth(text, depth).map_err(|e| ParseError {
            offset,
            message: format!("in a backquoted command: {}", e.message),
        })?;
        self.script.commands.extend(inner.commands);
        self.script.unresolved.extend(inner.unresolved);
        Ok(())
    }

    /// Expands a here-document body: substitutions in it run.
    fn expand_text(&mut self, body: &str) -> Result<Word, ParseError> {
        let mut sub = Parser {
            src: body.chars().collect(),
            pos: 0,
            depth: self.depth + 1,
            script: Script::default(),
            heredocs: Vec::new(),
            bodies: Vec::new(),
        };
        let mut text = String::new();
        let mut literal = true;
        while let Some(c) = sub.peek() {
            match c {
                '\\' if matches!(sub.peek_at(1), Some('$' | '`' | '\\')) => {
                    text.push(sub.peek_at(1).unwrap_or('\\'));
                    sub.pos += 2;
                }
                '$' => {
                    if sub.dollar()? {
                        literal = false;
                    } else {
                        text.push('$');
                    }
                }
                '`' => {
                    sub.pos += 1;
                    sub.backtick()?;
                    literal = false;
                }
                _ => {
                    text.push(c);
                    sub.pos += 1;
                }
            }
        }
        self.script.commands.extend(sub.script.commands);
        self.script.unresolved.extend(sub.script.unresolved);
        Ok(if literal {
            Word::lit(text)
        } else {
            Word {
                text: body.to_owned(),
                literal: false,
            }
        })
    }

    /// Reads a `$'…'` body after the opening quote, decoding escapes.
    fn ansi_c(&mut self, text: &mut String) -> Result<(), ParseError> {
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error("unterminated `$'`"));
            };
            self.pos += 1;
            match c {
                '\'' => return Ok(()),
                '\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.error("unterminated `$'`"));
                    };
                    self.pos += 1;
                    match e {
                        'a' => text.push('\x07'),
                        'b' => text.push('\x08'),
                        'e' | 'E' => text.push('\x1b'),
                        'f' => text.push('\x0c'),
                        'n' => text.push('\n'),
                        'r' => text.push('\r'),
                        't' => text.push('\t'),
                        'v' => text.push('\x0b'),
                        'c' => {
                            if let Some(x) = self.peek() {
                                self.pos += 1;
                                text.push(char::from((x as u8) & 0x1f));
                            }
                        }
                        'x' => {
                            let v = self.radix_digits(16, 2);
                            push_byte_char(text, v);
                        }
                        'u' | 'U' => {
                            let v = self.radix_digits(16, if e == 'u' { 4 } else { 8 });
                            text.push(v.and_then(char::from_u32).unwrap_or('\u{fffd}'));
                        }
                        '0'..='7' => {
                            self.pos -= 1;
                            let v = self.radix_digits(8, 3);
                            push_byte_char(text, v);
                        }
                        other => {
                            if !matches!(other, '\\' | '\'' | '"' | '?') {
                                text.push('\\');
                            }
                            text.push(other);
                        }
                    }
                }
                other => text.push(other),
            }
        }
    }

    fn radix_digits(&mut self, radix: u32, max: usize) -> Option<u32> {
        let mut value: Option<u32> = None;
        for _ in 0..max {
            let Some(d) = self.peek().and_then(|c| c.to_digit(radix)) else {
                break;
            };
            value = Some(value.unwrap_or(0) * radix + d);
            self.pos += 1;
        }
        value
    }
}

fn push_byte_char(text: &mut String, v: Option<u32>) {
    match v {
        Some(b) if b < 0x80 => text.push(char::from(b as u8)),
        // A lone high byte is not valid text: keep a stand-in that matches no rule.
        Some(_) => text.push('\u{fffd}'),
        None => text.push_str("\\x"),
    }
}

/// Splits `NAME=value` (with a literal name) into its parts.
fn assignment(word: &Word) -> Option<(String, Word)> {
    let (name, value) = word.text.split_once('=')?;
    let name = name.strip_suffix('+').unwrap_or(name);
    if !is_name(name) {
        return None;
    }
    // A non-literal assignment still assigns: what matters is the value's literalness.
    let literal = word.literal || !value.contains(['$', '`']);
    Some((
        name.to_owned(),
        Word {
            text: value.to_owned(),
            literal,
        },
    ))
}

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argvs(src: &str) -> Vec<Vec<String>> {
        parse(src)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
            .commands
            .iter()
            .map(|c| c.words.iter().map(|w| w.text.clone()).collect())
            .collect()
    }

    fn lits(src: &str) -> Vec<Vec<bool>> {
        parse(src)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
            .commands
            .iter()
            .map(|c| c.words.iter().map(|w| w.literal).collect())
            .collect()
    }

    #[test]
    fn lists_and_pipelines() {
        assert_eq!(
            argvs("a 1 && b 2 || c; d & e | f |& g\nh"),
            vec![
                vec!["a", "1"],
                vec!["b", "2"],
                vec!["c"],
                vec!["d"],
                vec!["e"],
                vec!["f"],
                vec!["g"],
                vec!["h"]
            ]
        );
        let s = parse("curl x | sh").unwrap_or_default();
        assert_eq!(s.commands[1].stdin, Stdin::Pipe);
        assert_eq!(s.commands[0].stdin, Stdin::Inherited);
    }

    #[test]
    fn quoting() {
        assert_eq!(
            argvs(r#"g'i't "p"u\sh -"-"force $'\x2d\x2dforce' $"x""#),
            vec![vec!["git", "push", "--force", "--force", "x"]]
        );
        assert_eq!(
            argvs("echo 'a;b' \"c|d\""),
            vec![vec!["echo", "a;b", "c|d"]]
        );
        assert_eq!(argvs("r\\\nm -rf"), vec![vec!["rm", "-rf"]]);
        assert_eq!(argvs("$'\\162\\155' x"), vec![vec!["rm", "x"]]);
    }

    #[test]
    fn compound_commands() {
        assert_eq!(
            argvs("if a; then b; elif c; then d; else e; fi"),
            vec![vec!["a"], vec!["b"], vec!["c"], vec!["d"], vec!["e"]]
        );
        assert_eq!(
            argvs("while a; do b; done; until c; do d; done"),
            vec![vec!["a"], vec!["b"], vec!["c"], vec!["d"]]
        );
        assert_eq!(
            argvs("( a; (b) ) && { c; }"),
            vec![vec!["a"], vec!["b"], vec!["c"]]
        );
        assert_eq!(
            argvs("for f in $(ls) x; do rm $f; done"),
            vec![vec!["ls"], vec!["rm", "$f"]]
        );
        assert_eq!(
            argvs("case $x in a|b) one;; (c) two ;& *) three;; esac"),
            vec![vec!["one"], vec!["two"], vec!["three"]]
        );
        assert_eq!(
            argvs("f() { rm -rf /; }; f"),
            vec![vec!["rm", "-rf", "/"], vec!["f"]]
        );
        assert_eq!(argvs("function g { x; }"), vec![vec!["x"]]);
        assert_eq!(argvs("! a | b"), vec![vec!["a"], vec!["b"]]);
        assert_eq!(argvs("time a"), vec![vec!["a"]]);
        assert_eq!(argvs("time -p a; time \\-p b"), vec![vec!["a"], vec!["b"]]);
        assert_eq!(argvs("[[ a < b && -f c ]] && d").len(), 2);
    }

    #[test]
    fn substitutions_are_commands() {
        assert_eq!(
            argvs("echo $(sudo id) `whoami` \"$(date)\" <(cat x)"),
            vec![
                vec!["sudo", "id"],
                vec!["whoami"],
                vec!["date"],
                vec!["cat", "x"],
                vec!["echo", "$(sudo id)", "`whoami`", "\"$(date)\"", "<(cat x)"]
            ]
        );
        assert_eq!(
            argvs("echo `echo \\`id\\``"),
            vec![
                vec!["id"],
                vec!["echo", "`id`"],
                vec!["echo", "`echo \\`id\\``"]
            ]
        );
        assert_eq!(argvs("x=$(rm -rf /)"), vec![vec!["rm", "-rf", "/"], vec![]]);
        assert_eq!(argvs("echo $((1 + 2))"), vec![vec!["echo", "$((1 + 2))"]]);
        assert_eq!(
            argvs("echo $(( $(id) + `id` ))")[..2],
            [vec!["id"], vec!["id"]]
        );
    }

    #[test]
    fn literalness() {
        assert_eq!(lits("$CMD x"), vec![vec![false, true]]);
        assert_eq!(lits("git push ${FLAGS}"), vec![vec![true, true, false]]);
        assert_eq!(lits("ls *.txt '*'"), vec![vec![true, false, true]]);
        assert_eq!(lits("{rm,-rf,/}"), vec![vec![false]]);
        assert_eq!(lits("echo {a}"), vec![vec![true, true]]);
        assert_eq!(
            lits("echo \"$HOME\" '$HOME'"),
            vec![vec![true, false, true]]
        );
    }

    #[test]
    fn assignments_and_redirects() {
        let s = parse("FOO=1 BAR=\"a b\" env 2>&1 >out.txt <in cmd").unwrap_or_default();
        let c = &s.commands[0];
        assert_eq!(c.assignments.len(), 2);
        assert_eq!(c.words[0].text, "env");
        assert_eq!(c.words[1].text, "cmd");
        assert_eq!(c.redirects.len(), 3);
        assert_eq!(c.redirects[0].op, RedirectOp::Duplicate);
        assert_eq!(c.redirects[1].op, RedirectOp::Write);
        assert_eq!(c.redirects[1].target.text, "out.txt");
        assert_eq!(c.redirects[2].op, RedirectOp::Read);
        let s = parse("echo x >&/tmp/f; cat &>>log").unwrap_or_default();
        assert_eq!(s.commands[0].redirects[0].op, RedirectOp::Write);
        assert_eq!(s.commands[1].redirects[0].op, RedirectOp::Append);
    }

    #[test]
    fn heredocs() {
        let s = parse("bash <<'EOF'\nrm -rf /\nEOF\necho done").unwrap_or_default();
        assert_eq!(s.commands.len(), 2);
        assert_eq!(s.commands[0].stdin, Stdin::Text(Word::lit("rm -rf /\n")));
        let s = parse("cat <<EOF | sh\n$(id)\nEOF\n").unwrap_or_default();
        assert_eq!(s.commands[0].words[0].text, "cat");
        // The body is read after the line ends, so its substitution comes last.
        assert_eq!(s.commands[1].words[0].text, "sh");
        assert_eq!(s.commands[1].stdin, Stdin::Pipe);
        assert_eq!(s.commands[2].words[0].text, "id");
        let s = parse("cat <<-X\n\tbody\n\tX\n").unwrap_or_default();
        assert_eq!(s.commands[0].stdin, Stdin::Text(Word::lit("body\n")));
        let s = parse("sh <<< 'rm -rf /'").unwrap_or_default();
        assert_eq!(s.commands[0].stdin, Stdin::Text(Word::lit("rm -rf /")));
    }

    #[test]
    fn errors() {
        for bad in [
            "echo 'x",
            "echo \"x",
            "(a",
            "a )",
            "echo $(a",
            "echo `a",
            "case x in",
            "a ;; b",
            "case x in ; esac",
            "case x in a < b) ;; esac",
            "for x in <",
            "for x in ( ; do :; done",
            "case ; in",
            "function ;",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let deep = "$(".repeat(40) + &")".repeat(40);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn comments() {
        assert_eq!(argvs("a # b; c\nd"), vec![vec!["a"], vec!["d"]]);
        assert_eq!(argvs("echo a#b"), vec![vec!["echo", "a#b"]]);
    }
}
