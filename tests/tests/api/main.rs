//! REST API v1 against the real application on both backends.

mod machine_list;
