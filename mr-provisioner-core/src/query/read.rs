//! Reading query text into S-expressions.

use super::error::excerpt;
use super::{Field, MAX_DEPTH, QueryError};

/// An S-expression with the byte offset where it starts.
#[derive(Debug)]
pub(super) enum Sexp {
    List(Vec<Sexp>, usize),
    /// `[...]` or `'expr`: read for syntax only, contents dropped.
    Unsupported(usize),
    Str(String, usize),
    Atom(Atom, usize),
}

#[derive(Debug)]
pub(super) enum Atom {
    True,
    Int(i64),
    Float(f64),
    Symbol(String),
}

impl Sexp {
    pub(super) fn offset(&self) -> usize {
        match self {
            Sexp::List(_, o) | Sexp::Unsupported(o) | Sexp::Str(_, o) | Sexp::Atom(_, o) => *o,
        }
    }

    /// A short description for error messages.
    pub(super) fn describe(&self) -> String {
        match self {
            Sexp::List(..) => "a list".to_owned(),
            Sexp::Unsupported(_) => "brackets or a quote".to_owned(),
            Sexp::Str(..) => "a string".to_owned(),
            Sexp::Atom(Atom::True, _) => "the boolean `t`".to_owned(),
            Sexp::Atom(Atom::Int(_) | Atom::Float(_), _) => "a number".to_owned(),
            Sexp::Atom(Atom::Symbol(s), _) => match Field::from_name(s) {
                Some(Field::Text(f)) => format!("the text field `{f}`"),
                Some(Field::Int(f)) => format!("the integer field `{f}`"),
                None if s == "nil" => "`nil`".to_owned(),
                None => format!("the symbol `{}`", excerpt(s)),
            },
        }
    }
}

/// Reads the one top-level expression of a non-empty query.
pub(super) fn read(query: &str) -> Result<Sexp, QueryError> {
    let mut reader = Reader { src: query, pos: 0 };
    reader.skip_trivia();
    if reader.peek().is_none() {
        return Err(QueryError::NoExpression);
    }
    let expr = reader.expr(0)?;
    reader.skip_trivia();
    match reader.peek() {
        None => Ok(expr),
        Some(found @ (')' | ']')) => Err(QueryError::UnexpectedClose {
            found,
            offset: reader.pos,
        }),
        Some(_) => Err(QueryError::TrailingExpression { offset: reader.pos }),
    }
}

/// Python's `string.whitespace`.
fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}')
}

