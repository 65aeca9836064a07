//! emotion-server: the REST + WebSocket API of the facial emotion engine, and its web page.
//!
//! [`config`] reads the environment, [`app`] builds the router, [`api`] and [`ws`] answer
//! detections, [`serve`] runs it all until a shutdown signal; [`bench`] is the load tool of
//! `emotion-server bench`.

pub mod api;
pub mod app;
pub mod bench;
pub mod config;
pub mod error;
pub mod metrics;
pub mod serve;
mod web;
pub mod ws;
