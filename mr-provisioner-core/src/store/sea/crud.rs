//! Generic create/read/update/delete on sea-orm entities with domain errors.

use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    PrimaryKeyTrait,
};

use super::error::{self, Op};
use crate::error::{Error, Result};

/// The row of `E` with primary key `id`, or `NotFound` for `kind`.
pub(crate) async fn get<E, C>(db: &C, id: i64, kind: &'static str) -> Result<E::Model>
where
    E: EntityTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
    C: ConnectionTrait,
{
    E::find_by_id(id)
        .one(db)
        .await
        .map_err(error::other)?
        .ok_or_else(|| Error::not_found(kind, id))
}

/// Inserts a row.
pub(crate) async fn insert<A, C>(
    db: &C,
    row: A,
    kind: &'static str,
) -> Result<<A::Entity as EntityTrait>::Model>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
    C: ConnectionTrait,
{
    row.insert(db)
        .await
        .map_err(|e| error::map(e, Op::Write(kind)))
}

/// Updates a row (its primary key must be set); `NotFound` if it is gone.
pub(crate) async fn update<A, C>(
    db: &C,
    row: A,
    kind: &'static str,
    id: i64,
) -> Result<<A::Entity as EntityTrait>::Model>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
    C: ConnectionTrait,
{
    row.update(db).await.map_err(|e| match e {
        DbErr::RecordNotUpdated | DbErr::RecordNotFound(_) => Error::not_found(kind, id),
        e => error::map(e, Op::Write(kind)),
    })
}

/// Deletes the row with primary key `id`; `NotFound` if there is none, `Conflict` if
/// something still refers to it.
pub(crate) async fn delete<E, C>(db: &C, id: i64, kind: &'static str) -> Result<()>
where
    E: EntityTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
    C: ConnectionTrait,
{
    let res = E::delete_by_id(id)
        .exec(db)
        .await
        .map_err(|e| error::map(e, Op::Delete(kind)))?;
    if res.rows_affected == 0 {
        return Err(Error::not_found(kind, id));
    }
    Ok(())
}

/// Parses a stored value with `FromStr`, reporting corrupt data as an internal error.
pub(crate) fn parse_column<T>(table: &str, column: &str, value: &str) -> Result<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e: T::Err| {
        Error::bug(format!("corrupt value in {table}.{column}: {value:?}: {e}"))
    })
}

/// Like [`parse_column`] for a nullable column.
pub(crate) fn parse_opt<T>(table: &str, column: &str, value: Option<&str>) -> Result<Option<T>>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value.map(|v| parse_column(table, column, v)).transpose()
}

/// The first row `select` finds, converted with `convert`.
pub(crate) async fn one<E, C, T>(
    db: &C,
    select: sea_orm::Select<E>,
    convert: impl FnOnce(E::Model) -> Result<T>,
) -> Result<Option<T>>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    select
        .one(db)
        .await
        .map_err(super::error::other)?
        .map(convert)
        .transpose()
}

/// Every row `select` finds, converted with `convert`.
pub(crate) async fn all<E, C, T>(
    db: &C,
    select: sea_orm::Select<E>,
    convert: impl FnMut(E::Model) -> Result<T>,
) -> Result<Vec<T>>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    select
        .all(db)
        .await
        .map_err(super::error::other)?
        .into_iter()
        .map(convert)
        .collect()
}

/// A row limit the database accepts: SQL limits are signed 64-bit, and a larger one means
/// "no limit" anyway.
pub(crate) fn clamp_limit(limit: u64) -> u64 {
    std::cmp::min(limit, i64::MAX as u64)
}
