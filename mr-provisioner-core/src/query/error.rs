//! The query error type.

use super::{MAX_DEPTH, MAX_QUERY_LEN};

/// A malformed query. `Display` is a short message meant for the API client; offsets are byte offsets into the
/// query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The query is longer than [`MAX_QUERY_LEN`].
    #[error("query is too long: {len} bytes, at most {MAX_QUERY_LEN} allowed")]
    TooLong {
        /// The query's length in bytes.
        len: usize,
    },
    /// The query holds only whitespace and comments.
    #[error("failed to parse query: it contains no expression")]
    NoExpression,
    /// A second top-level expression follows the first.
    #[error(
        "failed to parse query: unexpected second expression at offset {offset} (combine conditions with `and` or `or`)"
    )]
    TrailingExpression {
        /// Where the second expression starts.
        offset: usize,
    },
    /// Lists, brackets or quotes nested deeper than [`MAX_DEPTH`].
    #[error("query nested too deeply (more than {MAX_DEPTH} levels) at offset {offset}")]
    TooDeep {
        /// Where the first too-deep opening is.
        offset: usize,
    },
    /// A `(` or `[` is never closed.
    #[error("unbalanced parenthesis: `{open}` at offset {offset} is never closed")]
    Unclosed {
        /// `(` or `[`.
        open: char,
        /// Where it is.
        offset: usize,
    },
    /// A `)` or `]` closes nothing.
    #[error("unbalanced parenthesis: unexpected `{found}` at offset {offset}")]
    UnexpectedClose {
        /// `)` or `]`.
        found: char,
        /// Where it is.
        offset: usize,
    },
    /// A `(` closed by `]` or a `[` closed by `)`.
    #[error("mismatched parenthesis: expected `{expected}`, found `{found}` at offset {offset}")]
    MismatchedClose {
        /// The closing character needed.
        expected: char,
        /// The closing character found.
        found: char,
        /// Where it is.
        offset: usize,
    },
    /// A string has no closing `"`.
    #[error("unterminated string starting at offset {offset}")]
    UnterminatedString {
        /// Where the opening `"` is.
        offset: usize,
    },
    /// A `'` with no expression after it.
    #[error("quote at offset {offset} is not followed by an expression")]
    DanglingQuote {
        /// Where the `'` is.
        offset: usize,
    },
    /// An integer literal outside the 64-bit range.
    #[error("integer `{}` at offset {offset} is out of range", excerpt(literal))]
    IntegerOutOfRange {
        /// The literal as written.
        literal: String,
        /// Where it is.
        offset: usize,
    },
    /// `nan`, `inf` or a float too large to represent.
    #[error("non-finite number `{}` at offset {offset}", excerpt(literal))]
    NonFiniteNumber {
        /// The literal as written.
        literal: String,
        /// Where it is.
        offset: usize,
    },
    /// A `[...]` or `'expr` reached evaluation.
    #[error("brackets/quote are not supported in queries (at offset {offset})")]
    Unsupported {
        /// Where it is.
        offset: usize,
    },
    /// `()` where an operation is expected.
    #[error("empty expression `()` at offset {offset}")]
    EmptyList {
        /// Where the `(` is.
        offset: usize,
    },
    /// A list whose first element is not a symbol.
    #[error("expected an operation name, found {found} (at offset {offset})")]
    OperatorNotSymbol {
        /// What was found instead.
        found: String,
        /// Where it is.
        offset: usize,
    },
    /// A list whose first element is a symbol that names no operation.
    #[error("`{}` is not a valid operation (at offset {offset})", excerpt(name))]
    UnknownOperator {
        /// The symbol.
        name: String,
        /// Where it is.
        offset: usize,
    },
    /// A symbol in operand position that names no field (and is not `nil`).
    #[error("unknown field `{}` at offset {offset}", excerpt(name))]
    UnknownField {
        /// The symbol.
        name: String,
        /// Where it is.
        offset: usize,
    },
    /// A comparison or `=~` without exactly two operands.
    #[error("`{op}` takes exactly 2 arguments, got {got} (at offset {offset})")]
    WrongArity {
        /// The operator.
        op: &'static str,
        /// The number of operands given.
        got: usize,
        /// Where the list starts.
        offset: usize,
    },
    /// Something other than a condition at the top level or as an argument of `and`/`or`.
    #[error("expected a condition, found {found} (at offset {offset})")]
    NotACondition {
        /// What was found instead.
        found: String,
        /// Where it is.
        offset: usize,
    },
    /// A list as an operand of a comparison.
    #[error("expected a field or a literal, found {found} (at offset {offset})")]
    InvalidOperand {
        /// What was found instead.
        found: String,
        /// Where it is.
        offset: usize,
    },
    /// A field compared with a literal of the wrong type.
    #[error("`{field}` can only be compared with {expected}, not {found} (at offset {offset})")]
    TypeMismatch {
        /// The field's name.
        field: &'static str,
        /// The kind of literal the field needs.
        expected: &'static str,
        /// What it was compared with.
        found: String,
        /// Where the offending operand is.
        offset: usize,
    },
    /// An ordering comparison with `nil`.
    #[error("`{op}` cannot be used with `nil`, only `=` and `!=` can (at offset {offset})")]
    NilOrdering {
        /// The operator.
        op: &'static str,
        /// Where the comparison starts.
        offset: usize,
    },
    /// A comparison of two fields.
    #[error("cannot compare two fields (at offset {offset})")]
    FieldComparison {
        /// Where the comparison starts.
        offset: usize,
    },
    /// A comparison of two literals of different types.
    #[error("cannot compare {left} with {right} (at offset {offset})")]
    LiteralMismatch {
        /// The left operand.
        left: String,
        /// The right operand.
        right: String,
        /// Where the comparison starts.
        offset: usize,
    },
    /// `=~` whose first operand is not a text field.
    #[error("`=~` needs a text field as its first argument, found {found} (at offset {offset})")]
    LikeField {
        /// What was found instead.
        found: String,
        /// Where it is.
        offset: usize,
    },
    /// `=~` whose second operand is not a string literal.
    #[error("`=~` needs a string as its second argument, found {found} (at offset {offset})")]
    LikePattern {
        /// What was found instead.
        found: String,
        /// Where it is.
        offset: usize,
    },
}

