//! REST API v1 against the real application on both backends.

mod endpoints_admin;
mod endpoints_assignee;
mod endpoints_images;
mod endpoints_interface;
mod endpoints_inventory;
mod endpoints_machine;
mod endpoints_power;
mod errors;
mod kea;
mod machine_list;
mod original;
mod query_fuzz;
mod reservation;
mod roles;
mod world;
