//! The machine query language (`GET /api/v1/machine?q=...`, reservation `query`) parsed into a typed filter AST.
//!
//! A query is one S-expression such as `(and (= arch "arm64") (> interface_count 1))`. [`parse`] reads it,
//! checks it completely (syntax, operators, arity, field names, operand types) and returns a [`Filter`]; nothing
//! of the query text ever reaches SQL. Every malformed input is a [`QueryError`] whose `Display` text is short
//! and safe to return to an API client; the parser never panics and never recurses deeper than [`MAX_DEPTH`].
//!
//! # Lexical grammar (as the original, `sexpdata` 0.0.3 with `nil` handling disabled)
//!
//! * whitespace is Python's `string.whitespace` (space, `\t`, `\n`, `\r`, `\x0b`, `\x0c`); `;` starts a comment
//!   that runs to the end of the line, except inside an atom (`a;b` is one atom);
//! * lists `( ... )`; brackets `[ ... ]` and quotes `'expr` are read but rejected when evaluated
//!   ("brackets/quote are not supported in queries");
//! * strings `"..."` with the escapes `\\ \" \b \f \n \r \t`; any other `\x` keeps both characters;
//! * atoms: any run of characters other than `( ) [ ] " '` and whitespace, where `\` takes the next character
//!   literally (the backslash is kept in the atom's text). An atom is, in order: `t` (boolean true); an integer
//!   as Python's `int()` reads it (`-5`, `+5`, `007`, `1_000`); a float as Python's `float()` reads it (`1.5`,
//!   `.5`, `5.`, `1e3`, `1_0.5`); otherwise a symbol. Only ASCII digits are digits (Python also accepts other
//!   Unicode decimal digits; such atoms are symbols here and so unknown fields). `nan`, `inf`, `infinity` and
//!   overflowing floats such as `1e999` are errors ("non-finite number"), as are integers outside `i64`.
//!
//! An empty query means no filter (`Ok(None)`). A query of only whitespace and comments, or with more than one
//! top-level expression, is an error ("failed to parse query"). Queries longer than [`MAX_QUERY_LEN`] bytes are
//! rejected before they are read.
//!
//! # Semantics
//!
//! * `(and c...)`, `(or c...)`: conjunction, disjunction. With no argument both mean "no filter", so `(and)`
//!   and `(or)` parse to [`Filter::Const`]`(true)` (as observed in the original).
//! * `(op a b)` with `op` one of `= != > >= < <=`: exactly two operands, each a field, a literal or `nil`, in
//!   either order; `(> 3 interface_count)` is normalised to `(< interface_count 3)`. Text fields take strings
//!   and compare byte-wise (binary collation); integer fields take numbers. `(= f nil)` / `(!= f nil)` are
//!   `IS NULL` / `IS NOT NULL`; ordering with `nil` is an error. Two fields cannot be compared with each other.
//! * Two literals are compared here and give [`Filter::Const`]: strings with strings (byte-wise), numbers with
//!   numbers (exactly, integers against floats included), `t` with `t`; `nil` equals only `nil` (a literal is
//!   never NULL). Literals of different types (`(= "1" 1)`) are an error rather than silently false.
//! * A float compared with an integer field is turned into the equivalent integer comparison (the field is an
//!   integer, so `x > 1.5` is `x > 1`, `x >= 1.5` is `x >= 2`, `x = 1.5` is false, `x = 2.0` is `x = 2`);
//!   bounds beyond `i64` become [`Filter::Const`]. The AST therefore never holds a float.
//! * `(=~ field "s")`: `field` must be a text field and `s` a string literal. It is a case-sensitive substring
//!   test. Unlike the original, which built the SQL pattern `'%' || s || '%'` so that `%` and `_` in `s` acted
//!   as wildcards, `s` is a plain substring: [`Filter::Like`] holds it verbatim and the SQL translation must
//!   escape `%`, `_` and its escape character.
//! * A bare string, number, field or `nil` where a condition is expected (top level, argument of `and`/`or`) is
//!   an error; this closes the original's SQL injection through bare strings. The boolean `t` is accepted there
//!   and means [`Filter::Const`]`(true)`.
//!
//! [`Filter`] implements [`fmt::Display`], printing query text that [`parse`] reads back to an equal filter
//! (up to the normalisation documented on the `Display` impl). [`Filter::matches`] evaluates a filter in memory.

