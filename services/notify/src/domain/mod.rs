//! The notify domain, pure: what a subscription asks for (filters, quiet
//! hours, digests, reminders), what a channel accepts, how a message
//! reads, when a failed delivery is tried again.

pub mod alert;
pub mod channel;
pub mod delivery;
pub mod event;
pub mod message;
pub mod reminder;
pub mod retry;
pub mod schedule;
pub mod subscription;
