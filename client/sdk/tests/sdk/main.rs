//! Tests of the device SDK against an in-process collector and a manual clock.

mod collector;
mod lifetime;
mod outbox;
mod schedule;
mod state;
