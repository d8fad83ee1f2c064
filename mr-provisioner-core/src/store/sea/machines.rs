//! [`MachineStore`] on sea-orm, with the query language turned into SQL expressions.

use async_trait::async_trait;
use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, JoinType, Order, Query, SelectStatement};
use sea_orm::{
    ActiveValue::*, ColumnTrait, DbBackend, EntityTrait, FromQueryResult, Iterable, QueryFilter,
};

use super::entity::machines::{self, ActiveModel, Column, Entity};
use super::entity::{archs, bmcs, images, interfaces, preseeds, subarchs};
use super::{Conn, SeaStore, crud, error};
use crate::error::{Error, Result};
use crate::id::*;
use crate::mac::MacAddr;
use crate::model::bmc::check_bmc_info;
use crate::model::machine::{
    BootImage, BootTarget, Machine, MachineBrief, MachineSummary, NewMachine,
};
use crate::model::now;
use crate::query::{CmpOp, Field, Filter, IntField, TextField};
use crate::store::{ArchStore, MachineListQuery, MachineStore};

const KIND: &str = "machine";

pub(crate) fn to_model(r: machines::Model) -> Result<Machine> {
    Ok(Machine {
        id: MachineId(r.id),
        state: crud::parse_column("machines", "state", &r.state)?,
        name: r.name,
        arch_id: ArchId(r.arch_id),
        subarch_id: r.subarch_id.map(SubarchId),
        bmc_id: r.bmc_id.map(BmcId),
        bmc_info: r.bmc_info,
        kernel_id: r.kernel_id.map(ImageId),
        initrd_id: r.initrd_id.map(ImageId),
        preseed_id: r.preseed_id.map(PreseedId),
        kernel_opts: r.kernel_opts,
        netboot_enabled: r.netboot_enabled,
        created_at: r.created_at,
    })
}

fn row(id: sea_orm::ActiveValue<i64>, new: &NewMachine) -> ActiveModel {
    ActiveModel {
        id,
        name: Set(new.name.clone()),
        arch_id: Set(new.arch_id.0),
        subarch_id: Set(new.subarch_id.map(|i| i.0)),
        bmc_id: Set(new.bmc_id.map(|i| i.0)),
        bmc_info: Set(new.bmc_info.clone()),
        kernel_id: Set(new.kernel_id.map(|i| i.0)),
        initrd_id: Set(new.initrd_id.map(|i| i.0)),
        preseed_id: Set(new.preseed_id.map(|i| i.0)),
        kernel_opts: Set(new.kernel_opts.clone()),
        netboot_enabled: Set(new.netboot_enabled),
        state: Set(new.state.as_str().to_string()),
        created_at: NotSet,
    }
}

impl<C: Conn> SeaStore<C> {
    /// Checks a machine's references beyond what foreign keys can say: the subarch belongs
    /// to the machine's arch, and the BMC info suits the BMC's kind.
    async fn check_machine(&self, new: &NewMachine) -> Result<()> {
        new.validate()?;
        self.arch_get(new.arch_id)
            .await
            .map_err(|_| Error::invalid("arch", format!("no arch with id {}", new.arch_id)))?;
        if let Some(sid) = new.subarch_id {
            let sub = self
                .subarch_get(sid)
                .await
                .map_err(|_| Error::invalid("subarch", format!("no subarch with id {sid}")))?;
            if sub.arch_id != new.arch_id {
                return Err(Error::invalid(
                    "subarch",
                    format!("subarch {} belongs to another arch", sub.name),
                ));
            }
        }
        match new.bmc_id {
            Some(bid) => {
                use sea_orm::QuerySelect;
                let bmc = bmcs::Entity::find_by_id(bid.0)
                    .lock_shared()
                    .one(self.db())
                    .await
                    .map_err(error::other)?
                    .ok_or_else(|| Error::invalid("bmc", format!("no BMC with id {bid}")))?;
                let kind: mr_provisioner_ipmi::BmcKind =
                    crud::parse_column("bmcs", "kind", &bmc.kind)?;
                check_bmc_info(kind, &new.bmc_info)?;
            }
            None if !new.bmc_info.is_empty() => {
                return Err(Error::invalid("bmc_info", "BMC info needs a BMC"));
            }
            None => {}
        }
        Ok(())
    }
}

