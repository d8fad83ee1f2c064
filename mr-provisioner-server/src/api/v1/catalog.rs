//! The catalog of API v1: one table of operations from which both the routes and the
//! OpenAPI document are built, so the document cannot drift from what is served. Request
//! schemas come from the same [`Schema`] values that check request bodies; response schemas
//! from the response types.

use std::collections::BTreeMap;

use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem::{EndpointExt, Response, Route, RouteMethod};
use serde_json::{Map, Value, json};

use super::{admin, assignee, image, interface, machine, power, preseed};
use crate::api::body::{Schema, Ty};

/// What an operation takes as its body.
pub(crate) enum Body {
    /// Nothing.
    None,
    /// A JSON object checked against this schema.
    Json(&'static Schema),
    /// The image upload form: a JSON field `q` with this schema, then a file part `file`.
    Upload(&'static Schema),
}

/// What a successful answer carries.
pub(crate) enum Reply {
    /// No body.
    Empty,
    /// One object of this component schema.
    One(&'static str),
    /// A list of objects of this component schema.
    List(&'static str),
}

/// One operation of the API.
pub(crate) struct Op {
    pub(crate) method: Method,
    /// The path under `/api/v1`, in poem's syntax (`/machine/:id`).
    pub(crate) path: &'static str,
    pub(crate) tag: &'static str,
    pub(crate) summary: &'static str,
    /// Who may call it, in words (the policy decides).
    pub(crate) who: &'static str,
    pub(crate) auth: bool,
    pub(crate) query: &'static [(&'static str, &'static str)],
    pub(crate) body: Body,
    pub(crate) status: u16,
    pub(crate) reply: Reply,
    pub(crate) endpoint: fn() -> BoxEndpoint<'static, Response>,
}

macro_rules! ep {
    ($h:expr) => {
        || $h.map_to_response().boxed()
    };
}

const SHOW_ALL: &[(&str, &str)] = &[(
    "show_all",
    "`true` (any case): everything the caller may see; otherwise only the caller's own",
)];
const PAGE: &[(&str, &str)] = &[
    (
        "before",
        "only entries with a smaller id (the last id of the previous page)",
    ),
    ("limit", "at most this many (1 to 500, default 100)"),
];
const ANY: &str = "any user";
const ADMIN: &str = "administrators";
const ASSIGNEE: &str = "the machine's assignees and administrators";
const OWNER: &str = "the owner and administrators";

/// Every operation.
pub(crate) fn ops() -> Vec<Op> {
    use Method as M;
    let op = |method: Method,
              path: &'static str,
              tag: &'static str,
              summary: &'static str,
              who: &'static str,
              body: Body,
              status: u16,
              reply: Reply,
              endpoint: fn() -> BoxEndpoint<'static, Response>| Op {
        method,
        path,
        tag,
        summary,
        who,
        auth: true,
        query: &[],
        body,
        status,
        reply,
        endpoint,
    };
    let with_query = |mut o: Op, q: &'static [(&'static str, &'static str)]| {
        o.query = q;
        o
    };
    vec![
        Op {
            auth: false,
            ..op(
                M::GET,
                "/openapi.json",
                "documentation",
                "This OpenAPI document",
                "anyone",
                Body::None,
                200,
                Reply::Empty,
                ep!(super::openapi_json),
            )
        },
        Op {
            auth: false,
            ..op(
                M::GET,
                "/docs",
                "documentation",
                "Browsable documentation of the API",
                "anyone",
                Body::None,
                200,
                Reply::Empty,
                ep!(super::docs_page),
            )
        },
        with_query(
            op(
                M::GET,
                "/machine",
                "machines",
                "List machines (the caller's assigned ones, or all with show_all), filtered by the query language `q`",
                ANY,
                Body::None,
                200,
                Reply::List("Machine"),
                ep!(machine::list),
            ),
            &[
                (
                    "show_all",
                    "`true` (any case): every machine; otherwise the caller's assigned machines",
                ),
                (
                    "q",
                    "a query-language filter, e.g. `(and (= arch \"arm64\") (= assignee_count 0))`",
                ),
            ],
        ),
        op(
            M::POST,
            "/machine",
            "machines",
            "Create a machine",
            ADMIN,
            Body::Json(&machine::CREATE),
            201,
            Reply::One("Machine"),
            ep!(machine::create),
        ),
        op(
            M::POST,
            "/machine/reservation",
            "machines",
            "Reserve the first free machine matching a query, optionally until a time",
            ANY,
            Body::Json(&machine::RESERVE),
            200,
            Reply::One("Machine"),
            ep!(machine::reserve),
        ),
        op(
            M::GET,
            "/machine/:id",
            "machines",
            "Get a machine",
            ANY,
            Body::None,
            200,
            Reply::One("Machine"),
            ep!(machine::get_one),
        ),
        op(
            M::PUT,
            "/machine/:id",
            "machines",
            "Change provisioning settings (kernel, initrd, installer config, kernel options, subarch, netboot)",
            ASSIGNEE,
            Body::Json(&machine::UPDATE),
            200,
            Reply::One("Machine"),
            ep!(machine::update),
        ),
        op(
            M::PATCH,
            "/machine/:id",
            "machines",
            "Change inventory data (name, arch, BMC)",
            ADMIN,
            Body::Json(&machine::INVENTORY),
            200,
            Reply::One("Machine"),
            ep!(machine::update_inventory),
        ),
        op(
            M::DELETE,
            "/machine/:id",
            "machines",
            "Delete a machine",
            ADMIN,
            Body::None,
            204,
            Reply::Empty,
            ep!(machine::remove),
        ),
        op(
            M::GET,
            "/machine/:id/interface",
            "interfaces",
            "List a machine's interfaces",
            ANY,
            Body::None,
            200,
            Reply::List("Interface"),
            ep!(interface::list),
        ),
        op(
            M::POST,
            "/machine/:id/interface",
            "interfaces",
            "Add an interface",
            ADMIN,
            Body::Json(&interface::CREATE),
            201,
            Reply::One("Interface"),
            ep!(interface::create),
        ),
        op(
            M::GET,
            "/machine/:id/interface/:iid",
            "interfaces",
            "Get an interface",
            ANY,
            Body::None,
            200,
            Reply::One("Interface"),
            ep!(interface::get_one),
        ),
        op(
            M::PUT,
            "/machine/:id/interface/:iid",
            "interfaces",
            "Change identifier and IPv4 configuration (`auto` picks a free address); MAC and network for administrators",
            ASSIGNEE,
            Body::Json(&interface::UPDATE),
            200,
            Reply::One("Interface"),
            ep!(interface::update),
        ),
        op(
            M::DELETE,
            "/machine/:id/interface/:iid",
            "interfaces",
            "Remove an interface",
            ADMIN,
            Body::None,
            204,
            Reply::Empty,
            ep!(interface::remove),
        ),
        op(
            M::GET,
            "/machine/:id/assignee",
            "assignments",
            "List who holds a machine",
            ANY,
            Body::None,
            200,
            Reply::List("Assignee"),
            ep!(assignee::list),
        ),
        op(
            M::POST,
            "/machine/:id/assignee",
            "assignments",
            "Assign a machine to a user",
            ADMIN,
            Body::Json(&assignee::CREATE),
            201,
            Reply::One("Assignee"),
            ep!(assignee::create),
        ),
        op(
            M::GET,
            "/machine/:id/assignee/:aid",
            "assignments",
            "Get an assignment (`self`: the caller's)",
            ANY,
            Body::None,
            200,
            Reply::One("Assignee"),
            ep!(assignee::get_one),
        ),
        op(
            M::PUT,
            "/machine/:id/assignee/:aid",
            "assignments",
            "Change an assignment's reason and end",
            "the holder and administrators",
            Body::Json(&assignee::UPDATE),
            200,
            Reply::One("Assignee"),
            ep!(assignee::update),
        ),
        op(
            M::DELETE,
            "/machine/:id/assignee/:aid",
            "assignments",
            "End an assignment (release the machine with `self`)",
            "the holder and administrators",
            Body::None,
            204,
            Reply::Empty,
            ep!(assignee::remove),
        ),
        op(
            M::GET,
            "/machine/:id/power",
            "power",
            "Read the power state",
            ANY,
            Body::None,
            200,
            Reply::One("StateJson"),
            ep!(power::status),
        ),
        op(
            M::POST,
            "/machine/:id/power",
            "power",
            "Power on, off, reboot, or reboot into PXE, BIOS or disk",
            ASSIGNEE,
            Body::Json(&power::POWER),
            202,
            Reply::One("StateJson"),
            ep!(power::change),
        ),
        op(
            M::GET,
            "/machine/:id/state",
            "power",
            "Read the provisioning state",
            ANY,
            Body::None,
            200,
            Reply::One("StateJson"),
            ep!(power::get_state),
        ),
        op(
            M::POST,
            "/machine/:id/state",
            "power",
            "Provision: netboot on, state provisioning, PXE reboot",
            ASSIGNEE,
            Body::Json(&power::PROVISION),
            202,
            Reply::One("StateJson"),
            ep!(power::provision),
        ),
        op(
            M::PUT,
            "/machine/:id/state",
            "power",
            "Set the state (ready, error, unknown)",
            ASSIGNEE,
            Body::Json(&power::SET_STATE),
            200,
            Reply::One("StateJson"),
            ep!(power::set_state),
        ),
        op(
            M::POST,
            "/machine/:id/console",
            "power",
            "Get a single-use console token",
            ASSIGNEE,
            Body::None,
            200,
            Reply::One("ConsoleJson"),
            ep!(power::console),
        ),
        with_query(
            op(
                M::GET,
                "/machine/:id/event",
                "machines",
                "A machine's events, newest first",
                ASSIGNEE,
                Body::None,
                200,
                Reply::List("EventJson"),
                ep!(admin::logs::events),
            ),
            PAGE,
        ),
        with_query(
            op(
                M::GET,
                "/image",
                "images",
                "List images",
                ANY,
                Body::None,
                200,
                Reply::List("Image"),
                ep!(image::list),
            ),
            SHOW_ALL,
        ),
        op(
            M::POST,
            "/image",
            "images",
            "Upload an image (multipart: `q` then `file`)",
            ANY,
            Body::Upload(&image::META),
            201,
            Reply::One("Image"),
            ep!(image::upload),
        ),
        op(
            M::GET,
            "/image/:id",
            "images",
            "Get an image",
            "anyone who may see it (owner, public, administrators)",
            Body::None,
            200,
            Reply::One("Image"),
            ep!(image::get_one),
        ),
        op(
            M::PUT,
            "/image/:id",
            "images",
            "Change an image's metadata",
            OWNER,
            Body::Json(&image::UPDATE),
            200,
            Reply::One("Image"),
            ep!(image::update),
        ),
        op(
            M::DELETE,
            "/image/:id",
            "images",
            "Delete an image and its file",
            OWNER,
            Body::None,
            204,
            Reply::Empty,
            ep!(image::remove),
        ),
        with_query(
            op(
                M::GET,
                "/preseed",
                "installer configs",
                "List installer configs",
                ANY,
                Body::None,
                200,
                Reply::List("Preseed"),
                ep!(preseed::list),
            ),
            SHOW_ALL,
        ),
        op(
            M::POST,
            "/preseed",
            "installer configs",
            "Create an installer config",
            ANY,
            Body::Json(&preseed::CREATE),
            201,
            Reply::One("Preseed"),
            ep!(preseed::create),
        ),
        op(
            M::GET,
            "/preseed/:id",
            "installer configs",
            "Get an installer config",
            "anyone who may see it (owner, public, administrators)",
            Body::None,
            200,
            Reply::One("Preseed"),
            ep!(preseed::get_one),
        ),
        op(
            M::PUT,
            "/preseed/:id",
            "installer configs",
            "Change an installer config",
            OWNER,
            Body::Json(&preseed::UPDATE),
            200,
            Reply::One("Preseed"),
            ep!(preseed::update),
        ),
        op(
            M::DELETE,
            "/preseed/:id",
            "installer configs",
            "Delete an installer config",
            OWNER,
            Body::None,
            204,
            Reply::Empty,
            ep!(preseed::remove),
        ),
        op(
            M::GET,
            "/user",
            "users",
            "List users (administrators: all; others: themselves)",
            ANY,
            Body::None,
            200,
            Reply::List("UserJson"),
            ep!(admin::users::list),
        ),
        op(
            M::POST,
            "/user",
            "users",
            "Create a user (a password is generated and returned once if none is given)",
            ADMIN,
            Body::Json(&admin::users::CREATE),
            201,
            Reply::One("UserJson"),
            ep!(admin::users::create),
        ),
        op(
            M::GET,
            "/user/:id",
            "users",
            "Get a user (`self`: the caller)",
            "the user and administrators",
            Body::None,
            200,
            Reply::One("UserJson"),
            ep!(admin::users::get_one),
        ),
        op(
            M::PUT,
            "/user/:id",
            "users",
            "Change a user (email, SSH key; username and admin flag for administrators)",
            "the user and administrators",
            Body::Json(&admin::users::UPDATE),
            200,
            Reply::One("UserJson"),
            ep!(admin::users::update),
        ),
        op(
            M::DELETE,
            "/user/:id",
            "users",
            "Delete a user",
            ADMIN,
            Body::None,
            204,
            Reply::Empty,
            ep!(admin::users::remove),
        ),
        op(
            M::PUT,
            "/user/:id/password",
            "users",
            "Set a password (one's own needs the current one)",
            "the user and administrators",
            Body::Json(&admin::users::PASSWORD),
            204,
            Reply::Empty,
            ep!(admin::users::set_password),
        ),
        op(
            M::GET,
            "/token",
            "users",
            "List the caller's API tokens",
            ANY,
            Body::None,
            200,
            Reply::List("TokenJson"),
            ep!(admin::users::tokens),
        ),
        op(
            M::POST,
            "/token",
            "users",
            "Create an API token (its secret is in this answer only)",
            ANY,
            Body::Json(&admin::users::TOKEN),
            201,
            Reply::One("TokenJson"),
            ep!(admin::users::create_token),
        ),
        op(
            M::DELETE,
            "/token/:id",
            "users",
            "Revoke an API token",
            "its owner and administrators",
            Body::None,
            204,
            Reply::Empty,
            ep!(admin::users::revoke_token),
        ),
        op(
            M::GET,
            "/bmc",
            "BMCs",
            "List BMCs (never their passwords)",
            ADMIN,
            Body::None,
            200,
            Reply::List("BmcJson"),
            ep!(admin::bmcs::list),
        ),
        op(
            M::POST,
            "/bmc",
            "BMCs",
            "Create a BMC",
            ADMIN,
            Body::Json(&admin::bmcs::CREATE),
            201,
            Reply::One("BmcJson"),
            ep!(admin::bmcs::create),
        ),
        op(
            M::GET,
            "/bmc/:id",
            "BMCs",
            "Get a BMC",
            ADMIN,
            Body::None,
            200,
            Reply::One("BmcJson"),
            ep!(admin::bmcs::get_one),
        ),
        op(
            M::PUT,
            "/bmc/:id",
            "BMCs",
            "Change a BMC (an absent password stays)",
            ADMIN,
            Body::Json(&admin::bmcs::UPDATE),
            200,
            Reply::One("BmcJson"),
            ep!(admin::bmcs::update),
        ),
        op(
            M::DELETE,
            "/bmc/:id",
            "BMCs",
            "Delete a BMC",
            ADMIN,
            Body::None,
            204,
            Reply::Empty,
            ep!(admin::bmcs::remove),
        ),
        op(
            M::GET,
            "/arch",
            "architectures",
            "List architectures",
            ANY,
            Body::None,
            200,
            Reply::List("ArchJson"),
            ep!(admin::archs::list),
        ),
        op(
            M::POST,
            "/arch",
            "architectures",
            "Create an architecture",
            ADMIN,
            Body::Json(&admin::archs::ARCH),
            201,
            Reply::One("ArchJson"),
            ep!(admin::archs::create),
        ),
        op(
            M::GET,
            "/arch/:id",
            "architectures",
            "Get an architecture",
            ANY,
            Body::None,
            200,
            Reply::One("ArchJson"),
            ep!(admin::archs::get_one),
        ),
        op(
            M::PUT,
            "/arch/:id",
            "architectures",
            "Change an architecture",
            ADMIN,
            Body::Json(&admin::archs::ARCH_UPDATE),
            200,
            Reply::One("ArchJson"),
            ep!(admin::archs::update),
        ),
        op(
            M::DELETE,
            "/arch/:id",
            "architectures",
            "Delete an architecture and its subarchs",
            ADMIN,
            Body::None,
            204,
            Reply::Empty,
            ep!(admin::archs::remove),
        ),
        op(
            M::GET,
            "/arch/:id/subarch",
            "architectures",
            "List an architecture's subarchs",
            ANY,
            Body::None,
            200,
            Reply::List("SubarchJson"),
            ep!(admin::archs::subarchs),
        ),
        op(
            M::POST,
            "/arch/:id/subarch",
            "architectures",
            "Create a subarch",
            ADMIN,
            Body::Json(&admin::archs::SUBARCH),
            201,
            Reply::One("SubarchJson"),
            ep!(admin::archs::create_subarch),
        ),
        op(
            M::GET,
            "/subarch/:id",
            "architectures",
            "Get a subarch",
            ANY,
            Body::None,
            200,
            Reply::One("SubarchJson"),
            ep!(admin::archs::get_subarch),
        ),
        op(
            M::PUT,
            "/subarch/:id",
            "architectures",
            "Change a subarch",
            ADMIN,
            Body::Json(&admin::archs::SUBARCH_UPDATE),
            200,
            Reply::One("SubarchJson"),
            ep!(admin::archs::update_subarch),
        ),
        op(
            M::DELETE,
            "/subarch/:id",
            "architectures",
            "Delete a subarch",
            ADMIN,
            Body::None,
            204,
            Reply::Empty,
            ep!(admin::archs::remove_subarch),
        ),
        op(
            M::GET,
            "/network",
            "networks",
            "List networks",
            ANY,
            Body::None,
            200,
            Reply::List("NetworkJson"),
            ep!(admin::networks::list),
        ),
        op(
            M::POST,
            "/network",
            "networks",
            "Create a network",
            ADMIN,
            Body::Json(&admin::networks::CREATE),
            201,
            Reply::One("NetworkJson"),
            ep!(admin::networks::create),
        ),
        op(
            M::GET,
            "/network/:id",
            "networks",
            "Get a network",
            ANY,
            Body::None,
            200,
            Reply::One("NetworkJson"),
            ep!(admin::networks::get_one),
        ),
        op(
            M::PUT,
            "/network/:id",
            "networks",
            "Change a network",
            ADMIN,
            Body::Json(&admin::networks::UPDATE),
            200,
            Reply::One("NetworkJson"),
            ep!(admin::networks::update),
        ),
        op(
            M::DELETE,
            "/network/:id",
            "networks",
            "Delete a network",
            ADMIN,
            Body::None,
            204,
            Reply::Empty,
            ep!(admin::networks::remove),
        ),
        with_query(
            op(
                M::GET,
                "/network/:id/available",
                "networks",
                "Free addresses of a network's pools",
                ANY,
                Body::None,
                200,
                Reply::One("AvailableJson"),
                ep!(admin::networks::available),
            ),
            &[
                ("pool", "`static` or `reserved` (default: both)"),
                ("limit", "at most this many per pool (1 to 100, default 25)"),
            ],
        ),
        op(
            M::GET,
            "/discovered",
            "discovery",
            "MACs seen by DHCP that belong to no interface",
            ADMIN,
            Body::None,
            200,
            Reply::List("DiscoveredJson"),
            ep!(admin::logs::discovered),
        ),
        op(
            M::DELETE,
            "/discovered/:id",
            "discovery",
            "Forget a discovered MAC",
            ADMIN,
            Body::None,
            204,
            Reply::Empty,
            ep!(admin::logs::forget_discovered),
        ),
        op(
            M::POST,
            "/discovered/:id/machine",
            "discovery",
            "Turn a discovered MAC into a machine",
            ADMIN,
            Body::Json(&admin::logs::ADOPT),
            201,
            Reply::One("Machine"),
            ep!(admin::logs::adopt_discovered),
        ),
        op(
            M::GET,
            "/dhcp/kea",
            "discovery",
            "State of the stock-Kea integration (host reservations and leases)",
            ADMIN,
            Body::None,
            200,
            Reply::One("KeaStatusJson"),
            ep!(admin::kea::kea_status),
        ),
        op(
            M::POST,
            "/dhcp/kea/sync",
            "discovery",
            "Sync Kea's host reservations and read its leases now",
            ADMIN,
            Body::None,
            200,
            Reply::One("KeaStatusJson"),
            ep!(admin::kea::kea_sync),
        ),
        op(
            M::GET,
            "/assignment",
            "assignments",
            "Every assignment (administrators) or the caller's",
            ANY,
            Body::None,
            200,
            Reply::List("AssignmentJson"),
            ep!(admin::logs::assignments),
        ),
        with_query(
            op(
                M::GET,
                "/audit",
                "audit",
                "The audit log, newest first",
                ADMIN,
                Body::None,
                200,
                Reply::List("AuditJson"),
                ep!(admin::logs::audit),
            ),
            PAGE,
        ),
    ]
}

/// The routes of every operation.
pub(crate) fn routes() -> Route {
    let mut by_path: BTreeMap<&'static str, RouteMethod> = BTreeMap::new();
    let mut with_get = std::collections::HashSet::new();
    for op in ops() {
        if op.method == Method::GET {
            with_get.insert(op.path);
        }
        let entry = by_path.remove(op.path).unwrap_or_default();
        by_path.insert(op.path, entry.method(op.method.clone(), (op.endpoint)()));
    }
    // As in the original, a GET on a path that has no GET operation reaches the
    // authenticated catch-all (404), not "method not allowed".
    for (path, methods) in by_path.iter_mut() {
        if !with_get.contains(path) {
            let m = std::mem::take(methods);
            *methods = m.get(super::catch_all);
        }
    }
    by_path
        .into_iter()
        .fold(Route::new(), |route, (path, methods)| {
            route.at(path, methods)
        })
}

fn field_schema(ty: Ty, nullable: bool) -> Value {
    let mut s = match ty {
        Ty::Bool => json!({"type": "boolean"}),
        Ty::Str(min, max) => json!({"type": "string", "minLength": min, "maxLength": max}),
        Ty::OneOf(values) => json!({"type": "string", "enum": values}),
        Ty::Id => {
            json!({"type": "integer", "format": "int64", "description": "an id (a JSON integer or a string of digits)"})
        }
        Ty::Seconds => json!({"type": "integer", "minimum": 1, "description": "seconds"}),
        Ty::Time => json!({"type": "string", "format": "date-time"}),
        Ty::Ipv4OrAuto => {
            json!({"type": "string", "description": "a dotted-quad IPv4 address, or `auto`"})
        }
        Ty::Mac => {
            json!({"type": "string", "description": "a MAC address such as aa:bb:cc:dd:ee:ff"})
        }
    };
    if nullable && let Value::Object(m) = &mut s {
        let t = m.get("type").cloned().unwrap_or(Value::Null);
        m.insert("type".into(), json!([t, "null"]));
    }
    s
}

/// The JSON schema of a request body schema.
pub(crate) fn body_schema(schema: &Schema) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in schema.fields {
        props.insert(f.name.into(), field_schema(f.ty, f.nullable));
        if f.required {
            required.push(f.name);
        }
    }
    json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": !schema.strict,
    })
}

