//! The AMI wire protocol: what a message is ([`frame`]), bytes <-> messages ([`codec`]),
//! typed actions ([`message`]) and login ([`auth`]).

pub mod auth;
pub mod codec;
pub mod frame;
pub mod message;

pub use auth::AuthMethod;
pub use codec::{AmiCodec, Frame, FrameError};
pub use frame::{Kind, Message};
pub use message::{Action, EncodeError};