#[derive(Debug, FromQueryResult)]
pub(crate) struct SummaryRow {
    id: i64,
    name: String,
    arch_id: i64,
    subarch_id: Option<i64>,
    bmc_id: Option<i64>,
    bmc_info: String,
    kernel_id: Option<i64>,
    initrd_id: Option<i64>,
    preseed_id: Option<i64>,
    kernel_opts: String,
    netboot_enabled: bool,
    state: String,
    created_at: chrono::DateTime<chrono::Utc>,
    arch_name: String,
    subarch_name: Option<String>,
}

impl SummaryRow {
    pub(crate) fn into_summary(self) -> Result<MachineSummary> {
        let machine = to_model(machines::Model {
            id: self.id,
            name: self.name,
            arch_id: self.arch_id,
            subarch_id: self.subarch_id,
            bmc_id: self.bmc_id,
            bmc_info: self.bmc_info,
            kernel_id: self.kernel_id,
            initrd_id: self.initrd_id,
            preseed_id: self.preseed_id,
            kernel_opts: self.kernel_opts,
            netboot_enabled: self.netboot_enabled,
            state: self.state,
            created_at: self.created_at,
        })?;
        Ok(MachineSummary {
            machine,
            arch: self.arch_name,
            subarch: self.subarch_name,
        })
    }
}

/// `(SELECT COUNT(*) FROM <table> WHERE <table>.machine_id = machines.id)`.
fn count_of(table: &'static str) -> Expr {
    // Constant SQL: no user input is interpolated; values are bound elsewhere.
    Expr::cust(format!(
        r#"(SELECT COUNT(*) FROM "{table}" WHERE "{table}"."machine_id" = "machines"."id")"#
    ))
}

/// A custom SQL expression with `?` placeholders for `args`. sea-query substitutes `?` for
/// SQLite and numbered `$n` for PostgreSQL, so the template is adapted to the backend.
fn custom(backend: DbBackend, template: &str, args: impl IntoIterator<Item = Expr>) -> Expr {
    if backend != DbBackend::Postgres {
        return Expr::cust_with_exprs(template.to_string(), args);
    }
    let mut n = 0;
    let mut out = String::with_capacity(template.len() + 4);
    for c in template.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    Expr::cust_with_exprs(out, args)
}

fn text_expr(field: TextField, backend: DbBackend) -> Expr {
    match field {
        TextField::Name => Expr::col((machines::Entity, machines::Column::Name)),
        TextField::Arch => Expr::col((archs::Entity, archs::Column::Name)),
        // Machines without a BMC have the empty BMC type, as in the original.
        TextField::BmcType => custom(
            backend,
            "COALESCE(?, '')",
            [Expr::col((bmcs::Entity, bmcs::Column::Kind))],
        ),
    }
}

fn int_expr(field: IntField) -> Expr {
    match field {
        IntField::AssigneeCount => count_of("assignments"),
        IntField::InterfaceCount => count_of("interfaces"),
    }
}

fn compare(lhs: Expr, op: CmpOp, rhs: Expr) -> Expr {
    match op {
        CmpOp::Eq => lhs.eq(rhs),
        CmpOp::Ne => lhs.ne(rhs),
        CmpOp::Gt => lhs.gt(rhs),
        CmpOp::Ge => lhs.gte(rhs),
        CmpOp::Lt => lhs.lt(rhs),
        CmpOp::Le => lhs.lte(rhs),
    }
}