fn component_schemas() -> Map<String, Value> {
    use utoipa::ToSchema;
    fn add<T: ToSchema>(m: &mut Map<String, Value>) {
        m.insert(
            T::name().into_owned(),
            serde_json::to_value(T::schema()).unwrap_or(Value::Null),
        );
    }
    let mut m = Map::new();
    add::<super::json::MachineJson>(&mut m);
    add::<super::json::InterfaceJson>(&mut m);
    add::<super::json::AssigneeJson>(&mut m);
    add::<super::json::ImageJson>(&mut m);
    add::<super::json::PreseedJson>(&mut m);
    add::<super::json::StateJson>(&mut m);
    add::<power::ConsoleJson>(&mut m);
    add::<admin::users::UserJson>(&mut m);
    add::<admin::users::TokenJson>(&mut m);
    add::<admin::bmcs::BmcJson>(&mut m);
    add::<admin::archs::ArchJson>(&mut m);
    add::<admin::archs::SubarchJson>(&mut m);
    add::<admin::networks::NetworkJson>(&mut m);
    add::<admin::networks::AvailableJson>(&mut m);
    add::<admin::logs::DiscoveredJson>(&mut m);
    add::<admin::kea::KeaStatusJson>(&mut m);
    add::<admin::kea::KeaSyncJson>(&mut m);
    add::<admin::logs::AssignmentJson>(&mut m);
    add::<admin::logs::EventJson>(&mut m);
    add::<admin::logs::AuditJson>(&mut m);
    m.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["error_type", "errors"],
            "properties": {
                "error_type": {"type": "string", "description": "InvalidUsage, IntegrityError, SchemaError, SchemaMissingKeyError, SchemaWrongKeyError, SchemaUnexpectedTypeError, JSONDecodeError, BMCError, NotFound, Unauthenticated, Unavailable, InternalError, ..."},
                "errors": {"type": "array", "items": {"type": "string"}},
            },
        }),
    );
    m
}

