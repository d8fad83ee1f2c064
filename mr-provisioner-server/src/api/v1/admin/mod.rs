//! Administrative resources under `/api/v1` that the original only had in its GraphQL UI:
//! users, tokens, BMCs, archs and subarchs, networks, discovered MACs, assignments, machine
//! events and the audit log. Same error model as the rest of the API.

pub(crate) mod archs;
pub(crate) mod bmcs;
pub(crate) mod kea;
pub(crate) mod logs;
pub(crate) mod networks;
pub(crate) mod users;

/// Paging of newest-first listings: `?before=<id>&limit=<n>` (limit 1..=500, default 100).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct PageParams {
    before: Option<i64>,
    limit: Option<u64>,
}

impl PageParams {
    pub(crate) fn page(&self) -> mr_provisioner_core::store::Page {
        mr_provisioner_core::store::Page {
            before: self.before,
            limit: self.limit.unwrap_or(100).clamp(1, 500),
        }
    }
}