struct Reader<'a> {
    src: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<char> {
        self.src
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Skips whitespace and comments.
    fn skip_trivia(&mut self) {
        loop {
            match self.peek() {
                Some(c) if is_ws(c) => self.pos += 1,
                Some(';') => while self.bump().is_some_and(|c| c != '\n') {},
                _ => return,
            }
        }
    }

    /// Reads one expression; trivia has been skipped and input remains. `depth` counts enclosing lists.
    fn expr(&mut self, depth: usize) -> Result<Sexp, QueryError> {
        let start = self.pos;
        match self.peek() {
            Some('(') => Ok(Sexp::List(self.seq(depth, ')')?, start)),
            Some('[') => {
                self.seq(depth, ']')?;
                Ok(Sexp::Unsupported(start))
            }
            Some('\'') => {
                if depth >= MAX_DEPTH {
                    return Err(QueryError::TooDeep { offset: start });
                }
                self.pos += 1;
                self.skip_trivia();
                match self.peek() {
                    None | Some(')' | ']') => Err(QueryError::DanglingQuote { offset: start }),
                    Some(_) => {
                        self.expr(depth + 1)?;
                        Ok(Sexp::Unsupported(start))
                    }
                }
            }
            Some('"') => self.string(),
            Some(found @ (')' | ']')) => Err(QueryError::UnexpectedClose {
                found,
                offset: start,
            }),
            Some(_) => self.atom(),
            None => Err(QueryError::NoExpression),
        }
    }

    /// Reads a list or bracket; the opening character is at `self.pos`.
    fn seq(&mut self, depth: usize, close: char) -> Result<Vec<Sexp>, QueryError> {
        let start = self.pos;
        if depth >= MAX_DEPTH {
            return Err(QueryError::TooDeep { offset: start });
        }
        let open = if close == ')' { '(' } else { '[' };
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_trivia();
            match self.peek() {
                None => {
                    return Err(QueryError::Unclosed {
                        open,
                        offset: start,
                    });
                }
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(found @ (')' | ']')) => {
                    return Err(QueryError::MismatchedClose {
                        expected: close,
                        found,
                        offset: self.pos,
                    });
                }
                Some(_) => items.push(self.expr(depth + 1)?),
            }
        }
    }

    /// Reads a string; the opening `"` is at `self.pos`.
    fn string(&mut self) -> Result<Sexp, QueryError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(QueryError::UnterminatedString { offset: start }),
                Some('"') => return Ok(Sexp::Str(out, start)),
                Some('\\') => match self.bump() {
                    None => return Err(QueryError::UnterminatedString { offset: start }),
                    Some('\\') => out.push('\\'),
                    Some('"') => out.push('"'),
                    Some('b') => out.push('\u{8}'),
                    Some('f') => out.push('\u{c}'),
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                    }
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// Reads an atom; its first character is at `self.pos`.
    fn atom(&mut self) -> Result<Sexp, QueryError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if is_ws(c) || matches!(c, '(' | ')' | '[' | ']' | '"' | '\'') {
                break;
            }
            self.pos += c.len_utf8();
            if c == '\\' {
                self.bump();
            }
        }
        let text = self.src.get(start..self.pos).unwrap_or_default();
        classify_atom(text, start).map(|atom| Sexp::Atom(atom, start))
    }
}

fn classify_atom(text: &str, offset: usize) -> Result<Atom, QueryError> {
    if text == "t" {
        return Ok(Atom::True);
    }
    if let Some(digits) = python_int(text) {
        return digits
            .parse()
            .map(Atom::Int)
            .map_err(|_| QueryError::IntegerOutOfRange {
                literal: text.to_owned(),
                offset,
            });
    }
    if let Some(value) = python_float(text) {
        return if value.is_finite() {
            Ok(Atom::Float(value))
        } else {
            Err(QueryError::NonFiniteNumber {
                literal: text.to_owned(),
                offset,
            })
        };
    }
    Ok(Atom::Symbol(text.to_owned()))
}

/// Python's `digitpart`: ASCII digits, single underscores allowed between digits.
fn is_digitpart(s: &str) -> bool {
    let b = s.as_bytes();
    b.first().is_some_and(u8::is_ascii_digit)
        && b.last().is_some_and(u8::is_ascii_digit)
        && b.iter().all(|c| c.is_ascii_digit() || *c == b'_')
        && !s.contains("__")
}

fn split_sign(s: &str) -> (&str, &str) {
    match s.as_bytes().first() {
        Some(b'+' | b'-') => s.split_at(1),
        _ => ("", s),
    }
}

/// If Python's `int()` accepts `s`, its sign and digits without underscores.
fn python_int(s: &str) -> Option<String> {
    let (sign, digits) = split_sign(s);
    is_digitpart(digits).then(|| format!("{sign}{}", digits.replace('_', "")))
}

/// The value Python's `float()` gives `s`, if it accepts it (infinite and NaN included).
fn python_float(s: &str) -> Option<f64> {
    let (sign, body) = split_sign(s);
    let negative = sign == "-";
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if lower == "nan" {
        return Some(f64::NAN);
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, "")) => is_digitpart(int),
        Some((int, frac)) => (int.is_empty() || is_digitpart(int)) && is_digitpart(frac),
        None => is_digitpart(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| is_digitpart(split_sign(e).1));
    if !(mantissa_ok && exponent_ok) {
        return None;
    }
    s.replace('_', "").parse().ok()
}