mod error;
mod eval;
mod read;

pub use error::QueryError;

use std::cmp::Ordering;
use std::fmt;

/// The longest query accepted, in bytes.
pub const MAX_QUERY_LEN: usize = 4096;

/// The deepest nesting accepted: lists, brackets and quotes inside each other.
pub const MAX_DEPTH: usize = 64;

/// Parses a query. `Ok(None)` means no filter (the query is the empty string).
pub fn parse(query: &str) -> Result<Option<Filter>, QueryError> {
    if query.len() > MAX_QUERY_LEN {
        return Err(QueryError::TooLong { len: query.len() });
    }
    if query.is_empty() {
        return Ok(None);
    }
    eval::condition(&read::read(query)?).map(Some)
}

/// A text column of a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    /// `name`: `machine.name`, never NULL.
    Name,
    /// `arch`: `COALESCE(arch.name, '')`, never NULL.
    Arch,
    /// `bmc_type`: `COALESCE("BMC".bmc_type, '')`, never NULL (`""` without a BMC).
    BmcType,
}

impl TextField {
    /// Every text field.
    pub const ALL: [TextField; 3] = [TextField::Name, TextField::Arch, TextField::BmcType];

    /// The field's name in the query language.
    pub fn as_str(self) -> &'static str {
        match self {
            TextField::Name => "name",
            TextField::Arch => "arch",
            TextField::BmcType => "bmc_type",
        }
    }
}

/// An integer (count) column of a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntField {
    /// `assignee_count`: number of `machine_users` rows (0 if none).
    AssigneeCount,
    /// `interface_count`: number of interfaces (0 if none).
    InterfaceCount,
}

impl IntField {
    /// Every integer field.
    pub const ALL: [IntField; 2] = [IntField::AssigneeCount, IntField::InterfaceCount];

    /// The field's name in the query language.
    pub fn as_str(self) -> &'static str {
        match self {
            IntField::AssigneeCount => "assignee_count",
            IntField::InterfaceCount => "interface_count",
        }
    }
}

/// Any field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// A text field.
    Text(TextField),
    /// An integer field.
    Int(IntField),
}

impl Field {
    /// The field's name in the query language.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Text(f) => f.as_str(),
            Field::Int(f) => f.as_str(),
        }
    }

    fn from_name(name: &str) -> Option<Field> {
        let text = TextField::ALL.into_iter().find(|f| f.as_str() == name);
        let int = IntField::ALL.into_iter().find(|f| f.as_str() == name);
        text.map(Field::Text).or(int.map(Field::Int))
    }
}

/// A comparison operator; the field is always its left operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl CmpOp {
    /// Every operator.
    pub const ALL: [CmpOp; 6] = [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Gt,
        CmpOp::Ge,
        CmpOp::Lt,
        CmpOp::Le,
    ];

    /// The operator as written in a query.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }

    /// The operator with its operands swapped: `a > b` is `b < a`.
    pub fn flip(self) -> CmpOp {
        match self {
            CmpOp::Eq => CmpOp::Eq,
            CmpOp::Ne => CmpOp::Ne,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
        }
    }

    /// Whether `a op b` holds, given `a.cmp(b)`.
    pub fn holds(self, ord: Ordering) -> bool {
        match self {
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::Ne => ord != Ordering::Equal,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
        }
    }

    fn from_name(name: &str) -> Option<CmpOp> {
        CmpOp::ALL.into_iter().find(|op| op.as_str() == name)
    }
}