/// Turns a query-language filter into a condition. Values are always bound parameters.
fn condition(filter: &Filter, backend: DbBackend) -> Cond {
    match filter {
        Filter::Const(true) => Cond::all(),
        Filter::Const(false) => Cond::all().add(Expr::cust("1 = 0")),
        Filter::And(parts) => parts
            .iter()
            .fold(Cond::all(), |c, p| c.add(condition(p, backend))),
        // The parser turns `(or)` into `Const(true)`; an empty `Or` built by hand is false,
        // as `Filter::matches` says.
        Filter::Or(parts) if parts.is_empty() => Cond::all().add(Expr::cust("1 = 0")),
        Filter::Or(parts) => parts
            .iter()
            .fold(Cond::any(), |c, p| c.add(condition(p, backend))),
        Filter::Text { field, op, value } => {
            let mut lhs = text_expr(*field, backend);
            if backend == DbBackend::Postgres && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                // Byte order, as SQLite's default collation, not the locale's.
                lhs = custom(backend, r#"? COLLATE "C""#, [lhs]);
            }
            Cond::all().add(compare(lhs, *op, Expr::val(value.clone())))
        }
        Filter::Int { field, op, value } => {
            Cond::all().add(compare(int_expr(*field), *op, Expr::val(*value)))
        }
        Filter::Like { field, substring } => {
            // A case-sensitive substring test with no wildcards (LIKE would need escaping and
            // is case-insensitive on SQLite).
            let func = match backend {
                DbBackend::Postgres => "strpos(?, ?) > 0",
                _ => "instr(?, ?) > 0",
            };
            Cond::all().add(custom(
                backend,
                func,
                [text_expr(*field, backend), Expr::val(substring.clone())],
            ))
        }
        Filter::IsNull { field, negated } => {
            let e = match field {
                Field::Text(t) => text_expr(*t, backend),
                Field::Int(i) => int_expr(*i),
            };
            Cond::all().add(if *negated {
                e.is_not_null()
            } else {
                e.is_null()
            })
        }
    }
}

pub(crate) fn list_statement(query: &MachineListQuery, backend: DbBackend) -> SelectStatement {
    let mut q = Query::select();
    q.columns([
        (machines::Entity, Column::Id),
        (machines::Entity, Column::Name),
        (machines::Entity, Column::ArchId),
        (machines::Entity, Column::SubarchId),
        (machines::Entity, Column::BmcId),
        (machines::Entity, Column::BmcInfo),
        (machines::Entity, Column::KernelId),
        (machines::Entity, Column::InitrdId),
        (machines::Entity, Column::PreseedId),
        (machines::Entity, Column::KernelOpts),
        (machines::Entity, Column::NetbootEnabled),
        (machines::Entity, Column::State),
        (machines::Entity, Column::CreatedAt),
    ])
    .expr_as(
        Expr::col((archs::Entity, archs::Column::Name)),
        Alias::new("arch_name"),
    )
    .expr_as(
        Expr::col((subarchs::Entity, subarchs::Column::Name)),
        Alias::new("subarch_name"),
    )
    .from(machines::Entity)
    .join(
        JoinType::InnerJoin,
        archs::Entity,
        Expr::col((archs::Entity, archs::Column::Id)).equals((machines::Entity, Column::ArchId)),
    )
    .join(
        JoinType::LeftJoin,
        subarchs::Entity,
        Expr::col((subarchs::Entity, subarchs::Column::Id))
            .equals((machines::Entity, Column::SubarchId)),
    )
    .join(
        JoinType::LeftJoin,
        bmcs::Entity,
        Expr::col((bmcs::Entity, bmcs::Column::Id)).equals((machines::Entity, Column::BmcId)),
    )
    .order_by((machines::Entity, Column::Id), Order::Asc);
    if let Some(user) = query.assigned_to {
        q.and_where(custom(
            backend,
            r#"EXISTS (SELECT 1 FROM "assignments" WHERE "assignments"."machine_id" = "machines"."id" AND "assignments"."user_id" = ?)"#,
            [Expr::val(user.0)],
        ));
    }
    if query.only_free {
        q.and_where(Expr::cust(
            r#"NOT EXISTS (SELECT 1 FROM "assignments" WHERE "assignments"."machine_id" = "machines"."id")"#,
        ));
    }
    if let Some(f) = &query.filter {
        q.cond_where(condition(f, backend));
    }
    if let Some(limit) = query.limit {
        q.limit(crud::clamp_limit(limit));
    }
    q
}