impl QueryError {
    /// The byte offset in the query the error points at, if any.
    pub fn offset(&self) -> Option<usize> {
        match self {
            QueryError::TooLong { .. } | QueryError::NoExpression => None,
            QueryError::TrailingExpression { offset }
            | QueryError::TooDeep { offset }
            | QueryError::Unclosed { offset, .. }
            | QueryError::UnexpectedClose { offset, .. }
            | QueryError::MismatchedClose { offset, .. }
            | QueryError::UnterminatedString { offset }
            | QueryError::DanglingQuote { offset }
            | QueryError::IntegerOutOfRange { offset, .. }
            | QueryError::NonFiniteNumber { offset, .. }
            | QueryError::Unsupported { offset }
            | QueryError::EmptyList { offset }
            | QueryError::OperatorNotSymbol { offset, .. }
            | QueryError::UnknownOperator { offset, .. }
            | QueryError::UnknownField { offset, .. }
            | QueryError::WrongArity { offset, .. }
            | QueryError::NotACondition { offset, .. }
            | QueryError::InvalidOperand { offset, .. }
            | QueryError::TypeMismatch { offset, .. }
            | QueryError::NilOrdering { offset, .. }
            | QueryError::FieldComparison { offset }
            | QueryError::LiteralMismatch { offset, .. }
            | QueryError::LikeField { offset, .. }
            | QueryError::LikePattern { offset, .. } => Some(*offset),
        }
    }
}

/// Longest piece of query text echoed in an error message, in characters.
const EXCERPT_CHARS: usize = 40;

/// `text`, cut to [`EXCERPT_CHARS`] characters (with `…`) so that messages stay short.
pub(super) fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
