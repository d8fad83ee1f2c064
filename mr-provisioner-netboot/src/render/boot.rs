//! The boot-template environment: compiled once, rendered many times per second.

use std::sync::Arc;

use minijinja::value::{Object, Value};
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior, context};

use super::{
    BootContext, BootMode, BootView, RenderError, bootif_value, kernel_command_line, one_line,
    template_err, template_name,
};
use crate::bootfile::Loader;

/// The embedded default templates, by name, in [`super::TEMPLATE_NAMES`] order.
pub(super) const DEFAULTS: [(&str, &str); 6] = [
    (
        "grub.netboot.tmpl",
        include_str!("templates/grub.netboot.tmpl"),
    ),
    ("grub.local.tmpl", include_str!("templates/grub.local.tmpl")),
    (
        "pxelinux.netboot.tmpl",
        include_str!("templates/pxelinux.netboot.tmpl"),
    ),
    (
        "pxelinux.local.tmpl",
        include_str!("templates/pxelinux.local.tmpl"),
    ),
    (
        "ipxe.netboot.tmpl",
        include_str!("templates/ipxe.netboot.tmpl"),
    ),
    ("ipxe.local.tmpl", include_str!("templates/ipxe.local.tmpl")),
];

/// Instructions a boot template may run: generous for a config of a few lines, but a template
/// that loops forever cannot hold a request.
const BOOT_FUEL: u64 = 100_000;

/// Builds the boot environment from `(name, source)` pairs, compiling every template.
pub(super) fn environment<'n>(
    sources: impl IntoIterator<Item = (&'n str, String)>,
) -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    // As the original's Jinja2: undefined renders as empty, even `a.b.c`.
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_fuel(Some(BOOT_FUEL));
    env.remove_global("debug");
    env.add_function("kernel_command_line", template_kernel_command_line);
    for (name, source) in sources {
        env.add_template_owned(name.to_string(), source)
            .map_err(|e| {
                let line = e.line().unwrap_or(1);
                let detail = e
                    .detail()
                    .map_or_else(|| e.kind().to_string(), str::to_string);
                template_err(name, format!("syntax error on line {line}: {detail}"))
            })?;
    }
    Ok(env)
}

/// `kernel_command_line(installer_opts, bootif, user_opts)` for templates; `none`, undefined
/// or `""` for `bootif` leaves `BOOTIF` out.
fn template_kernel_command_line(
    installer_opts: Option<String>,
    bootif: Option<String>,
    user_opts: Option<String>,
) -> String {
    kernel_command_line(
        installer_opts.as_deref().unwrap_or(""),
        bootif.as_deref(),
        user_opts.as_deref().unwrap_or(""),
    )
}

pub(super) fn render(
    env: &Environment<'static>,
    loader: Loader,
    mode: BootMode,
    ctx: &BootContext<'_>,
) -> Result<String, RenderError> {
    let mode = if ctx.machine.is_none() {
        BootMode::Local
    } else {
        mode
    };
    let name = template_name(loader, mode);
    let tmpl = env.get_template(name).map_err(|e| RenderError::Failed {
        message: e.to_string(),
        line: None,
    })?;
    let machine = ctx
        .machine
        .map_or(Value::from(()), |m| Value::from_object(Machine::new(m)));
    let server = context! {
        boot_url => ctx.server.boot_url.trim_end_matches('/'),
        tftp_server => ctx.server.tftp_server,
        // Over HTTP, GRUB's `$root` is the HTTP device (and server) its prefix names.
        file_root => if ctx.server.over_http { "($root)/boot" } else { "(tftp)" },
    };
    let mut text = tmpl
        .render(context! {
            machine,
            server,
            config => Value::from(std::collections::BTreeMap::<String, String>::new()),
            loader,
        })
        .map_err(|e| super::sandbox::render_error(&e))?;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// The `machine` variable of boot templates.
#[derive(Debug)]
struct Machine {
    view: BootView,
    bootif: String,
}

impl Machine {
    fn new(view: &BootView) -> Self {
        let mut view = view.clone();
        view.kernel_opts = one_line(&view.kernel_opts);
        view.installer_opts = one_line(&view.installer_opts);
        Machine {
            bootif: bootif_value(&view.mac).unwrap_or_default(),
            view,
        }
    }

    /// The original's `kernel_opts_all`: installer options, one space, the user's options.
    fn kernel_opts_all(&self) -> String {
        format!("{} {}", self.view.installer_opts, self.view.kernel_opts)
    }
}

const MACHINE_FIELDS: &[&str] = &[
    "id",
    "name",
    "hostname",
    "mac",
    "bootif",
    "arch",
    "subarch",
    "efi",
    "kernel",
    "initrd",
    "kernel_opts",
    "installer_opts",
];

impl Object for Machine {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let v = &self.view;
        Some(match key.as_str()? {
            "id" => Value::from(v.id),
            "name" => Value::from(v.name.as_str()),
            "hostname" => Value::from(v.hostname.as_str()),
            "mac" => Value::from(v.mac.as_str()),
            "bootif" => Value::from(self.bootif.as_str()),
            "arch" => Value::from(v.arch.as_str()),
            "subarch" => Value::from(v.subarch.as_str()),
            "efi" => Value::from(v.efi),
            "kernel" => Value::from_serialize(&v.kernel),
            "initrd" => Value::from_serialize(&v.initrd),
            "kernel_opts" => Value::from(v.kernel_opts.as_str()),
            "installer_opts" => Value::from(v.installer_opts.as_str()),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Str(MACHINE_FIELDS)
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            // The original took its app config as the argument; any one argument (or none)
            // is accepted and ignored.
            "kernel_opts_all" if args.len() <= 1 => Ok(Value::from(self.kernel_opts_all())),
            "kernel_opts_all" => Err(Error::new(
                ErrorKind::TooManyArguments,
                "kernel_opts_all takes at most one argument (config)",
            )),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}