/// The machine with an interface of MAC `mac`, with its arch and subarch names, kernel and
/// initrd, and installer config kind.
/// What booting needs, per interface: of the interface with `mac`, or of every interface.
fn boot_statement(mac: Option<MacAddr>) -> SelectStatement {
    let (k, i, l) = (
        Alias::new("kernel"),
        Alias::new("initrd"),
        Alias::new("bootloader"),
    );
    let col = |t: &Alias, c: images::Column| Expr::col((t.clone(), c));
    let mut q = Query::select();
    q.columns(Column::iter().map(|c| (machines::Entity, c)))
        .expr_as(
            Expr::col((archs::Entity, archs::Column::Name)),
            Alias::new("boot_arch"),
        )
        .expr_as(
            Expr::col((subarchs::Entity, subarchs::Column::Name)),
            Alias::new("boot_subarch"),
        )
        .expr_as(
            Expr::col((subarchs::Entity, subarchs::Column::Efiboot)),
            Alias::new("boot_efiboot"),
        );
    for (t, prefix) in [(&k, "boot_kernel"), (&i, "boot_initrd")] {
        q.expr_as(
            col(t, images::Column::Filename),
            Alias::new(format!("{prefix}_filename")),
        )
        .expr_as(
            col(t, images::Column::Description),
            Alias::new(format!("{prefix}_description")),
        )
        .expr_as(
            col(t, images::Column::KnownGood),
            Alias::new(format!("{prefix}_known_good")),
        );
    }
    q.expr_as(
        Expr::col((preseeds::Entity, preseeds::Column::Kind)),
        Alias::new("boot_installer"),
    )
    .expr_as(
        col(&l, images::Column::Filename),
        Alias::new("boot_bootloader"),
    );
    for (c, name) in [
        (interfaces::Column::StaticIpv4, "boot_static_ipv4"),
        (interfaces::Column::ReservedIpv4, "boot_reserved_ipv4"),
        (interfaces::Column::NetworkId, "boot_network_id"),
        (interfaces::Column::Mac, "boot_mac"),
    ] {
        q.expr_as(Expr::col((interfaces::Entity, c)), Alias::new(name));
    }
    q.from(interfaces::Entity)
        .join(
            JoinType::InnerJoin,
            machines::Entity,
            Expr::col((machines::Entity, Column::Id))
                .equals((interfaces::Entity, interfaces::Column::MachineId)),
        )
        .join(
            JoinType::InnerJoin,
            archs::Entity,
            Expr::col((archs::Entity, archs::Column::Id))
                .equals((machines::Entity, Column::ArchId)),
        )
        .join(
            JoinType::LeftJoin,
            subarchs::Entity,
            Expr::col((subarchs::Entity, subarchs::Column::Id))
                .equals((machines::Entity, Column::SubarchId)),
        )
        .join_as(
            JoinType::LeftJoin,
            images::Entity,
            k.clone(),
            col(&k, images::Column::Id).equals((machines::Entity, Column::KernelId)),
        )
        .join_as(
            JoinType::LeftJoin,
            images::Entity,
            i.clone(),
            col(&i, images::Column::Id).equals((machines::Entity, Column::InitrdId)),
        )
        .join(
            JoinType::LeftJoin,
            preseeds::Entity,
            Expr::col((preseeds::Entity, preseeds::Column::Id))
                .equals((machines::Entity, Column::PreseedId)),
        )
        .join_as(
            JoinType::LeftJoin,
            images::Entity,
            l.clone(),
            col(&l, images::Column::Id).equals((subarchs::Entity, subarchs::Column::BootloaderId)),
        );
    match mac {
        Some(mac) => {
            q.and_where(
                Expr::col((interfaces::Entity, interfaces::Column::Mac)).eq(mac.to_string()),
            );
        }
        None => {
            q.order_by((interfaces::Entity, interfaces::Column::Id), Order::Asc);
        }
    }
    q
}