/// `/machine/:id` as OpenAPI writes it: `/machine/{id}`.
fn openapi_path(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None => seg.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn operation(op: &Op) -> Value {
    let mut params: Vec<Value> = op
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix(':'))
        .map(|name| {
            json!({"name": name, "in": "path", "required": true,
                   "schema": {"type": "string"},
                   "description": if name == "aid" { "an assignment id, or `self`" } else if name == "id" && op.path.starts_with("/user") { "a user id, or `self`" } else { "an id" }})
        })
        .collect();
    params.extend(op.query.iter().map(|(name, description)| {
        json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}, "description": description})
    }));
    let mut o = json!({
        "tags": [op.tag],
        "summary": op.summary,
        "description": format!("Who: {}.", op.who),
        "operationId": format!("{}{}", op.method.as_str().to_lowercase(), op.path.replace(['/', ':'], "_")),
        "parameters": params,
    });
    match &op.body {
        Body::None => {}
        Body::Json(schema) => {
            o["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": body_schema(schema)}},
                "description": "JSON, whatever the Content-Type"});
        }
        Body::Upload(schema) => {
            o["requestBody"] = json!({"required": true, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["q", "file"],
            "properties": {
                "q": {"type": "string", "description": "JSON metadata; must come before `file`", "contentMediaType": "application/json", "contentSchema": body_schema(schema)},
                "file": {"type": "string", "format": "binary"},
            }}}}});
        }
    }
    let ok = match &op.reply {
        Reply::Empty => json!({"description": "done"}),
        Reply::One(name) => {
            json!({"description": "done", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}})
        }
        Reply::List(name) => {
            json!({"description": "done", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": format!("#/components/schemas/{name}")}}}}})
        }
    };
    let error = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let mut responses = Map::new();
    responses.insert(op.status.to_string(), ok);
    responses.insert("default".into(), error);
    o["responses"] = Value::Object(responses);
    if op.auth {
        o["security"] = json!([{"token": []}, {"bearer": []}]);
    } else {
        o["security"] = json!([]);
    }
    o
}

