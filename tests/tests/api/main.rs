//! REST API v1 against the real application on both backends.

mod errors;
mod machine_list;