/// One row of [`boot_statement`]: the interface's MAC and what booting it needs.
fn boot_target(row: &sea_orm::QueryResult) -> Result<(MacAddr, BootTarget)> {
    let machine = to_model(machines::Model::from_query_result(row, "").map_err(error::other)?)?;
    let text = |c: &str| row.try_get::<Option<String>>("", c).map_err(error::other);
    let flag = |c: &str| {
        row.try_get::<Option<bool>>("", c)
            .map(|b| b.unwrap_or(false))
            .map_err(error::other)
    };
    let image = |prefix: &str| -> Result<Option<BootImage>> {
        let Some(filename) = text(&format!("{prefix}_filename"))? else {
            return Ok(None);
        };
        Ok(Some(BootImage {
            filename,
            description: text(&format!("{prefix}_description"))?,
            known_good: flag(&format!("{prefix}_known_good"))?,
        }))
    };
    let target = BootTarget {
        arch: text("boot_arch")?.unwrap_or_default(),
        subarch: text("boot_subarch")?,
        efiboot: flag("boot_efiboot")?,
        kernel: image("boot_kernel")?,
        initrd: image("boot_initrd")?,
        installer: text("boot_installer")?
            .map(|k| crud::parse_column("preseeds", "kind", &k))
            .transpose()?,
        bootloader: text("boot_bootloader")?,
        static_ipv4: text("boot_static_ipv4")?
            .map(|a| crud::parse_column("interfaces", "static_ipv4", &a))
            .transpose()?,
        reserved_ipv4: text("boot_reserved_ipv4")?
            .map(|a| crud::parse_column("interfaces", "reserved_ipv4", &a))
            .transpose()?,
        network_id: row
            .try_get::<Option<i64>>("", "boot_network_id")
            .map_err(error::other)?
            .map(NetworkId),
        machine,
    };
    let mac = text("boot_mac")?.unwrap_or_default();
    Ok((crud::parse_column("interfaces", "mac", &mac)?, target))
}

/// One machine of a brief listing as the database writes it: a JSON array in column order.
/// Booleans come as `true`/`false` from PostgreSQL and `1`/`0` from SQLite.
#[derive(serde::Deserialize)]
struct BriefRow(
    i64,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    String,
    serde_json::Value,
);

impl BriefRow {
    fn into_brief(self) -> MachineBrief {
        MachineBrief {
            id: MachineId(self.0),
            name: self.1,
            arch: self.2,
            subarch: self.3,
            kernel_id: self.4.map(ImageId),
            initrd_id: self.5.map(ImageId),
            preseed_id: self.6.map(PreseedId),
            kernel_opts: self.7,
            netboot_enabled: matches!(self.8, serde_json::Value::Bool(true))
                || self.8.as_i64().is_some_and(|n| n != 0),
        }
    }
}