/// The OpenAPI 3.1 document of API v1.
pub(crate) fn openapi() -> Value {
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for op in ops() {
        paths
            .entry(format!("/api/v1{}", openapi_path(op.path)))
            .or_default()
            .insert(op.method.as_str().to_lowercase(), operation(&op));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "mr-provisioner REST API v1",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Wire-compatible with the original mr-provisioner's API v1 (see docs/api-compat.md for the deliberate differences), plus administrative resources.",
        },
        "paths": paths,
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "the bare token, as the original's clients send it"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_documented_once() {
        let ops = ops();
        let mut seen = std::collections::HashSet::new();
        for op in &ops {
            assert!(
                seen.insert((op.method.clone(), op.path)),
                "{} {} twice",
                op.method,
                op.path
            );
        }
        let doc = openapi();
        let count: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum();
        assert_eq!(count, ops.len());
        assert_eq!(
            openapi_path("/machine/:id/assignee/:aid"),
            "/machine/{id}/assignee/{aid}"
        );
        let put = &doc["paths"]["/api/v1/machine/{id}"]["put"];
        assert_eq!(
            put["requestBody"]["content"]["application/json"]["schema"]["properties"]["kernel_id"]
                ["type"],
            json!(["integer", "null"])
        );
        assert_eq!(doc["components"]["schemas"]["Machine"]["type"], "object");
    }
}
