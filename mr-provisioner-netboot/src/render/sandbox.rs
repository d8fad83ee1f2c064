//! The installer-config sandbox, and how undefined values are found and reported.
//!
//! The text is rendered once with chainable undefined values, so an undefined variable or
//! attribute renders as empty and rendering goes on, as with the original's Jinja2.
//!
//! Undefined values are then found by strict passes over the same template. The context is
//! wrapped in objects that record each lookup that finds nothing (the path, such as `foo`,
//! `kernel.nope` or `interfaces[].gateway`, where `[]` stands for any item). A strict pass
//! stops at the first use of an undefined value with its line; the last recorded lookup that
//! the failing expression names is the culprit. It is reported, then defined as an empty
//! value for the next pass, which goes on to the next one. A use that no recorded lookup
//! explains (an attribute of `none`, e.g. `kernel.filename` without a kernel) is reported
//! with the failing expression's text and ends the search. At most [`MAX_REPORTED`] are
//! reported. Strict mode fails on exactly the uses the original logged (printing, iterating,
//! testing for truth, string coercion), not on `is defined` or `default`.

use std::collections::{BTreeSet, HashSet};
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use minijinja::value::{Enumerator, Object, ObjectRepr, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};

use super::{InstallerContext, RenderError, Rendered, TemplateIssue};

/// The name installer templates get in error messages.
const NAME: &str = "installer config";

/// At most this many undefined values are reported for one render.
pub(super) const MAX_REPORTED: usize = 16;

/// Resource limits of the installer-config sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxLimits {
    /// minijinja fuel (roughly, instructions) for one render; a template that runs out fails
    /// with [`RenderError::Failed`].
    pub fuel: u64,
    /// The largest rendered output, in bytes.
    pub max_output: usize,
}

impl Default for SandboxLimits {
    /// 2,000,000 fuel (well under a second) and 1 MiB of output: installer configs are a few
    /// kilobytes.
    fn default() -> Self {
        SandboxLimits {
            fuel: 2_000_000,
            max_output: 1 << 20,
        }
    }
}

/// An environment with no templates and no loader, so `include`, `import` and `extends`
/// find nothing.
fn environment<'s>(undefined: UndefinedBehavior, limits: &SandboxLimits) -> Environment<'s> {
    let mut env = Environment::new();
    env.set_undefined_behavior(undefined);
    env.set_fuel(Some(limits.fuel));
    // `debug()` would print the environment; nothing but the context is in scope.
    env.remove_global("debug");
    env
}

pub(super) fn render(
    source: &str,
    ctx: &InstallerContext,
    limits: &SandboxLimits,
) -> Result<Rendered, RenderError> {
    let env = environment(UndefinedBehavior::Chainable, limits);
    let tmpl = env
        .template_from_named_str(NAME, source)
        .map_err(|e| render_error(&e))?;
    let ctx = Value::from_serialize(ctx);
    let mut out = CappedWriter::new(limits.max_output);
    if let Err(e) = tmpl.render_captured_to(&ctx, &mut out) {
        if out.exceeded {
            return Err(RenderError::Failed {
                message: format!("the output is larger than {} bytes", limits.max_output),
                line: e.line(),
            });
        }
        return Err(render_error(&e));
    }
    let text = String::from_utf8_lossy(&out.buf).into_owned();
    Ok(Rendered {
        text,
        undefined: find_undefined(source, ctx, limits),
    })
}

/// Maps a minijinja error to ours, without minijinja's "(in name:line)" suffix.
pub(super) fn render_error(e: &Error) -> RenderError {
    let detail = || match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    match e.kind() {
        ErrorKind::SyntaxError => RenderError::Syntax {
            message: e
                .detail()
                .map_or_else(|| e.kind().to_string(), str::to_string),
            line: e.line().unwrap_or(1),
        },
        ErrorKind::OutOfFuel => RenderError::Failed {
            message: "the template ran out of fuel: it runs too long (a huge or endless loop?)"
                .into(),
            line: e.line(),
        },
        ErrorKind::TemplateNotFound | ErrorKind::BadInclude => RenderError::Failed {
            message: format!(
                "include, import and extends are not available: a template is rendered alone ({})",
                detail()
            ),
            line: e.line(),
        },
        _ => RenderError::Failed {
            message: detail(),
            line: e.line(),
        },
    }
}

