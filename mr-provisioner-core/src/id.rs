//! One ID newtype per aggregate, so ids of different kinds cannot be mixed up.

macro_rules! define_id {
    ($($(#[$meta:meta])* $name:ident;)*) => {$(
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw database value.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    )*};
}

define_id! {
    /// Identifies a [`User`](crate::model::user::User).
    UserId;
    /// Identifies an [`ApiToken`](crate::model::token::ApiToken).
    TokenId;
    /// Identifies a [`Bmc`](crate::model::bmc::Bmc).
    BmcId;
    /// Identifies an [`Arch`](crate::model::arch::Arch).
    ArchId;
    /// Identifies a [`Subarch`](crate::model::arch::Subarch).
    SubarchId;
    /// Identifies an [`Image`](crate::model::image::Image).
    ImageId;
    /// Identifies a [`Preseed`](crate::model::preseed::Preseed) (installer config).
    PreseedId;
    /// Identifies a [`Machine`](crate::model::machine::Machine).
    MachineId;
    /// Identifies an [`Assignment`](crate::model::assignment::Assignment) (the API's "assignee id").
    AssignmentId;
    /// Identifies an [`Interface`](crate::model::interface::Interface).
    InterfaceId;
    /// Identifies a [`Network`](crate::model::network::Network).
    NetworkId;
    /// Identifies a [`Lease`](crate::model::lease::Lease).
    LeaseId;
    /// Identifies a [`DiscoveredMac`](crate::model::discovered_mac::DiscoveredMac).
    DiscoveredMacId;
    /// Identifies a [`MachineEvent`](crate::model::event::MachineEvent).
    EventId;
    /// Identifies a [`ConsoleToken`](crate::model::console_token::ConsoleToken).
    ConsoleTokenId;
    /// Identifies an [`AuditEntry`](crate::model::audit::AuditEntry).
    AuditId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let id: MachineId = "42".parse().unwrap();
        assert_eq!(id, MachineId(42));
        assert_eq!(id.to_string(), "42");
        assert_eq!(serde_json::to_string(&id).unwrap(), "42");
        assert!("x".parse::<UserId>().is_err());
    }
}
