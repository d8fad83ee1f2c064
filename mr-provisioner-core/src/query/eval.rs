//! Checking S-expressions and turning them into filters.

use std::cmp::Ordering;

use super::read::{Atom, Sexp};
use super::{CmpOp, Field, Filter, IntField, QueryError};

/// An operand of a comparison.
enum Operand {
    Field(Field),
    Nil,
    Str(String),
    Int(i64),
    Float(f64),
    Bool,
}

/// Checks an expression in condition position and turns it into a filter.
pub(super) fn condition(e: &Sexp) -> Result<Filter, QueryError> {
    match e {
        Sexp::List(items, offset) => operation(items, *offset),
        Sexp::Atom(Atom::True, _) => Ok(Filter::Const(true)),
        Sexp::Unsupported(offset) => Err(QueryError::Unsupported { offset: *offset }),
        other => Err(QueryError::NotACondition {
            found: other.describe(),
            offset: other.offset(),
        }),
    }
}

fn operation(items: &[Sexp], offset: usize) -> Result<Filter, QueryError> {
    let Some((head, args)) = items.split_first() else {
        return Err(QueryError::EmptyList { offset });
    };
    let name = match head {
        Sexp::Atom(Atom::Symbol(name), _) => name.as_str(),
        Sexp::Unsupported(o) => return Err(QueryError::Unsupported { offset: *o }),
        other => {
            return Err(QueryError::OperatorNotSymbol {
                found: other.describe(),
                offset: other.offset(),
            });
        }
    };
    match name {
        "and" | "or" if args.is_empty() => Ok(Filter::Const(true)),
        "and" => args
            .iter()
            .map(condition)
            .collect::<Result<_, _>>()
            .map(Filter::And),
        "or" => args
            .iter()
            .map(condition)
            .collect::<Result<_, _>>()
            .map(Filter::Or),
        "=~" => like(args, offset),
        _ => match CmpOp::from_name(name) {
            Some(op) => compare(op, args, offset),
            None => Err(QueryError::UnknownOperator {
                name: name.to_owned(),
                offset: head.offset(),
            }),
        },
    }
}

fn two_args<'e>(
    op: &'static str,
    args: &'e [Sexp],
    offset: usize,
) -> Result<[&'e Sexp; 2], QueryError> {
    match args {
        [a, b] => Ok([a, b]),
        _ => Err(QueryError::WrongArity {
            op,
            got: args.len(),
            offset,
        }),
    }
}

fn operand(e: &Sexp) -> Result<Operand, QueryError> {
    match e {
        Sexp::Atom(Atom::Symbol(s), _) if s == "nil" => Ok(Operand::Nil),
        Sexp::Atom(Atom::Symbol(s), offset) => {
            Field::from_name(s)
                .map(Operand::Field)
                .ok_or_else(|| QueryError::UnknownField {
                    name: s.clone(),
                    offset: *offset,
                })
        }
        Sexp::Atom(Atom::True, _) => Ok(Operand::Bool),
        Sexp::Atom(Atom::Int(v), _) => Ok(Operand::Int(*v)),
        Sexp::Atom(Atom::Float(v), _) => Ok(Operand::Float(*v)),
        Sexp::Str(s, _) => Ok(Operand::Str(s.clone())),
        Sexp::Unsupported(offset) => Err(QueryError::Unsupported { offset: *offset }),
        Sexp::List(..) => Err(QueryError::InvalidOperand {
            found: e.describe(),
            offset: e.offset(),
        }),
    }
}

fn compare(op: CmpOp, args: &[Sexp], offset: usize) -> Result<Filter, QueryError> {
    let [left, right] = two_args(op.as_str(), args, offset)?;
    match (operand(left)?, operand(right)?) {
        (Operand::Field(_), Operand::Field(_)) => Err(QueryError::FieldComparison { offset }),
        (Operand::Field(field), value) => compare_field(field, op, value, right, offset),
        (value, Operand::Field(field)) => compare_field(field, op.flip(), value, left, offset),
        (a, b) => compare_literals(op, &a, &b, [left, right], offset).map(Filter::Const),
    }
}

/// `field op value`, where `value` was read from `value_sexp`.
fn compare_field(
    field: Field,
    op: CmpOp,
    value: Operand,
    value_sexp: &Sexp,
    offset: usize,
) -> Result<Filter, QueryError> {
    match (field, value) {
        (_, Operand::Nil) => match op {
            CmpOp::Eq => Ok(Filter::IsNull {
                field,
                negated: false,
            }),
            CmpOp::Ne => Ok(Filter::IsNull {
                field,
                negated: true,
            }),
            _ => Err(QueryError::NilOrdering {
                op: op.as_str(),
                offset,
            }),
        },
        (Field::Text(field), Operand::Str(value)) => Ok(Filter::Text { field, op, value }),
        (Field::Int(field), Operand::Int(value)) => Ok(Filter::Int { field, op, value }),
        (Field::Int(field), Operand::Float(value)) => Ok(int_vs_float(field, op, value)),
        (field, _) => Err(QueryError::TypeMismatch {
            field: field.as_str(),
            expected: match field {
                Field::Text(_) => "a string",
                Field::Int(_) => "a number",
            },
            found: value_sexp.describe(),
            offset: value_sexp.offset(),
        }),
    }
}