/// The listing as one JSON text built by the database: one value to transfer instead of
/// thousands (the row-by-row transfer dominated the cost of large listings).
fn brief_statement(query: &MachineListQuery, backend: DbBackend) -> SelectStatement {
    let inner = list_statement(query, backend);
    let cols = r#""id", "name", "arch_name", "subarch_name", "kernel_id", "initrd_id", "preseed_id", "kernel_opts", "netboot_enabled""#;
    let aggregate = match backend {
        DbBackend::Postgres => format!(r#"json_agg(json_build_array({cols}) ORDER BY "id")::text"#),
        _ => format!("json_group_array(json_array({cols}))"),
    };
    Query::select()
        .expr_as(Expr::cust(aggregate), Alias::new("list"))
        .from_subquery(inner, Alias::new("listing"))
        .to_owned()
}

#[async_trait]
impl<C: Conn> MachineStore for SeaStore<C> {
    async fn machine_create(&self, new: &NewMachine) -> Result<Machine> {
        let tx = self.begin_tx().await?;
        tx.check_machine(new).await?;
        let mut row = row(NotSet, new);
        row.created_at = Set(now());
        let m = to_model(crud::insert(tx.db(), row, KIND).await?)?;
        tx.conn.commit().await.map_err(error::other)?;
        Ok(m)
    }

    async fn machine_get(&self, id: MachineId) -> Result<Machine> {
        to_model(crud::get::<Entity, _>(self.db(), id.0, KIND).await?)
    }

    async fn machine_by_name(&self, name: &str) -> Result<Option<Machine>> {
        crud::one(
            self.db(),
            Entity::find().filter(Column::Name.eq(name)),
            to_model,
        )
        .await
    }

    async fn machine_list(&self, query: &MachineListQuery) -> Result<Vec<MachineSummary>> {
        let backend = self.db().get_database_backend();
        let stmt = backend.build(&list_statement(query, backend));
        SummaryRow::find_by_statement(stmt)
            .all(self.db())
            .await
            .map_err(error::other)?
            .into_iter()
            .map(SummaryRow::into_summary)
            .collect()
    }

    async fn machine_list_brief(&self, query: &MachineListQuery) -> Result<Vec<MachineBrief>> {
        let backend = self.db().get_database_backend();
        let stmt = backend.build(&brief_statement(query, backend));
        let Some(row) = self.db().query_one_raw(stmt).await.map_err(error::other)? else {
            return Ok(Vec::new());
        };
        let text: Option<String> = row.try_get("", "list").map_err(error::other)?;
        let Some(text) = text else {
            return Ok(Vec::new());
        };
        let rows: Vec<BriefRow> = serde_json::from_str(&text)
            .map_err(|e| Error::internal("machine listing is not the JSON expected", e))?;
        Ok(rows.into_iter().map(BriefRow::into_brief).collect())
    }

    async fn machine_boot_by_mac(&self, mac: MacAddr) -> Result<Option<BootTarget>> {
        let backend = self.db().get_database_backend();
        let stmt = backend.build(&boot_statement(Some(mac)));
        let Some(row) = self.db().query_one_raw(stmt).await.map_err(error::other)? else {
            return Ok(None);
        };
        boot_target(&row).map(|(_, target)| Some(target))
    }

    async fn machine_boot_list(&self) -> Result<Vec<(MacAddr, BootTarget)>> {
        let backend = self.db().get_database_backend();
        let stmt = backend.build(&boot_statement(None));
        let rows = self.db().query_all_raw(stmt).await.map_err(error::other)?;
        rows.iter().map(boot_target).collect()
    }

    async fn machine_update(&self, id: MachineId, new: &NewMachine) -> Result<Machine> {
        let tx = self.begin_tx().await?;
        tx.check_machine(new).await?;
        let m = to_model(crud::update(tx.db(), row(Unchanged(id.0), new), KIND, id.0).await?)?;
        tx.conn.commit().await.map_err(error::other)?;
        Ok(m)
    }

    async fn machine_delete(&self, id: MachineId) -> Result<()> {
        crud::delete::<Entity, _>(self.db(), id.0, KIND).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend() {
        let q = MachineListQuery {
            assigned_to: Some(UserId(3)),
            filter: crate::query::parse("(and (=~ name \"x\") (> bmc_type \"a\"))").unwrap(),
            ..Default::default()
        };
        for b in [DbBackend::Sqlite, DbBackend::Postgres] {
            let st = b.build(&list_statement(&q, b));
            let values = st.values.map(|v| v.0.len()).unwrap_or(0);
            assert_eq!(values, 3, "{b:?}: every value is bound: {}", st.sql);
            let marks = match b {
                DbBackend::Postgres => (1..=3).all(|i| st.sql.contains(&format!("${i}"))),
                _ => st.sql.matches('?').count() == 3,
            };
            assert!(marks, "{b:?}: {}", st.sql);
            assert!(
                !st.sql.contains("'x'") && !st.sql.contains("'a'"),
                "{}",
                st.sql
            );
        }
    }
}
