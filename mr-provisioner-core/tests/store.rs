//! Store integration tests: every aggregate of the [`Store`] on a fresh SQLite database and
//! on a fresh PostgreSQL database (`MRP_TEST_POSTGRES`), plus the schema checks.
//!
//! [`Store`]: mr_provisioner_core::store::Store

mod store {
    pub(crate) mod fixtures;

    mod archs;
    mod assignments;
    mod bmcs;
    mod brief;
    mod console_tokens;
    mod dhcp;
    mod events;
    mod images;
    mod interfaces;
    mod machine_list;
    mod machines;
    mod networks;
    mod preseeds;
    mod races;
    mod schema;
    mod timestamps;
    mod tokens;
    mod transactions;
    mod users;
}