impl fmt::Display for TextField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for IntField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CmpOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A checked query: a condition on one machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// A constant: `t`, `(and)`, `(or)`, or a comparison of two literals such as `(= "1" "1")`.
    Const(bool),
    /// All conditions hold; an empty `And` is true. The parser never produces an empty one.
    And(Vec<Filter>),
    /// Some condition holds; an empty `Or` is false. The parser never produces an empty one (`(or)` is
    /// `Const(true)`, as in the original).
    Or(Vec<Filter>),
    /// `field op value` on a text field, byte-wise (binary collation). False when the field is NULL.
    Text {
        /// The field, the left operand.
        field: TextField,
        /// The comparison.
        op: CmpOp,
        /// The string literal, the right operand.
        value: String,
    },
    /// `field op value` on an integer field.
    Int {
        /// The field, the left operand.
        field: IntField,
        /// The comparison.
        op: CmpOp,
        /// The integer literal, the right operand.
        value: i64,
    },
    /// `field` contains `substring` (case-sensitive; `%` and `_` are ordinary characters, so a SQL `LIKE`
    /// translation must escape them). False when the field is NULL.
    Like {
        /// The field searched.
        field: TextField,
        /// The plain substring looked for; `""` matches every non-NULL value.
        substring: String,
    },
    /// `field IS NULL`, or `field IS NOT NULL` when `negated`.
    IsNull {
        /// The field tested.
        field: Field,
        /// `true` for `IS NOT NULL`.
        negated: bool,
    },
}

/// What a [`Filter`] needs to know about a machine to evaluate it in memory.
pub trait MachineFacts {
    /// The value of a text field; `None` is SQL NULL.
    fn text(&self, f: TextField) -> Option<&str>;
    /// The value of an integer field (never NULL).
    fn int(&self, f: IntField) -> i64;
}

impl Filter {
    /// Evaluates the filter against one machine, with the meaning the SQL translation must have. A comparison
    /// involving NULL is unknown in SQL; as the language has no negation, treating unknown as false gives the
    /// same set of machines.
    pub fn matches(&self, m: &dyn MachineFacts) -> bool {
        match self {
            Filter::Const(b) => *b,
            Filter::And(all) => all.iter().all(|f| f.matches(m)),
            Filter::Or(any) => any.iter().any(|f| f.matches(m)),
            Filter::Text { field, op, value } => m
                .text(*field)
                .is_some_and(|s| op.holds(s.as_bytes().cmp(value.as_bytes()))),
            Filter::Int { field, op, value } => op.holds(m.int(*field).cmp(value)),
            Filter::Like { field, substring } => m
                .text(*field)
                .is_some_and(|s| s.contains(substring.as_str())),
            Filter::IsNull { field, negated } => {
                let is_null = match field {
                    Field::Text(f) => m.text(*f).is_none(),
                    Field::Int(_) => false,
                };
                is_null != *negated
            }
        }
    }
}

/// Prints the filter as query text. [`parse`] reads it back to an equal filter, except that an empty `And`
/// (printed `(and)`) comes back as `Const(true)` and an empty `Or` (printed, like `Const(false)`, as
/// `(= 0 1)`) as `Const(false)`. `Const(true)` prints as `t`.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Const(true) => f.write_str("t"),
            Filter::Const(false) => f.write_str("(= 0 1)"),
            Filter::Or(items) if items.is_empty() => f.write_str("(= 0 1)"),
            Filter::And(items) | Filter::Or(items) => {
                f.write_str(if matches!(self, Filter::And(_)) {
                    "(and"
                } else {
                    "(or"
                })?;
                for item in items {
                    write!(f, " {item}")?;
                }
                f.write_str(")")
            }
            Filter::Text { field, op, value } => {
                write!(f, "({op} {field} ")?;
                write_string(f, value)?;
                f.write_str(")")
            }
            Filter::Int { field, op, value } => write!(f, "({op} {field} {value})"),
            Filter::Like { field, substring } => {
                write!(f, "(=~ {field} ")?;
                write_string(f, substring)?;
                f.write_str(")")
            }
            Filter::IsNull { field, negated } => {
                write!(f, "({} {field} nil)", if *negated { "!=" } else { "=" })
            }
        }
    }
}

fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '"' => f.write_str("\\\"")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
