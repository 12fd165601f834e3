//! Production management rows: products, jobs, rejects, checklists, handover notes,
//! maintenance orders and stored reports.

mod jobs;
mod products;

pub use jobs::{JobFilter, JobPlan, JobRecord};
pub mod rejects;