/// 2^63 as a float: integral floats in `[-2^63, 2^63)` convert to `i64` exactly.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// An integral float's place relative to the `i64` range.
enum Bound {
    Below,
    In(i64),
    Above,
}

fn bound(integral: f64) -> Bound {
    if integral >= TWO_POW_63 {
        Bound::Above
    } else if integral < -TWO_POW_63 {
        Bound::Below
    } else {
        // Exact: `integral` is a whole number inside the i64 range.
        Bound::In(integral as i64)
    }
}

/// `field op value` for an integer field and a finite float, as the equivalent integer comparison.
fn int_vs_float(field: IntField, op: CmpOp, value: f64) -> Filter {
    let int = |op, value| Filter::Int { field, op, value };
    let integral = value.floor() == value;
    match (op, bound(value.floor()), bound(value.ceil())) {
        // x = v only if v is a whole number in range.
        (CmpOp::Eq | CmpOp::Ne, Bound::In(v), _) if integral => int(op, v),
        (CmpOp::Eq, ..) => Filter::Const(false),
        (CmpOp::Ne, ..) => Filter::Const(true),
        // x > v <=> x > floor(v); x <= v <=> x <= floor(v).
        (CmpOp::Gt | CmpOp::Le, Bound::In(v), _) => int(op, v),
        (CmpOp::Gt, Bound::Below, _) | (CmpOp::Le, Bound::Above, _) => Filter::Const(true),
        (CmpOp::Gt | CmpOp::Le, ..) => Filter::Const(false),
        // x >= v <=> x >= ceil(v); x < v <=> x < ceil(v).
        (CmpOp::Ge | CmpOp::Lt, _, Bound::In(v)) => int(op, v),
        (CmpOp::Ge, _, Bound::Below) | (CmpOp::Lt, _, Bound::Above) => Filter::Const(true),
        (CmpOp::Ge | CmpOp::Lt, ..) => Filter::Const(false),
    }
}

/// Exact comparison of an integer with a finite float.
fn cmp_int_float(i: i64, f: f64) -> Ordering {
    let floor = f.floor();
    match bound(floor) {
        Bound::Above => Ordering::Less,
        Bound::Below => Ordering::Greater,
        Bound::In(fl) => i.cmp(&fl).then(if f > floor {
            Ordering::Less
        } else {
            Ordering::Equal
        }),
    }
}

fn compare_literals(
    op: CmpOp,
    a: &Operand,
    b: &Operand,
    sexps: [&Sexp; 2],
    offset: usize,
) -> Result<bool, QueryError> {
    let ord = match (a, b) {
        (Operand::Nil, _) | (_, Operand::Nil) => {
            let both = matches!((a, b), (Operand::Nil, Operand::Nil));
            return match op {
                CmpOp::Eq => Ok(both),
                CmpOp::Ne => Ok(!both),
                _ => Err(QueryError::NilOrdering {
                    op: op.as_str(),
                    offset,
                }),
            };
        }
        (Operand::Str(x), Operand::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Operand::Int(x), Operand::Int(y)) => x.cmp(y),
        (Operand::Int(x), Operand::Float(y)) => cmp_int_float(*x, *y),
        (Operand::Float(x), Operand::Int(y)) => cmp_int_float(*y, *x).reverse(),
        (Operand::Float(x), Operand::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Operand::Bool, Operand::Bool) => Ordering::Equal,
        _ => {
            return Err(QueryError::LiteralMismatch {
                left: sexps[0].describe(),
                right: sexps[1].describe(),
                offset,
            });
        }
    };
    Ok(op.holds(ord))
}

fn like(args: &[Sexp], offset: usize) -> Result<Filter, QueryError> {
    let [target, pattern] = two_args("=~", args, offset)?;
    let field = match operand(target)? {
        Operand::Field(Field::Text(field)) => field,
        _ => {
            return Err(QueryError::LikeField {
                found: target.describe(),
                offset: target.offset(),
            });
        }
    };
    match pattern {
        Sexp::Str(substring, _) => Ok(Filter::Like {
            field,
            substring: substring.clone(),
        }),
        Sexp::Unsupported(o) => Err(QueryError::Unsupported { offset: *o }),
        other => Err(QueryError::LikePattern {
            found: other.describe(),
            offset: other.offset(),
        }),
    }
}