/// The strict passes described in the module documentation.
fn find_undefined(source: &str, ctx: Value, limits: &SandboxLimits) -> Vec<TemplateIssue> {
    let mut env = environment(UndefinedBehavior::Strict, limits);
    // Debug mode keeps the failing expression's byte range.
    env.set_debug(true);
    let Ok(tmpl) = env.template_from_named_str(NAME, source) else {
        return Vec::new();
    };
    let tracker = Arc::new(Tracker {
        globals: env.globals().map(|(n, _)| n.to_string()).collect(),
        ..Tracker::default()
    });
    let root = Value::from_object(Recorder {
        inner: ctx,
        path: String::new(),
        tracker: tracker.clone(),
    });
    let mut issues = Vec::new();
    for _ in 0..MAX_REPORTED {
        lock(&tracker.misses).clear();
        let err = match tmpl.render_captured_to(&root, CappedWriter::new(limits.max_output)) {
            Ok(_) => return issues,
            Err(e) if e.kind() == ErrorKind::UndefinedError => e,
            // Other failures were the rendering pass's to report (or come from a defined
            // stand-in used in arithmetic): stop looking.
            Err(_) => return issues,
        };
        let expr = err
            .range()
            .and_then(|r| source.get(r))
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let culprit = {
            let misses = lock(&tracker.misses);
            let named = misses
                .iter()
                .rev()
                .find(|m| expr.is_none_or(|x| names(x, last_key(m))));
            named.cloned()
        };
        match culprit {
            Some(path) if lock(&tracker.patched).insert(path.clone()) => {
                issues.push(TemplateIssue {
                    message: format!("`{path}` is undefined"),
                    line: err.line(),
                });
            }
            _ => {
                let what = expr.map_or_else(|| "a value".to_string(), |x| format!("`{x}`"));
                issues.push(TemplateIssue {
                    message: format!("{what} is undefined"),
                    line: err.line(),
                });
                return issues;
            }
        }
    }
    issues.push(TemplateIssue {
        message: format!("only the first {MAX_REPORTED} undefined values are reported"),
        line: None,
    });
    issues
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The last key of a recorded path: `gateway` of `interfaces[].gateway`.
fn last_key(path: &str) -> &str {
    path.rsplit(['.', ']']).next().unwrap_or(path)
}

/// Whether `expr` contains `word` as a whole identifier.
fn names(expr: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    expr.match_indices(word).any(|(i, _)| {
        let before = expr[..i].chars().next_back();
        let after = expr[i + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// Lookups that found nothing, and the paths now defined as empty.
#[derive(Debug, Default)]
struct Tracker {
    misses: Mutex<Vec<String>>,
    patched: Mutex<BTreeSet<String>>,
    globals: HashSet<String>,
}

/// A map or list of the context that records failed lookups.
#[derive(Debug)]
struct Recorder {
    inner: Value,
    /// `""` for the root, else e.g. `kernel` or `interfaces[]`.
    path: String,
    tracker: Arc<Tracker>,
}

impl Recorder {
    fn wrap(&self, value: Value, path: String) -> Value {
        match value.kind() {
            ValueKind::Map | ValueKind::Seq => Value::from_object(Recorder {
                inner: value,
                path,
                tracker: self.tracker.clone(),
            }),
            _ => value,
        }
    }
}

impl Object for Recorder {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        match self.inner.kind() {
            ValueKind::Seq => ObjectRepr::Seq,
            _ => ObjectRepr::Map,
        }
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        if self.inner.kind() == ValueKind::Seq {
            let item = self
                .inner
                .get_item(key)
                .ok()
                .filter(|v| !v.is_undefined())?;
            return Some(self.wrap(item, format!("{}[]", self.path)));
        }
        let name = key.as_str().map_or_else(|| key.to_string(), str::to_string);
        let path = if self.path.is_empty() {
            name.clone()
        } else {
            format!("{}.{name}", self.path)
        };
        match self.inner.get_item(key) {
            Ok(v) if !v.is_undefined() => Some(self.wrap(v, path)),
            _ if self.path.is_empty() && self.tracker.globals.contains(&name) => None,
            _ if lock(&self.tracker.patched).contains(&path) => Some(Value::from_object(Hole)),
            _ => {
                lock(&self.tracker.misses).push(path);
                None
            }
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.inner.kind() {
            ValueKind::Seq => Enumerator::Seq(self.inner.len().unwrap_or(0)),
            _ => match self.inner.try_iter() {
                Ok(keys) => Enumerator::Values(keys.collect()),
                Err(_) => Enumerator::Empty,
            },
        }
    }

    fn is_true(self: &Arc<Self>) -> bool {
        self.inner.is_true()
    }
}

/// The stand-in for a reported undefined value in later passes: renders as empty, is false,
/// iterates as empty, and any attribute of it is another stand-in.
#[derive(Debug)]
struct Hole;

impl Object for Hole {
    fn get_value(self: &Arc<Self>, _key: &Value) -> Option<Value> {
        Some(Value::from_object(Hole))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Empty
    }

    fn render(self: &Arc<Self>, _f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Ok(())
    }
}

/// A writer that refuses to grow past `max` bytes.
struct CappedWriter {
    buf: Vec<u8>,
    max: usize,
    exceeded: bool,
}

impl CappedWriter {
    fn new(max: usize) -> Self {
        CappedWriter {
            buf: Vec::new(),
            max,
            exceeded: false,
        }
    }
}

impl io::Write for CappedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > self.max {
            self.exceeded = true;
            return Err(io::Error::other("output size limit reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
