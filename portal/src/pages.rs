//! One module per page of the portal (card C5).

pub mod account;
pub mod check;
pub mod dashboard;
pub mod device;
pub mod registry;
pub mod search;
pub mod subscriptions;
